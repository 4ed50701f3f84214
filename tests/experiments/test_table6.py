"""Table VI (doctors vs DSNet) and Table II (LIDC) experiment modules."""

from __future__ import annotations

import numpy as np
import pytest

from softnodule.agreement import CONSENSUS
from softnodule.data.reader_study import build_reader_study
from softnodule.data.splits import fits_crop, make_patient_pools
from softnodule.experiments import table2_lidc
from softnodule.experiments import table6_doctors as T6
from softnodule.experiments.paper_numbers import (
    CASGAN_TABLE2_DOCTORS,
    TABLE2_LIDC,
    TABLE6_DOCTORS,
)


def test_paper_matrix_is_symmetric_and_matches_casgan_to_rounding():
    for a, row in TABLE6_DOCTORS.items():
        for b, v in row.items():
            assert TABLE6_DOCTORS[b][a] == v
    for a, row in CASGAN_TABLE2_DOCTORS.items():
        for b, v in row.items():
            ours = TABLE6_DOCTORS[a]["DSNet" if b == "model" else b]
            assert abs(ours - v) < 0.1  # the CasGAN paper reports the same matrix
    implied = T6.paper_order_free()
    assert implied["pairwise"] == pytest.approx(np.mean([70.65, 73.14, 62.57, 74.46, 64.91, 76.31]))
    assert set(table2_lidc.VARIANT_NAMES) == set(TABLE2_LIDC)


def test_eval_nodules_are_four_reader_lidc_pool_only(nodule_index):
    records, dropped = T6.lidc_pool_four_reader(nodule_index, 64)
    pools = make_patient_pools(nodule_index.records, 1000, min_readers=2, crop=64, seed=0)
    lnsm = set(pools.lnsm)
    assert records and all(r.n_readers == 4 and fits_crop(r, 64) for r in records)
    assert not any(r.patient_id in lnsm for r in records)  # never a patient of the LNSM-trained model's pool
    assert all("does not fit" in why for _, why in dropped)


def test_model_agreements_on_phantom_cases(nodule_index):
    records, _ = T6.lidc_pool_four_reader(nodule_index, 64)
    ev = T6.phantom_eval_set(records, 64, limit=3, progress=False)
    assert len(ev.cases) == 3 and all(c.source == "phantom" for c in ev.cases)
    perfect = np.stack([c.consensus for c in ev.cases])
    ags = T6.model_agreements(ev.cases, perfect)
    assert all(a.matrix[4, 5] == 1.0 for a in ags)  # a model equal to the consensus
    rows = T6.model_matrix_rows(ags)
    assert rows[-1][""] == T6.MODEL and rows[-1][f"{CONSENSUS} (paper)"] == 86.35
    fair = T6.model_order_free_rows(ags, "phantom")
    assert fair[1]["DSNet"].startswith("100.00") and fair[0]["n"] == 3
    empty = T6.model_agreements(ev.cases, np.zeros_like(perfect))
    assert T6.model_order_free_rows(empty, "phantom")[0]["share_dsnet_at_least_as_close"] == 0.0


def test_dicom_eval_set_uses_the_real_slab(lidc_slabs, nodule_index, monkeypatch):
    monkeypatch.delenv("SOFTNODULE_LIDC_DIR", raising=False)
    records, _ = T6.lidc_pool_four_reader(nodule_index, 64)
    ev = T6.dicom_eval_set(records, 64)
    ids = [c.case_id for c in ev.cases]
    assert any(i.startswith("LIDC-IDRI-0001/") for i in ids)
    assert all(c.source == "dicom" and c.readers.shape == (4, 64, 64) for c in ev.cases)
    partial = [r for r in nodule_index.for_patient("LIDC-IDRI-0002")]
    ev2 = T6.dicom_eval_set(partial, 64)
    assert len(ev2.cases) + len(ev2.skipped) == len(partial)  # counted, never dropped
    assert all("partial slab" in why or "unreadable" in why for _, why in ev2.skipped)


def test_predict_cases_binarises_at_the_validation_threshold(disc_dataset, tmp_cache, nodule_index):
    from softnodule.train import SegConfig, load_or_train

    trained = load_or_train(SegConfig(model="unet", epochs=1, width=4, depth=2, batch_size=4), disc_dataset,
                            progress=False)
    records, _ = T6.lidc_pool_four_reader(nodule_index, 64)
    ev = T6.phantom_eval_set(records, 64, limit=2, progress=False)
    out = T6.predict_cases(trained, ev.cases)
    assert out["prob"].shape == (2, 64, 64) and out["soft"].shape == (2, 64, 64)
    assert np.array_equal(out["binary"], out["prob"] > trained.threshold)


def test_real_annotation_tables(nodule_index):
    study = build_reader_study(nodule_index, workers=1, progress=False, limit=5)
    rows = T6.real_matrix_rows(study, "2d")
    assert [r[""] for r in rows] == T6.NAMES and rows[0]["D2 (paper)"] == 70.65
    assert "D2 (paper)" not in T6.real_matrix_rows(study, "3d")[0]
    free = T6.order_free_rows(study)
    assert len(free) == 6 and free[0]["n"] == 5 and free[0]["self_inclusion_bias"] >= 0
    bad = {r["input"]: r["count"] for r in T6.bad_input_rows(study)}
    assert bad["groups_over_4_annotations_excluded"] == 14
    frame = T6.rating_frame(study, nodule_index)
    assert len(frame["pairwise_2d"]) == 5 and (frame["diameter_mm"] > 0).all()
    long = T6.long_rows({"a": rows})
    assert long[0]["table"] == "a" and long[0]["row"] == "D1"


def test_report_sentences_separate_phantom_from_real_images():
    from softnodule.experiments.report import model_sentence

    def row(images, diff):
        return {"images": images, "comparison": "vs the consensus of the other three (fair)", "n": "5",
                "readers": "85.00 ± 1.0", "DSNet": "90.00 ± 1.0", "dsnet_minus_readers": str(diff),
                "share_dsnet_at_least_as_close": "0.8"}

    only_phantom = model_sentence([row("phantom", 5.0)])
    assert "untested" in only_phantom and "built into those images" in only_phantom
    assert "is not closer" in model_sentence([row("phantom", 5.0), row("real DICOM", -1.0)])
    assert "DSNet is closer" in model_sentence([row("real DICOM", 2.0)])
    assert "anecdote" in model_sentence([row("real DICOM", 2.0)])  # 5 nodules are not evidence


def test_order_effect_sentence_uses_the_paper_pairs(nodule_index):
    study = build_reader_study(nodule_index, workers=1, progress=False, limit=4)
    text = T6.order_effect_sentence(study)
    assert "62.57-76.31" in text and "lowest D1-D4, highest D3-D4" in text
