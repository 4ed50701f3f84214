"""The embedded default image source: CT-like crops rendered around REAL LIDC nodule shapes.

`render_case` turns one `NoduleRecord` (the readers' real contours and ratings, no pixels) into a
`NoduleCase`:

- truth: every reader's polygons rasterised at ``supersample`` x resolution with the shared
  rasteriser (`shapes.rasterize_polygons`), the 50 % consensus there, and the TRUE partial-volume
  alpha = its area fraction per output pixel; the 1x reader masks (>= half covered) and their 50 %
  consensus are what the "doctors" would have drawn on this grid;
- image: the lung background (parenchyma with fine texture and a density gradient, vessels seen
  along and across the slice, a chest wall for a share of cases) is rendered at 1x; the nodule's
  own density map (ground glass / part-solid / solid by texture rating, calcification patterns,
  cavity / fat / fluid by internal structure, a faded rim for ill-defined margins) is mixed in with
  ``image = true_alpha * nodule + (1 - true_alpha) * background``: exactly the partial volume of
  the high-resolution consensus shape. Faint spicule lines for marked spiculation live in the
  background layer only (never in the truth). Then the scanner: Gaussian PSF, correlated noise,
  integer HU with the scanner's -1024 floor;
- RECIST measured on the 1x consensus (`recist.measure_recist`).

Everything random comes from ``numpy.random.default_rng`` seeded by ``(seed, sha256(nodule_id))``:
the same ``(record, seed, appearance, size)`` gives a bit-identical case on any machine. The
anatomy (offset, chest wall, lung texture, nodule internals, vessel paths) does not depend on the
appearance, so the two presets render the same case through two different scanners (the preset
with the higher vessel density adds a few vessels; contrast, blur and noise differ).

Rating scales are pylidc's: texture 1 non-solid/GGO .. 5 solid; calcification 1 popcorn,
2 laminated, 3 solid, 4 non-central, 5 central, 6 absent; internal structure 1 soft tissue,
2 fluid, 3 fat, 4 air; margin 1 poorly defined .. 5 sharp; spiculation 1 none .. 5 marked.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..case import NoduleCase, NoduleRecord
from ..recist import measure_recist
from .phantom_anatomy import (
    _chest_wall,
    _draw_tubes,
    _nodule_map,
    _noise_gain,
    _smooth_field,
    _spicules,
    _vessel_tubes,
)
from ..shapes import block_mean, consensus_vote, crop_origin, rasterize_polygons

__all__ = ["ScannerAppearance", "LIDC_APPEARANCE", "LNSM_APPEARANCE", "APPEARANCES", "render_case"]


@dataclass(frozen=True)
class ScannerAppearance:
    """How one scanner / protocol makes the lung look (all lengths in mm, intensities in HU).

    Attributes
    ----------
    name : str
        Preset name, stored in every case's ``meta["appearance"]``.
    noise_hu : float
        Pixel standard deviation of the added noise, after its correlation filter.
    noise_corr_mm : float
        Gaussian sigma of the noise correlation (the "grain": larger = coarser, blotchier noise).
    psf_sigma_mm : float
        Gaussian sigma of the in-plane point-spread function (reconstruction kernel sharpness:
        the 10-90 % width of a sharp edge is about 2.56 sigma).
    parenchyma_hu : float
        Mean density of the aerated lung away from vessels.
    parenchyma_texture_hu : float
        Std of the fine lung texture (sub-resolution vessels and interstitium), before blur.
    vessel_hu : (float, float)
        Range of the density of a vessel fully filling a pixel (blood; higher with IV contrast).
    vessel_density : float
        Expected vessel segments lying in the slice per cm^2 of crop.
    dot_density : float
        Expected vessels crossing the slice (dots / short ellipses) per cm^2 of crop.
    chest_wall_prob : float
        Share of cases with chest wall in the crop (half of those with the nodule touching it).
    window : (float, float)
        Display window ``(level, width)`` of this source, used for display and normalisation.
    slice_thickness_mm : float or None
        Slice thickness the vessels are seen through (thin vessels fill only part of a thick
        slice, so they look fainter); ``None`` uses the record's own (LIDC) thickness.
    variability : float
        Per-case log-normal jitter of noise (and half of it for the PSF): a dataset mixes
        scanners and patients, not one fixed protocol.
    hu_floor : float
        Lowest value the scanner stores (-1024 with the usual RescaleIntercept).
    """

    name: str
    noise_hu: float
    noise_corr_mm: float
    psf_sigma_mm: float
    parenchyma_hu: float
    parenchyma_texture_hu: float
    vessel_hu: tuple[float, float]
    vessel_density: float
    dot_density: float
    chest_wall_prob: float
    window: tuple[float, float]
    slice_thickness_mm: float | None = None
    variability: float = 0.15
    hu_floor: float = -1024.0

    @property
    def window_range(self) -> tuple[float, float]:
        """``(low, high)`` HU of the display window."""
        level, width = self.window
        return level - width / 2, level + width / 2

    def normalise(self, image_hu: np.ndarray) -> np.ndarray:
        """Map HU to [0, 1] through the window (clipped), float32."""
        lo, hi = self.window_range
        return np.clip((np.asarray(image_hu, np.float32) - lo) / (hi - lo), 0.0, 1.0)


#: LIDC-IDRI style: thin-slice (1.25-2.5 mm) non-contrast chest CT, GE "STANDARD"-like kernel.
#: Measured on real LIDC-IDRI slabs (patients 0001 and 0002, GE LightSpeed,
#: STANDARD kernel, 120 kV, 400-440 mA): skin-edge PSF sigma 0.44-0.66 mm; high-pass noise in fat
#: 15-17 HU with neighbour correlation ~0.6-0.8, which is Gaussian-grain noise of ~20 HU std and
#: sigma ~0.55 mm (the measure reads 0.8x the std of such noise); lung around the nodules -800 to
#: -900 HU. LIDC also holds low-dose and sharper-kernel scans (noisier): the nominal noise is a
#: little above the two slabs. Window: the -600 / 1600 lung window of the LIDC DICOM headers.
LIDC_APPEARANCE = ScannerAppearance(
    name="lidc",
    noise_hu=26.0,
    noise_corr_mm=0.65,
    psf_sigma_mm=0.5,
    parenchyma_hu=-850.0,
    parenchyma_texture_hu=30.0,
    vessel_hu=(-10.0, 50.0),
    vessel_density=0.18,
    dot_density=0.6,
    chest_wall_prob=0.35,
    window=(-600.0, 1600.0),
)

#: DeepLesion / LNSM style: NIH clinical oncology CT, body protocol with IV contrast, mostly 5-mm
#: slices (101 of the 158 rows of the DL_info sample), soft-tissue kernel (Siemens B30f / GE
#: STANDARD-soft class): softer PSF (10-90 % edge ~2 mm), coarser noise grain; thick slices lower
#: the pixel noise, but follow-up protocols use lower mAs: net a little less noise than LIDC and
#: blotchier. Enhanced pulmonary vessels (portal-venous phase blood ~ +100..+200 HU); 5-mm slabs
#: catch more vessel length per slice and raise the mean lung density by partial volume. Window:
#: DeepLesion's own lung window -1500..500 HU (DICOM_windows column) = level -500, width 2000.
LNSM_APPEARANCE = ScannerAppearance(
    name="lnsm",
    noise_hu=17.0,
    noise_corr_mm=0.9,
    psf_sigma_mm=0.8,
    parenchyma_hu=-820.0,
    parenchyma_texture_hu=22.0,
    vessel_hu=(80.0, 180.0),
    vessel_density=0.24,
    dot_density=0.8,
    chest_wall_prob=0.35,
    window=(-500.0, 2000.0),
    slice_thickness_mm=5.0,
)

APPEARANCES: dict[str, ScannerAppearance] = {a.name: a for a in (LIDC_APPEARANCE, LNSM_APPEARANCE)}



# --------------------------------------------------------------------------------------------
# seeds and small helpers
# --------------------------------------------------------------------------------------------
def _stable_key(text: str) -> list[int]:
    h = hashlib.sha256(text.encode("utf-8")).digest()
    return [int.from_bytes(h[i : i + 4], "little") for i in range(0, 16, 4)]


def _rngs(seed: int, nodule_id: str) -> tuple[np.random.Generator, ...]:
    """Independent streams: geometry, anatomy, nodule internals, scanner."""
    s64 = int(seed) % (1 << 64)  # any int seed; negative seeds wrap
    ss = np.random.SeedSequence([s64 & 0xFFFFFFFF, s64 >> 32, *_stable_key(nodule_id)])
    return tuple(np.random.default_rng(s) for s in ss.spawn(4))


# --------------------------------------------------------------------------------------------
# truth
# --------------------------------------------------------------------------------------------
def _truth(record: NoduleRecord, origin: tuple[float, float], size: int, k: int):
    """Reader masks (1x), consensus (1x), true alpha, mean reader coverage, any reader pixel at all.

    Same numbers as `shapes.crop_annotations` (tested), computed on the readers' bounding box only.
    """
    n = size * k
    hr = np.stack(
        [rasterize_polygons(p, inc, origin, size, k) for p, inc in zip(record.key_polygons, record.key_inclusion)]
    ) if record.n_readers else np.zeros((0, n, n), bool)
    union = hr.any(axis=0)
    readers = np.zeros((record.n_readers, size, size), dtype=bool)
    alpha = np.zeros((size, size), dtype=np.float32)
    mean_frac = np.zeros((size, size), dtype=np.float32)
    if union.any():
        # all work on the union's bounding box, aligned to output pixels (identical result)
        rows = np.flatnonzero(union.any(axis=1))
        cols = np.flatnonzero(union.any(axis=0))
        r0, r1 = rows[0] // k, rows[-1] // k + 1
        c0, c1 = cols[0] // k, cols[-1] // k + 1
        sub = hr[:, r0 * k : r1 * k, c0 * k : c1 * k]
        frac = block_mean(sub, k)  # (R, h, w) per-reader area fractions
        readers[:, r0:r1, c0:c1] = frac >= 0.5
        alpha[r0:r1, c0:c1] = block_mean(consensus_vote(sub), k)
        mean_frac[r0:r1, c0:c1] = frac.mean(axis=0)
    consensus = consensus_vote(readers) if record.n_readers else np.zeros((size, size), bool)
    return readers, consensus, alpha.astype(np.float32), mean_frac, union.any()


# --------------------------------------------------------------------------------------------
# the renderer
# --------------------------------------------------------------------------------------------
def render_case(
    record: NoduleRecord,
    *,
    size: int = 64,
    seed: int = 0,
    appearance: ScannerAppearance = LIDC_APPEARANCE,
    supersample: int = 8,
    max_offset_px: int = 3,
) -> NoduleCase:
    """Render one CT-like crop around a real LIDC nodule shape.

    Parameters
    ----------
    record : NoduleRecord
        The nodule (readers' contours on the key slice, ratings, pixel spacing).
    size : int
        Crop side in pixels (>= 16), at the scan's real pixel spacing.
    seed : int
        Seed; with the nodule id it fixes every random choice (bit-identical re-renders).
    appearance : ScannerAppearance
        Scanner look (`LIDC_APPEARANCE`, `LNSM_APPEARANCE` or your own).
    supersample : int
        High-resolution factor of the truth (the rasteriser's ``k``).
    max_offset_px : int
        The crop centre is moved by up to this many pixels (per axis) from the nodule centroid.

    Returns
    -------
    NoduleCase
        ``source="phantom"``, ``case_id="<nodule_id>@phantom"``, ``true_alpha`` set.

    Raises
    ------
    ValueError
        For ``size < 16``, ``supersample < 1``, or a record without any reader polygon on its
        key slice (or whose outlines are too small to leave a single pixel after rasterisation).
    """
    if int(size) < 16:
        raise ValueError(f"render_case: size must be at least 16 pixels, got {size}")
    if int(supersample) < 1:
        raise ValueError(f"render_case: supersample must be >= 1, got {supersample}")
    if not any(len(p) for p in record.key_polygons):
        raise ValueError(
            f"render_case: nodule {record.nodule_id} has no reader polygon on its key slice "
            f"(z = {record.key_z} mm); skip it (filter records with any(record.key_polygons)) "
            "or rebuild the nodule index"
        )
    size, k = int(size), int(supersample)
    sp = float(record.pixel_spacing)
    rng_geo, rng_anat, rng_nod, rng_scan = _rngs(seed, record.nodule_id)

    # crop placement: aligned to the scan's pixel grid
    m = max(0, int(max_offset_px))
    offset = rng_geo.integers(-m, m + 1, size=2) if m else np.zeros(2, dtype=np.int64)
    r0, c0 = crop_origin(record.centroid_rc, size, (int(offset[0]), int(offset[1])))
    origin = (float(r0), float(c0))

    readers, consensus, alpha, mean_frac, any_hr = _truth(record, origin, size, k)
    if not any_hr:
        raise ValueError(
            f"render_case: the outlines of nodule {record.nodule_id} are too small to cover any pixel after "
            "the half-pixel shrink of the rasteriser; skip this record"
        )
    empty_consensus = not consensus.any()
    # the image shows the consensus shape; a nodule whose consensus is empty (readers disagree
    # completely) is drawn with the mean reader coverage so that it is still visible
    draw_alpha = alpha if alpha.any() else mean_frac

    rr, cc = np.mgrid[0:size, 0:size].astype(np.float32)
    wsum = float(draw_alpha.sum())
    if wsum > 0:
        centre = np.array([(rr * draw_alpha).sum() / wsum, (cc * draw_alpha).sum() / wsum])
    else:
        centre = np.array([size / 2, size / 2])
    nod_radius = math.sqrt(max(wsum, 1.0) / math.pi)
    ratings = {name: record.median_rating(name) for name in record.ratings[0]} if record.ratings else {}

    # ---- background (1x) -------------------------------------------------------------------
    app = appearance
    grad_dir = rng_anat.uniform(0, 2 * math.pi)
    grad_amp = rng_anat.uniform(0.0, 45.0)  # HU across the crop (gravity-dependent density)
    lung = app.parenchyma_hu + rng_anat.normal(0.0, 20.0)
    proj = ((rr - size / 2) * math.sin(grad_dir) + (cc - size / 2) * math.cos(grad_dir)) / size
    fine = _smooth_field(rng_anat, (size, size), 0.45 / sp)
    coarse = _smooth_field(rng_anat, (size, size), 3.0 / sp)
    bg = lung + grad_amp * proj + app.parenchyma_texture_hu * fine + 0.4 * app.parenchyma_texture_hu * coarse

    thickness = app.slice_thickness_mm if app.slice_thickness_mm is not None else record.slice_thickness
    tubes = _vessel_tubes(rng_anat, app, size, sp, float(thickness), centre, nod_radius)
    vessel_hu = float(rng_anat.uniform(*app.vessel_hu))
    v_occ = _draw_tubes(size, tubes)
    bg = bg + (vessel_hu - bg) * v_occ
    spic = _spicules(rng_nod, draw_alpha, sp, ratings.get("spiculation", 1.0), centre)
    if spic:
        s_occ = _draw_tubes(size, spic)
        bg = bg + (vessel_hu - bg) * s_occ

    wall_info: dict = {"chest_wall": False}
    if rng_geo.random() < app.chest_wall_prob:
        wall, w_occ, wall_info = _chest_wall(rng_geo, size, sp, draw_alpha, centre, rr, cc)
        bg = bg * (1.0 - w_occ) + wall * w_occ

    # ---- nodule and partial volume ----------------------------------------------------------
    nod, nod_info = _nodule_map(rng_nod, ratings, draw_alpha, sp, lung, v_occ, vessel_hu, rr, cc)
    image = draw_alpha * nod + (1.0 - draw_alpha) * bg

    # ---- scanner: PSF, noise, storage ----------------------------------------------------------
    psf_mm = app.psf_sigma_mm * math.exp(rng_scan.normal(0.0, app.variability / 2))
    noise_hu = app.noise_hu * math.exp(rng_scan.normal(0.0, app.variability))
    image = ndi.gaussian_filter(image.astype(np.float32), psf_mm / sp, mode="reflect")
    corr_px = app.noise_corr_mm / sp
    white = rng_scan.standard_normal((size, size)).astype(np.float32)
    noise = ndi.gaussian_filter(white, corr_px, mode="wrap") / _noise_gain(corr_px) if corr_px > 0.05 else white
    image = image + noise_hu * noise
    image = np.maximum(np.rint(image), app.hu_floor).astype(np.float32)

    # ---- annotations ------------------------------------------------------------------------
    if not empty_consensus:
        recist = measure_recist(consensus, sp)
    elif readers.any():
        recist = measure_recist(readers.any(axis=0), sp)
    else:
        recist = measure_recist(draw_alpha > 0, sp)
    border = np.concatenate([alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]])
    meta = {
        "appearance": app.name,
        "seed": int(seed),
        "size": size,
        "supersample": k,
        "origin_rc": origin,
        "offset_rc": (int(offset[0]), int(offset[1])),
        "touches_border": bool((border > 0).any()),
        "empty_consensus": bool(empty_consensus),
        "psf_sigma_mm": psf_mm,
        "noise_hu": noise_hu,
        "parenchyma_hu": float(lung),
        "vessel_hu": vessel_hu,
        "n_vessel_segments": len(tubes),
        "n_spicules": len(spic),
        "key_z": record.key_z,
        **wall_info,
        **nod_info,
    }
    return NoduleCase(
        case_id=f"{record.nodule_id}@phantom",
        patient_id=record.patient_id,
        image=image,
        spacing_mm=sp,
        readers=readers,
        consensus=consensus,
        recist=recist,
        true_alpha=alpha,
        source="phantom",
        ratings=ratings,
        meta=meta,
    )
