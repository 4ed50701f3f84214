"""DeepLesion's ``DL_info.csv``: lung-lesion rows, skip reasons and DeepLesion's own patient-level split.

DeepLesion (NIH Clinical Center; Yan et al., J. Med. Imaging 5(3), 2018) ships ``DL_info.csv``: one
row per lesion with its key slice, RECIST endpoints, pixel spacing, coarse lesion type and the
official patient-level split. Only lung lesions (``Coarse_lesion_type == 5``) are kept; every other
row is counted with its reason (`Skipped`): nothing is dropped silently. Pixels: `deeplesion`.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..case import Recist
from ..recist import recist_from_deeplesion


#: Environment variable naming the folder that holds ``DL_info.csv`` and ``Images_png/``.
ENV_VAR = "SOFTNODULE_DEEPLESION_DIR"
#: DeepLesion's ``Coarse_lesion_type`` code for lung lesions.
LUNG_TYPE = 5
#: DeepLesion's ``Train_Val_Test`` codes.
SPLIT_NAMES: dict[int, str] = {1: "train", 2: "val", 3: "test"}
#: A lesion's long axis may span at most this fraction of the crop side.
MAX_LONG_AXIS_FRACTION = 0.85
#: DeepLesion stores HU + this offset in its 16-bit PNGs.
HU_OFFSET = 32768

_LAYOUT = "DL_info.csv + Images_png/<patient>_<study>_<series>/<slice:03d>.png"
_HOW_TO = f"set {ENV_VAR} to the folder holding DL_info.csv and Images_png/ (the official NIH DeepLesion download)"
_REQUIRED_COLUMNS: tuple[str, ...] = (
    "File_name",
    "Patient_index",
    "Study_index",
    "Series_ID",
    "Key_slice_index",
    "Measurement_coordinates",
    "Coarse_lesion_type",
    "Spacing_mm_px_",
    "Train_Val_Test",
)
_FILE_NAME = re.compile(r"^(\d+)_(\d+)_(\d+)_(\d+)\.png$")

# Skip reasons: stable short keys, so counts add up across files and runs.
NON_LUNG = "non-lung lesion type"
UNKNOWN_TYPE = "unknown lesion type (-1)"
BAD_TYPE = "bad Coarse_lesion_type"
MALFORMED_ROW = "malformed CSV row"
BAD_FILE_NAME = "bad File_name or index columns"
BAD_COORDS = "broken Measurement_coordinates"
BAD_SPACING = "broken Spacing_mm_px_"
BAD_SPLIT = "bad Train_Val_Test"
MISSING_PNG = "missing slice PNG"
BAD_PNG = "unreadable or non-16-bit PNG"
TOO_LARGE = "lesion larger than the crop"
AT_BORDER = "lesion too close to the image border"


class DeepLesionImageError(ValueError):
    """A DeepLesion slice PNG that cannot be read as 16-bit ``HU + 32768`` (the message names the file)."""


class LesionCropError(ValueError):
    """A lesion that cannot be cropped (too large for the crop, or too close to the border).

    ``reason`` is one of the module's skip-reason keys (`TOO_LARGE`, `AT_BORDER`).
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Skipped:
    """Rows or lesions left out, counted by reason, with one ``(lesion or line, detail)`` entry each.

    Attributes
    ----------
    counts : Counter
        Reason key -> number of rows/lesions skipped for it.
    entries : list of (str, str, str)
        ``(what, reason, detail)`` per skipped item: ``what`` is the lesion id when the row names
        one, else ``"<file>:<line>"``; ``detail`` says exactly what was wrong.
    """

    counts: Counter = field(default_factory=Counter)
    entries: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, what: str, reason: str, detail: str) -> None:
        """Count one skipped item."""
        self.counts[reason] += 1
        self.entries.append((what, reason, detail))

    def extend(self, other: Skipped) -> None:
        """Add every item of ``other``."""
        self.counts.update(other.counts)
        self.entries.extend(other.entries)

    @property
    def total(self) -> int:
        """Number of skipped items."""
        return int(sum(self.counts.values()))

    def as_dict(self) -> dict[str, int]:
        """``{reason: count}``, most frequent first."""
        return dict(self.counts.most_common())


