"""Trimaps for Soft Mask labelling: DSNet §III-A's three strategies, robust to tiny nodules.

A trimap is a uint8 (H, W) array: ``BG = 0`` (sure background), ``UNKNOWN = 128`` (the band
where matting solves alpha), ``FG = 255`` (sure lesion). The strategies:

1. `trimap_from_binary` - one binary mask: erosion = FG, outside the dilation = BG, ring = unknown.
2. `trimap_from_readers` - several readers: intersection = FG, complement of the union = BG.
3. `trimap_from_recist` - RECIST axes -> GrabCut mask (`softnodule.matting.grabcut`) -> strategy 1.

Small nodules are the rule, not the exception (the median LIDC nodule is 7.8 mm, ~10 px), so
every degenerate case is handled deterministically and reported in ``TrimapResult.notes``:

* erosion leaves no FG -> the erosion radius shrinks step by step (``erode_px - 1``, ..., 1);
  when even radius 1 leaves nothing, one seed pixel (the maximum of the mask's Euclidean
  distance transform) is kept as FG and the rest of the mask stays unknown;
* the dilation covers the whole crop -> the dilation radius shrinks step by step (down to 0 =
  everything outside the mask is BG); a mask that fills the crop leaves no BG at all, which is
  reported (matting then gives alpha = 1 everywhere, honestly: nothing in the crop is background);
* readers whose intersection is empty -> the seed pixel is taken among the pixels marked by the
  most readers; readers that drew nothing on this slice are left out of the intersection;
* an empty mask (no reader drew anything) raises `EmptyMaskError`, a ValueError subclass, so
  batch builders can ``except EmptyMaskError`` to skip the case and report it.

A trimap without unknown pixels is valid (alpha = trimap / 255).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt

from softnodule.data.case import Recist
from softnodule.matting._checks import BG, FG, UNKNOWN, as_mask2d, as_masks3d, check_radius
from softnodule.matting.window import LUNG_WINDOW


class EmptyMaskError(ValueError):
    """The mask (or every reader's mask) is empty: there is no lesion to build a trimap around.

    Batch builders catch this to skip the case and report it; it is a ValueError so callers that
    only guard against bad input still see it.
    """


@dataclass(frozen=True)
class TrimapResult:
    """A trimap and how it was obtained.

    Attributes
    ----------
    trimap : ndarray, uint8, (H, W)
        0 = background, 128 = unknown, 255 = foreground.
    strategy : str
        ``"binary"``, ``"readers"`` or ``"recist"`` (DSNet strategies 1, 2, 3).
    notes : tuple of str
        One sentence per adjustment made (shrunk erosion, seed pixel, no background, GrabCut
        fallback...); empty when the trimap is exactly what the strategy prescribes.
    """

    trimap: np.ndarray
    strategy: str
    notes: tuple[str, ...] = ()

    @property
    def n_fg(self) -> int:
        """Number of foreground pixels."""
        return int((self.trimap == FG).sum())

    @property
    def n_bg(self) -> int:
        """Number of background pixels."""
        return int((self.trimap == BG).sum())

    @property
    def n_unknown(self) -> int:
        """Number of unknown pixels."""
        return int((self.trimap == UNKNOWN).sum())

    @property
    def degenerate(self) -> bool:
        """True when any adjustment was needed (see ``notes``)."""
        return bool(self.notes)


def disk(radius: int) -> np.ndarray:
    """Euclidean disk structuring element ``x^2 + y^2 <= r^2`` (uint8, side ``2r + 1``).

    The same footprint as ``skimage.morphology.disk``; radius 1 is the 4-neighbour cross. (OpenCV's
    ``MORPH_ELLIPSE`` is slightly fatter for r >= 2, e.g. full rows at the 5x5 edge.)
    """
    r = check_radius(radius, "radius")
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (yy * yy + xx * xx <= r * r).astype(np.uint8)


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius == 0:
        return mask.copy()
    # Pixels outside the crop count as foreground (OpenCV's default border for erosion): a
    # nodule cut by the crop edge is not eroded from the edge.
    return cv2.erode(mask.astype(np.uint8), disk(radius)).astype(bool)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius == 0:
        return mask.copy()
    return cv2.dilate(mask.astype(np.uint8), disk(radius)).astype(bool)


def _seed_pixel(region: np.ndarray, within: np.ndarray | None = None) -> tuple[int, int]:
    """The deepest pixel of ``region`` (max Euclidean distance to its outside), optionally
    restricted to ``within``; ties go to the first in raster order (deterministic)."""
    depth = distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
    if within is not None:
        depth = np.where(within, depth, -1.0)
    idx = int(np.argmax(depth))
    return divmod(idx, region.shape[1])


def _assemble(fg: np.ndarray, not_bg: np.ndarray) -> np.ndarray:
    trimap = np.full(fg.shape, BG, dtype=np.uint8)
    trimap[not_bg] = UNKNOWN
    trimap[fg] = FG
    return trimap


def _foreground_core(mask: np.ndarray, erode_px: int, notes: list[str]) -> np.ndarray:
    """Erosion of ``mask`` by ``erode_px``, shrinking the radius (and finally keeping a seed)."""
    if erode_px == 0:
        return mask.copy()
    for radius in range(erode_px, 0, -1):
        fg = _erode(mask, radius)
        if fg.any():
            if radius < erode_px:
                notes.append(
                    f"erosion by {erode_px} px left no foreground; used {radius} px instead"
                )
            return fg
    fg = np.zeros_like(mask)
    fg[_seed_pixel(mask)] = True
    notes.append(
        f"mask too thin for any erosion ({int(mask.sum())} px); kept one seed pixel "
        "(distance-transform maximum) as foreground, the rest of the mask is unknown"
    )
    return fg


def _not_background(mask: np.ndarray, dilate_px: int, notes: list[str]) -> np.ndarray:
    """Dilation of ``mask`` by ``dilate_px``, shrinking the radius while it covers the crop."""
    for radius in range(dilate_px, -1, -1):
        grown = _dilate(mask, radius)
        if not grown.all():
            if radius < dilate_px:
                notes.append(
                    f"dilation by {dilate_px} px covered the whole crop; used {radius} px so "
                    "that some background remains"
                )
            return grown
    notes.append(
        "mask fills the whole crop: the trimap has no background (alpha will be 1 everywhere); "
        "use a larger crop"
    )
    return np.ones_like(mask)


def trimap_from_binary(mask: np.ndarray, erode_px: int = 2, dilate_px: int = 2) -> TrimapResult:
    """DSNet strategy (1): trimap from one binary mask by erosion and dilation.

    Parameters
    ----------
    mask : ndarray, bool (or 0/1), (H, W)
        The lesion mask.
    erode_px : int
        Disk radius of the erosion that gives the sure foreground (0 = the mask itself).
    dilate_px : int
        Disk radius of the dilation; everything outside it is sure background (0 = outside
        the mask). The unknown band is ``dilate(mask) - erode(mask)``, ``erode_px + dilate_px``
        pixels wide.

    Returns
    -------
    TrimapResult
        ``strategy = "binary"``; ``notes`` report any adjustment (see the module docstring).

    Raises
    ------
    EmptyMaskError
        The mask has no pixel.
    ValueError
        The mask is not a 2-D binary array or a radius is negative.
    """
    m = as_mask2d(mask, "mask")
    e = check_radius(erode_px, "erode_px")
    d = check_radius(dilate_px, "dilate_px")
    if not m.any():
        raise EmptyMaskError(
            "mask is empty (no lesion pixel): no trimap can be built; skip this case or check "
            "the annotation/crop offset"
        )
    notes: list[str] = []
    fg = _foreground_core(m, e, notes)
    not_bg = _not_background(m, d, notes)
    return TrimapResult(_assemble(fg, not_bg), "binary", tuple(notes))


def trimap_from_readers(masks: np.ndarray) -> TrimapResult:
    """DSNet strategy (2), Eqs. (2)-(4): intersection = FG, complement of the union = BG.

    Parameters
    ----------
    masks : ndarray, bool (or 0/1), (R, H, W)
        One mask per reader (e.g. ``NoduleCase.readers``).

    Returns
    -------
    TrimapResult
        ``strategy = "readers"``. Readers whose mask is empty on this slice are left out of the
        intersection (otherwise it would always be empty) and noted. When the remaining readers'
        intersection is empty, the one seed pixel is the deepest pixel among those marked by the
        most readers (noted). A single reader gives a trimap without unknown pixels (noted: use
        `trimap_from_binary` for a morphological band). A union covering the whole crop leaves
        no background (noted).

    Raises
    ------
    EmptyMaskError
        No reader marked any pixel.
    """
    stack = as_masks3d(masks, "masks")
    drawn = stack.reshape(stack.shape[0], -1).any(axis=1)
    if not drawn.any():
        raise EmptyMaskError(
            f"all {stack.shape[0]} reader masks are empty on this slice: no trimap can be built; "
            "skip this case or check the key slice"
        )
    notes: list[str] = []
    if not drawn.all():
        missing = ", ".join(str(i + 1) for i in np.flatnonzero(~drawn))
        notes.append(
            f"reader(s) {missing} of {stack.shape[0]} drew nothing on this slice and were left "
            "out of the intersection"
        )
    used = stack[drawn]
    union = used.any(axis=0)
    fg = used.all(axis=0)
    if used.shape[0] == 1:
        notes.append(
            "only one reader: intersection = union, so the trimap has no unknown band "
            "(use trimap_from_binary for a morphological band)"
        )
    elif np.array_equal(fg, union):
        notes.append("the readers agree on every pixel, so the trimap has no unknown band")
    if not fg.any():
        votes = used.sum(axis=0)
        top = int(votes.max())
        fg = np.zeros_like(union)
        fg[_seed_pixel(union, within=votes == top)] = True
        notes.append(
            f"the readers' intersection is empty; kept one seed pixel (deepest pixel marked by "
            f"{top} of {used.shape[0]} readers) as foreground"
        )
    if union.all():
        notes.append("the readers' union fills the whole crop: the trimap has no background")
    return TrimapResult(_assemble(fg, union), "readers", tuple(notes))


def trimap_from_recist(
    image_hu: np.ndarray,
    recist: Recist,
    erode_px: int = 2,
    dilate_px: int = 2,
    seed: int = 0,
    *,
    window: tuple[float, float] = LUNG_WINDOW,
    iterations: int = 5,
) -> TrimapResult:
    """DSNet strategy (3): RECIST axes -> GrabCut mask -> strategy (1).

    Parameters
    ----------
    image_hu : ndarray (H, W)
        CT crop in HU.
    recist : Recist
        Long and short axes in crop ``(row, col)`` coordinates.
    erode_px, dilate_px : int
        As in `trimap_from_binary`, applied to the GrabCut mask.
    seed : int
        OpenCV RNG seed for GrabCut (deterministic results).
    window : (float, float)
        HU window for GrabCut's 8-bit image.
    iterations : int
        GrabCut iterations.

    Returns
    -------
    TrimapResult
        ``strategy = "recist"``; ``notes`` include GrabCut's own notes (e.g. the ellipse fallback).
    """
    from softnodule.matting.grabcut import grabcut_from_recist_detailed

    cut = grabcut_from_recist_detailed(
        image_hu, recist, window=window, iterations=iterations, seed=seed
    )
    binary = trimap_from_binary(cut.mask, erode_px, dilate_px)
    return TrimapResult(binary.trimap, "recist", cut.notes + binary.notes)


__all__ = [
    "BG",
    "FG",
    "UNKNOWN",
    "EmptyMaskError",
    "TrimapResult",
    "disk",
    "trimap_from_binary",
    "trimap_from_readers",
    "trimap_from_recist",
]
