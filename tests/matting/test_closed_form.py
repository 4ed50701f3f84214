"""Closed-form matting: exact small cases, agreement with pymatting, input checks, speed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from softnodule.matting import (
    BG,
    FG,
    UNKNOWN,
    closed_form_alpha,
    hu_to_unit,
    soft_mask,
    trimap_from_binary,
)

@pytest.fixture(scope="module")
def pymatting_cf():
    """pymatting's estimate_alpha_cf on a grey image stacked to 3 channels (imported once:
    its numba kernels compile for ~45 s on the first import after installation)."""
    pm = pytest.importorskip("pymatting")

    def run(image01: np.ndarray, trimap: np.ndarray, eps: float, radius: int = 1) -> np.ndarray:
        return pm.estimate_alpha_cf(
            np.dstack([image01] * 3),
            trimap / 255.0,
            laplacian_kwargs={"epsilon": eps, "radius": radius},
        )

    return run


def synthetic_crop(size: int = 64, seed: int = 0, shape: str = "disc", radius: float = 9.0):
    """A nodule-like crop in [0, 1]: disc/ellipse (or ground-glass ramp) + noise + blur, with a
    trimap from its binary mask (2 px erosion, 2 px dilation)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = size / 2 - 0.4 + rng.uniform(-2, 2), size / 2 + 0.3 + rng.uniform(-2, 2)
    if shape == "disc":
        d = np.hypot(yy - cy, xx - cx) / radius
    else:
        d = np.hypot((yy - cy) / radius, (xx - cx) / (0.6 * radius))
    level = 0.75 if shape != "ggo" else 0.45
    img = np.where(d < 1, level, 0.12) + rng.normal(0, 0.03, (size, size))
    img[int(size * 0.2) : int(size * 0.2) + 2, :] += 0.3  # a vessel crossing the crop
    img = np.clip(cv2.GaussianBlur(img, (0, 0), 0.9), 0, 1)
    trimap = trimap_from_binary(d < 1, 2, 2).trimap
    return img, trimap


def dense_reference(img: np.ndarray, trimap: np.ndarray, eps: float, r: int) -> np.ndarray:
    """Naive Eq. (8) of DSNet (Levin et al.) with a dense solve; eps in pymatting's convention."""
    h, w = img.shape
    n = (2 * r + 1) ** 2
    lap = np.zeros((h * w, h * w))
    flat = img.ravel()
    for y in range(r, h - r):
        for x in range(r, w - r):
            idx = [(y + dy) * w + x + dx for dy in range(-r, r + 1) for dx in range(-r, r + 1)]
            v = flat[idx]
            c = v - v.mean()
            lap[np.ix_(idx, idx)] += np.eye(n) - (1 + np.outer(c, c) / (v.var() + eps / 3 / n)) / n
    t = trimap.ravel()
    u, k = t == UNKNOWN, t != UNKNOWN
    alpha = t / 255.0
    alpha[u] = np.linalg.solve(lap[np.ix_(u, u)], -lap[np.ix_(u, k)] @ (t[k] == FG))
    return alpha.reshape(h, w)


@pytest.mark.parametrize("radius", [1, 2])
def test_matches_a_dense_solve_of_eq8(radius):
    rng = np.random.default_rng(radius)
    img = rng.random((11, 12))
    tri = np.full(img.shape, UNKNOWN, np.uint8)
    tri[:, :3] = FG
    tri[:, -3:] = BG
    tri[5, 6] = FG
    ref = dense_reference(img, tri, 1e-3, radius)
    got = closed_form_alpha(img, tri, eps=1e-3, radius=radius)
    np.testing.assert_allclose(got, np.clip(ref, 0, 1), atol=1e-10)


def test_superlu_fallback_gives_the_same_alpha(monkeypatch):
    # Wide bands (a large unknown blob) go to SuperLU instead of banded Cholesky.
    import softnodule.matting.closed_form as cf

    img, tri = synthetic_crop(size=40, seed=8, radius=8)
    banded = closed_form_alpha(img, tri)
    monkeypatch.setattr(cf, "_MAX_BAND_ENTRIES", 0)
    np.testing.assert_allclose(closed_form_alpha(img, tri), banded, atol=1e-10)