@dataclass(frozen=True, eq=False)  # eq=False: rows hold arrays (compared by identity)
class DeepLesionRow:
    """One lung lesion of ``DL_info.csv``, parsed and checked.

    Attributes
    ----------
    file_name : str
        DeepLesion's ``File_name`` of the key slice, e.g. ``"000001_01_01_109.png"``.
    patient, study, series : int
        ``Patient_index``, ``Study_index``, ``Series_ID``.
    key_slice : int
        ``Key_slice_index``: the PNG ``<slice:03d>.png`` in the series folder.
    long_axis, short_axis : ndarray, (2, 2) float
        RECIST endpoints ``[[r0, c0], [r1, c1]]`` on the full slice (DeepLesion's x = col, y = row).
    spacing_mm : float
        In-plane pixel spacing (mm/px, square pixels), first value of ``Spacing_mm_px_``.
    slice_interval_mm : float or None
        Third value of ``Spacing_mm_px_`` (distance between slices), when given.
    split : int
        ``Train_Val_Test``: 1 train, 2 val, 3 test (DeepLesion's own patient-level split).
    lesion_index : int
        0-based position of this lesion among all rows of the same ``File_name`` (file order), so
        several lesions on one slice get distinct ids whatever the filters.
    lesion_type : int
        ``Coarse_lesion_type`` (always `LUNG_TYPE` for kept rows).
    possibly_noisy : bool
        DeepLesion's ``Possibly_noisy`` flag (kept, not filtered).
    window : tuple of float or None
        ``DICOM_windows`` (low, high) HU, when parseable.
    diameters_px : tuple of float or None
        ``Lesion_diameters_Pixel_`` (long, short), when parseable.
    line : int
        Line of ``DL_info.csv`` (1 = header), for messages.
    """

    file_name: str
    patient: int
    study: int
    series: int
    key_slice: int
    long_axis: np.ndarray
    short_axis: np.ndarray
    spacing_mm: float
    slice_interval_mm: float | None
    split: int
    lesion_index: int
    lesion_type: int = LUNG_TYPE
    possibly_noisy: bool = False
    window: tuple[float, float] | None = None
    diameters_px: tuple[float, float] | None = None
    line: int = 0

    @property
    def stem(self) -> str:
        """``File_name`` without ``.png``, e.g. ``"000001_01_01_109"``."""
        return self.file_name[: -len(".png")]

    @property
    def lesion_id(self) -> str:
        """Stable id ``"DL-000001_01_01_109-l0"`` (key-slice file plus lesion index on that slice)."""
        return f"DL-{self.stem}-l{self.lesion_index}"

    @property
    def patient_id(self) -> str:
        """Patient id for patient-level splits, ``"DL-000001"``."""
        return f"DL-{self.patient:06d}"

    @property
    def split_name(self) -> str:
        """``"train"``, ``"val"`` or ``"test"``."""
        return SPLIT_NAMES[self.split]

    @property
    def series_dir(self) -> str:
        """Folder of the series under ``Images_png``, e.g. ``"000001_01_01"``."""
        return self.stem.rsplit("_", 1)[0]

    def slice_path(self, root: Path | str) -> Path:
        """The key slice's PNG under a DeepLesion root."""
        return Path(root) / "Images_png" / self.series_dir / f"{self.key_slice:03d}.png"

    @property
    def recist(self) -> Recist:
        """RECIST axes on the full slice (row, col), with this row's spacing."""
        return Recist(self.long_axis.copy(), self.short_axis.copy(), self.spacing_mm)

    @property
    def centre_rc(self) -> tuple[float, float]:
        """Mean of the four RECIST endpoints, ``(row, col)``."""
        c = np.concatenate([self.long_axis, self.short_axis]).mean(axis=0)
        return float(c[0]), float(c[1])


