"""The automatic Soft Mask labelling pipeline of DSNet §III-A: prior -> trimap -> alpha -> binary.

One function per kind of prior (binary mask, several readers, RECIST axes), each returning a
`SoftMaskResult` with the alpha matte (the Soft Mask), the trimap, the 0.5-binarised mask the
paper trains its Dice term on, which strategy ran, what was adjusted for degenerate inputs, and
how long each stage took (the paper quotes 20 ms per 256x256 image: trimap 5 ms + matting 15 ms).

Intensity window: matting sees the crop through ``window = (low, high)`` HU mapped to [0, 1] and
clipped (default: lung window, level -600 HU / width 1500 HU = (-1350, 150)); see
`softnodule.matting.window`. The same window feeds GrabCut's 8-bit image for RECIST priors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from softnodule.data.case import NoduleCase, Recist
from softnodule.matting._checks import as_image2d, as_mask2d, as_masks3d, check_same_shape
from softnodule.matting.closed_form import closed_form_alpha
from softnodule.matting.grabcut import grabcut_from_recist_detailed
from softnodule.matting.trimap import TrimapResult, trimap_from_binary, trimap_from_readers
from softnodule.matting.window import LUNG_WINDOW, hu_to_unit

STRATEGIES: tuple[str, ...] = ("binary", "readers", "recist")


@dataclass(frozen=True)
class SoftMaskResult:
    """A Soft Mask and everything needed to audit it.

    Attributes
    ----------
    alpha : ndarray, float32, (H, W)
        The Soft Mask (alpha matte) in [0, 1].
    trimap : ndarray, uint8, (H, W)
        The trimap it was solved from (0 / 128 / 255).
    binary : ndarray, bool, (H, W)
        ``alpha >= threshold`` (paper: 0.5).
    strategy : str
        ``"binary"``, ``"readers"`` or ``"recist"``.
    notes : tuple of str
        Adjustments for degenerate inputs (trimap and GrabCut notes); empty when none.
    timings_ms : dict
        ``{"grabcut", "trimap", "matting", "total"}`` wall-clock milliseconds (grabcut is 0.0
        unless the prior is RECIST; matting includes the HU windowing).
    """

    alpha: np.ndarray
    trimap: np.ndarray
    binary: np.ndarray
    strategy: str
    notes: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def degenerate(self) -> bool:
        """True when any adjustment was made (see ``notes``)."""
        return bool(self.notes)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3


def _matte(
    image: np.ndarray,
    tri: TrimapResult,
    *,
    eps: float,
    radius: int,
    window: tuple[float, float],
    threshold: float,
    timings: dict[str, float],
    extra_notes: tuple[str, ...] = (),
) -> SoftMaskResult:
    t0 = time.perf_counter()
    alpha = closed_form_alpha(hu_to_unit(image, window), tri.trimap, eps=eps, radius=radius)
    timings["matting"] = _ms(t0)
    timings["total"] = timings["grabcut"] + timings["trimap"] + timings["matting"]
    alpha32 = alpha.astype(np.float32)
    return SoftMaskResult(
        alpha=alpha32,
        trimap=tri.trimap,
        binary=alpha32 >= threshold,
        strategy=tri.strategy,
        notes=extra_notes + tri.notes,
        timings_ms=timings,
    )


def _check_threshold(threshold: float) -> None:
    if not (np.isfinite(threshold) and 0.0 < threshold <= 1.0):
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")


def soft_mask_from_mask(
    image_hu: np.ndarray,
    mask: np.ndarray,
    *,
    erode_px: int = 2,
    dilate_px: int = 2,
    eps: float = 1e-5,
    radius: int = 1,
    window: tuple[float, float] = LUNG_WINDOW,
    threshold: float = 0.5,
) -> SoftMaskResult:
    """Soft Mask from one binary mask (DSNet strategy 1: erosion / dilation trimap).

    Parameters
    ----------
    image_hu : ndarray (H, W)
        CT crop in HU.
    mask : ndarray, bool (or 0/1), (H, W)
        Lesion mask on the same crop.
    erode_px, dilate_px : int
        Disk radii of the trimap's erosion (sure lesion) and dilation (beyond = background).
    eps, radius
        Closed-form matting regularisation (pymatting's convention) and window radius.
    window : (float, float)
        ``(low, high)`` HU mapped to [0, 1] for matting (default lung window).
    threshold : float
        Binarisation threshold for ``binary`` (paper: 0.5).

    Raises
    ------
    EmptyMaskError
        Empty mask (a ValueError; batch builders catch it to skip the case).
    ValueError
        Bad image/mask (dtype, shape, NaN) or parameters.
    """
    image = as_image2d(image_hu, "image_hu")
    m = as_mask2d(mask, "mask")
    check_same_shape(image, m, "image_hu", "mask")
    _check_threshold(threshold)
    timings = {"grabcut": 0.0}
    t0 = time.perf_counter()
    tri = trimap_from_binary(m, erode_px, dilate_px)
    timings["trimap"] = _ms(t0)
    return _matte(image, tri, eps=eps, radius=radius, window=window, threshold=threshold, timings=timings)


def soft_mask_from_readers(
    image_hu: np.ndarray,
    reader_masks: np.ndarray,
    *,
    eps: float = 1e-5,
    radius: int = 1,
    window: tuple[float, float] = LUNG_WINDOW,
    threshold: float = 0.5,
) -> SoftMaskResult:
    """Soft Mask from several readers' masks (DSNet strategy 2, the paper's LIDC labels).

    Parameters
    ----------
    image_hu : ndarray (H, W)
        CT crop in HU.
    reader_masks : ndarray, bool (or 0/1), (R, H, W)
        One mask per reader (``NoduleCase.readers``).
    eps, radius, window, threshold
        As in `soft_mask_from_mask`.

    Raises
    ------
    EmptyMaskError
        No reader marked any pixel.
    """
    image = as_image2d(image_hu, "image_hu")
    masks = as_masks3d(reader_masks, "reader_masks")
    check_same_shape(image, masks, "image_hu", "reader_masks")
    _check_threshold(threshold)
    timings = {"grabcut": 0.0}
    t0 = time.perf_counter()
    tri = trimap_from_readers(masks)
    timings["trimap"] = _ms(t0)
    return _matte(image, tri, eps=eps, radius=radius, window=window, threshold=threshold, timings=timings)


def soft_mask_from_recist(
    image_hu: np.ndarray,
    recist: Recist,
    *,
    erode_px: int = 2,
    dilate_px: int = 2,
    eps: float = 1e-5,
    radius: int = 1,
    window: tuple[float, float] = LUNG_WINDOW,
    threshold: float = 0.5,
    seed: int = 0,
    iterations: int = 5,
) -> SoftMaskResult:
    """Soft Mask from RECIST axes (DSNet strategy 3: GrabCut mask, then strategy 1).

    Parameters
    ----------
    image_hu : ndarray (H, W)
        CT crop in HU.
    recist : Recist
        Long/short axes in crop ``(row, col)`` coordinates.
    erode_px, dilate_px, eps, radius, window, threshold
        As in `soft_mask_from_mask`; ``window`` also feeds GrabCut's 8-bit image.
    seed, iterations
        GrabCut's RNG seed (deterministic output) and iteration count.

    Notes
    -----
    ``notes`` include GrabCut's (e.g. "fell back to the RECIST ellipse/quadrilateral") before the
    trimap's own adjustments.
    """
    image = as_image2d(image_hu, "image_hu")
    _check_threshold(threshold)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cut = grabcut_from_recist_detailed(image, recist, window=window, iterations=iterations, seed=seed)
    timings["grabcut"] = _ms(t0)
    t0 = time.perf_counter()
    binary = trimap_from_binary(cut.mask, erode_px, dilate_px)
    tri = TrimapResult(binary.trimap, "recist", binary.notes)
    timings["trimap"] = _ms(t0)
    return _matte(
        image, tri, eps=eps, radius=radius, window=window, threshold=threshold,
        timings=timings, extra_notes=cut.notes,
    )


def soft_mask_from_case(case: NoduleCase, strategy: str = "readers", **kwargs: object) -> SoftMaskResult:
    """Soft Mask of a `NoduleCase` with one of the three strategies.

    ``"readers"`` uses ``case.readers`` (the paper's choice for LIDC), ``"binary"`` the 50 %
    consensus ``case.consensus``, ``"recist"`` the axes ``case.recist``. Keyword arguments go to
    the matching ``soft_mask_from_*`` function.
    """
    if strategy == "readers":
        return soft_mask_from_readers(case.image, case.readers, **kwargs)  # type: ignore[arg-type]
    if strategy == "binary":
        return soft_mask_from_mask(case.image, case.consensus, **kwargs)  # type: ignore[arg-type]
    if strategy == "recist":
        return soft_mask_from_recist(case.image, case.recist, **kwargs)  # type: ignore[arg-type]
    raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")


__all__ = [
    "STRATEGIES",
    "SoftMaskResult",
    "soft_mask_from_case",
    "soft_mask_from_mask",
    "soft_mask_from_readers",
    "soft_mask_from_recist",
]
