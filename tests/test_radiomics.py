"""2-D radiomics extractor: hand-made shapes, known values, soft = binary agreement, skimage reference."""

import numpy as np
import pytest
from scipy import stats
from skimage.feature import graycomatrix

from softnodule.radiomics import (
    FEATURE_GROUPS,
    FEATURE_NAMES,
    discretize,
    extract_features,
    feature_names,
    weighted_glcm,
    weighted_quantile,
)

N = 64
RR, CC = np.mgrid[0:N, 0:N].astype(float)


def disc(r: float, c=(32.0, 32.0)) -> np.ndarray:
    return (RR - c[0]) ** 2 + (CC - c[1]) ** 2 <= r * r


def soft_disc(r: float, k: int = 8) -> np.ndarray:
    """Exact-ish partial-volume disc: area fraction per pixel from a k x k supersampling."""
    y, x = (np.mgrid[0 : N * k, 0 : N * k] + 0.5) / k - 0.5
    hr = (y - 32.0) ** 2 + (x - 32.0) ** 2 <= r * r
    return hr.reshape(N, k, N, k).mean(axis=(1, 3))


def square(half: int) -> np.ndarray:
    return (np.abs(RR - 32) <= half) & (np.abs(CC - 32) <= half)


def star(r0: float = 10.0, amp: float = 9.0, arms: int = 7) -> np.ndarray:
    theta = np.arctan2(RR - 32, CC - 32)
    return np.hypot(RR - 32, CC - 32) <= r0 + amp * np.maximum(0.0, np.cos(arms * theta)) ** 4


@pytest.fixture(scope="module")
def noisy():
    return np.random.default_rng(0).normal(-400.0, 150.0, (N, N))


def test_names_are_stable_and_grouped(noisy):
    f = extract_features(noisy, disc(12), 0.7)
    assert tuple(f) == FEATURE_NAMES
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES) == sum(len(v) for v in FEATURE_GROUPS.values())
    assert tuple(extract_features(noisy, disc(12), 0.7, groups=("shape2d", "firstorder"))) == feature_names(
        ("firstorder", "shape2d"))
    assert all(np.isfinite(v) for v in f.values())


def test_shape_ordering_disc_square_star(noisy):
    d, s, t = (extract_features(noisy, m, 0.7, groups=("shape2d",)) for m in (disc(14), square(12), star()))
    # compactness: a disc is the most compact outline, a spiculated star the least
    assert d["shape2d_sphericity"] > s["shape2d_sphericity"] > t["shape2d_sphericity"]
    assert t["shape2d_sphericity"] < 0.7
    # boundary irregularity: radial variation and convexity defects grow disc < square < star
    assert d["shape2d_radial_cv"] < s["shape2d_radial_cv"] < t["shape2d_radial_cv"]
    assert d["shape2d_radial_range"] < s["shape2d_radial_range"] < t["shape2d_radial_range"]
    assert t["shape2d_solidity"] < 0.75 < min(d["shape2d_solidity"], s["shape2d_solidity"])
    assert t["shape2d_convexity"] < min(d["shape2d_convexity"], s["shape2d_convexity"])
    assert t["shape2d_max_defect_ratio"] > 5 * max(d["shape2d_max_defect_ratio"], s["shape2d_max_defect_ratio"])
    # symmetric shapes: equal axes
    assert d["shape2d_elongation"] == pytest.approx(1.0, abs=1e-9) and d["shape2d_eccentricity"] < 1e-4


@pytest.mark.parametrize("r", [6.0, 11.0, 20.0])
def test_disc_area_is_pi_r2_in_mm2(noisy, r):
    sp = 0.7
    want = np.pi * (r * sp) ** 2
    assert extract_features(noisy, disc(r), sp)["shape2d_area_mm2"] == pytest.approx(want, rel=0.03)
    f = extract_features(noisy, soft_disc(r), sp)  # the partial-volume (soft) disc is exact to the supersampling
    assert f["shape2d_area_mm2"] == pytest.approx(want, rel=0.005)
    assert f["shape2d_perimeter_mm"] == pytest.approx(2 * np.pi * r * sp, rel=0.02)
    assert f["shape2d_sphericity"] == pytest.approx(1.0, abs=0.02)
    assert f["shape2d_major_axis_mm"] == pytest.approx(2 * r * sp, rel=0.02)  # 4 sqrt(r^2 / 4)


def test_anisotropic_spacing_scales_area_and_axes(noisy):
    m = square(8)
    iso = extract_features(noisy, m, 1.0, groups=("shape2d",))
    ani = extract_features(noisy, m, (0.5, 2.0), groups=("shape2d",))
    assert ani["shape2d_area_mm2"] == pytest.approx(iso["shape2d_area_mm2"])
    assert ani["shape2d_major_axis_mm"] == pytest.approx(4 * iso["shape2d_major_axis_mm"] / 2, rel=1e-6)
    assert ani["shape2d_elongation"] == pytest.approx(0.25, rel=1e-6)


