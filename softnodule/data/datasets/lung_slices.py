"""The LGAN dataset: 224x224 thorax slices with lung masks, as model-ready `ArraySplits`.

LGAN (``papers/004_*.txt`` §4.1) used LIDC-IDRI slices of 220 patients (180 train / 40 test), 512 px
resized to the 224 px network input, with masks from a classical method corrected by radiologists.
Those masks are not public and the full LIDC-IDRI is not available offline, so:

* the embedded default is the thorax phantom (`thorax.thorax_slice`): exact masks, split by phantom
  seed (disjoint seed ranges: train ``seed*10**6 + [0, n)``, val ``+ 300000``, test ``+ 600000``), sizes
  per profile in `lgan_sizes`;
* real slices, when the user's LIDC-IDRI DICOM folder is configured (``SOFTNODULE_LIDC_DIR`` or
  ``~/.pylidcrc``): the CT series under it in sorted patient order, at most ``max_series`` series and
  ``max_slices_per_series`` slices per series (evenly spaced in z), HU clipped to >= -1024 (the
  scanner's padding outside the reconstruction circle is not air), area-resized 512 -> 224, with masks
  from `lung_mask.classical_lung_mask` computed at the native resolution and area-resized (lung where
  more than half of the pixel is); slices whose mask covers under 1 % of the image (neck, abdomen) are
  dropped. They are an extra *real-data test set* (never trained on), and their masks are an
  uncorrected classical reference, not radiologist-corrected ground truth. (A two-patient sample of
  16 + 12 slices gives 28 slices with the default caps.)

Images use the models' convention: HU through the lung window to [-1, 1] (`sr_data.to_model_range`,
window -1350..150 HU); ``soft`` = ``binary`` = the lung mask as float32; all arrays (N, 1, S, S).
Built arrays are cached under ``cache_dir()/lgan`` keyed by a hash of their spec.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ...config import Profile, cache_dir
from ...io import atomic_write_bytes
from .sr_pairs import to_model_range
from .torch_data import ArraySplits, SegmentationArrays

__all__ = ["MAX_REAL_SERIES", "MAX_REAL_SLICES_PER_SERIES", "PHANTOM_VERSION", "lgan_sizes", "load_lgan_dataset",
           "phantom_lung_slices", "real_lung_slices", "real_slices_missing_reason", "resize_area"]

_log = logging.getLogger(__name__)

#: Bump when `thorax.thorax_slice` or `lung_mask.classical_lung_mask` changes its output: caches rebuild.
PHANTOM_VERSION = 1
#: Default caps on the real slices read from the DICOM root: enough for a test set, bounded on a full
#: LIDC-IDRI download (at most 16 x 32 = 512 slices read), and above a sample's 16 + 12 slices.
MAX_REAL_SERIES = 16
MAX_REAL_SLICES_PER_SERIES = 32
#: A real slice is kept when its classical lung mask covers at least this fraction of the image.
MIN_LUNG_FRACTION = 0.01
#: Offsets of the val / test seed ranges (train starts at 0); a split never exceeds 300000 slices.
_SPLIT_OFFSETS = {"train": 0, "val": 300_000, "test": 600_000}

_SIZES: dict[str, dict[str, int]] = {
    # smoke: tiny and at 64 px so that the whole notebook runs in well under a minute
    "smoke": {"train": 8, "val": 4, "test": 4, "size": 64},
    # quick: six structures x (160 slices x epochs) at 224 px fit ~15 min on 2 CPU cores (notebook 14)
    "quick": {"train": 160, "val": 20, "test": 40, "size": 224},
    # paper: LIDC had 180 / 40 patients x >130 slices; 4000 / 400 / 1000 phantom slices at 224 px
    "paper": {"train": 4000, "val": 400, "test": 1000, "size": 224},
}


def lgan_sizes(profile: Profile | str) -> dict[str, int]:
    """Train / val / test slice counts and image side for a profile (``smoke``, ``quick``, ``paper``)."""
    name = profile if isinstance(profile, str) else profile.name
    if name not in _SIZES:
        raise ValueError(f"lgan_sizes: unknown profile {name!r}; choose one of {sorted(_SIZES)}")
    return dict(_SIZES[name])


def _key(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _arrays(images_hu: list[np.ndarray], masks: list[np.ndarray], ids: list[str]) -> SegmentationArrays:
    image = np.stack([to_model_range(x) for x in images_hu])[:, None].astype(np.float32)
    mask = np.stack(masks)[:, None].astype(np.float32)
    return SegmentationArrays(image=image, soft=mask, binary=mask, ids=ids)  # one array: soft = binary (read-only use)


def phantom_lung_slices(n_train: int, n_val: int, n_test: int, size: int = 224, *, seed: int = 0,
                        progress: bool = True) -> ArraySplits:
    """Thorax-phantom slices split by seed range; built once, then loaded from the cache.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Slices per split (each >= 1 and < 300000).
    size : int
        Image side (LGAN: 224).
    seed : int
        Dataset seed: shifts every seed range (another seed gives other phantoms).
    """
    from tqdm.auto import tqdm

    from .thorax import FOV_MM, thorax_slice

    counts = {"train": int(n_train), "val": int(n_val), "test": int(n_test)}
    if any(not 1 <= c < 300_000 for c in counts.values()):
        raise ValueError(f"phantom_lung_slices: every split needs 1..299999 slices, got {counts}")
    spec = {"name": "lgan-thorax", "counts": counts, "size": int(size), "seed": int(seed), "version": PHANTOM_VERSION}
    key = _key(spec)
    path = cache_dir() / "lgan" / f"thorax-{key}.npz"
    seeds = {s: [seed * 10**6 + _SPLIT_OFFSETS[s] + i for i in range(c)] for s, c in counts.items()}
    if not path.exists():
        flat: dict[str, np.ndarray] = {}
        bar = tqdm(total=sum(counts.values()), desc="thorax phantoms", disable=not progress, leave=False)
        for split, ss in seeds.items():
            imgs, masks = [], []
            for s in ss:
                img, m = thorax_slice(s, size)
                imgs.append(img), masks.append(m)
                bar.update(1)
            flat[f"{split}_hu"] = np.stack(imgs).astype(np.float32)
            flat[f"{split}_mask"] = np.stack(masks).astype(np.uint8)
        bar.close()
        _save(path, flat)
    with np.load(path) as data:
        splits = {s: _arrays(list(data[f"{s}_hu"]), list(data[f"{s}_mask"]), [f"thorax:{x}" for x in seeds[s]])
                  for s in counts}
    notes = {"source": "thorax phantom (softnodule.data.datasets.thorax), exact lung masks", "spec": spec,
             "counts": counts, "pixel_mm": FOV_MM / size,
             "seed_ranges": {s: [v[0], v[-1]] for s, v in seeds.items()}}
    return ArraySplits(spec["name"], key, splits, notes)


def load_lgan_dataset(profile: Profile | str, *, seed: int = 0, progress: bool = True) -> ArraySplits:
    """The profile's phantom dataset (`lgan_sizes`)."""
    s = lgan_sizes(profile)
    return phantom_lung_slices(s["train"], s["val"], s["test"], s["size"], seed=seed, progress=progress)


