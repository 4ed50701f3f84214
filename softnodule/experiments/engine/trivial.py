"""Trivial baselines: the floor every table shows under its methods.

* ``all foreground``: every pixel predicted foreground. On a nodule crop it scores ~2p/(1+p) for a
  nodule covering p of the crop; on a slice where most pixels are foreground (ISBI) it scores high,
  which is exactly why a model that learned it must be exposed, not printed as a result.
* ``RECIST ellipse`` (nodule sets): the filled ellipse whose axes are the case's RECIST long and short
  axes (centred on the long axis' midpoint). It is what a reader's two measurements already say about
  the nodule, without any model.

Both are scored exactly like a trained model (`softnodule.metrics.per_image_metrics` against the
same binary reference), and return evaluation dicts that `table_runs.metric_rows` and
`claims.claim_rows` accept (one "seed").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...degenerate import degenerate_images
from ...metrics import per_image_metrics

TRIVIAL_LABELS = {"trivial_all_fg": "trivial: all foreground", "trivial_recist": "trivial: RECIST ellipse"}


def recist_ellipse(coords8: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Filled ellipse (bool, ``shape``) from DeepLesion-order RECIST coordinates (x1,y1,x2,y2 long; x3..y4 short).

    Pixel centres within the ellipse are foreground; a degenerate (zero-length) axis gives the
    one-pixel-wide segment of the other axis.
    """
    c = np.asarray(coords8, float).reshape(4, 2)  # (x, y) points
    p1, p2, p3, p4 = c
    centre = (p1 + p2) / 2.0
    a = max(np.linalg.norm(p2 - p1) / 2.0, 0.5)
    b = max(np.linalg.norm(p4 - p3) / 2.0, 0.5)
    u = (p2 - p1) / (2 * a) if np.linalg.norm(p2 - p1) > 0 else np.array([1.0, 0.0])
    v = np.array([-u[1], u[0]])
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    d = np.stack([xx - centre[0], yy - centre[1]], -1)
    return ((d @ u) / a) ** 2 + ((d @ v) / b) ** 2 <= 1.0


def _evaluation(pred: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    return {"threshold": None, "per_image": per_image_metrics(pred, truth),
            "degenerate": degenerate_images(pred, pred.astype(float))}


def trivial_evaluations(truth: np.ndarray, recist: np.ndarray | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"trivial_all_fg": [evaluation], "trivial_recist": [evaluation]}`` for binary truths (N, H, W).

    ``recist``: (N, 8) DeepLesion-order coordinates of the same cases, or None (no RECIST row).
    """
    t = np.asarray(truth) > 0.5
    out = {"trivial_all_fg": [_evaluation(np.ones_like(t), t)]}
    if recist is not None:
        ell = np.stack([recist_ellipse(r, t.shape[1:]) for r in np.asarray(recist)])
        out["trivial_recist"] = [_evaluation(ell, t)]
    return out


def trivial_rows(evaluations: dict[str, list[dict[str, Any]]], *, metrics=("dice", "sen", "ppv"),
                 image_source: str = "") -> list[dict[str, Any]]:
    """Table rows of the trivial baselines (same numeric columns as `table_runs.score_columns`)."""
    from .table_runs import degenerate_columns, score_columns

    rows = []
    for name, evs in evaluations.items():
        row = {"method": TRIVIAL_LABELS.get(name, name), "variant": name}
        row |= score_columns(evs, {}, metrics) | degenerate_columns(evs)
        row |= {"paper_source": "", "image_source": image_source, "trivial": True}
        rows.append(row)
    return rows
