"""The fast-vs-reference training check: both paths trained for the same seeds, compared on validation only."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from softnodule.config import PROFILES
from softnodule.data.datasets.sr_pairs import SRImageSet
from softnodule.data.datasets.torch_data import dataset_arrays
from softnodule.experiments.dsnet import fast_path_check as F
from softnodule.experiments.engine.table_runs import train_variants
from softnodule.train import SRConfig, train_sr

TINY = replace(PROFILES["smoke"], width=4, depth=2, sr_width=4, table_epochs=2, claim_seeds=(0, 1))


def test_non_inferiority_against_the_margin():
    assert F.non_inferiority(-0.5, 2.0) == "not worse"  # the CI stays above -1 point
    assert F.non_inferiority(-3.0, -1.5) == "worse"
    assert F.non_inferiority(-2.0, 0.5) == "inconclusive"
    assert F.non_inferiority(float("nan"), 1.0) == "inconclusive"
    assert F.non_inferiority(-1.5, 1.0, margin=2.0) == "not worse"


def test_both_paths_train_the_same_seeds_and_are_scored_on_validation(disc_dataset, tmp_cache, monkeypatch):
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    hr = np.clip(rng.normal(0, 0.3, (8, 1, 16, 16)), -1, 1).astype(np.float32)
    images = SRImageSet(hr, [f"phantom:{i}" for i in range(8)])
    teacher = train_sr(SRConfig(factor=2, width=4, d_width=4, epochs=1, warmup_epochs=1, batch_size=4), images,
                       images, progress=False)
    runs = F.path_runs("dsnet_soft", TINY, disc_dataset, teacher, seeds=TINY.claim_seeds, progress=False)
    assert [t.config.fast for t in runs["fast"]] == [True, True] and [t.config.fast for t in runs["reference"]] == [
        False, False]
    assert [t.config.seed for t in runs["reference"]] == [0, 1]
    # the fast runs ARE the tables' runs (same cache keys); the reference runs are separate ones
    table = train_variants(["dsnet_soft"], TINY, disc_dataset, teacher, seeds=(0, 1), progress=False)["dsnet_soft"]
    assert [t.key for t in runs["fast"]] == [t.key for t in table]
    assert not {t.key for t in runs["fast"]} & {t.key for t in runs["reference"]}

    # validation only: replacing the test split's labels changes nothing here
    read = []
    real = F.dataset_arrays
    monkeypatch.setattr(F, "dataset_arrays", lambda ds, split: read.append(split) or real(ds, split))
    evals = F.validation_evaluations(runs, disc_dataset)
    assert read == ["val"]
    n_val = len(dataset_arrays(disc_dataset, "val").image)
    rows = F.path_rows(runs, evals, variant="dsnet_soft", dataset_name="discs")
    assert [r["path"] for r in rows] == ["fast", "reference"]
    for r in rows:
        assert r["n"] == n_val and r["n_seeds"] == 2 and r["split"] == "val"
        assert r["ci_low"] <= r["mean"] <= r["ci_high"] and r["ms_per_iter"] > 0
    cmp = F.comparison_row(evals, runs, variant="dsnet_soft", dataset_name="discs")
    fast = np.mean([e["per_image"]["dice"] for e in evals["fast"]], axis=0)
    ref = np.mean([e["per_image"]["dice"] for e in evals["reference"]], axis=0)
    assert cmp["diff"] == pytest.approx(100 * float(np.nanmean(fast - ref)))
    assert cmp["verdict"] == F.non_inferiority(cmp["ci_low"], cmp["ci_high"]) and cmp["n"] == n_val
    assert cmp["train_speedup"] == pytest.approx(cmp["ms_per_iter_reference"] / cmp["ms_per_iter_fast"])