def resize_area(image: np.ndarray, size: int) -> np.ndarray:
    """Area (anti-aliased) resize of one float image to ``size`` x ``size`` (OpenCV ``INTER_AREA``)."""
    import cv2

    return cv2.resize(np.asarray(image, dtype=np.float32), (int(size), int(size)), interpolation=cv2.INTER_AREA)


def real_slices_missing_reason() -> str | None:
    """Why `real_lung_slices` has nothing to read here, or None when the DICOM root holds CT series.

    Cheap (lists folders, reads one header per series at most); notebooks print it instead of a
    silent "no real slices".
    """
    from ..lidc.index import lidc_dicom_root
    from ..sources.lidc_dicom import ct_series_dirs, patient_dirs

    root = lidc_dicom_root()
    how = "set SOFTNODULE_LIDC_DIR to the folder holding the LIDC-IDRI-XXXX patient folders"
    if root is None:
        return f"no LIDC-IDRI DICOM folder configured: {how}"
    if not root.is_dir():
        return f"LIDC-IDRI DICOM folder {root} does not exist: {how}"
    if not patient_dirs(root):
        return f"{root} holds no LIDC-IDRI-* patient folder: {how}"
    if not ct_series_dirs(root, max_series=1):
        return f"no CT series (*.dcm) under the patient folders of {root}"
    return None


def _real_slices(max_series: int | None, max_slices_per_series: int | None
                 ) -> tuple[Path | None, list[tuple[str, float, Path, str]]]:
    """The DICOM root and ``(patient, z, file, series)`` of the slices to read, or ``(root, [])``.

    Series: `ct_series_dirs` order (patient, then folder), at most ``max_series``. Slices: sorted by
    z, at most ``max_slices_per_series`` evenly spaced ones per series. ``series`` is the series
    folder name when the patient has several series (else ``""``), so slice ids stay unique.
    """
    from ..lidc.index import lidc_dicom_root
    from ..sources.lidc_dicom import _slice_positions, ct_series_dirs, evenly_spaced

    root = lidc_dicom_root()
    if root is None or not root.is_dir():
        return root, []
    series = ct_series_dirs(root, max_series=max_series)
    per_patient: dict[str, int] = {}
    for patient, _ in series:
        per_patient[patient] = per_patient.get(patient, 0) + 1
    out = []
    for patient, folder in series:
        positions = _slice_positions(folder)
        label = folder.name if per_patient[patient] > 1 else ""
        for i in evenly_spaced(len(positions), max_slices_per_series):
            z, f = positions[i]
            out.append((patient, float(z), Path(f), label))
    return root, out


