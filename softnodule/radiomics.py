"""2-D radiomics features of a CT crop inside a BINARY or a SOFT region of interest.

Why not pyradiomics: the CasGAN paper extracted 93 pyradiomics features, but pyradiomics has no wheel
for Python 3.11 and only builds with a non-standard recipe (``--no-build-isolation``, REFERENCE §7), so
it does not install with this project's ``pip install -e .``. This module rebuilds the feature groups
the study needs from numpy / scipy / scikit-image, following pyradiomics' definitions where they exist:

* ``firstorder_*`` (19): pyradiomics' first-order set on the ROI intensities (HU), with a fixed bin
  width (default 25 HU, pyradiomics' default) for entropy and uniformity; population moments; flat
  regions give skewness = kurtosis = 0 (pyradiomics' convention).
* ``glcm_*`` (7): grey-level co-occurrence at distance 1 over the four 2-D directions (0, 45, 90,
  135 degrees), symmetric, each property averaged over the directions (pyradiomics' default
  aggregation; with ``force2D=True`` pyradiomics would silently use one direction, REFERENCE §7).
  Grey levels are the fixed-width bins anchored at the ROI minimum (pyradiomics' ``binWidth``).
  Properties come from ``skimage.feature.graycoprops``.
* ``shape2d_*`` (14): area, perimeter, sphericity, moments (axes, elongation, eccentricity), hull
  (solidity, convexity, max diameter) and boundary irregularity (radial-distance variation, deepest
  convexity defect): the measures a reader uses for spiculation. The paper extracted NO shape
  features ("we don't extract the shape features but the radiomics features in the ROI").

How a soft ROI enters (our reading of the paper, which does not say): a soft mask is a membership
map alpha in [0, 1]. Every pixel with alpha > 0 is in the ROI with weight alpha:

* first order: weighted statistics (weighted moments, weighted histogram, weighted percentiles);
* GLCM: weighted counts, each neighbour pair adds ``alpha_i * alpha_j`` (a fuzzy co-occurrence);
  a binary ROI counts the pairs whose two pixels are inside, as pyradiomics does;
* shape: the weighted area and moments; the 0.5 iso-contour wherever a contour is needed.

Multiplying the intensities by alpha instead ("intensity x alpha") would pull edge pixels towards
0 HU (water), a density that exists nowhere in the nodule, so it is not used. A pyradiomics user can
only pass a label mask: the closest they can get to a soft ROI is its support (alpha > 0), which the
study (`softnodule.experiments.casgan.radiomics`) evaluates as a third ROI.

A ``bool`` / integer ROI takes an independent reference path (numpy percentiles, scipy moments,
``skimage.feature.graycomatrix`` with the outside masked to an extra grey level), a float ROI the
weighted path: a float ROI equal to a binary one reproduces the reference numbers (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats
from scipy.spatial import ConvexHull, QhullError
from skimage.feature import graycomatrix, graycoprops
from skimage.measure import find_contours

FIRSTORDER_NAMES: tuple[str, ...] = tuple(f"firstorder_{n}" for n in (
    "energy", "total_energy_mm2", "entropy", "minimum", "p10", "p90", "maximum", "mean", "median", "iqr",
    "range", "mad", "robust_mad", "rms", "std", "skewness", "kurtosis", "variance", "uniformity"))
GLCM_PROPS: tuple[str, ...] = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM", "entropy")
GLCM_NAMES: tuple[str, ...] = tuple(f"glcm_{p.lower()}" for p in GLCM_PROPS)
SHAPE_NAMES: tuple[str, ...] = tuple(f"shape2d_{n}" for n in (
    "area_mm2", "perimeter_mm", "perimeter_area_ratio", "sphericity", "major_axis_mm", "minor_axis_mm",
    "elongation", "eccentricity", "max_diameter_mm", "solidity", "convexity", "radial_cv", "radial_range",
    "max_defect_ratio"))
#: Feature groups; the paper's set is intensity + texture (no shape).
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {"firstorder": FIRSTORDER_NAMES, "glcm": GLCM_NAMES,
                                              "shape2d": SHAPE_NAMES}
#: Every feature, in the stable order of `extract_features`.
FEATURE_NAMES: tuple[str, ...] = FIRSTORDER_NAMES + GLCM_NAMES + SHAPE_NAMES

#: (row, col) neighbour offsets at distance 1: 0, 45, 90, 135 degrees in skimage's convention.
GLCM_OFFSETS: tuple[tuple[int, int], ...] = ((0, 1), (1, 1), (1, 0), (1, -1))
_GLCM_ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)


# --------------------------------------------------------------------------------------------
# input checks and discretisation
# --------------------------------------------------------------------------------------------
def _check(image_hu: np.ndarray, roi: np.ndarray, spacing_mm) -> tuple[np.ndarray, np.ndarray, bool, tuple]:
    img = np.asarray(image_hu, dtype=np.float64)
    r = np.asarray(roi)
    if img.ndim != 2:
        raise ValueError(f"image_hu must be a 2-D crop, got shape {img.shape}")
    if r.shape != img.shape:
        raise ValueError(f"roi shape {r.shape} differs from image shape {img.shape}")
    if not np.isfinite(img).all():
        raise ValueError("image_hu holds NaN or inf values")
    binary = r.dtype == bool or np.issubdtype(r.dtype, np.integer)
    w = r.astype(np.float64)
    if binary and not np.isin(np.unique(w), (0.0, 1.0)).all():
        raise ValueError(f"an integer roi must hold only 0 and 1, got values {np.unique(r)[:6]}")
    if not np.isfinite(w).all() or w.min() < 0.0 or w.max() > 1.0 + 1e-6:
        raise ValueError(f"roi weights must lie in [0, 1], got range [{np.nanmin(w):.3g}, {np.nanmax(w):.3g}]")
    if not (w > 0).any():
        raise ValueError("roi is empty: no pixel with weight > 0")
    sp = (float(spacing_mm), float(spacing_mm)) if np.ndim(spacing_mm) == 0 else tuple(float(s) for s in spacing_mm)
    if len(sp) != 2 or min(sp) <= 0:
        raise ValueError(f"spacing_mm must be a positive number or a (row, col) pair, got {spacing_mm!r}")
    return img, np.clip(w, 0.0, 1.0), binary, sp


def discretize(values: np.ndarray, lowest: float, bin_width: float) -> np.ndarray:
    """Fixed-width grey levels (0-based) anchored at the bin holding ``lowest`` (pyradiomics' binWidth)."""
    return (np.floor(values / bin_width) - np.floor(lowest / bin_width)).astype(np.int64)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | Sequence[float]) -> np.ndarray:
    """Quantiles of weighted samples; equals ``np.percentile(values, 100 q)`` (linear) for unit weights.

    Sorted sample k sits at position ``(C_k - w_k) / (W - w_last)`` (``C_k`` cumulative weight), which is
    ``k / (n - 1)`` for unit weights; quantiles interpolate linearly between positions.
    """
    keep = weights > 0
    v, w = np.asarray(values, float)[keep], np.asarray(weights, float)[keep]
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    c = np.cumsum(w)
    denom = c[-1] - w[-1]
    if denom <= 0:
        return np.full(np.shape(q), v[-1])
    return np.interp(q, (c - w) / denom, v)


