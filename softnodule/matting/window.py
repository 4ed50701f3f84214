"""Hounsfield-unit windows: CT intensities to the [0, 1] or 8-bit images matting and GrabCut need.

Closed-form matting is not invariant to the intensity scale (``eps`` regularises the local
variance), and GrabCut needs 8-bit input, so both see the slice through the same explicit
window. The default is the lung window, level -600 HU / width 1500 HU = ``(-1350, 150)``:
air, parenchyma, ground-glass and solid tissue all stay distinguishable, and values outside
the window are clipped (dense calcification saturates at 1).
"""

from __future__ import annotations

import numpy as np

from softnodule.matting._checks import as_image2d, check_window


def lung_window(level: float = -600.0, width: float = 1500.0) -> tuple[float, float]:
    """Convert a radiological window ``(level, width)`` to the ``(low, high)`` HU pair used here."""
    if not width > 0:
        raise ValueError(f"window width must be > 0 HU, got {width}")
    return (float(level) - width / 2.0, float(level) + width / 2.0)


#: The default lung window, level -600 HU and width 1500 HU, as ``(low, high)`` HU.
LUNG_WINDOW: tuple[float, float] = lung_window(-600.0, 1500.0)


def hu_to_unit(image_hu: np.ndarray, window: tuple[float, float] = LUNG_WINDOW) -> np.ndarray:
    """Map HU to float64 in [0, 1] through ``window = (low, high)``, clipping outside values.

    Parameters
    ----------
    image_hu : ndarray (H, W)
        CT intensities in Hounsfield units (finite).
    window : (float, float)
        ``(low, high)`` HU mapped to 0 and 1; see `lung_window`.

    Returns
    -------
    ndarray, float64, (H, W)
    """
    img = as_image2d(image_hu, "image_hu")
    lo, hi = check_window(window)
    return np.clip((img - lo) / (hi - lo), 0.0, 1.0)


def hu_to_uint8(image_hu: np.ndarray, window: tuple[float, float] = LUNG_WINDOW) -> np.ndarray:
    """Map HU to uint8 [0, 255] through ``window`` (rounded), e.g. for OpenCV's GrabCut."""
    return np.round(hu_to_unit(image_hu, window) * 255.0).astype(np.uint8)
