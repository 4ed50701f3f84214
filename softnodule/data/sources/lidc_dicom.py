"""The ``lidc-dicom`` source: `NoduleCase` from a user's LIDC-IDRI DICOM download.

The only DICOM root is the user's: ``SOFTNODULE_LIDC_DIR``, else the ``[dicom] path`` of an
existing ``~/.pylidcrc`` (`lidc.index.lidc_dicom_root`). The package knows no other folder; tests
point ``SOFTNODULE_LIDC_DIR`` at their sample slabs. Works on a full download and on partial slabs
(a few slices per patient): the key slice is matched by its z position
(``ImagePositionPatient[2]``), never by file name or slice count. The TCIA layout is
``<root>/LIDC-IDRI-XXXX/<study>/<series>/*.dcm``; study/series folder names may be UIDs or TCIA's
descriptive names: the series is identified by the ``SeriesInstanceUID`` tag.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..case import NoduleCase, NoduleRecord
from ..lidc.index import lidc_dicom_root
from ..recist import measure_recist
from ..shapes import crop_annotations, crop_origin
from . import SourceStatus

#: The name cases of this source carry (``NoduleCase.source``, suffix of ``case_id``).
SOURCE_NAME = "lidc-dicom"

_LAYOUT = "<root>/LIDC-IDRI-XXXX/<study>/<series>/*.dcm"
_HOW_TO = (f"set SOFTNODULE_LIDC_DIR to the folder that holds the LIDC-IDRI-XXXX patient folders "
           f"(TCIA layout {_LAYOUT})")


class DicomNotFoundError(FileNotFoundError):
    """The scan's DICOM is not where it should be (the message says where it looked)."""


def dicom_roots() -> list[Path]:
    """The configured DICOM root as a list (empty when none): ``SOFTNODULE_LIDC_DIR`` or ``~/.pylidcrc``.

    A list so that callers iterate without special-casing "not configured"; it holds at most one
    folder, which may not exist (`dicom_status` says so, `find_series_dir` raises).
    """
    root = lidc_dicom_root()
    return [root] if root is not None else []


