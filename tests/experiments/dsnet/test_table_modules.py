"""Per-table modules: Table VII slice re-assembly, Table VIII timing rows, the report builder."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from softnodule.config import PROFILES
from softnodule.experiments.dsnet import table7_generalization as T7
from softnodule.experiments.dsnet import table8_inference_time as T8
from softnodule.experiments.engine.report import build_report


def test_slice_counts_sum_the_tiles_of_each_slice():
    prob = np.zeros((4, 1, 2, 2))
    truth = np.zeros((4, 1, 2, 2))
    prob[0, 0, 0, 0] = prob[1, 0, 0, 0] = 0.9   # slice s00: 2 predicted pixels
    truth[0, 0, 0, 0] = truth[0, 0, 1, 1] = 1   # slice s00: 2 true pixels, 1 overlap
    truth[3, 0, 0, 0] = 1                       # slice s01: one missed pixel
    ids = ["isbi/s00/t00", "isbi/s00/t01", "isbi/s01/t00", "isbi/s01/t01"]
    c = T7.slice_counts({"prob": prob, "threshold": 0.5}, ids, truth)
    assert c["tp"].tolist() == [1, 0] and c["fp"].tolist() == [1, 0] and c["fn"].tolist() == [1, 1]
    assert c["tn"].tolist() == [5, 7]


def test_not_run_rows_keep_the_paper_and_write_no_numbers_of_ours():
    rows = T7.not_run_rows("promise12", "no data")
    assert [r["variant"] for r in rows] == list(T7.VARIANT_NAMES)
    assert all(r["mean"] is None and r["status"] == "not run: no data" for r in rows)
    assert rows[-1]["paper_mean"] == 92.3 and rows[0]["sen_paper_mean"] == 88.7


def test_slice_evaluations_flag_all_foreground_slices_and_the_floor_row():
    from softnodule.data.datasets.torch_data import ArraySplits, SegmentationArrays

    truth = np.zeros((4, 1, 2, 2), np.float32)
    truth[:, 0, 0, 0] = 1  # a quarter of every tile is foreground
    ids = ["isbi/s00/t00", "isbi/s00/t01", "isbi/s01/t00", "isbi/s01/t01"]
    test = SegmentationArrays(truth, truth, truth, ids)
    ds = ArraySplits("isbi-fold0", "k", {"test": test})
    prob_fg = np.ones_like(truth)
    fold = {"dataset": ds, "evals": {"unet": [{"prob": prob_fg, "threshold": 0.5}]}}
    ev = T7.slice_evaluations([fold], "unet")
    assert len(ev) == 1 and ev[0]["degenerate"]["all_fg"].tolist() == [True, True]
    assert ev[0]["per_image"]["dice"] == pytest.approx([2 * 2 / (8 + 2)] * 2)
    floor = T7.all_foreground_evaluation([fold])[0]["per_image"]["dice"]
    assert floor == pytest.approx(ev[0]["per_image"]["dice"])


def test_table8_rows_time_both_configurations_and_the_ratio():
    rows = T8.timing_rows(PROFILES["smoke"], {}, reps=1, warmup=0)
    assert [r["variant"] for r in rows] == ["softgan", "dsnet"]
    cols = [k for k in rows[0] if k.startswith("ms_cpu_")]
    assert cols == ["ms_cpu_smoke_size", "ms_cpu_paper_size"]
    assert all(r[c] > 0 for r in rows for c in cols)
    ratio = T8.ratio_row(rows)
    assert ratio["ms_paper_titan_v"] == pytest.approx(6.7 / 5.1, abs=1e-3)
    assert ratio["ms_cpu_paper_size"] == pytest.approx(rows[1]["ms_cpu_paper_size"] / rows[0]["ms_cpu_paper_size"],
                                                       abs=1e-3)


def test_table8_dice_columns_are_numbers_beside_the_papers():
    evs = {"dsnet": [{"per_image": {"dice": np.array([0.8, 0.9, 1.0, 0.7])}}]}
    row = next(r for r in T8.timing_rows(PROFILES["smoke"], evs, reps=1, warmup=0) if r["variant"] == "dsnet")
    assert row["mean"] == pytest.approx(85.0) and row["n"] == 4 and row["n_seeds"] == 1
    assert (row["paper_mean"], row["paper_sd"]) == (93.77, 3.1)
    assert row["diff_vs_paper"] == pytest.approx(85.0 - 93.77) and row["ci_low"] <= 85.0 <= row["ci_high"]


def _write(path, rows):
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_report_opens_with_the_claims_and_its_sentences_follow_the_numbers(tmp_path):
    _write(tmp_path / "dsnet_table1_lnsm.csv", [
        {"variant": "unet", "method": "UNet", "mean": "86.0", "sd": "0.5", "ci_low": "84.0", "ci_high": "88.0",
         "paper_mean": "87.88", "paper_sd": "1.1", "n": "400", "n_seeds": "3", "author_dice": "",
         "author_inflation": "", "best_epoch": "9", "stopped_epoch": "13", "still_improving": "False",
         "degenerate": "", "trivial": ""},
        {"variant": "dsnet", "method": "DSNet", "mean": "85.0", "sd": "0.7", "ci_low": "83.0", "ci_high": "87.0",
         "paper_mean": "93.77", "paper_sd": "3.1", "n": "400", "n_seeds": "3", "author_dice": "86.1",
         "author_inflation": "1.1", "best_epoch": "30", "stopped_epoch": "30", "still_improving": "True",
         "degenerate": "", "trivial": ""},
        {"variant": "trivial_recist", "method": "trivial: RECIST ellipse", "mean": "74.5", "sd": "",
         "ci_low": "73.0", "ci_high": "76.0", "n": "400", "n_seeds": "1", "trivial": "True"}])
    _write(tmp_path / "dsnet_table1_lnsm_claims.csv", [
        {"claim_id": "x", "source": "TNNLS Table I (LNSM)", "claim": "DSNet beats U-Net", "a": "dsnet", "b": "unet",
         "paper_diff": "5.89", "diff": "-1.0", "ci_low": "-1.8", "ci_high": "-0.2", "n": "400", "n_seeds_a": "3",
         "n_seeds_b": "3", "verdict": "contradicted", "note": "", "image_source": "lidc-crops"}])
    _write(tmp_path / "something_else.csv", [{"a": "1"}])
    text = build_report("smoke", tmp_path)
    assert "meaningless" in text
    assert text.index("## Claims") < text.index("## Table I")
    assert "1 claims: 0 supported, 1 contradicted, 0 inconclusive" in text
    assert "| DSNet beats U-Net | TNNLS Table I (LNSM) | +5.89 | -1.00 [-1.80, -0.20] | 3/3 | 400 | contradicted" in text
    assert "DSNet ranks 2 of 2" in text and "UNet 86.00" in text and "+1.10 points" in text
    assert "Floor: the RECIST ellipse 74.50" in text and "1 of 2 rows still improving" in text
    assert "| DSNet | 85.00 ± 0.70 [83.0, 87.0] | 93.77 ± 3.1 | 3 | 400 | 30/30 | still improving |" in text
    assert "`something_else.csv`" in text and "`dsnet_table1_lnsm_claims.csv`" not in text
