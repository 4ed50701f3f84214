"""Real pixels: the same `NoduleCase` built from LIDC-IDRI DICOM wherever the scan is present.

Works on a full LIDC-IDRI download (``SOFTNODULE_LIDC_DIR``) and on partial slabs such as the
team's ``../shared/data/lidc-idri`` (a few slices per patient): the key slice is matched by its
z position (``ImagePositionPatient[2]``), never by file name or slice count. The TCIA layout is
``<root>/LIDC-IDRI-XXXX/<study>/<series>/*.dcm``; study/series folder names may be UIDs or TCIA's
descriptive names: the series is identified by the ``SeriesInstanceUID`` tag.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..config import shared_data_dir
from .case import NoduleCase, NoduleRecord
from .lidc import lidc_dicom_root
from .recist import measure_recist
from .shapes import crop_annotations, crop_origin

_LAYOUT = "<root>/LIDC-IDRI-XXXX/<study>/<series>/*.dcm"


class DicomNotFoundError(FileNotFoundError):
    """The scan's DICOM is not where it should be (the message says where it looked)."""


def dicom_roots() -> list[Path]:
    """DICOM roots in priority order: the user's LIDC-IDRI folder, then the team's shared slabs."""
    roots = []
    user = lidc_dicom_root()
    if user is not None:
        roots.append(user)
    shared = shared_data_dir()
    if shared is not None and (shared / "lidc-idri").is_dir():
        roots.append(shared / "lidc-idri")
    return roots


def _read_header(path: Path):
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"corrupt or unreadable DICOM file {path}: {exc}. Re-download this series or remove the file.") from exc


@lru_cache(maxsize=64)
def find_series_dir(root: Path, patient_id: str, series_uid: str) -> Path:
    """The folder holding one series' slices.

    Raises
    ------
    DicomNotFoundError
        When ``root`` or the patient folder is missing, or no folder holds that series; the
        message names the expected path and the layout.
    """
    root = Path(root)
    if not root.is_dir():
        raise DicomNotFoundError(
            f"LIDC DICOM root {root} does not exist. Set SOFTNODULE_LIDC_DIR to the folder that holds "
            f"the LIDC-IDRI-XXXX patient folders (layout {_LAYOUT})."
        )
    patient_dir = root / patient_id
    if not patient_dir.is_dir():
        raise DicomNotFoundError(
            f"expected patient folder {patient_dir} for {patient_id} (layout {_LAYOUT}); "
            f"check SOFTNODULE_LIDC_DIR points at the folder that contains {patient_id}/."
        )
    candidates = sorted({p.parent for p in patient_dir.rglob("*.dcm")})
    for folder in candidates:  # fast path: folders named by UID
        if folder.name == series_uid:
            return folder
    for folder in candidates:
        first = next(iter(sorted(folder.glob("*.dcm"))))
        if str(getattr(_read_header(first), "SeriesInstanceUID", "")) == series_uid:
            return folder
    raise DicomNotFoundError(
        f"no DICOM series {series_uid} under {patient_dir} ({len(candidates)} series folders searched)"
    )


@lru_cache(maxsize=64)
def _slice_positions(series_dir: Path) -> tuple[tuple[float, str], ...]:
    out = []
    for f in sorted(series_dir.glob("*.dcm")):
        ds = _read_header(f)
        try:
            z = float(ds.ImagePositionPatient[2])
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"DICOM file {f} has no usable ImagePositionPatient; cannot place it in z") from exc
        out.append((z, str(f)))
    if not out:
        raise DicomNotFoundError(f"no .dcm files in {series_dir}")
    return tuple(sorted(out))


def read_slice_hu(series_dir: Path, z: float, tol_mm: float = 0.2) -> tuple[np.ndarray, float]:
    """The slice at ``z`` (mm) in Hounsfield units.

    Raises
    ------
    ValueError
        When no slice lies within ``tol_mm`` of ``z`` (a partial slab that misses it), naming the
        z range present; or when the file is corrupt.
    """
    import pydicom

    positions = _slice_positions(Path(series_dir))
    zs = np.array([p[0] for p in positions])
    i = int(np.argmin(np.abs(zs - z)))
    if abs(zs[i] - z) > tol_mm:
        raise ValueError(
            f"slice z={z:.2f} mm is not in {series_dir} (slices span z {zs.min():.2f} .. {zs.max():.2f} mm): "
            "a partial series; use the phantom source for this nodule or download the full scan"
        )
    path = Path(positions[i][1])
    try:
        ds = pydicom.dcmread(path)
        pixels = ds.pixel_array.astype(np.float32)
    except Exception as exc:  # pydicom raises many types for broken pixel data
        raise ValueError(f"corrupt DICOM pixel data in {path}: {exc}") from exc
    slope = float(getattr(ds, "RescaleSlope", 1.0))
    intercept = float(getattr(ds, "RescaleIntercept", 0.0))
    return pixels * slope + intercept, float(zs[i])


def locate_series(record: NoduleRecord) -> Path | None:
    """The series folder of a record's scan under any DICOM root, or None when absent everywhere."""
    for root in dicom_roots():
        try:
            return find_series_dir(root, record.patient_id, record.series_uid)
        except DicomNotFoundError:
            continue
    return None


def has_key_slice(record: NoduleRecord) -> bool:
    """True when the record's key slice is present in some DICOM root (partial slabs included)."""
    series = locate_series(record)
    if series is None:
        return False
    zs = np.array([p[0] for p in _slice_positions(series)])
    return bool(np.min(np.abs(zs - record.key_z)) <= 0.2)


def dicom_case(record: NoduleRecord, *, size: int = 64, supersample: int = 8, series_dir: Path | None = None) -> NoduleCase:
    """A `NoduleCase` from real pixels (``true_alpha`` is None: nobody knows it for real CT).

    Raises
    ------
    DicomNotFoundError
        When the scan is in no DICOM root.
    ValueError
        When the key slice is missing (partial slab) or a file is corrupt.
    """
    if size < 16:
        raise ValueError(f"crop size must be >= 16 pixels, got {size}")
    series_dir = series_dir or locate_series(record)
    if series_dir is None:
        roots = ", ".join(str(r) for r in dicom_roots()) or "none configured (set SOFTNODULE_LIDC_DIR)"
        raise DicomNotFoundError(f"{record.nodule_id}: scan {record.series_uid} not found under DICOM roots: {roots}")
    hu, z_found = read_slice_hu(series_dir, record.key_z)
    h, w = hu.shape
    r0, c0 = crop_origin(record.centroid_rc, size)
    r0 = int(np.clip(r0, 0, h - size))
    c0 = int(np.clip(c0, 0, w - size))
    image = hu[r0 : r0 + size, c0 : c0 + size].astype(np.float32)
    ann = crop_annotations(record, (r0, c0), size, supersample)
    if not ann["consensus"].any():
        raise ValueError(f"{record.nodule_id}: empty 50 % consensus on the key slice; no RECIST can be measured")
    return NoduleCase(
        case_id=f"{record.nodule_id}@dicom",
        patient_id=record.patient_id,
        image=image,
        spacing_mm=record.pixel_spacing,
        readers=ann["readers"],
        consensus=ann["consensus"],
        recist=measure_recist(ann["consensus"], record.pixel_spacing),
        true_alpha=None,
        source="dicom",
        ratings={name: record.median_rating(name) for name in record.ratings[0]},
        meta={"series_dir": series_dir.name, "z_mm": z_found, "origin_rc": (r0, c0), "supersample": supersample},
    )
