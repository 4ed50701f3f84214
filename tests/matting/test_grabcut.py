"""GrabCut from RECIST axes: initialisation labels, determinism, non-empty results, fallbacks."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from softnodule.data.case import Recist
from softnodule.matting import (
    grabcut_from_recist,
    grabcut_from_recist_detailed,
    recist_init_mask,
    recist_prior,
)


def nodule_image(size: int = 64, seed: int = 0, semi=(8.0, 6.0)):
    """Solid nodule (ellipse, long axis along the columns) in lung with a vessel; HU."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = size / 2 + 0.3, size / 2 - 0.6
    truth = ((yy - cy) / semi[1]) ** 2 + ((xx - cx) / semi[0]) ** 2 <= 1
    img = np.where(truth, 30.0, -860.0)
    img[int(size * 0.15) : int(size * 0.15) + 2, :] = -80.0
    img = cv2.GaussianBlur(img, (0, 0), 0.8) + rng.normal(0, 25, (size, size))
    recist = Recist(
        long_axis=np.array([[cy, cx - semi[0]], [cy, cx + semi[0]]]),
        short_axis=np.array([[cy - semi[1], cx], [cy + semi[1], cx]]),
        spacing_mm=0.7,
    )
    return img, truth, recist


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def test_init_mask_labels():
    img, truth, rec = nodule_image()
    init = recist_init_mask(img.shape, rec)
    lines, region = recist_prior(img.shape, rec)
    assert set(np.unique(init).tolist()) == {cv2.GC_BGD, cv2.GC_FGD, cv2.GC_PR_BGD, cv2.GC_PR_FGD}
    np.testing.assert_array_equal(init == cv2.GC_FGD, lines)
    np.testing.assert_array_equal((init == cv2.GC_FGD) | (init == cv2.GC_PR_FGD), region)
    assert lines[int(round(rec.long_axis[0, 0])), 32]  # the long axis is drawn
    assert dice(region, truth) > 0.85  # the axes' ellipse approximates the nodule
    assert init[0, 0] == cv2.GC_BGD and init[32, 32 + 11] == cv2.GC_PR_BGD


def test_grabcut_finds_the_nodule_deterministically():
    img, truth, rec = nodule_image(seed=1)
    a = grabcut_from_recist_detailed(img, rec, seed=0)
    b = grabcut_from_recist_detailed(img, rec, seed=0)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert a.mask.dtype == bool and a.mask.any() and not a.fell_back
    assert dice(a.mask, truth) > 0.85
    np.testing.assert_array_equal(grabcut_from_recist(img, rec, seed=0), a.mask)


@pytest.mark.parametrize("seed", range(6))
def test_never_empty_even_without_a_nodule(seed):
    # Pure lung noise: GrabCut may collapse; the result must still be a non-empty mask that
    # contains the RECIST line pixels, and a fallback must be reported.
    rng = np.random.default_rng(seed)
    img = rng.normal(-850, 40, (48, 48))
    _, _, rec = nodule_image(size=48)
    res = grabcut_from_recist_detailed(img, rec, seed=seed)
    lines, _ = recist_prior(img.shape, rec)
    assert res.mask.any() and (res.mask | ~lines).all()
    if res.fell_back:
        assert any("fell back" in n for n in res.notes)


def test_fallback_when_the_recist_region_fills_the_crop():
    img = np.full((6, 6), -500.0)
    rec = Recist(
        long_axis=np.array([[2.5, -2.0], [2.5, 7.0]]),
        short_axis=np.array([[-2.0, 2.5], [7.0, 2.5]]),
        spacing_mm=1.0,
    )
    res = grabcut_from_recist_detailed(img, rec)
    assert res.fell_back and res.mask.all()
    assert any("no background sample" in n for n in res.notes)


def test_bad_recist_and_image():
    img, _, rec = nodule_image()
    point = Recist(long_axis=np.array([[5.0, 5.0], [5.2, 5.0]]), short_axis=rec.short_axis, spacing_mm=1)
    with pytest.raises(ValueError, match="shorter than one pixel"):
        grabcut_from_recist(img, point)
    far = Recist(long_axis=rec.long_axis + 100, short_axis=rec.short_axis + 100, spacing_mm=1)
    with pytest.raises(ValueError, match="outside"):
        grabcut_from_recist(img, far)
    with pytest.raises(ValueError, match="Recist"):
        grabcut_from_recist(img, "axes")  # type: ignore[arg-type]
    bad = img.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        grabcut_from_recist(bad, rec)
    with pytest.raises(ValueError, match="iterations"):
        grabcut_from_recist(img, rec, iterations=0)
