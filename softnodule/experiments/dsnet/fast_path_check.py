"""Does the fast CPU training path cost accuracy? The same variant and seeds trained on both paths.

The fast path (`softnodule.train.fast_path`: the frozen teacher's outputs computed once per run and flipped
with the crop, channels-last for the DSNet family) is what every table trains on. It changes the order of
two operations (flip(teacher(x)) instead of teacher(flip(x))) and the memory layout, so its models are not
bit-identical to the float32 reference path's (``SegConfig.fast=False``). This module trains the reference
path for the same configs and seeds and compares the two on the VALIDATION split only:

* one row per path: validation Dice (mean over seeds of the per-image mean, seed SD, 95 % bootstrap CI over
  validation images), best / stopped epoch, training minutes and ms per iteration;
* one paired difference fast - reference over the same validation images (seed-averaged), its CI, and a
  non-inferiority verdict: ``not worse`` when the CI's lower end lies above ``-MARGIN`` Dice points,
  ``worse`` when its upper end lies below it, else ``inconclusive``.

The fast runs are the tables' own runs (same config, loaded from the cache); only the reference runs are new.
The test split is not read here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ...config import Profile
from ...data.datasets.torch_data import dataset_arrays
from ...train.segmentation import TrainedSegmenter, evaluate, train_segmenter
from ..engine.evidence import paired_difference, row_stats
from ..engine.table_runs import VARIANTS, run_columns, variant_config, variant_dataset

#: Dice points the fast path may lose before it counts as worse (below the papers' smallest claimed
#: effects, 0.5-1.7 points, would be ideal; 1 point is what a quick-profile validation set can resolve)
MARGIN = 1.0
PATHS: tuple[str, ...] = ("fast", "reference")


def path_runs(name: str, profile: Profile, dataset, teacher=None, *, seeds: Sequence[int],
              progress: bool = True) -> dict[str, list[TrainedSegmenter]]:
    """Variant ``name`` trained on the fast path (the tables' runs) and on the reference path, every seed."""
    v = VARIANTS[name]
    data = variant_dataset(v, dataset)
    out: dict[str, list[TrainedSegmenter]] = {}
    for path in PATHS:
        cfgs = [replace(variant_config(v, profile, s), fast=path == "fast") for s in seeds]
        out[path] = [train_segmenter(c, data, teacher, progress=progress) for c in cfgs]
    return out


def validation_evaluations(runs: dict[str, list[TrainedSegmenter]], dataset) -> dict[str, list[dict[str, Any]]]:
    """Every run on the VALIDATION split at its validation-chosen checkpoint and threshold."""
    val = dataset_arrays(dataset, "val")
    return {path: [evaluate(t, val) for t in ts] for path, ts in runs.items()}


def non_inferiority(ci_low: float, ci_high: float, margin: float = MARGIN) -> str:
    """``not worse`` / ``worse`` / ``inconclusive`` for a fast - reference difference against ``-margin``."""
    if math.isnan(ci_low) or math.isnan(ci_high):
        return "inconclusive"
    if ci_low > -margin:
        return "not worse"
    if ci_high < -margin:
        return "worse"
    return "inconclusive"


def path_rows(runs: dict[str, list[TrainedSegmenter]], evaluations: dict[str, list[dict[str, Any]]], *,
              variant: str, dataset_name: str, image_source: str = "") -> list[dict[str, Any]]:
    """One numeric row per path: validation Dice stats and how the runs ended (`run_columns`)."""
    rows = []
    for path in PATHS:
        s = row_stats([e["per_image"]["dice"] for e in evaluations[path]])
        rows.append({"variant": variant, "dataset": dataset_name, "path": path, "split": "val",
                     **{k: s[k] for k in ("mean", "sd", "ci_low", "ci_high", "image_sd", "n", "n_seeds")},
                     **run_columns(runs[path]), "image_source": image_source})
    return rows


def comparison_row(evaluations: dict[str, list[dict[str, Any]]], runs: dict[str, list[TrainedSegmenter]], *,
                   variant: str, dataset_name: str, margin: float = MARGIN) -> dict[str, Any]:
    """Fast - reference on the same validation images: difference, CI, verdict, and the measured speedup."""
    d = paired_difference([e["per_image"]["dice"] for e in evaluations["fast"]],
                          [e["per_image"]["dice"] for e in evaluations["reference"]])
    ms = {p: run_columns(runs[p])["ms_per_iter"] for p in PATHS}
    return {"variant": variant, "dataset": dataset_name, "split": "val", "diff": d["diff"], "ci_low": d["ci_low"],
            "ci_high": d["ci_high"], "n": d["n"], "n_seeds": d["n_seeds_a"], "margin": margin,
            "verdict": non_inferiority(d["ci_low"], d["ci_high"], margin),
            "train_speedup": ms["reference"] / ms["fast"] if ms["fast"] else None,
            "ms_per_iter_fast": ms["fast"], "ms_per_iter_reference": ms["reference"]}