def test_soft_roi_equal_to_binary_matches_the_reference_path(noisy):
    m = star(8, 6, 5) | disc(4, (12, 50))  # irregular, two components
    a = extract_features(noisy, m, 0.8)  # bool: numpy / scipy / skimage graycomatrix path
    b = extract_features(noisy, m.astype(np.float64), 0.8)  # float: weighted path
    for k in FEATURE_NAMES:
        assert b[k] == pytest.approx(a[k], rel=1e-9, abs=1e-9), k


def test_first_order_known_values():
    img = np.full((8, 8), -700.0)
    roi = np.zeros((8, 8), bool)
    roi[2:4, 2:4] = True
    img[2, 2], img[2, 3], img[3, 2], img[3, 3] = 0.0, 0.0, 0.0, 100.0
    f = extract_features(img, roi, 0.5, groups=("firstorder",))
    x = np.array([0.0, 0.0, 0.0, 100.0])
    assert f["firstorder_mean"] == 25.0 and f["firstorder_variance"] == pytest.approx(x.var())
    assert f["firstorder_energy"] == 10000.0 and f["firstorder_total_energy_mm2"] == 2500.0
    assert f["firstorder_p90"] == pytest.approx(np.percentile(x, 90))
    assert f["firstorder_skewness"] == pytest.approx(stats.skew(x))
    assert f["firstorder_kurtosis"] == pytest.approx(stats.kurtosis(x, fisher=False))
    # two bins of 25 HU hold 3 and 1 pixels: entropy of (3/4, 1/4) in bits
    assert f["firstorder_entropy"] == pytest.approx(-(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25)))
    assert f["firstorder_uniformity"] == pytest.approx(0.75**2 + 0.25**2)


@pytest.mark.parametrize("roi", [disc(10), soft_disc(10) * 0.8])
def test_constant_image(roi):
    img = np.full((N, N), -123.0)
    f = extract_features(img, roi, 0.7)
    assert f["firstorder_mean"] == pytest.approx(-123.0) and f["firstorder_median"] == pytest.approx(-123.0)
    assert f["firstorder_std"] == 0 and f["firstorder_skewness"] == 0 and f["firstorder_entropy"] == 0
    assert f["firstorder_uniformity"] == pytest.approx(1.0)
    assert f["glcm_homogeneity"] == pytest.approx(1.0) and f["glcm_contrast"] == 0
    assert f["glcm_energy"] == pytest.approx(1.0) and f["glcm_entropy"] == pytest.approx(0.0, abs=1e-12)


def test_weighted_glcm_equals_skimage_on_the_full_image():
    rng = np.random.default_rng(3)
    lv = rng.integers(0, 6, (9, 11))
    ours = weighted_glcm(lv, np.ones(lv.shape), 6)
    ref = graycomatrix(lv.astype(np.uint8), [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=6, symmetric=True)
    np.testing.assert_allclose(ours, ref)


def test_weighted_glcm_counts_pairs_by_the_product_of_weights():
    lv = np.array([[0, 1]])
    P = weighted_glcm(lv, np.array([[0.5, 0.4]]), 2, offsets=((0, 1),))
    np.testing.assert_allclose(P[:, :, 0, 0], [[0, 0.2], [0.2, 0]])


def test_outside_pixels_do_not_matter_and_weights_are_scale_free(noisy):
    w = soft_disc(9)
    other = noisy.copy()
    other[w == 0] = 3000.0
    a, b = extract_features(noisy, w, 0.7), extract_features(other, w, 0.7)
    assert all(a[k] == pytest.approx(b[k], rel=1e-12) for k in FEATURE_NAMES)
    # a uniformly scaled soft ROI: intensity and texture features are unchanged
    half = extract_features(noisy, 0.5 * (w > 0.3), 0.7, groups=("firstorder", "glcm"))
    full = extract_features(noisy, 1.0 * (w > 0.3), 0.7, groups=("firstorder", "glcm"))
    for k in half:
        if "energy" not in k or k.startswith("glcm"):
            assert half[k] == pytest.approx(full[k], rel=1e-9, abs=1e-9), k


def test_weighted_quantile_matches_numpy_for_unit_weights():
    x = np.random.default_rng(1).normal(size=37)
    q = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]
    np.testing.assert_allclose(weighted_quantile(x, np.ones_like(x), q), np.percentile(x, np.array(q) * 100))
    np.testing.assert_allclose(weighted_quantile(x, np.full_like(x, 0.3), q), np.percentile(x, np.array(q) * 100))


def test_discretize_is_anchored_at_the_lowest_bin():
    np.testing.assert_array_equal(discretize(np.array([-30.0, -26.0, -25.0, 0.0, 24.9]), -30.0, 25.0), [0, 0, 1, 2, 2])


def test_bad_inputs_are_named(noisy):
    with pytest.raises(ValueError, match="shape"):
        extract_features(noisy, np.ones((4, 4), bool))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        extract_features(noisy, disc(5) * 1.5)
    with pytest.raises(ValueError, match="empty"):
        extract_features(noisy, np.zeros((N, N)))
    with pytest.raises(ValueError, match="2-D"):
        extract_features(noisy[None], disc(5)[None])
    with pytest.raises(ValueError, match="spacing"):
        extract_features(noisy, disc(5), -1.0)
    with pytest.raises(ValueError, match="groups"):
        extract_features(noisy, disc(5), groups=("wavelet",))
