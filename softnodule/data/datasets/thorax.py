"""A thorax phantom: one axial CT slice (HU) with its exact lung mask, for lung segmentation (LGAN).

LGAN (Tan et al., CMIG; ``papers/004_*.txt``) segments whole lungs on 224x224 thorax slices of
LIDC-IDRI. Its masks came from a traditional method corrected by radiologists; no mask shipped with
LIDC. The phantom gives slices whose lung mask is known exactly because the lungs are drawn from it.

What one slice holds (all geometry in normalised coordinates, the image spanning [-1, 1]; anterior
at the top, the patient's right on the image's left as on a radiological display):

* air outside the body (-1000 HU) and a patient couch under the body;
* the body: an ellipse with a flattened back, a subcutaneous fat layer (~-100 HU) and muscle
  (~40 HU); ribs (cortex ~700 HU, marrow ~250 HU) along the thoracic cavity, sternum, a vertebra with
  its spinal canal;
* two lungs (~-850 HU with a dependent gradient and texture), separated by the mediastinum; the heart
  (~40 HU) bulges into the patient's left lung; upper slices show the trachea (air, NOT lung);
  slice level varies by seed: mid-chest (large lungs), apex and diaphragm level (small lungs, the
  liver dome taking the anterior cavity);
* vessels inside the lungs: branching tapering lines from the hilum and cross-sectioned discs
  (~40 HU, partial-volume faint when thin); 0-3 nodules, some touching the pleura (juxtapleural);
* the scanner: supersampled rendering averaged to the output grid (partial volume), a Gaussian PSF
  and mildly correlated noise.

Mask convention: ``lung_mask`` is the lung *parenchyma region*, INCLUDING the vessels and nodules
inside it (as lung-segmentation ground truth usually is, and as LGAN's Fig. 6 requires for
juxtapleural nodules); the trachea, mediastinum, heart, chest wall and everything outside are not
lung. A pixel is lung when more than half of its area is (3x3 supersampling, so there are no ties).
The field of view is `FOV_MM` across the image (pixel ``FOV_MM / size`` mm).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage as ndi

__all__ = ["FOV_MM", "SUPERSAMPLE", "thorax_parameters", "thorax_slice"]

#: Field of view across the image (mm): a typical adult chest reconstruction.
FOV_MM = 360.0
#: Supersampling of the geometry (odd: the mask's "more than half" rule has no ties).
SUPERSAMPLE = 3

_LEVELS = ("mid", "apex", "diaphragm")


def _field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Smooth Gaussian random field with unit std (float32), ``sigma`` in supersampled pixels.

    Drawn on the output grid and repeated onto the supersampled one (it is averaged back anyway).
    """
    k = SUPERSAMPLE
    small = (shape[0] // k, shape[1] // k)
    f = ndi.gaussian_filter(rng.standard_normal(small).astype(np.float32), sigma / k, mode="wrap")
    f = np.repeat(np.repeat(f, k, axis=0), k, axis=1)
    return f / max(float(f.std()), 1e-6)


def _wobble(rng: np.random.Generator, amp: float) -> tuple[np.ndarray, np.ndarray]:
    """Fourier amplitudes / phases (orders 2..5) that perturb an ellipse's radius."""
    return rng.uniform(0.0, amp, 4) / np.arange(2, 6) * 2.0, rng.uniform(0.0, 2 * math.pi, 4)


def _ellipse(u: np.ndarray, v: np.ndarray, cx: float, cy: float, ax: float, ay: float,
             wobble: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Inside a (perturbed) ellipse: normalised radius < 1 + sum a_k cos(k theta + phi_k)."""
    du, dv = (u - cx) / ax, (v - cy) / ay
    r = np.sqrt(du * du + dv * dv)
    if wobble is None:
        return r < 1.0
    amps, phases = wobble
    reach = float(np.sum(np.abs(amps)))
    inside = r < 1.0 - reach
    band = np.nonzero((r >= 1.0 - reach) & (r < 1.0 + reach))  # only there does the wobble decide
    theta = np.arctan2(dv[band], du[band])
    limit = 1.0 + sum(a * np.cos((k + 2) * theta + p) for k, (a, p) in enumerate(zip(amps, phases)))
    inside[band] = r[band] < limit
    return inside


def thorax_parameters(seed: int) -> dict[str, float | str | bool]:
    """The random anatomy of slice ``seed`` (level, sizes, asymmetry); deterministic, for inspection."""
    rng = np.random.default_rng([int(seed), 0x7A])
    u = rng.random()
    level = "mid" if u < 0.6 else ("apex" if u < 0.78 else "diaphragm")
    scale = {"mid": rng.uniform(0.88, 1.0), "apex": rng.uniform(0.42, 0.62), "diaphragm": rng.uniform(0.5, 0.78)}[level]
    return {
        "level": level,
        "lung_scale": float(scale),
        "asymmetry": float(rng.uniform(-0.12, 0.12)),
        "body_cy": float(rng.uniform(-0.02, 0.06)),
        "body_ax": float(rng.uniform(0.80, 0.92)),
        "body_ay": float(rng.uniform(0.56, 0.68)),
        "fat": float(rng.uniform(0.025, 0.07)),
        "wall": float(rng.uniform(0.06, 0.1)),
        "med_width": float(rng.uniform(0.09, 0.16)),
        "heart_cx": float(rng.uniform(0.06, 0.16)),
        "heart_cy": float(rng.uniform(0.02, 0.16)),
        "heart_ax": float(rng.uniform(0.2, 0.3)),
        "heart_ay": float(rng.uniform(0.18, 0.26)),
        "trachea": bool(level == "apex" or (level == "mid" and rng.random() < 0.4)),
        "n_nodules": int(rng.integers(0, 4)),
        "psf_px": float(rng.uniform(0.5, 0.9)),
        "noise_hu": float(rng.uniform(10.0, 25.0)),
    }


def _lungs(p: dict, rng: np.random.Generator, u: np.ndarray, v: np.ndarray, cav: tuple[float, ...]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right and left lung regions (bool, supersampled grid) and the heart region."""
    cx, cy, ax, ay = cav
    cavity = _ellipse(u, v, cx, cy, ax, ay, _wobble(rng, 0.02))
    med = (np.abs(u - 0.01) < 0.03) | _ellipse(u, v, 0.01, cy + 0.05, p["med_width"], ay * 1.15)
    heart = np.zeros_like(cavity)
    if p["level"] != "apex":
        heart = _ellipse(u, v, p["heart_cx"], cy + p["heart_cy"], p["heart_ax"], p["heart_ay"], _wobble(rng, 0.03))
    spine = _ellipse(u, v, 0.0, cy + ay * 0.82, 0.17, 0.2)
    free = cavity & ~med & ~heart & ~spine
    out = []
    for side in (-1.0, 1.0):  # image left (patient's right), image right
        s = p["lung_scale"] * (1.0 + side * p["asymmetry"])
        half = free & (side * u > 0)
        if p["level"] != "mid":  # smaller lungs: an envelope, posterior and lateral
            env = _ellipse(u, v, side * ax * 0.52, cy + ay * (0.35 - 0.3 * s), ax * 0.5 * (s + 0.25), ay * s * 0.95,
                           _wobble(rng, 0.05))
            half &= env
        else:
            half &= _ellipse(u, v, side * ax * 0.5, cy, ax * 0.55 * s + 0.05, ay * s * 1.05, _wobble(rng, 0.03))
        lab, n = ndi.label(half)
        if n > 1:  # keep one connected lung per side
            sizes = ndi.sum_labels(half, lab, np.arange(1, n + 1))
            half = lab == (1 + int(np.argmax(sizes)))
        out.append(half)
    return out[0], out[1], heart


def _draw_vessels(rng: np.random.Generator, lung: np.ndarray, hilum: tuple[float, float], side: float,
                  u: np.ndarray, v: np.ndarray, canvas: np.ndarray) -> None:
    """Branching tapering vessel lines from the hilum plus cross-section discs (occupancy, by max)."""
    n_px = lung.shape[0]
    ss = n_px / 2.0  # normalised -> supersampled pixels
    out_px = SUPERSAMPLE
    layer = np.zeros_like(canvas, dtype=np.uint8)

    def branch(x: float, y: float, ang: float, rad: float, depth: int) -> None:
        length = rng.uniform(0.15, 0.35) * (0.7 ** depth)
        steps = max(int(length * ss / 3), 2)
        for _ in range(steps):
            ang += rng.normal(0.0, 0.12)
            nx, ny = x + math.cos(ang) * length / steps, y + math.sin(ang) * length / steps
            r = max(1, int(round(rad * out_px)))
            cv2.line(layer, (int((x + 1) * ss), int((y + 1) * ss)), (int((nx + 1) * ss), int((ny + 1) * ss)), 255,
                     thickness=2 * r, lineType=cv2.LINE_AA)
            x, y, rad = nx, ny, max(rad * 0.9, 0.35)
        if depth < 3 and rad > 0.5:
            for turn in (-1.0, 1.0):
                if rng.random() < 0.75:
                    branch(x, y, ang + turn * rng.uniform(0.3, 0.8), rad * rng.uniform(0.6, 0.8), depth + 1)

    for _ in range(int(rng.integers(4, 8))):
        ang = (0.0 if side > 0 else math.pi) + rng.uniform(-1.3, 1.3)
        branch(hilum[0], hilum[1], ang, rng.uniform(1.4, 2.6), 0)
    ys, xs = np.nonzero(lung[::4, ::4])
    for _ in range(int(rng.integers(15, 40))):
        if len(ys) == 0:
            break
        i = int(rng.integers(len(ys)))
        r = rng.uniform(0.5, 2.2) * out_px
        cv2.circle(layer, (int(xs[i] * 4 + 2), int(ys[i] * 4 + 2)), max(1, int(round(r))), 255, -1, cv2.LINE_AA)
    weight = rng.uniform(0.75, 1.0)
    # the subpleural lung is nearly free of visible vessels: fade them within ~4 output pixels of the
    # pleura, except at the hilum where the big vessels enter
    k = SUPERSAMPLE
    coarse = lung.reshape(n_px // k, k, n_px // k, k).mean(axis=(1, 3)) > 0.5
    depth = np.repeat(np.repeat(ndi.distance_transform_edt(coarse) / 4.0, k, axis=0), k, axis=1)
    near_hilum = (u - hilum[0]) ** 2 + (v - hilum[1]) ** 2 < 0.18**2
    fade = np.where(near_hilum, 1.0, np.clip(depth, 0.0, 1.0)).astype(np.float32)
    np.maximum(canvas, layer.astype(np.float32) / 255.0 * weight * fade * lung, out=canvas)


def _nodules(rng: np.random.Generator, lungs: np.ndarray, n: int, canvas: np.ndarray) -> list[dict]:
    """Round nodules inside the lungs (some juxtapleural); occupancy drawn into ``canvas`` by max."""
    if n == 0 or not lungs.any():
        return []
    depth = ndi.distance_transform_edt(lungs)  # supersampled px to the lung boundary
    n_px = lungs.shape[0]
    out = []
    for _ in range(n):
        r_px = rng.uniform(1.5, 7.0) * SUPERSAMPLE
        juxta = rng.random() < 0.45
        target = (rng.uniform(0.2, 0.8) * r_px, rng.uniform(0.2, 0.8) * r_px + 2) if juxta else (r_px + 3, np.inf)
        ys, xs = np.nonzero((depth > target[0]) & (depth <= target[1]))
        if len(ys) == 0:
            continue
        i = int(rng.integers(len(ys)))
        cy, cx = ys[i], xs[i]
        rr = (np.arange(n_px)[:, None] - cy) ** 2 + (np.arange(n_px)[None, :] - cx) ** 2
        wob = 1.0 + 0.12 * np.sin(3 * np.arctan2(np.arange(n_px)[:, None] - cy, np.arange(n_px)[None, :] - cx)
                                  + rng.uniform(0, 6.3))
        occ = (np.sqrt(rr) < r_px * wob) & lungs
        np.maximum(canvas, occ.astype(np.float32), out=canvas)
        out.append({"row": float((cy + 0.5) / SUPERSAMPLE - 0.5), "col": float((cx + 0.5) / SUPERSAMPLE - 0.5),
                    "radius_px": float(r_px / SUPERSAMPLE), "juxtapleural": bool(juxta)})
    return out


def thorax_slice(seed: int, size: int = 224, *, return_info: bool = False):
    """Render thorax slice ``seed``: ``(image_hu, lung_mask)`` (and an info dict if asked).

    Parameters
    ----------
    seed : int
        Anatomy, vessels, nodules and noise all follow from it (same seed, same slice).
    size : int
        Output side in pixels (>= 32; LGAN's input is 224).
    return_info : bool
        Also return the anatomy parameters (`thorax_parameters`), the nodules drawn (centre row / col
        and radius in output pixels, juxtapleural or not) and the trachea's centre (or None).

    Returns
    -------
    image_hu : ndarray float32 (size, size)
        CT intensities in HU.
    lung_mask : ndarray bool (size, size)
        The exact lung region (vessels and nodules inside the lung included, trachea excluded).
    """
    if int(size) < 32:
        raise ValueError(f"thorax_slice: size must be >= 32 pixels, got {size}")
    size = int(size)
    p = thorax_parameters(seed)
    rng = np.random.default_rng([int(seed), 0x7B])
    n = size * SUPERSAMPLE
    coords = (np.arange(n, dtype=np.float32) + 0.5) / n * 2.0 - 1.0
    v, u = np.meshgrid(coords, coords, indexing="ij")  # v: rows (anterior -> posterior), u: columns

    body_wob = _wobble(rng, 0.012)
    bx, by, bax, bay = 0.0, p["body_cy"], p["body_ax"], p["body_ay"]
    back = by + bay * 0.9
    body = _ellipse(u, v, bx, by, bax, bay, body_wob) & (v < back)
    inner = _ellipse(u, v, bx, by, bax - p["fat"], bay - p["fat"], body_wob) & (v < back - p["fat"])
    cav = (0.0, by - 0.01, bax - p["fat"] - p["wall"], bay - p["fat"] - p["wall"] * 0.8)
    cavity = _ellipse(u, v, *cav)
    right, left, heart = _lungs(p, rng, u, v, cav)
    lungs = right | left

    hu = np.full((n, n), -1000.0, np.float32)
    couch = (np.abs(u) < 0.85) & (v > back + 0.03) & (v < back + 0.055)
    hu[couch] = 150.0
    hu[body] = -100.0 + 8.0 * _field(rng, (n, n), 6.0)[body]
    hu[inner] = 45.0 + 10.0 * _field(rng, (n, n), 4.0)[inner]
    hu[cavity] = 35.0
    if p["level"] == "diaphragm":  # the liver dome: slightly denser than the mediastinum
        hu[cavity & (v > cav[1] - 0.2 * cav[3])] = 60.0
    hu[heart & cavity] = 42.0
    aorta = _ellipse(u, v, rng.uniform(-0.02, 0.06), cav[1] + cav[3] * 0.55, 0.07, 0.07)
    hu[aorta] = 48.0
    trachea_rc = None
    if p["trachea"]:  # air, but not lung
        tx, ty = rng.uniform(-0.03, 0.03), cav[1] + rng.uniform(0.05, 0.25)
        tr = _ellipse(u, v, tx, ty, rng.uniform(0.045, 0.07), rng.uniform(0.04, 0.06)) & ~lungs
        hu[tr] = -990.0
        trachea_rc = ((ty + 1.0) / 2.0 * size - 0.5, (tx + 1.0) / 2.0 * size - 0.5)
    # bones: ribs on the cavity rim, sternum, vertebra (drawn where there is no lung)
    bone = np.zeros((n, n), np.float32)
    for ang in np.linspace(0.0, 2 * math.pi, int(rng.integers(9, 14)), endpoint=False) + rng.uniform(0, 0.5):
        if abs(math.sin(ang) + 1.0) < 0.25:  # no ribs at the very front (the sternum is there)
            continue
        rx, ry = cav[0] + (cav[2] + 0.035) * math.cos(ang), cav[1] + (cav[3] + 0.035) * math.sin(ang)
        a, b = rng.uniform(0.035, 0.055), rng.uniform(0.018, 0.026)
        du, dv = u - rx, v - ry
        t = math.atan2(math.sin(ang) * cav[2], math.cos(ang) * cav[3]) + math.pi / 2  # tangent direction
        q = np.sqrt(((du * math.cos(t) + dv * math.sin(t)) / a) ** 2 + ((-du * math.sin(t) + dv * math.cos(t)) / b) ** 2)
        bone = np.maximum(bone, np.where(q < 0.65, 250.0, np.where(q < 1.0, 700.0, 0.0)))
    q = np.sqrt((u / 0.07) ** 2 + ((v - (cav[1] - cav[3] - 0.01)) / 0.03) ** 2)
    bone = np.maximum(bone, np.where(q < 0.6, 250.0, np.where(q < 1.0, 650.0, 0.0)))
    vy = cav[1] + cav[3] * 0.95
    q = np.sqrt((u / 0.095) ** 2 + ((v - vy) / 0.085) ** 2)
    canal = np.sqrt((u / 0.04) ** 2 + ((v - vy - 0.12) / 0.04) ** 2) < 1.0
    bone = np.maximum(bone, np.where(q < 0.82, 280.0, np.where(q < 1.0, 700.0, 0.0)))
    bone[canal] = 0.0
    hu[canal] = 15.0
    hu = np.where((bone > 0) & ~lungs & body, bone, hu)
    # lungs: parenchyma with a dependent (posterior) gradient and texture, vessels, nodules
    par = -865.0 + 45.0 * np.clip((v - cav[1] + cav[3]) / (2 * cav[3]), 0, 1) + 14.0 * _field(rng, (n, n), 5.0)
    hu[lungs] = par[lungs]
    vessels = np.zeros((n, n), np.float32)
    for side, lung in ((-1.0, right), (1.0, left)):
        hilum = (side * (p["med_width"] + 0.04) + (p["heart_cx"] * 0.3 if side > 0 else 0.0), cav[1] + 0.02)
        _draw_vessels(rng, lung, hilum, side, u, v, vessels)
    nodule_occ = np.zeros((n, n), np.float32)
    nodules = _nodules(rng, lungs, p["n_nodules"], nodule_occ)
    hu = hu * (1.0 - vessels) + 40.0 * vessels
    nod_hu = float(rng.uniform(-60.0, 50.0))
    hu = hu * (1.0 - nodule_occ) + nod_hu * nodule_occ

    k = SUPERSAMPLE
    image = hu.reshape(size, k, size, k).mean(axis=(1, 3))
    mask = lungs.reshape(size, k, size, k).mean(axis=(1, 3)) > 0.5
    image = ndi.gaussian_filter(image, p["psf_px"])
    noise = ndi.gaussian_filter(rng.standard_normal((size, size)).astype(np.float32), 0.6)
    image = image + p["noise_hu"] * noise / max(float(noise.std()), 1e-6)
    image = image.astype(np.float32)
    if return_info:
        info = {**p, "nodules": nodules, "trachea_rc": trachea_rc, "pixel_mm": FOV_MM / size, "seed": int(seed)}
        return image, mask, info
    return image, mask
