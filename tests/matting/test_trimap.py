"""Trimap strategies (DSNet §III-A): invariants, the paper's set definitions, degenerate crops."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from softnodule.data.case import Recist
from softnodule.matting import (
    BG,
    FG,
    UNKNOWN,
    EmptyMaskError,
    closed_form_alpha,
    disk,
    trimap_from_binary,
    trimap_from_readers,
    trimap_from_recist,
)


def ellipse_mask(size: int = 64, centre=(31.3, 32.6), axes=(9.0, 6.0), angle: float = 30.0) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    t = np.radians(angle)
    u = (yy - centre[0]) * np.cos(t) + (xx - centre[1]) * np.sin(t)
    v = -(yy - centre[0]) * np.sin(t) + (xx - centre[1]) * np.cos(t)
    return (u / axes[0]) ** 2 + (v / axes[1]) ** 2 <= 1.0


def test_disk_footprint():
    assert disk(0).tolist() == [[1]]
    assert disk(1).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    d2 = disk(2)
    assert d2.shape == (5, 5) and d2.sum() == 13 and d2[0, 2] == 1 and d2[0, 1] == 0


def test_binary_trimap_invariants():
    mask = ellipse_mask()
    res = trimap_from_binary(mask, erode_px=2, dilate_px=3)
    tri = res.trimap
    assert tri.dtype == np.uint8 and tri.shape == mask.shape
    assert set(np.unique(tri).tolist()) == {BG, UNKNOWN, FG}
    fg, bg = tri == FG, tri == BG
    assert not (fg & ~mask).any(), "foreground must lie inside the mask"
    assert not (bg & mask).any(), "no mask pixel may be background"
    # Exactly the paper's morphology with disk footprints.
    m8 = mask.astype(np.uint8)
    np.testing.assert_array_equal(fg, cv2.erode(m8, disk(2)).astype(bool))
    np.testing.assert_array_equal(~bg, cv2.dilate(m8, disk(3)).astype(bool))
    assert res.strategy == "binary" and res.notes == () and not res.degenerate
    assert res.n_fg + res.n_bg + res.n_unknown == mask.size


def test_binary_trimap_zero_radii_has_no_unknown_and_mattes_to_the_mask():
    mask = ellipse_mask()
    res = trimap_from_binary(mask, erode_px=0, dilate_px=0)
    assert res.n_unknown == 0
    img = np.random.default_rng(0).random(mask.shape)
    np.testing.assert_array_equal(closed_form_alpha(img, res.trimap), mask.astype(float))


def test_tiny_mask_keeps_a_seed_pixel():
    for pixels in ([(10, 10)], [(10, 10), (10, 11), (11, 10), (11, 11)], [(5, 5), (5, 6), (5, 7)]):
        mask = np.zeros((32, 32), bool)
        for p in pixels:
            mask[p] = True
        res = trimap_from_binary(mask, erode_px=2, dilate_px=2)
        fg = res.trimap == FG
        assert fg.sum() == 1 and (fg & mask).sum() == 1
        assert res.degenerate and "seed" in res.notes[0]
        assert not ((res.trimap == BG) & mask).any()


def test_erosion_radius_shrinks_before_seeding():
    mask = np.zeros((32, 32), bool)
    mask[10:15, 10:15] = True  # 5x5: disk(3) erases it, disk(2) keeps the centre
    res = trimap_from_binary(mask, erode_px=3, dilate_px=2)
    assert res.n_fg >= 1
    assert "used 2 px" in res.notes[0]


def test_mask_filling_the_crop_has_no_background():
    res = trimap_from_binary(np.ones((16, 16), bool))
    assert res.n_bg == 0 and res.n_fg > 0
    assert any("no background" in n for n in res.notes)


def test_dilation_shrinks_to_keep_background():
    mask = np.ones((16, 16), bool)
    mask[0, 0] = mask[0, 1] = mask[1, 0] = False
    res = trimap_from_binary(mask, erode_px=1, dilate_px=2)
    assert res.n_bg > 0
    assert any("dilation" in n for n in res.notes)


def test_empty_mask_raises_a_skippable_error():
    with pytest.raises(EmptyMaskError, match="empty"):
        trimap_from_binary(np.zeros((16, 16), bool))
    assert issubclass(EmptyMaskError, ValueError)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.full((8, 8), 255, np.uint8), "binary"),
        (np.zeros((2, 8, 8), bool), "2-D"),
        ([[0, 1], [1, 0]], "numpy array"),
    ],
)
def test_binary_bad_masks(bad, match):
    with pytest.raises(ValueError, match=match):
        trimap_from_binary(bad)


def test_negative_radius_is_refused():
    with pytest.raises(ValueError, match="erode_px"):
        trimap_from_binary(ellipse_mask(), erode_px=-1)


def test_readers_trimap_is_intersection_and_union():
    readers = np.stack(
        [
            ellipse_mask(axes=(9, 6)),
            ellipse_mask(axes=(10, 6.5), centre=(31.8, 32.0)),
            ellipse_mask(axes=(8.5, 7), angle=20),
        ]
    )
    res = trimap_from_readers(readers)
    tri = res.trimap
    np.testing.assert_array_equal(tri == FG, readers.all(axis=0))
    np.testing.assert_array_equal(tri == BG, ~readers.any(axis=0))
    np.testing.assert_array_equal(tri == UNKNOWN, readers.any(axis=0) & ~readers.all(axis=0))
    assert res.strategy == "readers" and res.notes == ()


def test_readers_with_an_empty_reader_and_disjoint_readers():
    a, b = ellipse_mask(axes=(6, 6)), ellipse_mask(axes=(7, 5))
    res = trimap_from_readers(np.stack([a, b, np.zeros_like(a)]))
    np.testing.assert_array_equal(res.trimap == FG, a & b)
    assert "reader(s) 3" in res.notes[0]

    left = np.zeros((32, 32), bool)
    right = np.zeros((32, 32), bool)
    left[10:16, 5:10] = True
    right[10:16, 20:25] = True
    res = trimap_from_readers(np.stack([left, right]))
    assert res.n_fg == 1 and ((res.trimap == FG) & (left | right)).sum() == 1
    assert any("intersection is empty" in n for n in res.notes)


def test_readers_degenerate_cases():
    with pytest.raises(EmptyMaskError):
        trimap_from_readers(np.zeros((4, 16, 16), bool))
    one = trimap_from_readers(ellipse_mask()[None])
    assert one.n_unknown == 0 and any("one reader" in n for n in one.notes)
    with pytest.raises(ValueError, match="R, H, W"):
        trimap_from_readers(ellipse_mask())


def test_recist_trimap_strategy_and_invariants():
    rng = np.random.default_rng(3)
    mask = ellipse_mask(axes=(9, 6), angle=0)
    img = np.where(mask, 30.0, -850.0) + rng.normal(0, 20, mask.shape)
    img = cv2.GaussianBlur(img, (0, 0), 0.7)
    rec = Recist(
        long_axis=np.array([[22.3, 32.6], [40.3, 32.6]]),
        short_axis=np.array([[31.3, 26.6], [31.3, 38.6]]),
        spacing_mm=0.7,
    )
    res = trimap_from_recist(img, rec, erode_px=2, dilate_px=2, seed=0)
    assert res.strategy == "recist"
    assert res.n_fg > 0 and res.n_bg > 0 and res.n_unknown > 0
    assert res.trimap[31, 32] == FG and res.trimap[2, 2] == BG