# --------------------------------------------------------------------------------------------
# first order
# --------------------------------------------------------------------------------------------
def _firstorder_from(x: np.ndarray, w: np.ndarray, pcts: np.ndarray, rmad_sel: np.ndarray, hist: np.ndarray,
                     px_area: float) -> dict[str, float]:
    """The 19 first-order features from (weighted) samples; ``pcts`` = p10, p25, p50, p75, p90."""
    W = w.sum()
    mean = float((w * x).sum() / W)
    d = x - mean
    var = float((w * d**2).sum() / W)
    if var > 1e-12 * max(1.0, mean**2):
        skew = float((w * d**3).sum() / W / var**1.5)
        kurt = float((w * d**4).sum() / W / var**2)
    else:  # flat region: pyradiomics returns 0 for both
        skew = kurt = 0.0
    p = hist / hist.sum()
    p = p[p > 0]
    xr, wr = x[rmad_sel], w[rmad_sel]
    rmean = (wr * xr).sum() / wr.sum()
    energy = float((w * x**2).sum())
    return {
        "firstorder_energy": energy, "firstorder_total_energy_mm2": energy * px_area,
        "firstorder_entropy": float(-(p * np.log2(p)).sum()), "firstorder_minimum": float(x.min()),
        "firstorder_p10": float(pcts[0]), "firstorder_p90": float(pcts[4]), "firstorder_maximum": float(x.max()),
        "firstorder_mean": mean, "firstorder_median": float(pcts[2]), "firstorder_iqr": float(pcts[3] - pcts[1]),
        "firstorder_range": float(x.max() - x.min()), "firstorder_mad": float((w * np.abs(d)).sum() / W),
        "firstorder_robust_mad": float((wr * np.abs(xr - rmean)).sum() / wr.sum()),
        "firstorder_rms": float(np.sqrt(energy / W)), "firstorder_std": float(np.sqrt(var)),
        "firstorder_skewness": skew, "firstorder_kurtosis": kurt, "firstorder_variance": var,
        "firstorder_uniformity": float((p**2).sum()),
    }


