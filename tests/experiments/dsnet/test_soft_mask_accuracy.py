"""Notebook 01's real-CT part: Soft Masks against each real reader (`soft_mask_accuracy.soft_vs_readers`)."""

from __future__ import annotations

import numpy as np
import pytest

from softnodule.agreement import consensus_mask
from softnodule.data.case import NoduleCase
from softnodule.data.recist import measure_recist
from softnodule.experiments.dsnet import soft_mask_accuracy as sma
from softnodule.matting.pipeline import soft_mask_from_readers


def _disc_case(radii=(9.0, 10.0, 11.0, 12.0), size=48):
    """Four readers drawing concentric discs of different radii on a noisy disc image."""
    yy, xx = np.mgrid[0:size, 0:size] - size / 2 + 0.5
    r = np.hypot(yy, xx)
    readers = np.stack([r <= rad for rad in radii])
    image = np.where(r <= 10.5, 20.0, -850.0) + np.random.default_rng(0).normal(0, 15, (size, size))
    cons = consensus_mask(readers)
    return NoduleCase("synthetic/n01@test", "synthetic", image.astype(np.float32), 0.7, readers, cons,
                      measure_recist(cons, 0.7), None, "test")


def test_reader_reference_is_leave_one_out():
    case = _disc_case()
    sc = sma.reader_scores(case)
    readers = case.readers
    for i in range(4):
        others = np.delete(readers, i, axis=0)
        assert sc["reader_vs_loo"][i] == pytest.approx(sma.dice(readers[i], consensus_mask(others)))
        assert sc["reader_vs_other"][i] == pytest.approx(np.mean([sma.dice(readers[i], o) for o in others]))
        assert sc["reader_vs_consensus"][i] == pytest.approx(sma.dice(readers[i], case.consensus))
        s2_others = soft_mask_from_readers(case.image, others).alpha >= 0.5
        assert sc["s2_loo_vs_left_out"][i] == pytest.approx(sma.dice(s2_others, readers[i]))
    # the smallest and largest readers are farthest from the others: their leave-one-out level is the lowest
    assert sc["reader_vs_loo"][[0, 3]].max() < sc["reader_vs_loo"][[1, 2]].min()
    assert all(((v >= 0) & (v <= 1)).all() for k, v in sc.items() if k != "notes")
    rows = sma.reader_rows("test", [sc, sc])
    assert [r["key"] for r in rows] == list(sma.READER_ROWS) and all(r["n"] == 2 and r["sd"] == 0 for r in rows)
    assert all(r["evidence"].startswith("anecdote") for r in rows)
    by = {r["key"]: r for r in rows}
    assert by["s2_loo_vs_left_out"]["reference_mean"] == pytest.approx(sc["reader_vs_loo"].mean())
    with pytest.raises(ValueError, match="at least 3 readers"):
        sma.reader_scores(NoduleCase("x", "x", case.image, 0.7, case.readers[:2], case.consensus, case.recist, None,
                                     "test"))


def test_phantom_source_is_not_scored_against_readers(nodule_index):
    study = sma.soft_vs_readers("phantom", nodule_index, 3, progress=False)
    assert study.rows == [] and study.not_run.startswith("not run on 'phantom'")


@pytest.fixture(scope="module")
def crops_usable():
    from softnodule.data.sources import source_status

    status = source_status("lidc-crops")
    if not status.usable:
        pytest.skip(f"lidc-crops is not usable here: {status.detail}")


def test_soft_masks_against_each_real_reader_on_crops(crops_usable, nodule_index):
    study = sma.soft_vs_readers("lidc-crops", nodule_index, 5, seed=0, progress=False)
    assert study.not_run is None and study.sources == ["lidc-crops"]
    cases = study.cases["lidc-crops"]
    assert len(cases) == 5 and study.counts["lidc-crops"]["taken"] == 5
    assert all(c.source == "lidc-crops" and c.true_alpha is None and c.readers.shape[0] == 4 for c in cases)
    assert all(c.readers.reshape(4, -1).any(axis=1).all() for c in cases)  # every reader drew on the slice
    rows = study.rows
    assert len(rows) == len(sma.READER_ROWS) and {r["source"] for r in rows} == {"lidc-crops"}
    assert all(0.0 <= r["mean"] <= 1.0 and r["sd"] >= 0 and r["n"] == 5 for r in rows)
    for sc in study.scores["lidc-crops"]:
        assert all(((v >= 0) & (v <= 1)).all() and v.shape == (4,) for k, v in sc.items() if k != "notes")
        # self-inclusion flatters: a reader is never farther from the consensus it is part of than from the others'
        assert (sc["reader_vs_consensus"] >= sc["reader_vs_loo"] - 0.05).all()
    again = sma.soft_vs_readers("lidc-crops", nodule_index, 5, seed=0, progress=False)
    assert [c.case_id for c in again.cases["lidc-crops"]] == [c.case_id for c in cases]  # seeded
    text = sma.reader_sentence([{k: str(v) for k, v in r.items()} for r in rows])  # as read back from the CSV
    assert text.startswith("lidc-crops, 5 four-reader nodules") and "anecdote" in text
    prov = sma.reader_provenance(study, "smoke", {"n": 5})
    assert prov["image_source"] == "lidc-crops" and prov["sources_in_rows"] == ["lidc-crops"]
    import matplotlib.pyplot as plt

    plt.close(sma.reader_dice_figure(study))


def test_report_sentences_of_notebook_01():
    from softnodule.experiments.engine import report

    rows = [{"label": "binary_consensus", "mae_mean": "0.002", "n": "200"},
            {"label": "soft_mask", "mae_mean": "0.004", "n": "200"}]
    assert "does NOT beat" in report._soft_mask_accuracy(rows) and "phantom" in report._soft_mask_accuracy(rows)
    assert "Older per-case format" in report._soft_mask_readers([{"case": "x", "label": "soft_mask"}])
