"""RECIST measured on known shapes, and DeepLesion's coordinate format."""

from __future__ import annotations

import numpy as np
import pytest

from softnodule.data.case import Recist
from softnodule.data.recist import measure_recist, recist_from_deeplesion


def _grid(n: int = 96):
    return np.mgrid[0:n, 0:n].astype(float)


def _unit(seg: np.ndarray) -> np.ndarray:
    d = seg[1] - seg[0]
    return d / np.linalg.norm(d)


@pytest.mark.parametrize("r", [2.0, 3.0, 4.5, 5.0, 9.5, 20.0])
def test_disc_long_equals_short_equals_diameter(r):
    rr, cc = _grid()
    mask = (rr - 47.3) ** 2 + (cc - 46.8) ** 2 <= r * r
    rec = measure_recist(mask, spacing_mm=0.7)
    assert abs(rec.long_mm / 0.7 - 2 * r) <= 1.0
    assert abs(rec.short_mm / 0.7 - 2 * r) <= 1.0
    assert rec.short_mm <= rec.long_mm + 1e-9
    assert abs(np.dot(_unit(rec.long_axis), _unit(rec.short_axis))) < 0.05


@pytest.mark.parametrize("a,b,horizontal", [(25, 10, True), (18, 7, False), (30, 12, True)])
def test_axis_aligned_ellipse(a, b, horizontal):
    rr, cc = _grid()
    if horizontal:  # long axis along the columns
        mask = ((rr - 48) / b) ** 2 + ((cc - 47) / a) ** 2 <= 1
        expected = np.array([0.0, 1.0])
    else:
        mask = ((rr - 48) / a) ** 2 + ((cc - 47) / b) ** 2 <= 1
        expected = np.array([1.0, 0.0])
    rec = measure_recist(mask, spacing_mm=1.0)
    assert abs(rec.long_mm - 2 * a) <= 1.0
    assert abs(rec.short_mm - 2 * b) <= 1.0
    assert abs(abs(np.dot(_unit(rec.long_axis), expected)) - 1.0) < 0.01
    assert abs(np.dot(_unit(rec.long_axis), _unit(rec.short_axis))) < 0.05


def test_rotated_ellipse_short_axis_is_perpendicular():
    rr, cc = _grid()
    t = np.deg2rad(30)
    u = (rr - 48) * np.cos(t) + (cc - 48) * np.sin(t)
    v = -(rr - 48) * np.sin(t) + (cc - 48) * np.cos(t)
    mask = (u / 28) ** 2 + (v / 11) ** 2 <= 1
    rec = measure_recist(mask, spacing_mm=0.5)
    assert abs(rec.long_mm / 0.5 - 56) <= 1.0
    assert abs(rec.short_mm / 0.5 - 22) <= 1.0
    assert abs(np.dot(_unit(rec.long_axis), _unit(rec.short_axis))) < 0.05


def test_rectangle_long_axis_is_the_diagonal():
    mask = np.zeros((64, 64), bool)
    mask[10:20, 5:45] = True  # 10 x 40 pixels (edge to edge)
    rec = measure_recist(mask, spacing_mm=1.0)
    assert abs(rec.long_mm - np.hypot(10, 40)) <= 1.0
    diag = np.array([10.0, -40.0]) / np.hypot(10, 40)  # top-right to bottom-left
    assert abs(abs(np.dot(_unit(rec.long_axis), diag)) - 1.0) < 2e-3
    # the endpoints sit near opposite corners
    ends = sorted(tuple(np.round(p)) for p in rec.long_axis)
    assert ends == [(10.0, 44.0), (19.0, 5.0)]
    assert abs(np.dot(_unit(rec.long_axis), _unit(rec.short_axis))) < 1e-6
    # the short axis lies inside the rectangle (edges at 9.5 .. 19.5 and 4.5 .. 44.5)
    for p in rec.short_axis:
        assert 9.5 - 1e-6 <= p[0] <= 19.5 + 1e-6 and 4.5 - 1e-6 <= p[1] <= 44.5 + 1e-6