# ----------------------------------------------------------------------------- DL_info.csv


def _numbers(text: str | None, n: int | tuple[int, ...]) -> tuple[float, ...]:
    """The comma-separated finite numbers of one DL_info field (``n`` allowed counts)."""
    allowed = (n,) if isinstance(n, int) else n
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    vals = tuple(float(p) for p in parts)  # ValueError on a non-number
    if len(vals) not in allowed or not all(math.isfinite(v) for v in vals):
        raise ValueError(f"expected {' or '.join(map(str, allowed))} finite numbers, got {text!r}")
    return vals


def _optional_pair(text: str | None) -> tuple[float, float] | None:
    try:
        a, b = _numbers(text, 2)
    except ValueError:
        return None
    return a, b


def _parse_row(rec: dict[str, Any], lesion_index: int, line: int, where: str) -> DeepLesionRow | tuple[str, str]:
    """A `DeepLesionRow`, or ``(reason, detail)`` saying why the row is left out."""
    if None in rec or any(v is None for v in rec.values()):
        return MALFORMED_ROW, f"{where}: wrong number of fields for the header"
    try:
        lesion_type = int(float(rec["Coarse_lesion_type"]))
    except ValueError:
        return BAD_TYPE, f"{where}: Coarse_lesion_type {rec['Coarse_lesion_type']!r} is not an integer"
    if lesion_type == -1:
        return UNKNOWN_TYPE, f"{where}: Coarse_lesion_type -1 (not labelled; DeepLesion labels val/test only)"
    if lesion_type != LUNG_TYPE:
        return NON_LUNG, f"{where}: Coarse_lesion_type {lesion_type} is not lung ({LUNG_TYPE})"
    file_name = rec["File_name"].strip()
    m = _FILE_NAME.match(file_name)
    if m is None:
        return BAD_FILE_NAME, f"{where}: File_name {file_name!r} is not <patient>_<study>_<series>_<slice>.png"
    from_name = tuple(int(g) for g in m.groups())
    try:
        from_cols = tuple(int(float(rec[k])) for k in ("Patient_index", "Study_index", "Series_ID", "Key_slice_index"))
    except ValueError:
        return BAD_FILE_NAME, f"{where}: Patient_index/Study_index/Series_ID/Key_slice_index are not integers"
    if from_name != from_cols:
        return BAD_FILE_NAME, (f"{where}: File_name {file_name} says patient/study/series/slice {from_name}, "
                               f"the index columns say {from_cols}")
    try:
        spacing = _numbers(rec["Spacing_mm_px_"], (2, 3))
    except ValueError as exc:
        return BAD_SPACING, f"{where}: Spacing_mm_px_ {exc}"
    if spacing[0] <= 0 or spacing[1] <= 0:
        return BAD_SPACING, f"{where}: Spacing_mm_px_ {rec['Spacing_mm_px_']!r} is not positive"
    if abs(spacing[0] - spacing[1]) > 1e-3 * spacing[0]:
        return BAD_SPACING, f"{where}: Spacing_mm_px_ {rec['Spacing_mm_px_']!r} has non-square pixels"
    try:
        recist = recist_from_deeplesion(rec["Measurement_coordinates"], spacing[0])
    except ValueError as exc:
        return BAD_COORDS, f"{where}: {exc}"
    if recist.long_mm <= 0 or recist.short_mm <= 0:
        return BAD_COORDS, (f"{where}: Measurement_coordinates {rec['Measurement_coordinates']!r} have a "
                            "zero-length axis")
    try:
        split = int(float(rec["Train_Val_Test"]))
    except ValueError:
        split = -1
    if split not in SPLIT_NAMES:
        return BAD_SPLIT, f"{where}: Train_Val_Test {rec['Train_Val_Test']!r} is not 1 (train), 2 (val) or 3 (test)"
    return DeepLesionRow(
        file_name=file_name,
        patient=from_name[0],
        study=from_name[1],
        series=from_name[2],
        key_slice=from_name[3],
        long_axis=recist.long_axis,
        short_axis=recist.short_axis,
        spacing_mm=float(spacing[0]),
        slice_interval_mm=float(spacing[2]) if len(spacing) == 3 else None,
        split=split,
        lesion_index=lesion_index,
        lesion_type=lesion_type,
        possibly_noisy=(rec.get("Possibly_noisy") or "0").strip() not in ("0", ""),
        window=_optional_pair(rec.get("DICOM_windows")),
        diameters_px=_optional_pair(rec.get("Lesion_diameters_Pixel_")),
        line=line,
    )


