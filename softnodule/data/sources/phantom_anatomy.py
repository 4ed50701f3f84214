"""Anatomy and lesion drawing for the phantom renderer (`phantom.render_case` composes them).

Lung parenchyma fields, vessels seen along and across the slice, the chest wall, the nodule's own
density map (texture, calcification, internal structure, margin) and faint spicule lines. Every
function takes its random generator explicitly, so `render_case` controls all randomness.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
from scipy import ndimage as ndi

from ..shapes import block_mean

if TYPE_CHECKING:
    from .phantom import ScannerAppearance

_TUBE_SS = 4  # supersampling of the vessel / spicule drawing (anti-aliasing)
_CV_SHIFT = 4  # cv2 sub-pixel bits for the tube drawing


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Gaussian random field of unit std (float32)."""
    w = rng.standard_normal(shape).astype(np.float32)
    if sigma_px <= 0.05:
        return w
    f = ndi.gaussian_filter(w, sigma_px, mode="wrap")
    s = float(f.std())
    return f / s if s > 0 else f


def _noise_gain(sigma_px: float) -> float:
    """Std of white unit noise after scipy's Gaussian filter (exact, from the discrete kernel)."""
    if sigma_px <= 0.05:
        return 1.0
    radius = int(4.0 * sigma_px + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma_px) ** 2)
    g /= g.sum()
    return float((g**2).sum())  # 2-D separable: variance (sum g^2)^2, so std = sum g^2


def _soft_disc(rr: np.ndarray, cc: np.ndarray, r0: float, c0: float, rad: float) -> np.ndarray:
    """Anti-aliased disc occupancy on the 1x grid (linear ramp over one pixel)."""
    d = np.sqrt((rr - r0) ** 2 + (cc - c0) ** 2)
    return np.clip(rad - d + 0.5, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# background: parenchyma, vessels, chest wall
# --------------------------------------------------------------------------------------------
def _draw_tubes(size: int, tubes: list[tuple[np.ndarray, np.ndarray, np.ndarray | float]]) -> np.ndarray:
    """Occupancy in [0, 1] of tapering tubes: ``(points (N,2) row/col px, radii (N,) px, weights)``.

    Each tube gets the rounded cross-section of a cylinder (three nested layers: the chord through
    a cylinder of radius r at offset x is 2 sqrt(r^2 - x^2)), scaled by its weight (the share of the
    slice thickness the vessel fills: a scalar, or one per point so that a vessel fades out where
    it leaves the slice). Drawn with cv2 at ``_TUBE_SS`` x resolution with sub-pixel vertices,
    combined by maximum (crossing vessels do not add up), then block-averaged: thin vessels come
    out as faint partial-volume lines, as on a real scanner.
    """
    ss = _TUBE_SS
    n = size * ss
    out = np.zeros((n, n), np.uint8)
    tmp = np.zeros((n, n), np.uint8)
    scale = ss * (1 << _CV_SHIFT)
    lo, hi = -4 * scale, (size + 4) * scale
    for pts, radii, weights in tubes:
        if len(pts) < 2:
            continue
        w = np.clip(np.broadcast_to(np.asarray(weights, dtype=np.float64), (len(pts),)), 0.0, 1.0)
        if w.max() <= 0:
            continue
        xy = np.round((pts[:, ::-1] + 0.5) * scale - 0.5 * (1 << _CV_SHIFT)).astype(np.int32)
        if (xy.max(axis=0) < lo).any() or (xy.min(axis=0) > hi).any():
            continue
        tmp.fill(0)
        rmid = 0.5 * (radii[:-1] + radii[1:])
        wmid = 0.5 * (w[:-1] + w[1:])
        for half, level in _TUBE_LAYERS:
            vals = np.rint(255.0 * level * wmid).astype(np.int64)
            thick = np.rint(2.0 * half * ss * rmid).astype(np.int64)
            # one polyline per run of segments with the same thickness and value (tubes vary slowly)
            key = thick * 256 + vals
            cuts = np.flatnonzero(np.diff(key)) + 1
            for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(key)]):
                t, v = int(thick[a]), int(vals[a])
                if t >= 1 and v > 0:
                    cv2.polylines(tmp, [xy[a : b + 1]], False, v, thickness=t, lineType=cv2.LINE_8, shift=_CV_SHIFT)
        np.maximum(out, tmp, out=out)
    return block_mean(out.astype(np.float32) / 255.0, ss)


