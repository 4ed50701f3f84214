"""RECIST long and short axes, measured on a mask the way a radiologist measures them.

Convention: the lesion is the largest 8-connected component of the mask; its outline is the
0.5 iso-line of the bilinearly interpolated mask (traced at 4x, the marching-squares outline),
i.e. the calipers sit on the lesion's visible edge, half-way between the last lesion pixel centre
and the first background one. A mask of the pixels whose centres lie within radius ``r`` measures
about ``2r`` in every direction (a one-pixel lesion measures one pixel); endpoints are sub-pixel
``(row, col)`` points in the mask's own pixel grid.

- long axis: the longest chord of the outline (maximum Feret diameter), found on its convex hull;
- short axis: the longest chord PERPENDICULAR to the long axis that lies inside the outline (for a
  concave lesion only a contiguous inside segment counts), searched over positions along the long
  axis (0.25 px, then refined to 0.0125 px), with exact line / polygon intersections.

`recist_from_deeplesion` parses DeepLesion's ``Measurement_coordinates`` (the inverse of
`Recist.as_deeplesion`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from scipy import ndimage as ndi

from .case import Recist

_UPSAMPLE = 4  # outline tracing resolution
_COARSE_STEP_PX = 0.25  # coarse search step for the short axis along the long axis
_MAX_OFFSETS = 1000


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, n = ndi.label(mask, structure=np.ones((3, 3), dtype=bool))  # 8-connected
    if n <= 1:
        return mask.astype(np.uint8)
    sizes = np.bincount(labels.ravel())[1:]
    return (labels == 1 + int(np.argmax(sizes))).astype(np.uint8)


def _outline(comp: np.ndarray) -> np.ndarray:
    """(N, 2) float (row, col) outline of one component: the 0.5 iso-line of its bilinear interpolation."""
    rows = np.flatnonzero(comp.any(axis=1))
    cols = np.flatnonzero(comp.any(axis=0))
    r0, c0 = int(rows[0]) - 1, int(cols[0]) - 1
    sub = np.zeros((rows[-1] - rows[0] + 3, cols[-1] - cols[0] + 3), np.float32)  # 1-px empty frame
    sub[1:-1, 1:-1] = comp[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    u = _UPSAMPLE
    up = cv2.resize(sub, (sub.shape[1] * u, sub.shape[0] * u), interpolation=cv2.INTER_LINEAR)
    contours, _ = cv2.findContours((up >= 0.5).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    c = max(contours, key=cv2.contourArea)[:, 0, ::-1].astype(np.float64)  # (row, col) at 4x
    # a 4x pixel centre h sits at (h + 0.5) / u - 0.5 in the frame; the traced boundary pixels lie
    # at most half a 4x pixel (1/8 px) inside the iso-line: negligible for RECIST
    return (c + 0.5) / u - 0.5 + np.array([r0, c0], dtype=np.float64)


def _max_feret(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Endpoints of the longest chord among ``points`` (via the convex hull)."""
    if len(points) == 1:
        return points[0], points[0]
    hull = cv2.convexHull(points[:, ::-1].astype(np.float32))[:, 0, ::-1].astype(np.float64)
    if len(hull) < 2:
        hull = points
    d2 = ((hull[:, None, :] - hull[None, :, :]) ** 2).sum(-1)
    i, j = np.unravel_index(int(np.argmax(d2)), d2.shape)
    a, b = hull[i], hull[j]
    # deterministic orientation: first endpoint is the upper (then left) one
    if (a[0], a[1]) > (b[0], b[1]):
        a, b = b, a
    return a, b