def read_dl_info(path: Path | str) -> tuple[list[DeepLesionRow], Skipped]:
    """Parse DeepLesion's ``DL_info.csv``, keeping the usable lung lesions.

    Parameters
    ----------
    path : path
        ``DL_info.csv`` (or any file with its header, such as a subset).

    Returns
    -------
    rows : list of DeepLesionRow
        Lung lesions (``Coarse_lesion_type == 5``) with valid fields, in file order.
    skipped : Skipped
        Every other row, counted by reason (non-lung or unknown type, broken
        ``Measurement_coordinates`` / ``Spacing_mm_px_``, bad ``Train_Val_Test`` or file name...):
        ``len(rows) + skipped.total`` is the number of data rows.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When its header lacks DeepLesion's columns (not a ``DL_info.csv``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DeepLesion DL_info.csv not found at {path}; {_HOW_TO}")
    rows: list[DeepLesionRow] = []
    skipped = Skipped()
    per_file: Counter = Counter()
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in _REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ValueError(
                f"{path} is not a DeepLesion DL_info.csv: missing column(s) {', '.join(missing)} "
                f"(header: {header[:6]}...). Use the DL_info.csv of the official download."
            )
        reader.fieldnames = header
        for rec in reader:
            line = reader.line_num
            name = (rec.get("File_name") or "").strip()
            lesion_index = per_file[name]
            per_file[name] += 1
            where = f"{path.name}:{line}"
            what = f"DL-{name[:-4]}-l{lesion_index}" if _FILE_NAME.match(name) else where
            parsed = _parse_row(rec, lesion_index, line, f"{where} ({name or 'no File_name'})")
            if isinstance(parsed, DeepLesionRow):
                rows.append(parsed)
            else:
                skipped.add(what, *parsed)
    return rows, skipped


def deeplesion_split(rows: list[DeepLesionRow]) -> dict[str, list[str]]:
    """Lesion ids per split from DeepLesion's own ``Train_Val_Test``, checked to be patient-level.

    Returns
    -------
    dict
        ``{"train": [...], "val": [...], "test": [...]}``, lesion ids in row order.

    Raises
    ------
    ValueError
        When one patient has lesions in two splits (the file contradicts DeepLesion's
        patient-level split): the message names the patient, the splits and one file of each.
    """
    seen: dict[str, dict[str, str]] = {}
    for row in rows:
        seen.setdefault(row.patient_id, {}).setdefault(row.split_name, row.file_name)
    for patient, splits in seen.items():
        if len(splits) > 1:
            files = ", ".join(f"{s}: {f}" for s, f in sorted(splits.items()))
            raise ValueError(
                f"patient {patient} appears in more than one DeepLesion split ({files}); DeepLesion's "
                "Train_Val_Test is patient-level, so this DL_info.csv was edited or mixed: fix the "
                "Train_Val_Test column of that patient's rows"
            )
    out: dict[str, list[str]] = {name: [] for name in SPLIT_NAMES.values()}
    for row in rows:
        out[row.split_name].append(row.lesion_id)
    return out
