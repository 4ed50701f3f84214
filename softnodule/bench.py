"""Benchmarks behind ``softnodule bench``: performance targets are checked here, not in tests."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np


def _phantom_cases(n: int, seed: int = 0):
    from .data.lidc.index import load_nodule_index
    from .data.sources.phantom import LIDC_APPEARANCE, render_case
    from .experiments.dsnet.soft_mask_accuracy import sample_records

    index = load_nodule_index(progress=False)
    return index, [render_case(r, size=64, seed=seed, appearance=LIDC_APPEARANCE)
                   for r in sample_records(index.records, n, seed=seed)]


def pymatting_max_abs_diff(cases, eps: float = 1e-5, radius: int = 1) -> float:
    """Largest |alpha_ours - alpha_pymatting| over the cases (strategy 1 trimaps, same windowing)."""
    from pymatting import estimate_alpha_cf

    from .matting.closed_form import closed_form_alpha
    from .matting.trimap import trimap_from_binary
    from .matting.window import hu_to_unit

    worst = 0.0
    for case in cases:
        img = hu_to_unit(case.image)
        tri = trimap_from_binary(case.consensus, 2, 2).trimap
        ours = closed_form_alpha(img, tri, eps=eps, radius=radius)
        ref = estimate_alpha_cf(np.dstack([img] * 3).astype(np.float64), tri / 255.0,
                                laplacian_kwargs={"epsilon": eps, "radius": radius})
        worst = max(worst, float(np.abs(ours - np.clip(ref, 0, 1)).max()))
    return worst


def lnsm_build_seconds(n_cases: int, index) -> tuple[float, int, int]:
    """(seconds, built, skipped) to render + label ``n_cases`` LNSM-style cases on all cores."""
    from .config import PROFILES
    from .data.datasets.builder import build_rows, lnsm_spec, select_split

    spec = lnsm_spec(PROFILES["paper"])  # explicit: SOFTNODULE_PROFILE must not shrink the pool
    ids = [nid for ids in select_split(spec, index).nodules.values() for nid in ids][:n_cases]
    t0 = time.perf_counter()
    rows, skipped = build_rows(ids, spec, workers=os.cpu_count(), progress=False, index=index)
    return time.perf_counter() - t0, len(rows), len(skipped)


def bench_matting(cases: int = 200, lnsm_cases: int = 1000) -> dict[str, Any]:
    """The matting benchmark of the foundation issue (keys documented in the README)."""
    from .experiments.dsnet.soft_mask_accuracy import PAPER_TIMING_MS_256, accuracy_table, timing_table

    if cases < 1:
        raise ValueError("--cases must be >= 1")
    index, phantom = _phantom_cases(cases)
    timings = timing_table(phantom[:min(len(phantom), 100)])
    rows, _ = accuracy_table(phantom)
    mae = {r["label"]: round(r["mae_mean"], 5) for r in rows}
    mae_edge = {r["label"]: round(r["mae_edge_mean"], 5) for r in rows}
    seconds, built, skipped = lnsm_build_seconds(lnsm_cases, index)
    return {
        **{k: round(v, 3) for k, v in timings.items()},
        "paper_ms_256": PAPER_TIMING_MS_256,
        "pymatting_max_abs_diff": pymatting_max_abs_diff(phantom[:20]),
        "lnsm_build_s_per_1000": round(seconds * 1000.0 / max(built + skipped, 1), 2),
        "lnsm_build_cases": built,
        "lnsm_build_skipped": skipped,
        "alpha_mae": {k: mae[k] for k in ("soft_mask", "binary_consensus", "kats", "gros")},
        "alpha_mae_all_labels": mae,
        "alpha_mae_edge_band": mae_edge,
        "alpha_cases": len(phantom),
        "cpu_cores": os.cpu_count(),
    }


def _bench_train(**kwargs: Any) -> dict[str, Any]:
    from .bench_train import bench_train

    return bench_train(**kwargs)


BENCHES = {"matting": bench_matting, "train": _bench_train}
