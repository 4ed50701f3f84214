"""The LGAN dataset: 224x224 thorax slices with lung masks, as model-ready `ArraySplits`.

LGAN (``papers/004_*.txt`` §4.1) used LIDC-IDRI slices of 220 patients (180 train / 40 test), 512 px
resized to the 224 px network input, with masks from a classical method corrected by radiologists.
Those masks are not public and the full LIDC-IDRI is not available offline, so:

* the embedded default is the thorax phantom (`thorax.thorax_slice`): exact masks, split by phantom
  seed (disjoint seed ranges: train ``seed*10**6 + [0, n)``, val ``+ 300000``, test ``+ 600000``), sizes
  per profile in `lgan_sizes`;
* real slices, when ``../shared/data/lidc-idri`` (or ``SOFTNODULE_SHARED_DATA``) is present: every
  DICOM slice there, HU clipped to >= -1024 (the scanner's padding outside the reconstruction circle is
  not air), area-resized 512 -> 224, with masks from `lung_mask.classical_lung_mask` computed at the
  native resolution and area-resized (lung where more than half of the pixel is). Only two patients
  are there: they are an extra *real-data test set* (never trained on), and their masks are an
  uncorrected classical reference, not radiologist-corrected ground truth.

Images use the models' convention: HU through the lung window to [-1, 1] (`sr_data.to_model_range`,
window -1350..150 HU); ``soft`` = ``binary`` = the lung mask as float32; all arrays (N, 1, S, S).
Built arrays are cached under ``cache_dir()/lgan`` keyed by a hash of their spec.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Profile, cache_dir, shared_data_dir
from ..io import atomic_write_bytes
from .sr_data import to_model_range
from .torch_data import ArraySplits, SegmentationArrays

__all__ = ["PHANTOM_VERSION", "lgan_sizes", "load_lgan_dataset", "phantom_lung_slices", "real_lung_slices",
           "resize_area"]

#: Bump when `thorax.thorax_slice` or `lung_mask.classical_lung_mask` changes its output: caches rebuild.
PHANTOM_VERSION = 1
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
    notes = {"source": "thorax phantom (softnodule.data.thorax), exact lung masks", "spec": spec,
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


def _real_slices() -> list[tuple[str, float, Path]]:
    """(patient, z, file) of every DICOM slice under the shared LIDC folder, sorted by patient and z."""
    import pydicom

    root = shared_data_dir()
    if root is None or not (root / "lidc-idri").is_dir():
        return []
    out = []
    for f in sorted((root / "lidc-idri").rglob("*.dcm")):
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        patient = next((p for p in f.parts if p.startswith("LIDC-IDRI-")), str(getattr(ds, "PatientID", "?")))
        out.append((patient, float(ds.ImagePositionPatient[2]), f))
    return sorted(out, key=lambda t: (t[0], t[1]))


def real_lung_slices(size: int = 224, *, progress: bool = True) -> tuple[SegmentationArrays, dict[str, Any]] | None:
    """Every real LIDC slice in the shared folder with its classical lung mask, or None when absent.

    Returns
    -------
    (arrays, info) or None
        ``arrays.ids`` are ``"LIDC-IDRI-0001:z=-100.00"``; ``info`` holds the patients, slice counts,
        pixel spacings and the mask convention.
    """
    import pydicom
    from tqdm.auto import tqdm

    from .lung_mask import classical_lung_mask

    slices = _real_slices()
    if not slices:
        return None
    base = shared_data_dir() / "lidc-idri"
    files = [(str(f.relative_to(base)), f.stat().st_size) for _, _, f in slices]
    spec = {"name": "lgan-real-lidc", "files": files, "size": int(size), "version": PHANTOM_VERSION}
    key = _key(spec)
    path = cache_dir() / "lgan" / f"real-{key}.npz"
    ids = [f"{p}:z={z:.2f}" for p, z, _ in slices]
    if not path.exists():
        imgs, masks, spacing = [], [], []
        for _, _, f in tqdm(slices, desc="real LIDC slices", disable=not progress, leave=False):
            ds = pydicom.dcmread(f)
            hu = ds.pixel_array.astype(np.float32) * float(getattr(ds, "RescaleSlope", 1.0)) \
                + float(getattr(ds, "RescaleIntercept", 0.0))
            hu = np.maximum(hu, -1024.0)
            px = float(ds.PixelSpacing[1])
            mask = classical_lung_mask(hu, pixel_mm=px)
            imgs.append(resize_area(hu, size))
            masks.append(resize_area(mask.astype(np.float32), size) > 0.5)
            spacing.append(px * hu.shape[1] / size)
        _save(path, {"hu": np.stack(imgs), "mask": np.stack(masks).astype(np.uint8),
                     "pixel_mm": np.asarray(spacing, np.float32)})
    with np.load(path) as data:
        arrays = _arrays(list(data["hu"]), list(data["mask"]), ids)
        pixel_mm = data["pixel_mm"].tolist()
    patients = sorted({p for p, _, _ in slices})
    info = {"key": key, "patients": patients, "n_slices": {p: sum(s[0] == p for s in slices) for p in patients},
            "pixel_mm": pixel_mm, "mask": "classical_lung_mask at native resolution (not radiologist-corrected)",
            "use": "test only (never trained on)"}
    return arrays, info
