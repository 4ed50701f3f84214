"""Table IV soft-label baselines (Kats 2019, Gros 2021) and CasGAN's max-softening."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from softnodule.matting import disk, gros_soft_label, kats_soft_label, max_soften


def disc(size: int = 64, radius: float = 10.0, centre=(31.7, 32.2)) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return np.hypot(yy - centre[0], xx - centre[1]) <= radius


def test_kats_ring():
    mask = disc(radius=10)
    soft = kats_soft_label(mask, grow=1.2, value=0.4)
    assert soft.dtype == np.float32 and soft.shape == mask.shape
    assert set(np.unique(soft).tolist()) == {0.0, np.float32(0.4), 1.0}
    assert (soft[mask] == 1).all()
    # Equivalent diameter ~20 px -> grown to 24 px -> a 2 px ring.
    d = 2 * np.sqrt(mask.sum() / np.pi)
    r = round(0.2 * d / 2)
    ring = cv2.dilate(mask.astype(np.uint8), disk(r)).astype(bool) & ~mask
    np.testing.assert_array_equal(soft == np.float32(0.4), ring)


def test_kats_small_mask_gets_at_least_one_pixel_and_edge_cases():
    mask = disc(radius=2)
    soft = kats_soft_label(mask)
    assert (soft == 0.5).sum() > 0
    np.testing.assert_array_equal(kats_soft_label(mask, grow=1.0), mask.astype(np.float32))
    assert not kats_soft_label(np.zeros((8, 8), bool)).any()
    with pytest.raises(ValueError, match="grow"):
        kats_soft_label(mask, grow=0.9)
    with pytest.raises(ValueError, match="value"):
        kats_soft_label(mask, value=1.5)


def test_gros_resampled_label_is_soft_only_at_the_boundary():
    mask = disc(size=63, radius=12)
    soft = gros_soft_label(mask, factor=2.0)
    assert soft.dtype == np.float32 and soft.shape == (63, 63)
    assert soft.min() >= 0 and soft.max() <= 1
    inner = cv2.erode(mask.astype(np.uint8), disk(4)).astype(bool)
    outer = ~cv2.dilate(mask.astype(np.uint8), disk(4)).astype(bool)
    np.testing.assert_allclose(soft[inner], 1.0, atol=1e-3)
    np.testing.assert_allclose(soft[outer], 0.0, atol=1e-3)
    assert ((soft > 0.05) & (soft < 0.95)).sum() > 20
    # Total mass is roughly preserved (no re-binarisation bias).
    assert abs(soft.sum() - mask.sum()) / mask.sum() < 0.05
    np.testing.assert_array_equal(gros_soft_label(mask, factor=1.0), mask.astype(np.float32))


def test_gros_reader_average():
    readers = np.stack([disc(radius=r) for r in (8, 9, 10, 11)])
    soft = gros_soft_label(readers, factor=1.0)
    np.testing.assert_allclose(soft, readers.mean(axis=0), atol=1e-7)
    assert set(np.unique(soft).tolist()) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert gros_soft_label(readers).shape == (64, 64)
    with pytest.raises(ValueError, match="factor"):
        gros_soft_label(readers, factor=0.5)
    with pytest.raises(ValueError, match="binary"):
        gros_soft_label(readers * 0.5)


def test_max_soften():
    mask = disc(radius=8)
    soft = np.clip(1.0 - np.abs(np.hypot(*np.mgrid[-32:32, -32:32]) - 9) / 3, 0, 1)
    out = max_soften(mask, soft)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.maximum(mask, soft), atol=1e-7)
    assert (out >= mask).all() and (out[mask] == 1).all()
    with pytest.raises(ValueError, match="same crop"):
        max_soften(mask, soft[:10])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        max_soften(mask, soft * 3)
