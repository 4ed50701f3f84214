"""Trivial baselines: the RECIST ellipse rasteriser and the floor rows."""

from __future__ import annotations

import numpy as np
import pytest

from softnodule.experiments.engine.trivial import recist_ellipse, trivial_evaluations, trivial_rows


def test_recist_ellipse_area_and_orientation():
    # long axis along x from (10, 32) to (50, 32): a = 20; short axis length 20: b = 10
    ell = recist_ellipse(np.array([10, 32, 50, 32, 30, 22, 30, 42]), (64, 64))
    assert ell.sum() == pytest.approx(np.pi * 20 * 10, rel=0.03)
    assert ell[32, 12] and ell[32, 48] and not ell[32, 8] and not ell[20, 30]
    # the same ellipse rotated by 90 degrees
    rot = recist_ellipse(np.array([32, 10, 32, 50, 22, 30, 42, 30]), (64, 64))
    assert np.array_equal(rot, ell.T)


def test_trivial_rows_score_the_floor():
    truth = np.zeros((2, 16, 16), bool)
    truth[:, 4:12, 4:12] = True  # 64 of 256 pixels
    recist = np.array([[4, 8, 11, 8, 8, 4, 8, 11]] * 2, float)
    evals = trivial_evaluations(truth, recist)
    rows = {r["variant"]: r for r in trivial_rows(evals)}
    assert rows["trivial_all_fg"]["mean"] == pytest.approx(100 * 2 * 64 / (256 + 64))
    assert rows["trivial_all_fg"]["degenerate"].startswith("all foreground")
    assert 60 < rows["trivial_recist"]["mean"] < 100 and rows["trivial_recist"]["degenerate"] == ""
    assert all(r["trivial"] for r in rows.values())