def firstorder_features(image_hu: np.ndarray, roi: np.ndarray, spacing_mm: float | Sequence[float] = 1.0, *,
                        bin_width_hu: float = 25.0) -> dict[str, float]:
    """First-order statistics of the ROI intensities (weighted by the ROI for a soft ROI)."""
    img, w, binary, sp = _check(image_hu, roi, spacing_mm)
    sel = w > 0
    x, wx = img[sel], w[sel]
    levels = discretize(x, float(x.min()), bin_width_hu)
    if binary:  # reference path: plain numpy / scipy on the ROI pixels
        pcts = np.percentile(x, [10, 25, 50, 75, 90])
        hist = np.bincount(levels).astype(float)
        out = _firstorder_from(x, np.ones_like(x), pcts, (x >= pcts[0]) & (x <= pcts[4]), hist, sp[0] * sp[1])
        if x.std() > 0:  # cross-check the moments with scipy (population definitions)
            out["firstorder_skewness"] = float(stats.skew(x, bias=True))
            out["firstorder_kurtosis"] = float(stats.kurtosis(x, fisher=False, bias=True))
        return out
    pcts = weighted_quantile(x, wx, [0.10, 0.25, 0.50, 0.75, 0.90])
    hist = np.bincount(levels, weights=wx)
    return _firstorder_from(x, wx, pcts, (x >= pcts[0]) & (x <= pcts[4]), hist, sp[0] * sp[1])