def _chords_at(
    poly_u: np.ndarray, poly_v: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each offset along the axis: (length, start, end) of the longest inside segment across it."""
    a_u, b_u = poly_u, np.roll(poly_u, -1)
    a_v, b_v = poly_v, np.roll(poly_v, -1)
    da = a_u[None, :] - offsets[:, None]  # (K, N)
    db = b_u[None, :] - offsets[:, None]
    cross = (da > 0) != (db > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(cross, da / (da - db), 0.0)
    t = np.where(cross, a_v[None, :] + lam * (b_v - a_v)[None, :], np.nan)
    t = np.sort(t, axis=1)  # NaN last; crossings come in (enter, leave) pairs (even-odd rule)
    n = t.shape[1] - t.shape[1] % 2
    starts, ends = t[:, 0:n:2], t[:, 1:n:2]
    seg = np.nan_to_num(ends - starts, nan=-1.0)
    j = np.argmax(seg, axis=1)
    rows = np.arange(len(offsets))
    return seg[rows, j], starts[rows, j], ends[rows, j]


def _longest_perpendicular_chord(
    poly: np.ndarray, p0: np.ndarray, p1: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Longest inside segment of ``poly`` on lines perpendicular to p0->p1, crossing it."""
    axis = p1 - p0
    length = float(np.linalg.norm(axis))
    if length == 0 or len(poly) < 3:
        return None
    u = axis / length
    v = np.array([-u[1], u[0]])
    rel = poly - p0
    du = rel @ u  # position of each vertex along the long axis
    dv = rel @ v  # position across it
    eps = 1e-7 * np.sqrt(2)  # irrational shift: no offset passes exactly through a vertex
    # coarse scan, then a fine scan around the best coarse position
    step = max(_COARSE_STEP_PX, length / _MAX_OFFSETS)
    coarse = np.clip(np.arange(0.0, length + step, step), eps, length - eps)
    seg, _, _ = _chords_at(du, dv, coarse)
    if seg.max() <= 0:
        return None
    c = coarse[int(np.argmax(seg))]
    fine = np.clip(np.linspace(c - step, c + step, 41), eps, length - eps) + eps
    seg_f, st_f, en_f = _chords_at(du, dv, fine)
    i = int(np.argmax(seg_f))
    if seg_f[i] < seg.max():  # numerical safety: keep the coarse optimum
        seg_f, st_f, en_f = _chords_at(du, dv, coarse)
        i, fine = int(np.argmax(seg_f)), coarse
    base = p0 + fine[i] * u
    return base + st_f[i] * v, base + en_f[i] * v


def measure_recist(mask: np.ndarray, spacing_mm: float) -> Recist:
    """RECIST long / short axes of the largest connected component of ``mask``.

    Parameters
    ----------
    mask : ndarray of bool, (H, W)
        Lesion mask (any resolution; endpoints come back in its pixel grid).
    spacing_mm : float
        Pixel spacing of ``mask`` in mm (stored in the result for ``long_mm`` / ``short_mm``).

    Returns
    -------
    Recist
        ``long_axis`` and ``short_axis`` as ``[[r0, c0], [r1, c1]]`` float arrays, endpoints on the
        lesion edge (within half a pixel of a lesion pixel centre). A one-pixel lesion measures
        about 1 x 1 px; should no perpendicular inside chord exist, the short axis is a
        zero-length segment at the middle of the long axis.

    Raises
    ------
    ValueError
        For a mask that is not 2-D or has no foreground pixel.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"measure_recist needs a 2-D mask, got shape {mask.shape}")
    if not mask.any():
        raise ValueError("measure_recist: the mask is empty (no lesion pixel), so there is nothing to measure; "
                         "check the annotation or skip this case")
    comp = _largest_component(mask > 0)
    poly = _outline(comp)
    p0, p1 = _max_feret(poly)
    chord = _longest_perpendicular_chord(poly, p0, p1)
    if chord is None:
        mid = (p0 + p1) / 2
        chord = (mid, mid.copy())
    s0, s1 = chord
    if (s0[0], s0[1]) > (s1[0], s1[1]):
        s0, s1 = s1, s0
    return Recist(
        long_axis=np.array([p0, p1], dtype=np.float64),
        short_axis=np.array([s0, s1], dtype=np.float64),
        spacing_mm=float(spacing_mm),
    )


def recist_from_deeplesion(coords8: Sequence[float] | str | np.ndarray, spacing_mm: float) -> Recist:
    """Parse DeepLesion's ``Measurement_coordinates`` into a `Recist`.

    Parameters
    ----------
    coords8 : 8 numbers, or the CSV string ``"x1, y1, x2, y2, x3, y3, x4, y4"``
        Long axis (x1, y1) - (x2, y2) then short axis (x3, y3) - (x4, y4), x = column, y = row.
    spacing_mm : float
        The row's pixel spacing (DeepLesion's ``Spacing_mm_px_`` first value).

    Raises
    ------
    ValueError
        When there are not exactly 8 finite numbers.
    """
    if isinstance(coords8, str):
        parts = [p for p in coords8.replace(";", ",").split(",") if p.strip()]
        try:
            vals = np.array([float(p) for p in parts], dtype=np.float64)
        except ValueError:
            raise ValueError(f"Measurement_coordinates {coords8!r} is not a list of numbers") from None
    else:
        vals = np.asarray(coords8, dtype=np.float64).reshape(-1)
    if vals.size != 8 or not np.all(np.isfinite(vals)):
        raise ValueError(
            "DeepLesion Measurement_coordinates need 8 finite numbers "
            f"(x1,y1,x2,y2 long; x3,y3,x4,y4 short), got {vals.tolist()}"
        )
    pts = vals.reshape(4, 2)[:, ::-1]  # (x, y) -> (row, col)
    return Recist(long_axis=pts[:2].copy(), short_axis=pts[2:].copy(), spacing_mm=float(spacing_mm))
