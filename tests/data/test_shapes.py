"""The rasteriser: areas, conventions and the consensus vote on known shapes."""

import numpy as np
import pytest

from softnodule.data.shapes import block_mean, consensus_vote, crop_origin, rasterize_polygons


def _circle(r0, c0, radius, n=200):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([r0 + radius * np.sin(t), c0 + radius * np.cos(t)], 1)


@pytest.mark.parametrize("k", [8, 16])  # cv2 fills edge pixels: +~1/(2k) px outward bias
def test_circle_area_fraction_matches_geometry(k):
    hr = rasterize_polygons([_circle(20, 20, 8.0)], [True], (0, 0), 40, k, smooth_sigma=0, exclude_outline=False)
    alpha = block_mean(hr, k)
    assert alpha.shape == (40, 40) and alpha.dtype == np.float32
    assert abs(alpha.sum() - np.pi * 64) / (np.pi * 64) < 0.02
    assert 0 < alpha[20, 28] < 1 or 0 < alpha[20, 27] < 1  # fractional pixels on the edge


def test_exclude_outline_shrinks_by_half_a_pixel():
    full = block_mean(rasterize_polygons([_circle(20, 20, 8.0)], [True], (0, 0), 40, 8, smooth_sigma=0,
                                         exclude_outline=False), 8).sum()
    shrunk = block_mean(rasterize_polygons([_circle(20, 20, 8.0)], [True], (0, 0), 40, 8, smooth_sigma=0), 8).sum()
    assert abs(shrunk - np.pi * 7.5**2) / (np.pi * 7.5**2) < 0.03
    assert shrunk < full


def test_exclusion_contour_makes_a_hole():
    hr = rasterize_polygons([_circle(20, 20, 10.0), _circle(20, 20, 4.0)], [True, False], (0, 0), 40, 4,
                            smooth_sigma=0, exclude_outline=False)
    alpha = block_mean(hr, 4)
    assert alpha[20, 20] == 0 and alpha[20, 27] == 1


def test_origin_shifts_the_shape():
    a = block_mean(rasterize_polygons([_circle(120, 130, 5.0)], [True], (100, 110), 40, 4), 4)
    rr, cc = np.nonzero(a > 0.5)
    assert abs(rr.mean() - 20) < 0.5 and abs(cc.mean() - 20) < 0.5


def test_consensus_vote_is_pylidc_rule():
    m = np.zeros((4, 1, 4), bool)
    m[:1, 0, 0] = True  # 1 of 4
    m[:2, 0, 1] = True  # 2 of 4 -> in (>= 50 %)
    m[:3, 0, 2] = True
    assert consensus_vote(m).tolist() == [[False, True, True, False]]
    with pytest.raises(ValueError, match="R >= 1"):
        consensus_vote(np.zeros((0, 2, 2)))


def test_crop_origin_centres():
    assert crop_origin((100.4, 200.6), 64) == (68, 169)