# --------------------------------------------------------------------------------------------
# GLCM
# --------------------------------------------------------------------------------------------
def weighted_glcm(levels: np.ndarray, weights: np.ndarray, n_levels: int,
                  offsets: Sequence[tuple[int, int]] = GLCM_OFFSETS) -> np.ndarray:
    """Symmetric co-occurrence counts ``(n, n, 1, n_offsets)``; a pair adds ``w_i * w_j``.

    With 0/1 weights this is skimage's ``graycomatrix`` restricted to pairs inside the ROI.
    """
    H, W = levels.shape
    out = np.zeros((n_levels, n_levels, 1, len(offsets)))
    for k, (dr, dc) in enumerate(offsets):
        r0, r1 = max(0, -dr), H - max(0, dr)
        c0, c1 = max(0, -dc), W - max(0, dc)
        la, lb = levels[r0:r1, c0:c1], levels[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
        pw = weights[r0:r1, c0:c1] * weights[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
        keep = pw > 0
        P = np.bincount(la[keep] * n_levels + lb[keep], weights=pw[keep], minlength=n_levels**2)
        P = P.reshape(n_levels, n_levels)
        out[:, :, 0, k] = P + P.T
    return out


def glcm_features(image_hu: np.ndarray, roi: np.ndarray, spacing_mm: float | Sequence[float] = 1.0, *,
                  bin_width_hu: float = 25.0) -> dict[str, float]:
    """GLCM properties inside the ROI, averaged over the 4 directions that hold at least one pair.

    A ROI without any neighbour pair (a single pixel) gives NaN for every property.
    """
    img, w, binary, _ = _check(image_hu, roi, spacing_mm)
    sel = w > 0
    lowest = float(img[sel].min())
    lv = np.where(sel, discretize(img, lowest, bin_width_hu), 0)
    n = int(lv.max()) + 1
    if binary:  # reference path: skimage with the outside as an extra level 0, then dropped
        dtype = np.uint8 if n + 1 <= 256 else np.uint16
        full = graycomatrix(np.where(sel, lv + 1, 0).astype(dtype), [1], list(_GLCM_ANGLES), levels=n + 1,
                            symmetric=True, normed=False)
        P = full[1:, 1:].astype(np.float64)
    else:
        P = weighted_glcm(lv, w, n)
    has_pairs = P.sum(axis=(0, 1))[0] > 0
    if not has_pairs.any():
        return {name: float("nan") for name in GLCM_NAMES}
    P = P[:, :, :, has_pairs]
    return {name: float(graycoprops(P, prop).mean()) for name, prop in zip(GLCM_NAMES, GLCM_PROPS)}


# --------------------------------------------------------------------------------------------
# shape (2-D)
# --------------------------------------------------------------------------------------------
def _polygon_area(pts: np.ndarray) -> float:
    """Signed shoelace area of a closed polygon (first point repeated or not)."""
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances of points ``p (N, 2)`` to segments ``a -> b (M, 2)``, shape ``(N, M)``."""
    ab = b - a
    t = np.clip(((p[:, None, :] - a[None]) * ab[None]).sum(-1) / np.maximum((ab**2).sum(-1), 1e-12), 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    return np.linalg.norm(p[:, None, :] - closest, axis=-1)


def shape_features(roi: np.ndarray, spacing_mm: float | Sequence[float] = 1.0) -> dict[str, float]:
    """2-D shape of the ROI: weighted area and moments, the 0.5 iso-contour for everything else.

    Contour-based features are NaN when nothing reaches 0.5 (a soft ROI that is faint everywhere).
    """
    _, w, _, sp = _check(np.zeros(np.shape(roi)), roi, spacing_mm)
    scale = np.array(sp)
    area = float(w.sum() * sp[0] * sp[1])
    rr, cc = np.nonzero(w > 0)
    ww = w[rr, cc]
    coords = np.stack([rr, cc], 1) * scale
    centre = (ww[:, None] * coords).sum(0) / ww.sum()
    d = coords - centre
    cov = (ww[:, None, None] * d[:, :, None] * d[:, None, :]).sum(0) / ww.sum()
    lam = np.sort(np.clip(np.linalg.eigvalsh(cov), 0.0, None))[::-1]
    ratio = float(lam[1] / lam[0]) if lam[0] > 0 else 1.0
    out = {"shape2d_area_mm2": area, "shape2d_major_axis_mm": float(4 * np.sqrt(lam[0])),
           "shape2d_minor_axis_mm": float(4 * np.sqrt(lam[1])), "shape2d_elongation": float(np.sqrt(ratio)),
           "shape2d_eccentricity": float(np.sqrt(max(0.0, 1.0 - ratio)))}
    contours = [c - 1.0 for c in find_contours(np.pad(w, 1), 0.5) if len(c) >= 3]
    if not contours:
        return {k: out.get(k, float("nan")) for k in SHAPE_NAMES}
    contours = [c * scale for c in contours]
    perimeter = float(sum(np.linalg.norm(np.diff(c, axis=0), axis=1).sum() for c in contours))
    poly_area = abs(sum(_polygon_area(c) for c in contours))
    pts = np.concatenate(contours)
    try:
        hull = ConvexHull(pts)
        hv = pts[hull.vertices]
        hull_area, hull_perim = float(hull.volume), float(hull.area)
    except QhullError:  # degenerate (collinear) outline
        return {k: out.get(k, float("nan")) for k in SHAPE_NAMES}
    max_diam = float(np.max(np.linalg.norm(hv[:, None] - hv[None], axis=-1)))
    radial = np.linalg.norm(pts - centre, axis=1)
    r_eq = np.sqrt(max(poly_area, 1e-12) / np.pi)
    depth = _point_segment_distance(pts, hv, np.roll(hv, -1, axis=0)).min(axis=1)
    out.update({
        "shape2d_perimeter_mm": perimeter, "shape2d_perimeter_area_ratio": perimeter / max(poly_area, 1e-12),
        "shape2d_sphericity": float(2 * np.sqrt(np.pi * poly_area) / perimeter),
        "shape2d_max_diameter_mm": max_diam, "shape2d_solidity": float(poly_area / hull_area),
        "shape2d_convexity": float(hull_perim / perimeter),
        "shape2d_radial_cv": float(radial.std() / radial.mean()),
        "shape2d_radial_range": float((radial.max() - radial.min()) / radial.mean()),
        "shape2d_max_defect_ratio": float(depth.max() / r_eq),
    })
    return {k: out[k] for k in SHAPE_NAMES}


# --------------------------------------------------------------------------------------------
# everything
# --------------------------------------------------------------------------------------------
def extract_features(image_hu: np.ndarray, roi: np.ndarray, spacing_mm: float | Sequence[float] = 1.0, *,
                     bin_width_hu: float = 25.0, groups: Sequence[str] = tuple(FEATURE_GROUPS)) -> dict[str, float]:
    """Radiomics features of one 2-D crop inside a binary or soft ROI, in the stable order of `FEATURE_NAMES`.

    Parameters
    ----------
    image_hu : ndarray (H, W)
        CT intensities in Hounsfield units.
    roi : ndarray (H, W)
        ``bool`` / 0-1 integer mask (binary ROI) or float weights in [0, 1] (soft ROI, e.g. a Soft Mask's
        alpha): see the module docstring for how weights enter each group.
    spacing_mm : float or (float, float)
        Pixel spacing (row, col) in mm; areas and lengths are reported in mm.
    bin_width_hu : float
        Grey-level bin width for the histogram and the GLCM (pyradiomics' default 25).
    groups : sequence of str
        Subset of ``FEATURE_GROUPS`` to compute (order of the output stays that of `FEATURE_NAMES`).

    Returns
    -------
    dict
        Feature name -> float.

    Raises
    ------
    ValueError
        For a non-2-D image, a ROI of another shape, weights outside [0, 1], an empty ROI, a bad spacing
        or an unknown group.
    """
    unknown = set(groups) - set(FEATURE_GROUPS)
    if unknown:
        raise ValueError(f"unknown feature groups {sorted(unknown)}; choose from {list(FEATURE_GROUPS)}")
    out: dict[str, float] = {}
    if "firstorder" in groups:
        out.update(firstorder_features(image_hu, roi, spacing_mm, bin_width_hu=bin_width_hu))
    if "glcm" in groups:
        out.update(glcm_features(image_hu, roi, spacing_mm, bin_width_hu=bin_width_hu))
    if "shape2d" in groups:
        _check(image_hu, roi, spacing_mm)
        out.update(shape_features(roi, spacing_mm))
    return {k: out[k] for k in FEATURE_NAMES if k in out}


def feature_names(groups: Sequence[str] = tuple(FEATURE_GROUPS)) -> tuple[str, ...]:
    """The names `extract_features` returns for these groups, in order."""
    return tuple(k for k in FEATURE_NAMES if any(k in FEATURE_GROUPS[g] for g in groups))
