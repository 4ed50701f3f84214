"""Table VIII: inference time per 64x64 image with and without detailed representation transfer (DRF).

"w/o DRF" is SoftGAN (the backbone on the crop), "w. DRF" is DSNet (SR teacher + DRTM + backbone at SR
resolution). We time both on this machine's CPU at the profile's sizes and at the paper's sizes (width
64, depth 5, x4), and on the GPU when one is present; the paper's 5.1 / 6.7 ms are Titan V numbers.
Dice columns come from the table runs (same budget as Tables I-V).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ...bench_train import infer_ms_per_image
from ...config import PROFILES, Profile
from .paper_numbers import TABLE8
from ..engine.table_runs import VARIANTS, score_columns

VARIANT_NAMES: tuple[str, ...] = ("softgan", "dsnet")


def devices() -> list[str]:
    """``["cpu"]`` plus ``"cuda"`` when a GPU is visible."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def timing_rows(profile: Profile, evaluations: Mapping[str, list], *, reps: int = 10,
                warmup: int = 2) -> list[dict[str, Any]]:
    """One row per configuration: our LNSM-style test Dice (numbers: ``mean, sd, ci_low, ci_high, n, ...`` and the
    paper's ``paper_mean`` / ``paper_sd``) and ms/image per device and size beside the paper's Titan V time."""
    rows = []
    sizes = {profile.name: profile} | {"paper": PROFILES["paper"]}
    for name in VARIANT_NAMES:
        paper = TABLE8[name]
        row: dict[str, Any] = {"config": VARIANTS[name].label, "variant": name}
        if name in evaluations:
            row |= score_columns(evaluations[name], {"dice": paper["lnsm"]}, ("dice",))
        for dev in devices():
            for size_name, p in sizes.items():
                row[f"ms_{dev}_{size_name}_size"] = round(
                    infer_ms_per_image(name, profile=p, reps=reps, warmup=warmup, device=dev), 2)
        row["ms_paper_titan_v"] = paper["ms"][0]
        rows.append(row)
    return rows


def ratio_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """DSNet / SoftGAN time ratios (ours per column, and the paper's 6.7 / 5.1)."""
    soft, ds = rows
    out: dict[str, Any] = {"config": "ratio w. DRF / w/o DRF", "variant": "ratio"}
    for k in soft:
        if k.startswith("ms_"):
            out[k] = round(ds[k] / soft[k], 3)
    return out
