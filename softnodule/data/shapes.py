"""Reader contours -> masks at any resolution: the one rasteriser both image sources use.

Convention (stated once, used everywhere): LIDC readers drew their outline on the pixels just
outside the nodule, and pylidc's ``boolean_mask`` excludes the contour points by default. Here a
reader's continuous shape is the region inside the (lightly smoothed) outline polygon, shrunk by
half a pixel, which is the sub-pixel version of "contour points excluded". A pixel belongs to a
reader's 1x mask when at least half of it is covered; the TRUE partial-volume alpha is the exact
area fraction of the high-resolution 50 % consensus shape. OpenCV's polygon fill includes the
pixels its edges cross, a bias of about half a high-resolution pixel outward (+1.3 % area for an
11 px-wide disc at the default k = 8; +0.6 % at k = 16), small next to the half-pixel convention.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

_SHIFT = 8  # cv2 sub-pixel bits: vertices are placed to 1/256 of a high-res pixel


def smooth_polygon(poly: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Smooth a closed pixel-traced polygon with a periodic Gaussian over its vertices.

    LIDC outlines are 8-connected pixel traces; rasterised at 8x they would be staircases whose
    steps are scanner pixels, not anatomy. ``sigma`` is in vertices; polygons with fewer than six
    vertices are returned unchanged.
    """
    poly = np.asarray(poly, dtype=np.float64)
    if sigma <= 0 or len(poly) < 6:
        return poly
    return gaussian_filter1d(poly, sigma=sigma, axis=0, mode="wrap")


def rasterize_polygons(
    polygons: Sequence[np.ndarray],
    inclusion: Sequence[bool],
    origin_rc: tuple[float, float],
    size: int,
    supersample: int = 8,
    *,
    smooth_sigma: float = 1.0,
    exclude_outline: bool = True,
) -> np.ndarray:
    """Fill one reader's polygons into a ``(size*k, size*k)`` boolean grid.

    Parameters
    ----------
    polygons : sequence of (N, 2) arrays
        ``(row, col)`` vertices in full-slice pixel coordinates (pixel centres at integers).
    inclusion : sequence of bool
        False marks an exclusion contour (a hole), subtracted after the inclusions are filled.
    origin_rc : (float, float)
        Full-slice coordinates of the crop's top-left pixel centre.
    size : int
        Crop side in output pixels.
    supersample : int
        High-resolution factor ``k``.
    smooth_sigma : float
        See `smooth_polygon`.
    exclude_outline : bool
        Shrink the shape by half an output pixel (the LIDC / pylidc convention).

    Returns
    -------
    ndarray of bool, shape (size*k, size*k)
    """
    k = int(supersample)
    n = size * k
    inc = np.zeros((n, n), np.uint8)
    exc = np.zeros((n, n), np.uint8)
    scale = float(1 << _SHIFT)
    for poly, keep in zip(polygons, inclusion):
        p = smooth_polygon(poly, smooth_sigma)
        # high-res pixel centre index h satisfies: full = origin - 0.5 + (h + 0.5) / k
        rows = (p[:, 0] - origin_rc[0] + 0.5) * k - 0.5
        cols = (p[:, 1] - origin_rc[1] + 0.5) * k - 0.5
        pts = np.round(np.stack([cols, rows], axis=1) * scale).astype(np.int32)
        cv2.fillPoly(inc if keep else exc, [pts], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    mask = (inc > 0) & ~(exc > 0)
    if exclude_outline and mask.any():
        r = max(1, k // 2)
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        mask = cv2.erode(mask.astype(np.uint8), disk, borderValue=0) > 0
    return mask


def block_mean(hr: np.ndarray, k: int) -> np.ndarray:
    """Area fraction per output pixel of a ``(S*k, S*k)`` (or ``(R, S*k, S*k)``) high-res mask."""
    hr = np.asarray(hr, dtype=np.float32)
    *lead, h, w = hr.shape
    return hr.reshape(*lead, h // k, k, w // k, k).mean(axis=(-3, -1))


def consensus_vote(masks: np.ndarray, level: float = 0.5) -> np.ndarray:
    """pylidc's consensus: a pixel is in when ``mean(masks) >= level`` over readers (axis 0)."""
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.shape[0] == 0:
        raise ValueError(f"consensus_vote needs (R, H, W) masks with R >= 1, got shape {masks.shape}")
    return masks.astype(np.float32).mean(axis=0) >= level


def crop_origin(centroid_rc: tuple[float, float], size: int, offset_rc: tuple[int, int] = (0, 0)) -> tuple[int, int]:
    """Top-left full-slice pixel of a ``size`` crop centred on ``centroid_rc`` (plus an offset)."""
    return (
        int(round(centroid_rc[0])) - size // 2 + int(offset_rc[0]),
        int(round(centroid_rc[1])) - size // 2 + int(offset_rc[1]),
    )


def reader_masks_hr(record, origin_rc: tuple[float, float], size: int, supersample: int = 8) -> np.ndarray:
    """Every reader's high-resolution mask of a `NoduleRecord` in one crop, ``(R, S*k, S*k)`` bool.

    A reader who drew nothing on the key slice gets an all-False mask (the reader still counts in
    the 50 % vote, exactly as in pylidc's ``consensus``).
    """
    return np.stack(
        [
            rasterize_polygons(polys, incl, origin_rc, size, supersample)
            for polys, incl in zip(record.key_polygons, record.key_inclusion)
        ]
    )


def crop_annotations(record, origin_rc: tuple[float, float], size: int, supersample: int = 8) -> dict[str, np.ndarray]:
    """The annotations of one crop, as both image sources use them.

    Returns
    -------
    dict
        ``readers`` (R, S, S) bool: pixel at least half covered by the reader's shape;
        ``consensus`` (S, S) bool: 50 % vote of ``readers`` (pylidc's rule);
        ``consensus_hr`` (S*k, S*k) bool: 50 % vote of the high-resolution shapes;
        ``true_alpha`` (S, S) float32: area fraction of ``consensus_hr`` per pixel.
    """
    hr = reader_masks_hr(record, origin_rc, size, supersample)
    readers = block_mean(hr, supersample) >= 0.5
    consensus_hr = consensus_vote(hr)
    return {
        "readers": readers,
        "consensus": consensus_vote(readers),
        "consensus_hr": consensus_hr,
        "true_alpha": block_mean(consensus_hr, supersample),
    }