def real_lung_slices(size: int = 224, *, max_series: int | None = MAX_REAL_SERIES,
                     max_slices_per_series: int | None = MAX_REAL_SLICES_PER_SERIES, progress: bool = True
                     ) -> tuple[SegmentationArrays, dict[str, Any]] | None:
    """Real LIDC slices from the user's DICOM root with their classical lung masks, or None.

    Parameters
    ----------
    size : int
        Image side after area-resizing (LGAN: 224).
    max_series, max_slices_per_series : int or None
        Caps on what is read (None: no cap); the defaults bound a full download and keep every slice
        of a small sample.

    Returns
    -------
    (arrays, info) or None
        None when there is no DICOM root or no CT series under it (`real_slices_missing_reason` says
        why; it is also logged). ``arrays.ids`` are ``"LIDC-IDRI-0001:z=-100.00"`` (plus
        ``":series=<folder>"`` for a patient with several series); ``info`` holds the patients, slice
        counts, pixel spacings, dropped slices and the mask convention.
    """
    import pydicom
    from tqdm.auto import tqdm

    from .lung_mask import classical_lung_mask

    root, slices = _real_slices(max_series, max_slices_per_series)
    if not slices:
        _log.info("no real LIDC slices: %s", real_slices_missing_reason())
        return None
    files = [(str(f.relative_to(root)), f.stat().st_size) for _, _, f, _ in slices]
    spec = {"name": "lgan-real-lidc", "files": files, "size": int(size), "version": PHANTOM_VERSION,
            "min_lung_fraction": MIN_LUNG_FRACTION}
    key = _key(spec)
    path = cache_dir() / "lgan" / f"real-{key}.npz"
    if not path.exists():
        imgs, masks, spacing, keep = [], [], [], []
        for _, _, f, _ in tqdm(slices, desc="real LIDC slices", disable=not progress, leave=False):
            try:
                ds = pydicom.dcmread(f)
                hu = ds.pixel_array.astype(np.float32) * float(getattr(ds, "RescaleSlope", 1.0)) \
                    + float(getattr(ds, "RescaleIntercept", 0.0))
                px = float(ds.PixelSpacing[1])
            except Exception as exc:  # pydicom raises many types for broken files
                raise ValueError(f"corrupt or unreadable DICOM file {f}: {exc}. Re-download this series or "
                                 "remove the file.") from exc
            hu = np.maximum(hu, -1024.0)
            mask = classical_lung_mask(hu, pixel_mm=px)
            keep.append(bool(mask.mean() >= MIN_LUNG_FRACTION))
            imgs.append(resize_area(hu, size))
            masks.append(resize_area(mask.astype(np.float32), size) > 0.5)
            spacing.append(px * hu.shape[1] / size)
        k = np.asarray(keep, bool)
        _save(path, {"hu": np.stack(imgs)[k], "mask": np.stack(masks).astype(np.uint8)[k],
                     "pixel_mm": np.asarray(spacing, np.float32)[k], "keep": k})
    with np.load(path) as data:
        keep = data["keep"].astype(bool)
        kept = [s for s, k in zip(slices, keep) if k]
        if not kept:
            _log.info("no real LIDC slices: none of the %d slices read has a lung mask over %.0f %% of the image",
                      len(slices), 100 * MIN_LUNG_FRACTION)
            return None
        ids = [f"{p}:z={z:.2f}" + (f":series={label}" if label else "") for p, z, _, label in kept]
        arrays = _arrays(list(data["hu"]), list(data["mask"]), ids)
        pixel_mm = data["pixel_mm"].tolist()
    patients = sorted({p for p, _, _, _ in kept})
    info = {"key": key, "patients": patients,
            "n_slices": {p: sum(s[0] == p for s in kept) for p in patients}, "pixel_mm": pixel_mm,
            "dropped_no_lung": [f"{p}:z={z:.2f}" for (p, z, _, _), k in zip(slices, keep) if not k],
            "caps": {"max_series": max_series, "max_slices_per_series": max_slices_per_series},
            "mask": "classical_lung_mask at native resolution (not radiologist-corrected)",
            "use": "test only (never trained on)"}
    return arrays, info
