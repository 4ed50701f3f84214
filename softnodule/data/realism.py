"""Measures that compare a rendered (phantom) crop with a real CT crop, on the same footing.

All three take an image in Hounsfield units and a nodule mask on the same grid; they are plain
image statistics, so the same call scores a phantom crop and a real DICOM crop.

- `parenchyma_stats`: mean HU of the lung around the nodule and its pixel noise (robust std of a
  high-pass residual, calibrated so that white noise of std s reads s);
- `nodule_hu`: median HU inside the eroded nodule mask;
- `edge_width_mm`: 10-90 % rise distance of the nodule edge, from the median intensity profile
  against the signed distance to the mask boundary.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

#: Neighbourhood of the high-pass residual: pixel minus the mean of its 24 neighbours in a 5x5 box.
_HP_SIZE = 5


def _high_pass(image: np.ndarray) -> tuple[np.ndarray, float]:
    """Residual ``x - mean(5x5 neighbours, centre excluded)`` and its white-noise gain."""
    n = _HP_SIZE * _HP_SIZE
    box = ndi.uniform_filter(image, size=_HP_SIZE, mode="reflect")
    neigh = (box * n - image) / (n - 1)
    # for white noise of variance s^2: var(x - mean of n-1 others) = s^2 (1 + 1/(n-1))
    return image - neigh, float(np.sqrt(1.0 + 1.0 / (n - 1)))


def parenchyma_stats(
    image_hu: np.ndarray,
    exclude_mask: np.ndarray | None,
    lung_range: tuple[float, float] = (-1000.0, -500.0),
    *,
    margin_px: int = 3,
) -> tuple[float, float]:
    """Mean HU and pixel noise of the lung parenchyma in a crop.

    How it is measured: lung pixels are those whose lightly smoothed value (Gaussian, sigma 1 px)
    lies in ``lung_range``, farther than ``margin_px`` from ``exclude_mask`` (the nodule) and from
    the crop border (2 px). The mean is taken over the raw values of those pixels. The noise is
    the robust standard deviation (1.4826 x median absolute deviation) of the high-pass residual
    ``x - mean of its 24 neighbours in a 5x5 box`` over the same pixels, divided by the residual's
    white-noise gain sqrt(1 + 1/24), so that white noise of std ``s`` reads ``s``. Noise with a
    grain (correlated over neighbouring pixels, as in every real CT) reads lower than its
    pixel-wise std: the measure is "visible fine-grain noise", the same for phantom and real
    crops. The robust estimator ignores the sparse vessel edges in the lung.

    Returns
    -------
    (mean_hu, noise_std_hu) : tuple of float
        ``(nan, nan)`` when fewer than 20 lung pixels qualify (e.g. a crop filled by chest wall).
    """
    img = np.asarray(image_hu, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"parenchyma_stats needs a 2-D image, got shape {img.shape}")
    smooth = ndi.gaussian_filter(img, 1.0)
    lung = (smooth >= lung_range[0]) & (smooth <= lung_range[1])
    if exclude_mask is not None:
        ex = np.asarray(exclude_mask, dtype=bool)
        if ex.shape != img.shape:
            raise ValueError(f"exclude_mask shape {ex.shape} differs from the image shape {img.shape}")
        if ex.any():
            lung &= ndi.distance_transform_edt(~ex) > margin_px
    lung[:2, :] = lung[-2:, :] = False
    lung[:, :2] = lung[:, -2:] = False
    if lung.sum() < 20:
        return float("nan"), float("nan")
    resid, gain = _high_pass(img)
    r = resid[lung]
    noise = 1.4826 * np.median(np.abs(r - np.median(r))) / gain
    return float(img[lung].mean()), float(noise)


def _image_and_mask(image_hu: np.ndarray, mask: np.ndarray, empty_message: str) -> tuple[np.ndarray, np.ndarray]:
    """Float image and boolean mask of the same shape, the mask non-empty (else ValueError)."""
    img = np.asarray(image_hu, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    if m.shape != img.shape:
        raise ValueError(f"mask shape {m.shape} differs from the image shape {img.shape}")
    if not m.any():
        raise ValueError(empty_message)
    return img, m


def nodule_hu(image_hu: np.ndarray, mask: np.ndarray) -> float:
    """Median HU inside the nodule.

    How it is measured: the median of the image over ``mask`` eroded by one pixel (3x3 cross), so
    that partial-volume edge pixels do not pull it towards the lung; a mask too thin to survive
    the erosion is used as it is.

    Raises
    ------
    ValueError
        For an empty mask or mismatched shapes.
    """
    img, m = _image_and_mask(image_hu, mask, "nodule_hu: the mask is empty; there is no nodule pixel to measure")
    core = ndi.binary_erosion(m, structure=ndi.generate_binary_structure(2, 1))
    if not core.any():
        core = m
    return float(np.median(img[core]))


def _signed_distance(mask: np.ndarray) -> np.ndarray:
    """Pixels from the mask boundary: negative inside, positive outside, boundary at ~0."""
    outside = ndi.distance_transform_edt(~mask)
    inside = ndi.distance_transform_edt(mask)
    return np.where(mask, -(inside - 0.5), outside - 0.5)


def edge_profile(
    image_hu: np.ndarray, mask: np.ndarray, *, reach_px: float = 8.0, bin_px: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Median image value against the signed distance to the mask boundary (px, negative inside).

    Bins of ``bin_px`` from ``-reach_px`` to ``+reach_px``; bins with fewer than 3 pixels are dropped.
    """
    img, m = _image_and_mask(image_hu, mask, "edge profile: the mask is empty; there is no edge to measure")
    d = _signed_distance(m)
    edges = np.arange(-reach_px, reach_px + bin_px / 2, bin_px)
    idx = np.digitize(d, edges) - 1
    centres, values = [], []
    for b in range(len(edges) - 1):
        sel = idx == b
        if sel.sum() >= 3:
            centres.append(0.5 * (edges[b] + edges[b + 1]))
            values.append(float(np.median(img[sel])))
    return np.asarray(centres), np.asarray(values)