def patient_dirs(root: Path) -> list[Path]:
    """The ``LIDC-IDRI-*`` folders directly under ``root``, sorted by name (empty when ``root`` is missing)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("LIDC-IDRI-*") if p.is_dir())


def dicom_status() -> SourceStatus:
    """Whether the ``lidc-dicom`` source is usable here (cheap: lists folders, reads no DICOM).

    Usable when the root exists and holds at least one ``LIDC-IDRI-*`` patient folder; the detail
    gives the number of patient folders, or what to set when it is not usable.
    """
    root = lidc_dicom_root()
    if root is None:
        return SourceStatus(SOURCE_NAME, False, None,
                            f"no LIDC-IDRI DICOM folder configured: {_HOW_TO}, or give ~/.pylidcrc a [dicom] path")
    origin = "SOFTNODULE_LIDC_DIR" if os.environ.get("SOFTNODULE_LIDC_DIR") else "~/.pylidcrc [dicom] path"
    if not root.is_dir():
        return SourceStatus(SOURCE_NAME, False, str(root),
                            f"{root} (from {origin}) does not exist: {_HOW_TO}")
    patients = patient_dirs(root)
    if not patients:
        return SourceStatus(SOURCE_NAME, False, str(root),
                            f"{root} (from {origin}) holds no LIDC-IDRI-* patient folder: {_HOW_TO}")
    span = patients[0].name if len(patients) == 1 else f"{patients[0].name} .. {patients[-1].name}"
    return SourceStatus(SOURCE_NAME, True, str(root),
                        f"{len(patients)} patient folder(s) found ({span}; from {origin}); "
                        "slices are read on demand, partial series allowed")


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


def ct_series_dirs(root: Path, *, patients: set[str] | frozenset[str] | None = None,
                   max_series: int | None = None) -> list[tuple[str, Path]]:
    """``(patient, series folder)`` of the CT series under ``root``, sorted by patient then folder.

    Parameters
    ----------
    root : Path
        A DICOM root in the TCIA layout (``<root>/LIDC-IDRI-XXXX/<study>/<series>/*.dcm``).
    patients : set of str, optional
        Only these patient folders (those absent under ``root`` are ignored). None: every one.
    max_series : int, optional
        Stop after this many series (in the sorted order), so a full download is not walked
        entirely when only a sample is wanted.

    Series whose first file says ``Modality`` is not ``CT`` (LIDC-IDRI also holds chest radiographs)
    are skipped. The order depends on folder names only, so it is the same on every machine.
    """
    out: list[tuple[str, Path]] = []
    for patient_dir in patient_dirs(root):
        if patients is not None and patient_dir.name not in patients:
            continue
        for folder in sorted({p.parent for p in patient_dir.rglob("*.dcm")}):
            if max_series is not None and len(out) >= max_series:
                return out
            first = next(iter(sorted(folder.glob("*.dcm"))))
            if str(getattr(_read_header(first), "Modality", "CT") or "CT").upper() != "CT":
                continue
            out.append((patient_dir.name, folder))
    return out


def evenly_spaced(n: int, k: int | None) -> list[int]:
    """``k`` indices spread evenly over ``range(n)`` (first and last included); all when ``k`` is None or >= n."""
    if k is None or k >= n:
        return list(range(n))
    if k < 1:
        raise ValueError(f"need at least one slice per series, got {k}")
    if k == 1:
        return [n // 2]
    return sorted({int(round(x)) for x in np.linspace(0, n - 1, k)})


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
    """The series folder of a record's scan under the DICOM root, or None when it is not there."""
    for root in dicom_roots():
        try:
            return find_series_dir(root, record.patient_id, record.series_uid)
        except DicomNotFoundError:
            continue
    return None


def has_key_slice(record: NoduleRecord) -> bool:
    """True when the record's key slice is present under the DICOM root (partial slabs included)."""
    series = locate_series(record)
    if series is None:
        return False
    zs = np.array([p[0] for p in _slice_positions(series)])
    return bool(np.min(np.abs(zs - record.key_z)) <= 0.2)


def _check_origin(record: NoduleRecord, origin_rc: Sequence[int], size: int, shape: tuple[int, int]) -> tuple[int, int]:
    """``origin_rc`` as ints, or a ValueError when the window does not lie entirely inside the slice."""
    try:
        r0, c0 = (int(v) for v in origin_rc)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{record.nodule_id}: origin_rc must be two integers (row, col), got {origin_rc!r}") from exc
    if (r0, c0) != tuple(float(v) for v in origin_rc):
        raise ValueError(f"{record.nodule_id}: origin_rc must be whole pixels, got {origin_rc!r}")
    h, w = shape
    if not (0 <= r0 <= h - size and 0 <= c0 <= w - size):
        raise ValueError(
            f"{record.nodule_id}: origin_rc ({r0}, {c0}) puts the {size}x{size} window (rows {r0}..{r0 + size - 1}, "
            f"cols {c0}..{c0 + size - 1}) partly outside the {h}x{w} slice; with origin_rc the window is never "
            f"clipped: pick an origin in rows 0..{h - size}, cols 0..{w - size}, or leave origin_rc=None to centre "
            "on the consensus")
    return r0, c0


def dicom_case(record: NoduleRecord, *, size: int = 64, supersample: int = 8, series_dir: Path | None = None,
               origin_rc: Sequence[int] | None = None) -> NoduleCase:
    """A `NoduleCase` from real pixels (``true_alpha`` is None: nobody knows it for real CT).

    Parameters
    ----------
    record : NoduleRecord
        The nodule; its ``key_z`` picks the slice and its ``key_polygons`` give the readers' masks.
        A record whose ``key_z`` / ``key_polygons`` describe another slice gives the case on that
        slice.
    size : int
        Crop side in pixels (>= 16).
    supersample : int
        Supersampling of the reader contours (as the phantom).
    series_dir : Path, optional
        The series folder (default: `locate_series` under the DICOM root).
    origin_rc : (int, int), optional
        Top-left full-slice pixel of the window. Default: centred on the consensus centroid and
        shifted to stay inside the slice. Given, the window is taken exactly there (to read the same
        window as another crop of the slice, e.g. the public max-slice crops) and never clipped.

    Raises
    ------
    DicomNotFoundError
        When the scan is not under the DICOM root.
    ValueError
        When the key slice is missing (partial slab), a file is corrupt, the key slice has an empty
        consensus, or ``origin_rc`` puts the window partly outside the slice.
    """
    if size < 16:
        raise ValueError(f"crop size must be >= 16 pixels, got {size}")
    series_dir = Path(series_dir) if series_dir is not None else locate_series(record)
    if series_dir is None:
        roots = ", ".join(str(r) for r in dicom_roots()) or f"none configured ({_HOW_TO})"
        raise DicomNotFoundError(f"{record.nodule_id}: scan {record.series_uid} not found under DICOM root: {roots}")
    hu, z_found = read_slice_hu(series_dir, record.key_z)
    h, w = hu.shape
    if origin_rc is None:
        r0, c0 = crop_origin(record.centroid_rc, size)
        r0 = int(np.clip(r0, 0, h - size))
        c0 = int(np.clip(c0, 0, w - size))
    else:
        r0, c0 = _check_origin(record, origin_rc, size, (h, w))
    image = hu[r0 : r0 + size, c0 : c0 + size].astype(np.float32)
    ann = crop_annotations(record, (r0, c0), size, supersample)
    if not ann["consensus"].any():
        where = "" if origin_rc is None else f" inside the window at origin_rc ({r0}, {c0})"
        raise ValueError(f"{record.nodule_id}: empty 50 % consensus on the key slice{where}; no RECIST can be measured")
    return NoduleCase(
        case_id=f"{record.nodule_id}@{SOURCE_NAME}",
        patient_id=record.patient_id,
        image=image,
        spacing_mm=record.pixel_spacing,
        readers=ann["readers"],
        consensus=ann["consensus"],
        recist=measure_recist(ann["consensus"], record.pixel_spacing),
        true_alpha=None,
        source=SOURCE_NAME,
        ratings={name: record.median_rating(name) for name in record.ratings[0]},
        meta={"series_dir": series_dir.name, "z_mm": z_found, "origin_rc": (r0, c0), "supersample": supersample,
              "origin_given": origin_rc is not None},
    )
