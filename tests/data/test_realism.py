"""Realism measures on synthetic images whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from softnodule.data.realism import edge_width_mm, nodule_hu, parenchyma_stats

SS = 8  # supersampling of the synthetic discs


def _disc_alpha(size: int, r: float, centre=(31.7, 32.2)) -> np.ndarray:
    y, x = np.mgrid[0 : size * SS, 0 : size * SS]
    y = (y + 0.5) / SS - 0.5
    x = (x + 0.5) / SS - 0.5
    inside = (y - centre[0]) ** 2 + (x - centre[1]) ** 2 <= r * r
    return inside.reshape(size, SS, size, SS).mean(axis=(1, 3))


@pytest.mark.parametrize("r,sigma", [(12.0, 1.0), (12.0, 2.0), (8.0, 1.5), (20.0, 0.8)])
def test_edge_width_of_blurred_disc(r, sigma):
    """A disc blurred by a Gaussian of sigma s has a 10-90 % edge of 2.563 s."""
    spacing = 0.7
    alpha = _disc_alpha(64, r)
    img = -850.0 + 900.0 * ndi.gaussian_filter(alpha, sigma)
    width = edge_width_mm(img, alpha >= 0.5, spacing)
    expected = 2 * 1.2816 * sigma * spacing
    assert width == pytest.approx(expected, rel=0.15)


def test_edge_width_ignores_mask_offset_and_noise():
    spacing = 0.8
    alpha = _disc_alpha(64, 12.0)
    rng = np.random.default_rng(0)
    img = -850.0 + 900.0 * ndi.gaussian_filter(alpha, 1.5) + rng.normal(0, 20, alpha.shape)
    bigger = ndi.binary_dilation(alpha >= 0.5, iterations=1)
    w0 = edge_width_mm(img, alpha >= 0.5, spacing)
    w1 = edge_width_mm(img, bigger, spacing)
    assert w0 == pytest.approx(2.563 * 1.5 * spacing, rel=0.15)
    assert w1 == pytest.approx(w0, rel=0.15)


def test_edge_width_without_contrast_is_nan():
    alpha = _disc_alpha(64, 10.0)
    assert np.isnan(edge_width_mm(np.full(alpha.shape, -800.0), alpha >= 0.5, 0.7))


@pytest.mark.parametrize("std", [10.0, 30.0, 60.0])
def test_parenchyma_noise_of_white_noise(std):
    rng = np.random.default_rng(1)
    img = -860.0 + rng.normal(0.0, std, (64, 64))
    mask = _disc_alpha(64, 8.0) >= 0.5
    img[mask] = 20.0  # a solid nodule, excluded with its margin
    mean, noise = parenchyma_stats(img, mask)
    assert noise == pytest.approx(std, rel=0.15)
    assert mean == pytest.approx(-860.0, abs=3 * std / 40)


def test_parenchyma_ignores_out_of_range_tissue_and_reports_nan_without_lung():
    rng = np.random.default_rng(2)
    img = -850.0 + rng.normal(0.0, 25.0, (64, 64))
    img[:, 40:] = 40.0 + rng.normal(0.0, 25.0, (64, 24))  # chest wall
    mean, noise = parenchyma_stats(img, None)
    assert mean == pytest.approx(-850.0, abs=5.0)
    assert noise == pytest.approx(25.0, rel=0.15)
    assert np.isnan(parenchyma_stats(np.full((32, 32), 40.0), None)[0])
    with pytest.raises(ValueError, match="shape"):
        parenchyma_stats(img, np.zeros((8, 8), bool))


def test_nodule_hu_is_the_core_median():
    alpha = _disc_alpha(64, 9.0)
    img = -850.0 + 880.0 * ndi.gaussian_filter(alpha, 1.0)  # core at +30 HU
    assert nodule_hu(img, alpha >= 0.5) == pytest.approx(30.0, abs=8.0)
    # a tiny mask that erodes away is measured as it is
    tiny = np.zeros((16, 16), bool)
    tiny[5, 5:7] = True
    assert nodule_hu(np.full((16, 16), 7.0), tiny) == 7.0
    with pytest.raises(ValueError, match="empty"):
        nodule_hu(img, np.zeros_like(img, bool))
