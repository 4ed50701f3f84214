"""The table engine: soft-target variants, honest rows with the paper beside, the authors' protocol audit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from softnodule.config import PROFILES
from softnodule.data.datasets.torch_data import ArraySplits, dataset_arrays
from softnodule.experiments.dsnet import table3_ablation, table5_drtm
from softnodule.experiments.dsnet.paper_numbers import TABLE1_TNNLS, fmt_cell
from softnodule.experiments.engine.table_runs import (VARIANTS, add_step_gains, evaluate_variants, metric_rows,
                                               target_dataset, train_variants, variant_config)
from softnodule.train import SegConfig, load_or_train

TINY_PROFILE = replace(PROFILES["smoke"], width=4, depth=2, sr_width=4, table_epochs=2, seeds=(0, 1))


def test_every_table_variant_is_registered_and_builds_a_config():
    from softnodule.models import MODEL_NAMES

    for v in VARIANTS.values():
        cfg = variant_config(v, TINY_PROFILE, seed=3)
        assert cfg.model == v.model and cfg.epochs == 2 and cfg.seed == 3
    assert all(v.model in MODEL_NAMES for v in VARIANTS.values() if v.model in
               {"unet", "dsnet", "softgan", "dsnet_backbone", "dsnet_sr_input", "dsnet_drtm", "dsnet_soft"})
    for module in (table3_ablation, table5_drtm):
        assert set(module.VARIANT_NAMES) <= set(VARIANTS)


@pytest.mark.parametrize("target", ["binary", "kats", "gros"])
def test_target_dataset_replaces_only_the_soft_target(disc_dataset, target):
    alt = target_dataset(disc_dataset, target)
    assert alt.manifest["key"] != disc_dataset.manifest["key"]
    assert target_dataset(disc_dataset, target) is alt  # built once
    for split in ("train", "val", "test"):
        a, b = dataset_arrays(disc_dataset, split), dataset_arrays(alt, split)
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.binary, b.binary)
        assert b.soft.shape == a.soft.shape and b.soft.min() >= 0 and b.soft.max() <= 1
    train = dataset_arrays(alt, "train")
    inside = train.binary > 0.5
    if target == "binary":
        np.testing.assert_array_equal(train.soft, train.binary)
    if target == "kats":
        assert set(np.unique(train.soft)) <= {0.0, 0.5, 1.0}
        assert np.all(train.soft[inside] == 1.0) and np.any(train.soft == 0.5)
    if target == "gros":  # interpolated: values strictly between 0 and 1 exist
        assert np.any((train.soft > 0.05) & (train.soft < 0.95))
    assert target_dataset(disc_dataset, "soft_mask") is disc_dataset
    with pytest.raises(ValueError, match="target must be one of"):
        target_dataset(disc_dataset, "smooth")


def test_author_protocol_is_recorded_and_never_changes_the_weights(disc_dataset, tmp_cache):
    cfg = SegConfig(model="unet", epochs=2, width=4, depth=2, batch_size=4)
    audited = load_or_train(cfg, disc_dataset, progress=False)
    hist = audited.result["history"]
    ap = audited.result["author_protocol"]
    assert ap is not None and ap["test_dice"] == max(h["audit_test_dice_best_thr"] for h in hist)
    # the best-threshold Dice can only be >= the Dice at 0.5 of the same epoch (0.5 is on the grid)
    assert all(h["audit_test_dice_best_thr"] >= h["audit_test_dice_at_0.5"] - 1e-12 for h in hist)
    # same data without a test split (same key): no audit, bit-identical weights and validation curve
    splits = {s: dataset_arrays(disc_dataset, s) for s in ("train", "val")}
    no_test = ArraySplits("discs", disc_dataset.manifest["key"] + "-notest", splits)
    plain = load_or_train(cfg, no_test, progress=False)
    assert plain.result["author_protocol"] is None
    a, b = audited.pipeline.segmenter.state_dict(), plain.pipeline.segmenter.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["val_dice"] for h in hist] == [h["val_dice"] for h in plain.result["history"]]


def test_rows_are_numbers_with_the_paper_beside_ours(disc_dataset, tmp_cache):
    runs = train_variants(["unet", "dsnet_backbone"], TINY_PROFILE, disc_dataset, progress=False)
    assert [len(ts) for ts in runs.values()] == [2, 2] and runs["unet"][0].key != runs["unet"][1].key
    evals = evaluate_variants(runs, disc_dataset)
    paper = {"unet": {"dice": (87.88, 1.1), "sen": (86.62, 3.2), "ppv": None}}
    rows = metric_rows(runs, evals, paper)
    unet, backbone = rows
    seed_means = [100 * np.mean(e["per_image"]["dice"]) for e in evals["unet"]]
    assert unet["mean"] == pytest.approx(np.mean(seed_means))
    assert unet["sd"] == pytest.approx(np.std(seed_means, ddof=1))
    assert unet["ci_low"] <= unet["mean"] <= unet["ci_high"]
    assert unet["diff_vs_paper"] == pytest.approx(unet["mean"] - 87.88)
    assert (unet["paper_mean"], unet["paper_sd"]) == (87.88, 1.1) and unet["ppv_paper_mean"] is None
    assert backbone["paper_mean"] is None and backbone["paper_source"] == ""
    assert unet["n_seeds"] == 2 and unet["n"] == 4 and unet["max_epochs"] == 2
    for key in ("mean", "sd", "ci_low", "ci_high", "sen_mean", "ppv_ci_high", "best_epoch", "stopped_epoch"):
        assert isinstance(unet[key], (int, float)), key  # numbers, never "82.8 ± 17.8" strings
    assert unet["author_inflation"] == pytest.approx(unet["author_dice"] - unet["mean"])
    assert unet["author_dice"] == pytest.approx(
        100 * np.mean([t.result["author_protocol"]["test_dice"] for t in runs["unet"]]))
    assert "soft_head_mean" in unet and "n_all_fg" in unet


def test_step_gains_known_values():
    rows = [{"variant": "a", "mean": 80.0}, {"variant": "b", "mean": 82.5}, {"variant": "c", "mean": 81.0}]
    paper = {"a": {"dice": (87.0, 1.0)}, "b": {"dice": (89.0, 1.0)}}
    add_step_gains(rows, paper)
    assert [r["gain_vs_prev"] for r in rows] == [None, 2.5, -1.5]
    assert [r["paper_gain_vs_prev"] for r in rows] == [None, 2.0, None]


def test_paper_cells_format():
    assert fmt_cell(TABLE1_TNNLS["dsnet"]["dice"]) == "93.77 ± 3.1"
    assert fmt_cell((95.9, None)) == "95.90" and fmt_cell(None) == ""
