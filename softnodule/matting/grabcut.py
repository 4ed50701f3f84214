"""RECIST axes -> binary lesion mask with OpenCV's GrabCut (DSNet trimap strategy 3).

DSNet §III-A uses "the regions marked on the long axis and the short axis as the prior
information of the GrabCut". GrabCut is initialised here with a label mask, not a rectangle
(a rectangle collapsed to an empty mask on small crops in 5 of 20 runs; the mask
initialisation never did, REFERENCE §2):

* the pixels on the two RECIST lines: sure foreground (``GC_FGD``);
* the ellipse spanned by the axes (in the long-axis frame: the long axis as major axis, the
  extent of the short axis as minor axis) united with the quadrilateral of the four end points:
  probable foreground (``GC_PR_FGD``);
* an axis-aligned box ``box_scale`` (default 1.75) times that region's bounding box, at least
  ``min_margin_px`` larger on each side: probable background (``GC_PR_BGD``);
* everything else: sure background (``GC_BGD``).

The HU crop goes through an intensity window to 8 bits and is replicated to three channels
(OpenCV's GrabCut only takes 8-bit 3-channel images). ``cv2.setRNGSeed(seed)`` is called right
before ``cv2.grabCut``: its GMM initialisation uses k-means with OpenCV's global RNG, and
without a fixed seed results vary from run to run.

Post-processing: only the connected components (8-connectivity) that contain a RECIST line pixel
are kept, and holes are filled. If GrabCut fails (an OpenCV error, e.g. too few samples for its
5-component GMMs) or collapses (the kept area is below ``min_area_frac`` of the probable
foreground region), the ellipse/quadrilateral region itself is returned and the fallback is
reported, so a valid RECIST never gives an empty mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import binary_fill_holes

from softnodule.data.case import Recist
from softnodule.matting._checks import as_image2d, check_window
from softnodule.matting.window import LUNG_WINDOW, hu_to_uint8

_SHIFT = 4  # cv2 sub-pixel bits for drawing: coordinates to 1/16 pixel
_SCALE = 1 << _SHIFT


@dataclass(frozen=True)
class GrabCutResult:
    """GrabCut output with its provenance.

    Attributes
    ----------
    mask : ndarray, bool, (H, W)
        The lesion mask (never empty for a valid RECIST).
    init : ndarray, uint8, (H, W)
        The GrabCut label mask used for initialisation (``cv2.GC_BGD`` = 0, ``GC_FGD`` = 1,
        ``GC_PR_BGD`` = 2, ``GC_PR_FGD`` = 3).
    fell_back : bool
        True when GrabCut failed or collapsed and ``mask`` is the RECIST ellipse/quadrilateral.
    notes : tuple of str
        What happened, in words (empty for a clean GrabCut result).
    """

    mask: np.ndarray
    init: np.ndarray
    fell_back: bool
    notes: tuple[str, ...] = ()


def _check_recist(recist: Recist, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    try:
        long_axis = np.asarray(recist.long_axis, dtype=np.float64)
        short_axis = np.asarray(recist.short_axis, dtype=np.float64)
    except AttributeError:
        raise ValueError(
            f"recist must be a softnodule.data.case.Recist, got {type(recist).__name__}"
        ) from None
    for name, ax in (("long_axis", long_axis), ("short_axis", short_axis)):
        if ax.shape != (2, 2) or not np.isfinite(ax).all():
            raise ValueError(
                f"recist.{name} must be a finite 2x2 array [[r0, c0], [r1, c1]], got "
                f"shape {ax.shape}"
            )
    if np.linalg.norm(long_axis[1] - long_axis[0]) < 1.0:
        raise ValueError("recist.long_axis is shorter than one pixel: not a usable RECIST mark")
    mid = long_axis.mean(axis=0)
    h, w = shape
    if not (-0.5 <= mid[0] <= h - 0.5 and -0.5 <= mid[1] <= w - 0.5):
        raise ValueError(
            f"RECIST long-axis midpoint (row {mid[0]:.1f}, col {mid[1]:.1f}) lies outside the "
            f"{h}x{w} crop: the axes must be in crop pixel coordinates"
        )
    return long_axis, short_axis


def _xy_fixed(points_rc: np.ndarray) -> np.ndarray:
    """(row, col) floats -> cv2 fixed-point (x, y) int32 points."""
    return np.round(np.asarray(points_rc)[..., ::-1] * _SCALE).astype(np.int32)


def recist_prior(shape: tuple[int, int], recist: Recist) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise the RECIST prior: (line pixels, ellipse-or-quadrilateral region), both bool.

    The ellipse lives in the long-axis frame: its major axis is the long axis (centre at its
    midpoint along it), its minor axis spans the short axis' end points across it (centre
    midway between them), so it is the ellipse inscribed in the axes' bounding rectangle.
    """
    long_axis, short_axis = _check_recist(recist, shape)
    h, w = shape
    lines = np.zeros((h, w), np.uint8)
    for ax in (long_axis, short_axis):
        p = _xy_fixed(ax)
        cv2.line(lines, tuple(p[0]), tuple(p[1]), 1, 1, cv2.LINE_8, _SHIFT)

    p0, p1 = long_axis
    length = float(np.linalg.norm(p1 - p0))
    u = (p1 - p0) / length
    v = np.array([-u[1], u[0]])
    across = (short_axis - p0) @ v
    centre = p0 + 0.5 * length * u + 0.5 * across.sum() * v
    minor = max(float(abs(across[1] - across[0])), 1.0)
    angle = float(np.degrees(np.arctan2(u[0], u[1])))  # image (x, y) frame, y down
    region = np.zeros((h, w), np.uint8)
    cv2.ellipse(region, ((float(centre[1]), float(centre[0])), (length, minor), angle), 1, -1)
    hull = cv2.convexHull(_xy_fixed(np.concatenate([long_axis, short_axis])))
    cv2.fillConvexPoly(region, hull, 1, cv2.LINE_8, _SHIFT)
    line_mask = lines.astype(bool)
    return line_mask, region.astype(bool) | line_mask