def edge_width_mm(image_hu: np.ndarray, mask: np.ndarray, spacing_mm: float, *, reach_px: float = 8.0) -> float:
    """10-90 % rise distance of the nodule edge, in mm.

    How it is measured: every pixel within ``reach_px`` of the mask boundary gets its signed
    distance to it (Euclidean distance transform; negative inside); the median intensity per
    0.5-px distance bin gives one edge profile for the whole nodule (medians ignore vessels that
    cross the ring). The inside level is the mean of the two innermost bins, the outside level the
    mean of the two outermost; the profile is made monotone (running extreme from the inside out)
    and the distance between its 90 % and 10 % crossings (linear interpolation) is the width.
    Because it only uses distances, an offset between mask and visible edge does not change it.
    A nodule whose radius is below ~3 px never reaches its inside plateau, so its width reads
    too large; a profile without contrast (inside and outside levels within 20 HU) gives ``nan``.
    """
    d, prof = edge_profile(image_hu, mask, reach_px=reach_px)
    if len(d) < 6:
        return float("nan")
    i_in = float(np.mean(prof[:2]))
    i_out = float(np.mean(prof[-2:]))
    if abs(i_in - i_out) < 20.0:
        return float("nan")
    p = (prof - i_out) / (i_in - i_out)  # 1 inside, 0 outside
    p = np.minimum.accumulate(p)  # non-increasing from the inside out
    # np.interp needs increasing x: use the reversed (outside -> inside) profile
    d90 = float(np.interp(0.9, p[::-1], d[::-1]))
    d10 = float(np.interp(0.1, p[::-1], d[::-1]))
    return float(abs(d10 - d90) * spacing_mm)