def test_constant_image_symmetric_trimap_gives_one_half():
    # Constant image: the Laplacian is a pure graph Laplacian (harmonic interpolation); mirror
    # symmetry maps the problem to 1 - alpha, so the middle column is exactly 0.5.
    tri = np.full((9, 9), UNKNOWN, np.uint8)
    tri[:, :4] = FG
    tri[:, 5:] = BG
    alpha = closed_form_alpha(np.full((9, 9), 0.4), tri)
    np.testing.assert_allclose(alpha[:, 4], 0.5, atol=1e-12)


def test_constant_image_is_harmonic_and_monotone():
    tri = np.full((12, 20), UNKNOWN, np.uint8)
    tri[:, :3] = FG
    tri[:, -3:] = BG
    alpha = closed_form_alpha(np.full(tri.shape, 0.7), tri)
    ref = dense_reference(np.full(tri.shape, 0.7), tri, 1e-5, 1)
    np.testing.assert_allclose(alpha, ref, atol=1e-9)
    prof = alpha[6]
    assert np.all(np.diff(prof) <= 1e-12), "alpha must decrease from FG to BG"
    assert 0 < alpha[tri == UNKNOWN].min() and alpha[tri == UNKNOWN].max() < 1  # max principle
    np.testing.assert_allclose(alpha, np.broadcast_to(prof, alpha.shape), atol=1e-9)  # no dependence on the row


def test_linear_partial_volume_is_recovered_exactly():
    # Image = alpha * F + (1 - alpha) * B with constant F, B fits the colour-line model exactly:
    # with the trimap FG = {alpha == 1}, BG = {alpha == 0}, only eps separates the solution from
    # the true area fraction.
    k, size, radius = 8, 32, 6.3
    fine = (np.arange(size * k) + 0.5) / k - 0.5
    yy, xx = np.meshgrid(fine, fine, indexing="ij")
    true = (np.hypot(yy - 15.6, xx - 16.2) <= radius).reshape(size, k, size, k).mean(axis=(1, 3))
    img = 0.12 + 0.6 * true
    tri = np.full(true.shape, UNKNOWN, np.uint8)
    tri[true == 1] = FG
    tri[true == 0] = BG
    assert np.abs(closed_form_alpha(img, tri, eps=1e-5) - true).max() < 1e-3
    assert np.abs(closed_form_alpha(img, tri, eps=1e-7) - true).max() < 1e-5


def test_known_pixels_and_range():
    img, tri = synthetic_crop(seed=4)
    alpha = closed_form_alpha(img, tri)
    assert alpha.shape == img.shape and alpha.dtype == np.float64
    assert (alpha[tri == FG] == 1).all() and (alpha[tri == BG] == 0).all()
    assert alpha.min() >= 0 and alpha.max() <= 1
    band = alpha[tri == UNKNOWN]
    assert ((band > 0.05) & (band < 0.95)).any(), "a blurred edge must give fractional alpha"


def test_no_unknown_returns_trimap_over_255():
    tri = np.zeros((16, 16), np.uint8)
    tri[4:9, 5:11] = FG
    np.testing.assert_array_equal(closed_form_alpha(np.random.default_rng(0).random((16, 16)), tri), tri / 255.0)


def test_one_sided_trimaps():
    img, tri = synthetic_crop(seed=1)
    only_fg = np.where(tri == BG, UNKNOWN, tri).astype(np.uint8)
    np.testing.assert_allclose(closed_form_alpha(img, only_fg), 1.0, atol=1e-8)
    only_bg = np.where(tri == FG, UNKNOWN, tri).astype(np.uint8)
    np.testing.assert_allclose(closed_form_alpha(img, only_bg), 0.0, atol=1e-8)
    with pytest.raises(ValueError, match="no known pixel"):
        closed_form_alpha(img, np.full(img.shape, UNKNOWN, np.uint8))


