"""Degenerate predictions: per-image flags and the run label."""

from __future__ import annotations

import numpy as np

from softnodule.degenerate import degenerate_images, degenerate_label, degenerate_summary


def test_flags_per_image():
    pred = np.zeros((3, 4, 4), bool)
    pred[0] = True
    pred[2, 1, 1] = True
    prob = np.stack([np.full((4, 4), 0.9), np.full((4, 4), 0.1), np.linspace(0, 1, 16).reshape(4, 4)])
    f = degenerate_images(pred, prob)
    assert f["all_fg"].tolist() == [True, False, False]
    assert f["all_bg"].tolist() == [False, True, False]
    assert f["constant"].tolist() == [True, True, False]


def test_run_label_needs_a_large_share():
    pred = np.ones((20, 8, 8), bool)
    pred[0, 0, 0] = False  # 19 of 20 all foreground = 95 %
    assert degenerate_label(degenerate_images(pred)) == "all foreground"
    pred[1, 0, 0] = False  # 90 %
    assert degenerate_label(degenerate_images(pred)) is None
    s = degenerate_summary(degenerate_images(np.zeros((5, 8, 8), bool)))
    assert s == {"n_all_fg": 0, "n_all_bg": 5, "n_constant": 5, "degenerate": "all background"}
