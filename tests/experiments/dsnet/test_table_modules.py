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
    assert all(r["dice"] == "" and r["dice_diff"] is None and r["status"] == "not run: no data" for r in rows)
    assert rows[-1]["dice_paper"] == "92.3" and rows[0]["sen_paper"] == "88.7"


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


def _write(path, rows):
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_report_sentences_follow_the_numbers(tmp_path):
    _write(tmp_path / "dsnet_table1_lnsm.csv", [
        {"variant": "unet", "method": "UNet", "dice": "86.00 ± 10.0", "dice_paper": "87.88 ± 1.1",
         "author_dice": "", "author_inflation": ""},
        {"variant": "dsnet", "method": "DSNet", "dice": "85.00 ± 12.0", "dice_paper": "93.77 ± 3.1",
         "author_dice": "86.10", "author_inflation": "1.10"}])
    _write(tmp_path / "dsnet_table3_ablation.csv", [
        {"variant": "unet", "method": "UNet", "dice": "80.00 ± 1.0", "dice_paper": "87.88 ± 1.1", "gain_vs_prev": ""},
        {"variant": "dsnet", "method": "DSNet", "dice": "81.00 ± 1.0", "dice_paper": "93.77 ± 3.1",
         "gain_vs_prev": "1.0"}])
    _write(tmp_path / "something_else.csv", [{"a": "1"}])
    text = build_report("smoke", tmp_path)
    assert "meaningless" in text
    assert "DSNet ranks 2 of 2" in text and "UNet 86.00 ± 10.0" in text and "+1.10 points" in text
    assert "1 of 1 steps raised test Dice" in text
    assert "`something_else.csv`" in text