#: (half-width as a fraction of the radius, level) of the nested layers of a cylinder profile
_TUBE_LAYERS = ((1.0, 0.4), (0.87, 0.75), (0.6, 1.0))


def _curve(rng: np.random.Generator, start: np.ndarray, angle: float, length_px: float, step_px: float = 1.5,
           bend: float = 0.08) -> np.ndarray:
    """A smooth random curve (persistent random walk of the heading)."""
    n = max(2, int(length_px / step_px) + 1)
    turns = np.cumsum(rng.normal(0.0, bend, n))
    turns = ndi.gaussian_filter1d(turns, 2.0)
    heads = angle + turns
    steps = np.stack([np.sin(heads), np.cos(heads)], axis=1) * step_px
    steps[0] = 0.0
    return start[None, :] + np.cumsum(steps, axis=0)


def _poisson_from_uniform(u: float, lam: float) -> int:
    """Inverse CDF of a Poisson law: the same ``u`` gives a count that grows with ``lam``."""
    k, p = 0, math.exp(-lam)
    cdf = p
    while u > cdf and k < 10_000:
        k += 1
        p *= lam / k
        cdf += p
    return k


def _vessel_tubes(rng: np.random.Generator, app: ScannerAppearance, size: int, sp: float, thickness_mm: float,
                  centre: np.ndarray, nod_radius_px: float) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | float]]:
    """Vessel segments in the slice, vessels reaching the nodule, and vessels crossing the slice.

    Each family draws from its own stream and the counts come from one uniform each (inverse
    CDF), so two appearances of the same case share their vessels: the denser preset adds some.
    """
    area_cm2 = (size * sp / 10.0) ** 2
    tubes: list[tuple[np.ndarray, np.ndarray, np.ndarray | float]] = []
    t_eff = float(np.clip(thickness_mm, 0.6, 2.5))  # thicker slabs also catch obliquely running vessels
    streams = [np.random.default_rng(int(x)) for x in rng.integers(0, 2**62, size=3)]
    u_lines, u_touch, u_dots = rng.random(3)

    def fill(g: np.random.Generator, r_mm: float) -> float:
        """Share of the slice a vessel of radius r fills (lower when off-centre in z)."""
        return float(g.uniform(0.6, 1.0) * min(1.0, (2.0 * r_mm + 0.5) / t_eff))

    def radius_mm(g: np.random.Generator) -> float:
        return float(min(1.8, 0.25 + g.exponential(0.3)))

    def add_vessel(g: np.random.Generator, start: np.ndarray, angle: float, r_mm: float, length_mm: float,
                   depth: int = 0) -> None:
        pts = _curve(g, start, angle, length_mm / sp)
        taper = np.linspace(1.0, g.uniform(0.45, 0.9), len(pts))
        radii = r_mm / sp * taper
        # the vessel enters and leaves the slice: its weight fades over the last part at each end
        s_rel = np.linspace(0.0, 1.0, len(pts))
        f0, f1 = g.uniform(0.05, 0.3), g.uniform(0.1, 0.4)
        ends = np.minimum(np.clip(s_rel / f0, 0.0, 1.0), np.clip((1.0 - s_rel) / f1, 0.0, 1.0))
        tubes.append((pts, radii, fill(g, r_mm) * (0.25 + 0.75 * ends)))
        if depth == 0 and r_mm > 0.5 and g.random() < 0.55:  # one branch
            j = int(g.integers(len(pts) // 4, max(len(pts) // 4 + 1, 3 * len(pts) // 4)))
            d = pts[min(j + 1, len(pts) - 1)] - pts[max(j - 1, 0)]
            a0 = math.atan2(d[0], d[1]) + g.choice([-1.0, 1.0]) * g.uniform(0.35, 0.9)
            add_vessel(g, pts[j], a0, r_mm * g.uniform(0.5, 0.8), length_mm * g.uniform(0.3, 0.7), depth + 1)

    g = streams[0]
    for _ in range(_poisson_from_uniform(u_lines, app.vessel_density * area_cm2)):
        start = g.uniform(-0.1 * size, 1.1 * size, 2)
        add_vessel(g, start, g.uniform(0, 2 * math.pi), radius_mm(g), g.uniform(6.0, 30.0))
    # vessels that reach the nodule (feeding / draining vessels): start inside it, run outwards
    g = streams[1]
    for _ in range((0, 1, 1, 2)[min(3, int(u_touch * 4))]):
        a = g.uniform(0, 2 * math.pi)
        start = centre + g.uniform(0.0, 0.5) * nod_radius_px * np.array([math.sin(a), math.cos(a)])
        add_vessel(g, start, a + g.normal(0, 0.3), radius_mm(g), g.uniform(10.0, 35.0))
    # vessels crossing the slice: dots and short ellipses
    g = streams[2]
    for _ in range(_poisson_from_uniform(u_dots, app.dot_density * area_cm2)):
        c = g.uniform(0, size, 2)
        r_mm = float(min(1.5, 0.25 + g.exponential(0.3)))
        r = r_mm / sp
        a = g.uniform(0, 2 * math.pi)
        half = g.uniform(0.0, 1.5) * r
        d = np.array([math.sin(a), math.cos(a)]) * half
        tubes.append((np.stack([c - d, c + d]), np.array([r, r]), min(1.0, fill(g, r_mm) * 1.3)))
    return tubes


def _chest_wall(rng: np.random.Generator, size: int, sp: float, consensus_alpha: np.ndarray,
                centre: np.ndarray, rr: np.ndarray, cc: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Chest wall density map (HU) and its occupancy, with the pleura tangent to / near the nodule."""
    theta = rng.uniform(0, 2 * math.pi)
    nvec = np.array([math.sin(theta), math.cos(theta)])  # from the nodule towards the wall
    nod = consensus_alpha > 0.0
    if nod.any():
        pr, pc = np.nonzero(nod)
        reach = float(((np.stack([pr, pc], 1) - centre) @ nvec).max()) + 0.5
    else:
        reach = 0.0
    touching = rng.random() < 0.5
    gap_mm = rng.uniform(-0.3, 0.6) if touching else rng.uniform(2.0, 14.0)
    radius_mm = rng.uniform(70.0, 180.0)  # curvature of the inner thoracic wall
    rad = radius_mm / sp
    h = reach + gap_mm / sp
    cen = centre - (rad - h) * nvec
    depth = np.sqrt((rr - cen[0]) ** 2 + (cc - cen[1]) ** 2) - rad  # px beyond the pleura
    occ = np.clip(depth + 0.5, 0.0, 1.0)
    dmm = depth * sp
    muscle = rng.uniform(30.0, 60.0)
    fat = rng.uniform(-115.0, -85.0)
    wall = np.full((size, size), muscle, np.float32)
    # a thin extrapleural fat line, muscle, then subcutaneous fat further out
    fat_in = rng.uniform(0.6, 1.5)
    wall = np.where((dmm > 0.3) & (dmm < 0.3 + fat_in), np.float32(0.5 * (muscle + fat)), wall)
    deep_fat = rng.uniform(14.0, 30.0)
    wall = wall + (fat - muscle) * np.clip((dmm - deep_fat) / 1.5, 0.0, 1.0)
    # ribs: oval bone (cortex + marrow) along the wall, every ~22 mm
    has_rib = rng.random() < 0.6
    if has_rib:
        vr, vc = rr - cen[0], cc - cen[1]
        ang = np.arctan2(vr * nvec[1] - vc * nvec[0], vr * nvec[0] + vc * nvec[1])  # 0 towards the nodule
        along = ang * radius_mm  # arc length along the wall (mm)
        spacing_mm = rng.uniform(18.0, 26.0)
        phase = rng.uniform(0, spacing_mm)
        u = ((along - phase + spacing_mm / 2) % spacing_mm) - spacing_mm / 2
        rib_depth = rng.uniform(4.0, 9.0)
        a_mm, b_mm = rng.uniform(4.5, 7.0), rng.uniform(2.5, 4.0)
        q = np.sqrt((u / a_mm) ** 2 + ((dmm - rib_depth) / b_mm) ** 2)
        edge = 1.5 * sp / min(a_mm, b_mm)
        outer = np.clip((1.0 - q) / edge + 0.5, 0.0, 1.0)
        inner = np.clip((0.72 - q) / edge + 0.5, 0.0, 1.0)
        cortex, marrow = rng.uniform(600.0, 1000.0), rng.uniform(150.0, 300.0)
        bone = marrow * inner + cortex * (outer - inner)
        wall = wall * (1.0 - outer) + bone
    wall += 8.0 * _smooth_field(rng, (size, size), 1.5 / sp)
    info = {"chest_wall": True, "juxtapleural": bool(touching), "pleura_gap_mm": float(gap_mm), "rib": bool(has_rib)}
    return wall.astype(np.float32), occ.astype(np.float32), info


# --------------------------------------------------------------------------------------------
# the nodule's own density map
# --------------------------------------------------------------------------------------------
def _nodule_map(rng: np.random.Generator, ratings: dict[str, float], alpha: np.ndarray, sp: float,
                parenchyma: float, vessel_occ: np.ndarray, vessel_hu: float,
                rr: np.ndarray, cc: np.ndarray) -> tuple[np.ndarray, dict]:
    size = alpha.shape[0]
    inside = alpha >= 0.5
    if not inside.any():
        inside = alpha > 0
    d_in = ndi.distance_transform_edt(np.pad(inside, 1))[1:-1, 1:-1]
    d_in = ndi.gaussian_filter(d_in.astype(np.float32), 0.7)  # sub-pixel-ish, no staircase
    d_max = max(float(d_in.max()), 0.5)
    ci = np.unravel_index(int(np.argmax(d_in)), d_in.shape)
    centre = np.array(ci, dtype=np.float64)

    tex = ratings.get("texture", 5.0)
    calc = ratings.get("calcification", 6.0)
    struct = int(round(ratings.get("internalStructure", 1.0)))
    margin = ratings.get("margin", 3.0)
    subtle = ratings.get("subtlety", 4.0)

    # ground glass and solid densities, and how much of the nodule is solid
    # ground glass ~ -700..-450 HU (denser for "mixed"), a little fainter when rated subtle
    levels = [rng.uniform(-680, -520), rng.uniform(-620, -450), rng.uniform(-580, -420)]  # texture 1, 2, 3
    ggo_hu = float(np.interp(tex, [1.0, 2.0, 3.0], levels))
    ggo_hu = parenchyma + (ggo_hu - parenchyma) * (0.85 + 0.0375 * (min(subtle, 5.0) - 1.0))
    # solid soft tissue: ~0-70 HU unenhanced (a little more with contrast); "solid/mixed" (4) lower
    solid_hu = float(rng.uniform(-30.0, 50.0) if tex < 4.5 else rng.uniform(0.0, 80.0))
    if struct == 2:  # fluid
        solid_hu = float(rng.uniform(0.0, 25.0))
    core_frac = float(np.clip((tex - 2.0) / 2.5, 0.0, 1.0))  # 1-2: none, 3: 0.4, 4: 0.8, >= 4.5: all
    irregular = _smooth_field(rng, (size, size), 1.2 / sp)
    if core_frac >= 1.0:
        core = np.ones((size, size), np.float32)
    elif core_frac <= 0.0:
        core = np.zeros((size, size), np.float32)
    else:
        # solid core: the deepest part of the nodule, shifted and irregular
        shift = rng.normal(0.0, 0.15 * d_max, 2)
        depth = d_in - 0.3 * np.sqrt((rr - centre[0] - shift[0]) ** 2 + (cc - centre[1] - shift[1]) ** 2)
        thr = (1.0 - core_frac) * float(depth.max())
        core = np.clip((depth - thr + 0.6 * irregular) / 1.2 + 0.5, 0.0, 1.0).astype(np.float32)
    hetero = _smooth_field(rng, (size, size), 1.0 / sp)
    nod = ggo_hu + (solid_hu - ggo_hu) * core
    nod = nod + hetero * (12.0 * core + 45.0 * (1.0 - core))
    # vessels stay visible through ground glass
    nod = nod + (1.0 - core) * vessel_occ * 0.8 * (vessel_hu - ggo_hu)

    info: dict = {"ggo_hu": ggo_hu, "solid_hu": solid_hu, "solid_fraction": core_frac}

    # internal structure: fat (hamartoma-like) or an air cavity
    if struct == 3 and d_max > 1.5:
        c = centre + rng.normal(0, 0.2 * d_max, 2)
        blob = _soft_disc(rr, cc, c[0], c[1], rng.uniform(0.3, 0.5) * d_max)
        nod = nod * (1 - blob) + rng.uniform(-110.0, -70.0) * blob
        info["fat"] = True
    if struct == 4 and d_max > 1.5:
        wall = rng.uniform(0.25, 0.55) * d_max
        shift = rng.normal(0.0, 0.2 * d_max, 2)
        dd = d_in - 0.3 * np.sqrt((rr - centre[0] - shift[0]) ** 2 + (cc - centre[1] - shift[1]) ** 2)
        cav = np.clip((dd - wall + 0.8 * irregular) / 1.0 + 0.5, 0.0, 1.0)
        nod = nod * (1 - cav) + rng.uniform(-990.0, -940.0) * cav
        info["cavity"] = True

    # calcification: calcified when the median rating is a pattern (<= 5.5)
    if calc <= 5.5:
        pattern = int(math.floor(calc))
        chu = float(rng.uniform(300.0, 900.0))
        occ = np.zeros((size, size), np.float32)
        if pattern == 1:  # popcorn: several blobs
            for _ in range(int(rng.integers(3, 8))):
                cand = np.argwhere(d_in > 0.6 * d_max) if (d_in > 0.6 * d_max).any() else np.argwhere(inside)
                p = cand[int(rng.integers(len(cand)))] + rng.uniform(-0.5, 0.5, 2)
                occ = np.maximum(occ, _soft_disc(rr, cc, p[0], p[1], max(0.5, rng.uniform(0.6, 1.5) / sp)))
        elif pattern == 2:  # laminated: concentric shells and a nidus
            for f in rng.uniform(0.25, 0.8, int(rng.integers(1, 4))):
                occ = np.maximum(occ, np.clip(1.0 - np.abs(d_in - f * d_max) / max(0.6 / sp, 0.6), 0.0, 1.0))
            occ = np.maximum(occ, _soft_disc(rr, cc, centre[0], centre[1], max(0.5, 0.2 * d_max)))
        elif pattern == 3:  # solid (diffuse)
            occ = np.clip((d_in - 0.8 / sp) / 1.0, 0.0, 1.0)
        elif pattern == 4:  # non-central: one eccentric blob
            a = rng.uniform(0, 2 * math.pi)
            p = centre + 0.5 * d_max * np.array([math.sin(a), math.cos(a)])
            occ = _soft_disc(rr, cc, p[0], p[1], max(0.5, rng.uniform(0.2, 0.4) * d_max))
        else:  # 5 central
            occ = _soft_disc(rr, cc, centre[0], centre[1], max(0.5, rng.uniform(0.25, 0.5) * d_max))
        occ = occ * (d_in > 0.3)
        nod = nod * (1 - occ) + chu * occ
        info["calcification_pattern"] = pattern

    # margin: an ill-defined margin fades the rim towards the lung (inside the truth: the image is
    # still alpha * nodule + (1 - alpha) * background with the true alpha)
    fade = 0.17 * (5.0 - float(np.clip(margin, 1.0, 5.0)))  # 1 -> 0.68 .. 5 -> 0
    width_mm = 0.6 + 0.45 * (5.0 - float(np.clip(margin, 1.0, 5.0)))  # 1 -> 2.4 mm .. 4 -> 1.05 mm
    if fade > 0:
        rim = fade * np.exp(-(d_in * sp) / width_mm) * np.clip(1.0 + 0.35 * irregular, 0.3, 1.7)
        rim = rim * (0.5 + 0.5 * core)  # ground glass is already faint: fade it less
        nod = nod - np.clip(rim, 0.0, 0.95) * (nod - parenchyma)
    return nod.astype(np.float32), info


def _spicules(rng: np.random.Generator, alpha: np.ndarray, sp: float, spiculation: float,
              centre: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | float]]:
    """Faint thin lines radiating from the boundary (image only, never in the truth)."""
    if spiculation < 3.5:
        return []
    edge = (alpha > 0.2) & (alpha < 0.8)
    pts = np.argwhere(edge)
    if len(pts) == 0:
        return []
    tubes = []
    for _ in range(int(rng.integers(3, 9)) if spiculation >= 4.5 else int(rng.integers(2, 6))):
        p = pts[int(rng.integers(len(pts)))].astype(np.float64)
        out = p - centre
        a = math.atan2(out[0], out[1]) + rng.normal(0, 0.35)
        line = _curve(rng, p, a, rng.uniform(2.0, 9.0) / sp, step_px=1.0, bend=0.05)
        radii = np.linspace(rng.uniform(0.25, 0.45), 0.12, len(line)) / sp
        tubes.append((line, radii, rng.uniform(0.35, 0.7) * np.linspace(1.0, 0.3, len(line))))
    return tubes