def test_concave_shape_short_axis_stays_inside():
    """A 'C' shape: chords crossing the gap do not count as inside."""
    rr, cc = _grid(80)
    ring = ((rr - 40) ** 2 + (cc - 40) ** 2 <= 30**2) & ((rr - 40) ** 2 + (cc - 40) ** 2 >= 20**2)
    c_shape = ring & ~((cc > 40) & (np.abs(rr - 40) < 8))
    rec = measure_recist(c_shape, spacing_mm=1.0)
    pts = rec.short_axis[0] + np.linspace(0, 1, 200)[:, None] * (rec.short_axis[1] - rec.short_axis[0])
    inside = c_shape[np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)]
    assert inside.mean() > 0.97


def test_largest_component_only():
    mask = np.zeros((64, 64), bool)
    mask[5:8, 5:8] = True
    mask[30:50, 20:30] = True
    rec = measure_recist(mask, spacing_mm=1.0)
    assert rec.long_axis[:, 0].min() >= 29.5


def test_single_pixel_and_line():
    """Calipers sit on the visible edge: one pixel measures about one pixel."""
    m = np.zeros((16, 16), bool)
    m[4, 7] = True
    rec = measure_recist(m, 1.0)
    assert 0.5 <= rec.long_mm <= 1.5 and 0.5 <= rec.short_mm <= 1.5
    m[4, 7:12] = True
    rec = measure_recist(m, 2.0)
    assert rec.long_mm / 2.0 == pytest.approx(5.0, abs=0.5)
    assert rec.short_mm / 2.0 == pytest.approx(1.0, abs=0.5)
    assert abs(rec.long_axis[0, 0] - 4) < 0.5 and abs(rec.long_axis[1, 0] - 4) < 0.5


def test_empty_mask_is_a_clear_error():
    with pytest.raises(ValueError, match="empty"):
        measure_recist(np.zeros((8, 8), bool), 1.0)
    with pytest.raises(ValueError, match="2-D"):
        measure_recist(np.ones((2, 8, 8), bool), 1.0)


def test_deeplesion_round_trip():
    rr, cc = _grid()
    rec = measure_recist(((rr - 40) / 9) ** 2 + ((cc - 50) / 17) ** 2 <= 1, spacing_mm=0.8)
    back = recist_from_deeplesion(rec.as_deeplesion(), 0.8)
    np.testing.assert_allclose(back.long_axis, rec.long_axis)
    np.testing.assert_allclose(back.short_axis, rec.short_axis)
    assert back.long_mm == pytest.approx(rec.long_mm)


def test_deeplesion_string_format_and_order():
    # a real DL_info.csv row (000089_01_01_037.png): x1, y1, x2, y2, x3, y3, x4, y4
    s = "154.273, 176.808, 143.903, 209.029, 160.939, 200.511, 137.977, 191.252"
    rec = recist_from_deeplesion(s, 0.859375)
    assert isinstance(rec, Recist)
    np.testing.assert_allclose(rec.long_axis, [[176.808, 154.273], [209.029, 143.903]])
    np.testing.assert_allclose(rec.short_axis, [[200.511, 160.939], [191.252, 137.977]])
    # the row's Lesion_diameters_Pixel_ column says 33.8477, 24.7578
    assert rec.long_mm / 0.859375 == pytest.approx(33.8477, abs=1e-3)
    assert rec.short_mm / 0.859375 == pytest.approx(24.7578, abs=1e-3)
    np.testing.assert_allclose(rec.as_deeplesion(), [float(x) for x in s.split(",")])


def test_deeplesion_bad_input():
    with pytest.raises(ValueError, match="8 finite numbers"):
        recist_from_deeplesion([1, 2, 3], 1.0)
    with pytest.raises(ValueError, match="not a list of numbers"):
        recist_from_deeplesion("1, 2, a, 4, 5, 6, 7, 8", 1.0)
