"""A user's DeepLesion as an image source: lung lesions of ``DL_info.csv`` as `NoduleCase` crops.

DeepLesion (NIH Clinical Center; Yan et al., J. Med. Imaging 5(3), 2018) ships ``DL_info.csv``
(one row per lesion: key slice, RECIST endpoints, pixel spacing, coarse lesion type, official
patient-level split) and ``Images_png/<patient>_<study>_<series>/<slice:03d>.png``: 16-bit PNGs
holding ``HU + 32768``. The folder holding both is ``SOFTNODULE_DEEPLESION_DIR``.

Only lung lesions (``Coarse_lesion_type == 5``) become cases. DeepLesion has RECIST calipers but no
lesion masks, so a DeepLesion case has no readers and no consensus: it serves evaluation by RECIST
length, not mask training. Every CSV row that is not kept is counted with its reason (`Skipped`):
nothing is dropped silently. Crops keep the row's own pixel spacing (no resampling).
"""


from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..case import NoduleCase, Recist
from . import SourceStatus
from .deeplesion_info import (  # noqa: F401  (re-exported: the format's names belong to this source)
    AT_BORDER,
    BAD_COORDS,
    BAD_FILE_NAME,
    BAD_PNG,
    BAD_SPACING,
    BAD_SPLIT,
    BAD_TYPE,
    ENV_VAR,
    HU_OFFSET,
    LUNG_TYPE,
    MALFORMED_ROW,
    MAX_LONG_AXIS_FRACTION,
    MISSING_PNG,
    NON_LUNG,
    SPLIT_NAMES,
    TOO_LARGE,
    UNKNOWN_TYPE,
    DeepLesionImageError,
    DeepLesionRow,
    LesionCropError,
    Skipped,
    _HOW_TO,
    _LAYOUT,
    deeplesion_split,
    read_dl_info,
)

# ----------------------------------------------------------------------------- location / status


def deeplesion_root() -> Path | None:
    """The user's DeepLesion folder from ``SOFTNODULE_DEEPLESION_DIR``, or None when unset."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else None


def deeplesion_status() -> SourceStatus:
    """Whether the ``deeplesion`` source can be used here (reads ``DL_info.csv``, no pixels).

    Usable when the folder holds ``DL_info.csv`` and ``Images_png/`` and the CSV has at least one
    usable lung row; otherwise ``detail`` names what is missing and what to do.
    """
    root = deeplesion_root()
    if root is None:
        return SourceStatus("deeplesion", False, None, f"{ENV_VAR} is not set: {_HOW_TO}")
    missing = [name for name, ok in (("DL_info.csv", (root / "DL_info.csv").is_file()),
                                     ("Images_png/", (root / "Images_png").is_dir())) if not ok]
    if not root.is_dir() or missing:
        what = "the folder does not exist" if not root.is_dir() else f"missing {' and '.join(missing)}"
        return SourceStatus("deeplesion", False, str(root), f"{root}: {what}; {_HOW_TO}")
    try:
        rows, skipped = read_dl_info(root / "DL_info.csv")
    except (OSError, ValueError) as exc:
        return SourceStatus("deeplesion", False, str(root), str(exc))
    n_total = len(rows) + skipped.total
    n_lung_skipped = skipped.total - skipped.counts[NON_LUNG] - skipped.counts[UNKNOWN_TYPE]
    if not rows:
        return SourceStatus(
            "deeplesion", False, str(root),
            f"DL_info.csv has no usable lung lesion (Coarse_lesion_type 5) among {n_total} rows "
            f"(left out: {skipped.as_dict()})",
        )
    detail = f"{len(rows)} lung lesions (Coarse_lesion_type 5) of {n_total} rows in DL_info.csv"
    if n_lung_skipped:
        detail += f"; {n_lung_skipped} rows left out for broken fields (see read_dl_info)"
    return SourceStatus("deeplesion", True, str(root), detail)


# ----------------------------------------------------------------------------- pixels


def read_hu_png(path: Path | str) -> np.ndarray:
    """One DeepLesion slice in Hounsfield units (``float32``, ``HU = value - 32768``).

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    DeepLesionImageError
        When it is not a readable single-channel 16-bit PNG (e.g. an 8-bit preview).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DeepLesion slice {path} does not exist (layout {_LAYOUT})")
    data = np.fromfile(path, dtype=np.uint8)  # imdecode: also works for non-ASCII paths
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise DeepLesionImageError(
            f"cannot decode {path} as an image (truncated or not a PNG); re-extract it from the official "
            "Images_png zip"
        )
    if img.dtype != np.uint16 or img.ndim != 2:
        kind = "8-bit PNG" if img.dtype == np.uint8 else f"{img.dtype} image with shape {img.shape}"
        raise DeepLesionImageError(
            f"{kind} where DeepLesion's 16-bit HU+32768 PNG is expected: {path}; use Images_png from the "
            "official download, not the 8-bit key-slice JPEG/PNG previews"
        )
    return (img.astype(np.int32) - HU_OFFSET).astype(np.float32)