@pytest.mark.parametrize(
    "image, trimap, match",
    [
        (np.full((8, 8), np.nan), np.zeros((8, 8), np.uint8), "NaN"),
        (np.zeros((8, 8, 3)), np.zeros((8, 8), np.uint8), "single-channel"),
        (np.zeros((8, 8), bool), np.zeros((8, 8), np.uint8), "dtype"),
        (np.zeros((8, 8)), np.zeros((8, 8)), "uint8"),
        (np.zeros((8, 8)), np.zeros((8, 9), np.uint8), "does not match"),
        (np.zeros((8, 8)), np.ones((8, 8), np.uint8), "0/1 mask"),
        (np.full((8, 8), 300.0), np.zeros((8, 8), np.uint8), r"\[0, 1\]"),
    ],
)
def test_bad_input_messages(image, trimap, match):
    with pytest.raises(ValueError, match=match):
        closed_form_alpha(image, trimap)


def test_bad_parameters():
    img, tri = synthetic_crop()
    with pytest.raises(ValueError, match="eps"):
        closed_form_alpha(img, tri, eps=0.0)
    with pytest.raises(ValueError, match="radius"):
        closed_form_alpha(img, tri, radius=0)


@pytest.mark.parametrize("shape, seed", [("disc", 0), ("ellipse", 1), ("ggo", 2), ("disc", 3)])
def test_agrees_with_pymatting_on_synthetic_crops(pymatting_cf, shape, seed):
    img, tri = synthetic_crop(seed=seed, shape=shape)
    ours = closed_form_alpha(img, tri, eps=1e-5)
    theirs = pymatting_cf(img, tri, 1e-5)
    assert np.abs(ours - theirs).max() <= 1e-3


def test_eps_convention_and_radius_two_agree_with_pymatting(pymatting_cf):
    img, tri = synthetic_crop(size=48, seed=5, radius=7)
    for eps in (1e-4, 1e-3):
        assert np.abs(closed_form_alpha(img, tri, eps=eps) - pymatting_cf(img, tri, eps)).max() <= 1e-4
    assert np.abs(closed_form_alpha(img, tri, 1e-5, 2) - pymatting_cf(img, tri, 1e-5, 2)).max() <= 1e-3


def test_agrees_with_pymatting_on_a_large_crop(pymatting_cf):
    img, tri = synthetic_crop(size=160, seed=6, radius=40)
    assert np.abs(closed_form_alpha(img, tri) - pymatting_cf(img, tri, 1e-5)).max() <= 1e-3


def _lidc_slice(slabs: Path) -> np.ndarray:
    """The middle slice of LIDC-IDRI-0001's slab, in HU (the slab's file names are the slice z)."""
    pydicom = pytest.importorskip("pydicom")
    files = sorted(
        (slabs / "LIDC-IDRI-0001").glob("*/*/*.dcm"), key=lambda f: float(f.stem)
    )
    if not files:
        pytest.skip(f"no DICOM slices of LIDC-IDRI-0001 under {slabs}")
    ds = pydicom.dcmread(files[len(files) // 2])
    return ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)


def test_agrees_with_pymatting_on_a_real_lidc_crop(pymatting_cf, lidc_slabs):
    hu = _lidc_slice(lidc_slabs)
    # The 64x64 crop (stride 16, inside the scan's field of view) with the most balanced mix of
    # tissue (> -400 HU) and air (< -700 HU): plenty of real tissue edges.
    best = max(
        (min((c > -400).mean(), (c < -700).mean()), r0, c0)
        for r0 in range(0, hu.shape[0] - 63, 16)
        for c0 in range(0, hu.shape[1] - 63, 16)
        if (c := hu[r0 : r0 + 64, c0 : c0 + 64]).min() > -1100
    )
    _, r0, c0 = best
    crop = hu[r0 : r0 + 64, c0 : c0 + 64]
    tri = trimap_from_binary(crop > -400, 2, 2).trimap
    img = hu_to_unit(crop)
    ours = closed_form_alpha(img, tri, eps=1e-5)
    assert np.abs(ours - pymatting_cf(img, tri, 1e-5)).max() <= 1e-3
    np.testing.assert_allclose(soft_mask(crop, tri), ours)


def test_single_blas_thread_restores_thread_counts():
    from softnodule.matting._blas import _find_controls, single_blas_thread

    controls = _find_controls()
    before = [get() for get, _ in controls]
    with single_blas_thread():
        assert all(get() == 1 for get, _ in controls)
    assert [get() for get, _ in controls] == before
