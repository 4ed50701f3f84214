"""Soft-label baselines of DSNet Table IV, and CasGAN's "softening".

Each function returns a float32 (H, W) map in [0, 1] built from binary annotations only (no
image), which is what distinguishes these baselines from the image-driven Soft Mask:

* `kats_soft_label` - Kats et al. 2019: the binary mask plus a dilated ring with one constant
  soft value (their best ring grows the mask to 120 % of its size).
* `gros_soft_label` - Gros et al. 2021 (SoftSeg): soft values produced by interpolation and
  averaging, never re-binarised.
* `max_soften` - CasGAN: ``max(binary, soft)``, a binary label softened by a soft prediction.
"""

from __future__ import annotations

import cv2
import numpy as np

from softnodule.matting._checks import _as_bool, as_mask2d, check_same_shape
from softnodule.matting.trimap import disk


def kats_soft_label(mask: np.ndarray, grow: float = 1.2, value: float = 0.5) -> np.ndarray:
    """Binary mask plus a constant-valued ring (Kats et al. 2019).

    The mask is dilated by a disk so that its equivalent diameter ``d = 2 sqrt(area / pi)``
    grows to ``grow * d``: radius ``round((grow - 1) * d / 2)`` pixels, at least 1 when
    ``grow > 1`` (a 10 px nodule at 120 % gets a 1 px ring). Pixels of the mask are 1, pixels of
    the ring ``value``, the rest 0.

    Parameters
    ----------
    mask : ndarray, bool (or 0/1), (H, W)
    grow : float
        Target size of the grown mask relative to the mask's equivalent diameter (>= 1).
    value : float
        Soft value of the ring, in [0, 1] (a hyper-parameter in Kats et al.).

    Returns
    -------
    ndarray, float32, (H, W)
        All zeros for an empty mask.
    """
    m = as_mask2d(mask, "mask")
    if not (np.isfinite(grow) and grow >= 1.0):
        raise ValueError(f"grow must be >= 1 (1 = no ring), got {grow!r}")
    if not (np.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"value must lie in [0, 1], got {value!r}")
    out = m.astype(np.float32)
    area = int(m.sum())
    if area == 0 or grow == 1.0:
        return out
    diameter = 2.0 * np.sqrt(area / np.pi)
    radius = max(1, int(round((grow - 1.0) * diameter / 2.0)))
    ring = cv2.dilate(m.astype(np.uint8), disk(radius)).astype(bool) & ~m
    out[ring] = value
    return out


def gros_soft_label(mask: np.ndarray, factor: float = 2.0) -> np.ndarray:
    """Soft label from interpolation without re-binarisation (Gros et al. 2021, SoftSeg).

    SoftSeg keeps the non-binary values that appear when ground truths are averaged or
    resampled, instead of thresholding them back. Here, in this order:

    1. readers: a stack ``(R, H, W)`` is averaged over readers (the fraction of readers marking
       each pixel); a single ``(H, W)`` mask is taken as is;
    2. resampling (when ``factor > 1``): the map is downsampled by ``factor`` with area
       averaging (``cv2.INTER_AREA``, partial-volume fractions) and upsampled back to ``(H, W)``
       with bilinear interpolation (``cv2.INTER_LINEAR``), the way a label is soft after a
       resolution change; no threshold is applied. ``factor = 1`` skips this step.

    The interior and the far background keep 1 and 0; the boundary gets intermediate values
    over about ``factor`` pixels.

    Parameters
    ----------
    mask : ndarray, bool (or 0/1), (H, W) or (R, H, W)
    factor : float
        Down/up-sampling factor (>= 1).

    Returns
    -------
    ndarray, float32, (H, W)
    """
    if not isinstance(mask, np.ndarray) or mask.ndim not in (2, 3):
        shape = getattr(mask, "shape", None)
        raise ValueError(f"mask must be (H, W) or (R, H, W), got shape {shape}")
    if not (np.isfinite(factor) and factor >= 1.0):
        raise ValueError(f"factor must be >= 1 (1 = no resampling), got {factor!r}")
    m = _as_bool(mask, "mask")
    soft = m.mean(axis=0, dtype=np.float64) if m.ndim == 3 else m.astype(np.float64)
    soft = soft.astype(np.float32)
    if factor > 1.0:
        h, w = soft.shape
        small = (max(1, int(round(w / factor))), max(1, int(round(h / factor))))
        low = cv2.resize(soft, small, interpolation=cv2.INTER_AREA)
        soft = cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(soft, 0.0, 1.0).astype(np.float32)


def max_soften(binary: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """CasGAN's softening: ``max(binary, soft)`` (float32 in [0, 1]).

    Inside the binary label the result stays 1; outside, the soft map adds partial membership
    where it sees lesion, so the label only gains soft boundary and never loses annotated area.

    Parameters
    ----------
    binary : ndarray, bool (or 0/1), (H, W)
    soft : ndarray, float, (H, W), values in [0, 1]
    """
    b = as_mask2d(binary, "binary")
    if not isinstance(soft, np.ndarray) or soft.ndim != 2:
        raise ValueError(f"soft must be a 2-D array, got shape {getattr(soft, 'shape', None)}")
    check_same_shape(b, soft, "binary", "soft")
    s = soft.astype(np.float32, copy=False)
    if not np.isfinite(s).all():
        raise ValueError("soft contains NaN/inf values")
    if s.min() < -1e-6 or s.max() > 1.0 + 1e-6:
        raise ValueError(f"soft must lie in [0, 1], found [{s.min():.4g}, {s.max():.4g}]")
    return np.maximum(b.astype(np.float32), np.clip(s, 0.0, 1.0))


__all__ = ["gros_soft_label", "kats_soft_label", "max_soften"]