def deeplesion_case(row: DeepLesionRow, root: Path | str, size: int = 64, *,
                    hu: np.ndarray | None = None) -> NoduleCase:
    """A ``size`` x ``size`` crop around one lesion's RECIST centre, at the row's own spacing.

    Parameters
    ----------
    row : DeepLesionRow
        The lesion (from `read_dl_info`).
    root : path
        DeepLesion folder (holding ``Images_png/``).
    size : int
        Crop side in pixels (no resampling: ``spacing_mm`` is the row's).
    hu : ndarray, optional
        The key slice already read with `read_hu_png` (batch use: several lesions on one slice).

    Returns
    -------
    NoduleCase
        ``image`` in HU, ``recist`` in crop ``(row, col)`` coordinates, ``readers`` an empty
        ``(0, S, S)`` array and ``consensus`` None (DeepLesion has no masks), ``true_alpha`` None.

    Raises
    ------
    LesionCropError
        When the long axis exceeds ``0.85 * size`` pixels, or the crop would leave the slice.
    FileNotFoundError, DeepLesionImageError
        When the slice PNG is missing or unreadable.
    """
    if size < 16:
        raise ValueError(f"crop size must be >= 16 pixels, got {size}")
    long_px = float(np.linalg.norm(row.long_axis[1] - row.long_axis[0]))
    if long_px > MAX_LONG_AXIS_FRACTION * size:
        raise LesionCropError(
            f"{row.lesion_id}: long axis {long_px:.1f} px is more than {MAX_LONG_AXIS_FRACTION} x the "
            f"{size}-px crop; use a larger size to include it",
            TOO_LARGE,
        )
    if hu is None:
        hu = read_hu_png(row.slice_path(root))
    h, w = hu.shape
    cr, cc = row.centre_rc
    r0, c0 = int(round(cr)) - size // 2, int(round(cc)) - size // 2
    if r0 < 0 or c0 < 0 or r0 + size > h or c0 + size > w:
        raise LesionCropError(
            f"{row.lesion_id}: a {size}-px crop centred at (row {cr:.1f}, col {cc:.1f}) leaves the "
            f"{h}x{w} slice {row.file_name}; the lesion is too close to the border for this crop size",
            AT_BORDER,
        )
    origin = np.array([r0, c0], dtype=np.float64)
    recist = Recist(row.long_axis - origin, row.short_axis - origin, row.spacing_mm)
    ends = np.concatenate([recist.long_axis, recist.short_axis])
    if ends.min() < 0 or ends.max() > size - 1:
        raise LesionCropError(
            f"{row.lesion_id}: RECIST endpoints {ends.round(1).tolist()} fall outside the {size}-px crop",
            TOO_LARGE,
        )
    image = np.ascontiguousarray(hu[r0 : r0 + size, c0 : c0 + size], dtype=np.float32)
    meta: dict[str, Any] = {
        "lesion_id": row.lesion_id,
        "file_name": row.file_name,
        "series_dir": row.series_dir,
        "key_slice": row.key_slice,
        "lesion_index": row.lesion_index,
        "split": row.split_name,
        "origin_rc": (r0, c0),
        "window": row.window,
        "long_mm": recist.long_mm,
        "short_mm": recist.short_mm,
        "diameters_px": row.diameters_px,
        "slice_interval_mm": row.slice_interval_mm,
        "possibly_noisy": row.possibly_noisy,
        "csv_line": row.line,
    }
    return NoduleCase(
        case_id=f"{row.lesion_id}@deeplesion",
        patient_id=row.patient_id,
        image=image,
        spacing_mm=row.spacing_mm,
        readers=np.zeros((0, size, size), dtype=bool),
        consensus=None,
        recist=recist,
        true_alpha=None,
        source="deeplesion",
        meta=meta,
    )


def deeplesion_cases(root: Path | str, size: int = 64, *, limit: int | None = None,
                     progress: bool = True) -> tuple[list[NoduleCase], Skipped]:
    """Every usable lung lesion of a DeepLesion folder as a `NoduleCase` (batch use, never fatal per lesion).

    Parameters
    ----------
    root : path
        DeepLesion folder holding ``DL_info.csv`` and ``Images_png/``.
    size : int
        Crop side in pixels.
    limit : int, optional
        Try only the first ``limit`` lung rows (file order).
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    cases : list of NoduleCase
    skipped : Skipped
        The rows `read_dl_info` left out plus the lesions whose PNG is missing or unreadable or
        that do not fit the crop: ``skipped.as_dict()`` is ``{reason: count}``, ``skipped.entries``
        the per-lesion list. CSV-level skips cover the whole file, also with ``limit``.
    """
    from tqdm.auto import tqdm

    root = Path(root)
    rows, skipped = read_dl_info(root / "DL_info.csv")
    if limit is not None:
        rows = rows[:limit]
    cases: list[NoduleCase] = []
    last: tuple[Path, np.ndarray | None] | None = None  # rows of one slice are adjacent in DL_info.csv
    for row in tqdm(rows, desc="DeepLesion lung lesions", unit="lesion", disable=not progress):
        path = row.slice_path(root)
        try:
            if last is None or last[0] != path:
                last = (path, None)
                last = (path, read_hu_png(path))
            cases.append(deeplesion_case(row, root, size, hu=last[1]))
        except FileNotFoundError as exc:
            skipped.add(row.lesion_id, MISSING_PNG, str(exc))
        except DeepLesionImageError as exc:
            skipped.add(row.lesion_id, BAD_PNG, str(exc))
        except LesionCropError as exc:
            skipped.add(row.lesion_id, exc.reason, str(exc))
    return cases, skipped