def recist_init_mask(
    shape: tuple[int, int],
    recist: Recist,
    *,
    box_scale: float = 1.75,
    min_margin_px: int = 3,
) -> np.ndarray:
    """GrabCut initialisation labels from RECIST axes (see the module docstring).

    Returns
    -------
    ndarray, uint8, (H, W)
        ``cv2.GC_BGD`` / ``GC_PR_BGD`` / ``GC_PR_FGD`` / ``GC_FGD`` labels.
    """
    if not box_scale >= 1.0:
        raise ValueError(f"box_scale must be >= 1 (the box surrounds the axes), got {box_scale}")
    lines, region = recist_prior(shape, recist)
    rows, cols = np.nonzero(region)
    h, w = shape
    init = np.full(shape, cv2.GC_BGD, np.uint8)
    box = []
    for lo, hi, size in ((rows.min(), rows.max(), h), (cols.min(), cols.max(), w)):
        centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo + 1)
        half = max(half * box_scale, half + min_margin_px)
        box.append((max(int(np.floor(centre - half + 0.5)), 0), min(int(np.ceil(centre + half + 0.5)), size)))
    (r0, r1), (c0, c1) = box
    init[r0:r1, c0:c1] = cv2.GC_PR_BGD
    init[region] = cv2.GC_PR_FGD
    init[lines] = cv2.GC_FGD
    return init


