"""Soft Mask pipeline: the three priors end to end, partial-volume recovery, reporting, errors."""

from __future__ import annotations


import numpy as np
import pytest

from softnodule.data.case import NoduleCase, Recist
from softnodule.matting import (
    EmptyMaskError,
    SoftMaskResult,
    closed_form_alpha,
    hu_to_unit,
    soft_mask_from_case,
    soft_mask_from_mask,
    soft_mask_from_readers,
    soft_mask_from_recist,
    trimap_from_binary,
    trimap_from_readers,
)

NODULE_HU, LUNG_HU = 40.0, -850.0


def partial_volume_crop(size: int = 64, radius: float = 7.3, centre=(31.6, 32.3), k: int = 8, noise: float = 0.0):
    """A disc nodule rendered with its exact area fraction (``k`` x ``k`` supersampling) as the
    true alpha, image = alpha * nodule + (1 - alpha) * lung (linear partial volume), in HU."""
    fine = (np.arange(size * k) + 0.5) / k - 0.5
    yy, xx = np.meshgrid(fine, fine, indexing="ij")
    inside = np.hypot(yy - centre[0], xx - centre[1]) <= radius
    alpha = inside.reshape(size, k, size, k).mean(axis=(1, 3))
    img = alpha * NODULE_HU + (1 - alpha) * LUNG_HU
    if noise:
        img = img + np.random.default_rng(0).normal(0, noise, img.shape)
    return img, alpha


def readers_for(alpha: np.ndarray) -> np.ndarray:
    """Three readers: tight, consensus-like and generous outlines of the same nodule."""
    return np.stack([alpha >= 0.8, alpha >= 0.5, alpha >= 0.15])


def make_case(img: np.ndarray, alpha: np.ndarray) -> NoduleCase:
    readers = readers_for(alpha)
    rows, cols = np.nonzero(alpha >= 0.5)
    cy, cx = rows.mean(), cols.mean()
    half = (cols.max() - cols.min()) / 2
    recist = Recist(
        long_axis=np.array([[cy, cx - half], [cy, cx + half]]),
        short_axis=np.array([[cy - half, cx], [cy + half, cx]]),
        spacing_mm=0.7,
    )
    return NoduleCase(
        case_id="TEST/n01@phantom",
        patient_id="TEST",
        image=img.astype(np.float32),
        spacing_mm=0.7,
        readers=readers,
        consensus=readers.sum(0) >= 2,
        recist=recist,
        true_alpha=alpha.astype(np.float32),
        source="phantom",
    )


def check_result(res: SoftMaskResult, shape, strategy: str) -> None:
    assert res.strategy == strategy
    assert res.alpha.dtype == np.float32 and res.alpha.shape == shape
    assert res.alpha.min() >= 0 and res.alpha.max() <= 1
    assert res.trimap.dtype == np.uint8 and res.trimap.shape == shape
    np.testing.assert_array_equal(res.binary, res.alpha >= 0.5)
    assert set(res.timings_ms) == {"grabcut", "trimap", "matting", "total"}
    assert all(v >= 0 for v in res.timings_ms.values())


def test_soft_mask_from_readers_recovers_partial_volume():
    img, alpha = partial_volume_crop()
    res = soft_mask_from_readers(img, readers_for(alpha))
    check_result(res, img.shape, "readers")
    np.testing.assert_array_equal(res.trimap, trimap_from_readers(readers_for(alpha)).trimap)
    # Linear partial volume satisfies the colour-line model; what remains is the readers' error
    # at the known pixels (partial pixels marked 1 by all readers or 0 by all).
    band = res.trimap == 128
    err = np.abs(res.alpha[band] - alpha[band])
    assert err.mean() < 0.02 and err.max() < 0.05
    assert res.notes == () and not res.degenerate


def test_soft_mask_from_mask_with_noise_matches_closed_form_and_truth():
    img, alpha = partial_volume_crop(noise=15.0)
    res = soft_mask_from_mask(img, alpha >= 0.5, erode_px=2, dilate_px=2)
    check_result(res, img.shape, "binary")
    tri = trimap_from_binary(alpha >= 0.5, 2, 2).trimap
    np.testing.assert_array_equal(res.trimap, tri)
    np.testing.assert_allclose(res.alpha, closed_form_alpha(hu_to_unit(img), tri), atol=1e-6)
    assert np.abs(res.alpha - alpha).mean() < 0.01
    truth = alpha >= 0.5
    assert 2 * (res.binary & truth).sum() / (res.binary.sum() + truth.sum()) > 0.95


def test_soft_mask_from_recist():
    img, alpha = partial_volume_crop(noise=10.0)
    case = make_case(img, alpha)
    res = soft_mask_from_recist(img, case.recist, seed=0)
    check_result(res, img.shape, "recist")
    assert res.timings_ms["grabcut"] > 0
    truth = alpha >= 0.5
    assert 2 * (res.binary & truth).sum() / (res.binary.sum() + truth.sum()) > 0.85
    again = soft_mask_from_recist(img, case.recist, seed=0)
    np.testing.assert_array_equal(res.alpha, again.alpha)


@pytest.mark.parametrize("strategy", ["readers", "binary", "recist"])
def test_soft_mask_from_case(strategy):
    img, alpha = partial_volume_crop(noise=5.0)
    res = soft_mask_from_case(make_case(img, alpha), strategy)
    check_result(res, img.shape, strategy)
    assert res.binary.any()


def test_threshold_and_window_are_parameters():
    img, alpha = partial_volume_crop()
    lo = soft_mask_from_readers(img, readers_for(alpha), threshold=0.2)
    hi = soft_mask_from_readers(img, readers_for(alpha), threshold=0.8)
    assert lo.binary.sum() > hi.binary.sum()
    np.testing.assert_array_equal(lo.alpha, hi.alpha)
    narrow = soft_mask_from_readers(img, readers_for(alpha), window=(-1000.0, 100.0))
    assert narrow.alpha.shape == img.shape
    with pytest.raises(ValueError, match="window"):
        soft_mask_from_readers(img, readers_for(alpha), window=(100.0, -100.0))
    with pytest.raises(ValueError, match="threshold"):
        soft_mask_from_readers(img, readers_for(alpha), threshold=0.0)
    with pytest.raises(ValueError, match="strategy"):
        soft_mask_from_case(make_case(img, alpha), "rectangle")


def test_degenerate_inputs_are_reported_or_refused():
    img, _ = partial_volume_crop()
    tiny = np.zeros(img.shape, bool)
    tiny[31:33, 32] = True
    res = soft_mask_from_mask(img, tiny)
    assert res.degenerate and "seed" in res.notes[0] and res.binary.any()
    with pytest.raises(EmptyMaskError):
        soft_mask_from_mask(img, np.zeros(img.shape, bool))
    with pytest.raises(EmptyMaskError):
        soft_mask_from_readers(img, np.zeros((3, *img.shape), bool))
    full = soft_mask_from_mask(img, np.ones(img.shape, bool))
    assert (full.alpha == 1).all() and any("no background" in n for n in full.notes)


def test_bad_inputs():
    img, alpha = partial_volume_crop()
    mask = alpha >= 0.5
    bad = img.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        soft_mask_from_mask(bad, mask)
    with pytest.raises(ValueError, match="same crop"):
        soft_mask_from_mask(img, mask[:-1])
    with pytest.raises(ValueError, match="same crop"):
        soft_mask_from_readers(img, readers_for(alpha)[:, 1:])
    with pytest.raises(ValueError, match="binary"):
        soft_mask_from_mask(img, alpha)
