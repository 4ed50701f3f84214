"""Input validation shared by the matting modules: one wording for every error.

Every public function of :mod:`softnodule.matting` validates its arrays here so that a wrong
dtype, shape or a NaN fails at the door with a message that names the argument, says what was
found and what to pass instead, rather than deep inside OpenCV or a sparse solver.
"""

from __future__ import annotations

import numpy as np

#: Trimap codes (uint8): background, unknown band, foreground.
BG: int = 0
UNKNOWN: int = 128
FG: int = 255


def as_image2d(image: object, name: str = "image") -> np.ndarray:
    """Return ``image`` as a finite float64 (H, W) array or raise ValueError.

    Parameters
    ----------
    image : array_like
        A 2-D real-valued image (any integer or float dtype; bool is refused because a mask
        passed where an image is expected is almost always a mistake).
    name : str
        Argument name used in the error messages.
    """
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.ndim != 2:
        raise ValueError(
            f"{name} must be a single-channel 2-D array (H, W), got shape {image.shape}; "
            "pass one CT slice (take [..., 0] or a slice index for stacks)"
        )
    if image.dtype == bool or not (
        np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)
    ):
        raise ValueError(
            f"{name} must have an integer or float dtype, got {image.dtype}; "
            "pass the CT intensities (HU) or a [0, 1] image, not a mask"
        )
    out = image.astype(np.float64, copy=False)
    if not np.isfinite(out).all():
        bad = int((~np.isfinite(out)).sum())
        raise ValueError(
            f"{name} contains {bad} NaN/inf value(s); replace them (e.g. np.nan_to_num with the "
            "air value -1000 HU) before matting"
        )
    return out


def as_mask2d(mask: object, name: str = "mask") -> np.ndarray:
    """Return ``mask`` as a boolean (H, W) array or raise ValueError.

    Bool arrays pass unchanged; integer or float arrays are accepted only when every value is 0
    or 1 (so a probability map or a 0/255 image is refused instead of silently thresholded).
    """
    if not isinstance(mask, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(mask).__name__}")
    if mask.ndim != 2:
        raise ValueError(f"{name} must be 2-D (H, W), got shape {mask.shape}")
    return _as_bool(mask, name)


def as_masks3d(masks: object, name: str = "masks") -> np.ndarray:
    """Return ``masks`` as a boolean (R, H, W) array (R >= 1) or raise ValueError."""
    if not isinstance(masks, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(masks).__name__}")
    if masks.ndim != 3 or masks.shape[0] < 1:
        raise ValueError(
            f"{name} must be a stack of reader masks (R, H, W) with R >= 1, got shape {masks.shape}"
        )
    return _as_bool(masks, name)


def _as_bool(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype == bool:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be bool (or 0/1 numbers), got dtype {arr.dtype}")
    values = np.unique(arr)
    if not np.isin(values, (0, 1)).all():
        shown = ", ".join(f"{v:g}" for v in values[:6])
        raise ValueError(
            f"{name} must be binary (bool or 0/1), found values {{{shown}{', ...' if len(values) > 6 else ''}}}; "
            "threshold it first (e.g. mask > 0.5 or mask > 0)"
        )
    return arr.astype(bool)


def as_trimap(trimap: object, shape: tuple[int, ...] | None = None, name: str = "trimap") -> np.ndarray:
    """Return ``trimap`` as a validated uint8 (H, W) array with values in {0, 128, 255}.

    Raises ValueError for another dtype, another shape than ``shape`` or other values, with a
    hint at the usual mistakes (a float trimap in [0, 1], a 0/1 mask cast to uint8).
    """
    if not isinstance(trimap, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(trimap).__name__}")
    if trimap.dtype != np.uint8:
        raise ValueError(
            f"{name} must be uint8 with 0 = background, 128 = unknown, 255 = foreground, "
            f"got dtype {trimap.dtype}; build it with trimap_from_binary/readers/recist or "
            "convert a [0, 1] trimap with np.round(t * 255).astype(np.uint8) mapping 0.5 to 128"
        )
    if trimap.ndim != 2:
        raise ValueError(f"{name} must be 2-D (H, W), got shape {trimap.shape}")
    if shape is not None and trimap.shape != tuple(shape):
        raise ValueError(
            f"{name} shape {trimap.shape} does not match the image shape {tuple(shape)}; "
            "build the trimap on the same crop as the image"
        )
    values = np.unique(trimap)
    bad = values[~np.isin(values, (BG, UNKNOWN, FG))]
    if bad.size:
        hint = " (a 0/1 mask cast to uint8? use trimap_from_binary)" if set(bad.tolist()) <= {1} else ""
        raise ValueError(
            f"{name} may only contain 0, 128 and 255, found {sorted(bad.tolist())[:6]}{hint}"
        )
    return trimap


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError naming both arguments when their (H, W) shapes differ."""
    if a.shape[-2:] != b.shape[-2:]:
        raise ValueError(
            f"{name_a} has shape {a.shape[-2:]} but {name_b} has shape {b.shape[-2:]}; "
            "they must describe the same crop"
        )


def check_window(window: tuple[float, float], name: str = "window") -> tuple[float, float]:
    """Validate an intensity window ``(low, high)`` in HU and return it as floats."""
    try:
        lo, hi = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low_hu, high_hu), got {window!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"{name} must satisfy low < high (both finite), got ({lo}, {hi})")
    return lo, hi


def check_radius(value: int, name: str, minimum: int = 0) -> int:
    """Validate a non-negative integer pixel radius."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