def grabcut_from_recist_detailed(
    image_hu: np.ndarray,
    recist: Recist,
    *,
    window: tuple[float, float] = LUNG_WINDOW,
    iterations: int = 5,
    seed: int = 0,
    box_scale: float = 1.75,
    min_area_frac: float = 0.3,
) -> GrabCutResult:
    """GrabCut from RECIST axes, with the initialisation and fallback reported.

    Parameters
    ----------
    image_hu : ndarray (H, W)
        CT crop in HU.
    recist : Recist
        Long/short axes in crop ``(row, col)`` pixel coordinates.
    window : (float, float)
        ``(low, high)`` HU mapped to 0..255 (default lung window, level -600 / width 1500).
    iterations : int
        GrabCut iterations (>= 1).
    seed : int
        Seed for OpenCV's global RNG, set right before ``cv2.grabCut``.
    box_scale : float
        Probable-background box size relative to the axes' region bounding box.
    min_area_frac : float
        A result smaller than this fraction of the ellipse/quadrilateral region counts as a
        collapse and is replaced by that region.

    Returns
    -------
    GrabCutResult
    """
    img = as_image2d(image_hu, "image_hu")
    check_window(window)
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}")
    init = recist_init_mask(img.shape, recist, box_scale=box_scale)
    lines = init == cv2.GC_FGD
    prior = (init == cv2.GC_FGD) | (init == cv2.GC_PR_FGD)
    notes: list[str] = []

    labels = init.copy()
    has_bg = bool(((init == cv2.GC_BGD) | (init == cv2.GC_PR_BGD)).any())
    mask = None
    if not has_bg:
        notes.append("RECIST region covers the whole crop (no background sample for GrabCut)")
    else:
        img3 = cv2.cvtColor(hu_to_uint8(img, window), cv2.COLOR_GRAY2BGR)
        bgd_model = np.zeros((1, 65), np.float64)
        fgd_model = np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(int(seed))
        try:
            cv2.grabCut(img3, labels, None, bgd_model, fgd_model, int(iterations), cv2.GC_INIT_WITH_MASK)
        except cv2.error as exc:
            first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "cv2.error"
            notes.append(f"GrabCut failed ({first})")
        else:
            fg = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
            mask = _keep_seeded(fg, lines)
            if mask.sum() < min_area_frac * prior.sum():
                notes.append(
                    f"GrabCut collapsed ({int(mask.sum())} px < {min_area_frac:g} x the "
                    f"{int(prior.sum())} px RECIST region)"
                )
                mask = None
            else:
                box_edge = (init == cv2.GC_PR_BGD) & _touches_outside(init)
                if (mask & cv2.dilate(box_edge.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)).any():
                    notes.append(
                        "GrabCut mask reaches the probable-background box edge (possible leak "
                        "into attached tissue)"
                    )
    if mask is None:
        notes.append("fell back to the RECIST ellipse/quadrilateral as the mask")
        return GrabCutResult(prior, init, True, tuple(notes))
    return GrabCutResult(mask, init, False, tuple(notes))


def _keep_seeded(fg: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Components of ``fg`` (8-connected) that contain a seed pixel, holes filled."""
    n, lab = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)
    keep = np.unique(lab[seeds & fg])
    keep = keep[keep > 0]
    out = np.isin(lab, keep) if n > 1 else fg
    return binary_fill_holes(out | seeds)


def _touches_outside(init: np.ndarray) -> np.ndarray:
    """Pixels 4-adjacent to a sure-background pixel or to the crop border."""
    outside = np.pad(init == cv2.GC_BGD, 1, constant_values=True).astype(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    return cv2.dilate(outside, cross)[1:-1, 1:-1].astype(bool)


def grabcut_from_recist(
    image_hu: np.ndarray,
    recist: Recist,
    *,
    window: tuple[float, float] = LUNG_WINDOW,
    iterations: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Binary lesion mask from RECIST axes by GrabCut (bool, (H, W), never empty).

    See `grabcut_from_recist_detailed` for the parameters and for the fallback report.
    """
    return grabcut_from_recist_detailed(
        image_hu, recist, window=window, iterations=iterations, seed=seed
    ).mask


__all__ = [
    "GrabCutResult",
    "grabcut_from_recist",
    "grabcut_from_recist_detailed",
    "recist_init_mask",
    "recist_prior",
]
