"""Degenerate predictions: all foreground, all background, or one constant value, per image and per run.

A model that predicts "everything is nodule" on a 64x64 crop still gets a Dice near 2p / (1 + p) for a
nodule covering a fraction p of the crop, and on ISBI (where ~80 % of pixels are foreground) "all
foreground" scores IoU = ACC = 79.8. Such a number is a finding about the model, not a measurement of
segmentation quality: tables carry the counts below and a run-level label, and REPORT.md names it.

Per image (`degenerate_images`): ``all_fg`` (every pixel predicted foreground), ``all_bg`` (none),
``constant`` (the probability map is flat, max - min < ``tol``). Per run (`degenerate_label`): the
label of the behaviour shared by at least ``share`` of the images, else None.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: A run is labelled degenerate when this share of its images behaves the same way.
RUN_SHARE = 0.95
#: Probability maps flatter than this (max - min) count as constant.
CONSTANT_TOL = 1e-4


def degenerate_images(pred: np.ndarray, prob: np.ndarray | None = None, *, tol: float = CONSTANT_TOL
                      ) -> dict[str, np.ndarray]:
    """Boolean flags per image of a stack of binary predictions (N, H, W) and their probabilities."""
    p = np.asarray(pred, bool)
    if p.ndim == 2:
        p = p[None]
    flat = p.reshape(len(p), -1)
    out = {"all_fg": flat.all(axis=1), "all_bg": ~flat.any(axis=1)}
    if prob is not None:
        q = np.asarray(prob, float).reshape(len(p), -1)
        out["constant"] = (q.max(axis=1) - q.min(axis=1)) < tol
    else:
        out["constant"] = out["all_fg"] | out["all_bg"]
    return out


def degenerate_label(flags: dict[str, np.ndarray], *, share: float = RUN_SHARE) -> str | None:
    """``"all foreground"``, ``"all background"``, ``"constant"`` or None for a run's image flags."""
    n = len(flags["all_fg"])
    if n == 0:
        return None
    for key, label in (("all_fg", "all foreground"), ("all_bg", "all background"), ("constant", "constant")):
        if flags[key].sum() >= share * n:
            return label
    return None


def degenerate_summary(flags: dict[str, np.ndarray]) -> dict[str, Any]:
    """Counts per flag and the run label, as table columns."""
    return {"n_all_fg": int(flags["all_fg"].sum()), "n_all_bg": int(flags["all_bg"].sum()),
            "n_constant": int(flags["constant"].sum()), "degenerate": degenerate_label(flags)}
