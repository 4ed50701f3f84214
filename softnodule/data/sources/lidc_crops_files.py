"""Reading a local copy of the public LIDC max-slice crops (``mtzig/LIDC_GDRO`` at a pinned commit).

A copy is either a folder in the repository's layout (``<folder>/data/...``, as ``softnodule data
fetch lidc-crops`` or a ``git clone`` leaves it) or a ``.tar.gz`` of that ``data/`` folder. Files:

* ``data/LIDC(MaxSlices)_Nodules/<noduleID>.txt``: 71x71 whitespace-separated numbers, the RAW
  stored DICOM pixel values around one reader's contour on the slice where that reader's outline
  is largest (-2000 marks padding outside the scanner's field of view);
* ``data/LIDC_20130817_AllFeatures2D_MaxSlicePerNodule_inLineRatings.csv``: one row per crop
  (UIDs, ``imageZposition``, the reader's contour ``coords`` as ``x;y|...``, spacing, ratings);
* ``data/LIDC-IDRI_MetaData.csv``: TCIA's series list (patient, ``Manufacturer``).

`read_copy` reads every file once, checks each against the SHA-256 manifest shipped in the package
(a wrong or missing file is an error naming it; nothing is converted from a damaged copy) and
returns plain arrays and rows. The 71x71 crop's top-left pixel is ``floor(bbox centre) - 35`` of the
reader's contour, so ``CROP_OFFSET`` gives the full-slice position of every pixel.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CSV_PATH = "data/LIDC_20130817_AllFeatures2D_MaxSlicePerNodule_inLineRatings.csv"
META_PATH = "data/LIDC-IDRI_MetaData.csv"
CROP_DIR = "data/LIDC(MaxSlices)_Nodules/"
RAW_SIZE = 71
#: The raw crop's top-left pixel is ``floor(contour bounding-box centre) - CROP_OFFSET``.
CROP_OFFSET = 35
#: Value marking pixels outside the scanner's field of view in the crops.
PADDING_VALUE = -2000


class CropCopyError(ValueError):
    """A local copy of the crops is incomplete, damaged or not in the expected layout."""


@dataclass
class CropCopy:
    """Everything read from one local copy."""

    raw: dict[int, np.ndarray]  # crop file id -> (71, 71) int16 raw stored values
    rows: list[dict[str, str]]  # the per-crop CSV rows
    manufacturer_by_series: dict[str, str]
    patient_by_series: dict[str, str]
    location: Path


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.endswith((".tar.gz", ".tgz"))


def repository_path(name: str) -> str:
    """``data/...`` from a member name that may carry a top folder (GitHub's ``LIDC_GDRO-<commit>/data/...``)."""
    parts = Path(name).parts
    if "data" in parts:
        return Path(*parts[parts.index("data"):]).as_posix()
    return Path(name).as_posix()


def _iter_files(location: Path) -> Iterator[tuple[str, bytes]]:
    """(repository path, bytes) of every data file of a folder or an archive."""
    if is_archive(location):
        try:
            with tarfile.open(location, "r:gz") as tar:
                for member in tar:
                    if member.isfile():
                        fh = tar.extractfile(member)
                        assert fh is not None
                        yield repository_path(member.name), fh.read()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise CropCopyError(f"cannot read the archive {location}: {exc}. Download it again "
                                f"(`softnodule data fetch lidc-crops`).") from exc
        return
    for path in sorted((location / "data").rglob("*")):
        if path.is_file():
            yield path.relative_to(location).as_posix(), path.read_bytes()


def data_manifest(manifest: dict[str, str]) -> dict[str, str]:
    """The manifest's ``data/`` files (what a copy must hold; the repository's LICENSE is optional)."""
    return {k: v for k, v in manifest.items() if k.startswith("data/")}


def parse_raw_crop(text: bytes, name: str) -> np.ndarray:
    """A 71x71 int16 array from one crop file (raises naming the file when malformed)."""
    try:
        values = np.array(text.split(), dtype=np.float64)
    except ValueError as exc:
        raise CropCopyError(f"{name}: not a whitespace-separated number grid ({exc})") from exc
    if values.size != RAW_SIZE * RAW_SIZE:
        raise CropCopyError(f"{name}: {values.size} numbers, expected {RAW_SIZE}x{RAW_SIZE}")
    if not np.all(values == np.round(values)):
        raise CropCopyError(f"{name}: non-integer pixel values; these should be raw stored DICOM integers")
    return values.reshape(RAW_SIZE, RAW_SIZE).astype(np.int16)


def _read_csv(data: bytes) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def read_copy(location: Path, manifest: dict[str, str], *, progress: bool = True) -> CropCopy:
    """Read and verify a local copy (folder or archive) against the manifest.

    Raises
    ------
    CropCopyError
        Listing missing files (a partial copy) or files whose SHA-256 differs from the manifest.
    """
    from tqdm.auto import tqdm

    location = Path(location)
    manifest = data_manifest(manifest)
    found: dict[str, bytes] = {}
    bad: list[str] = []
    bar = tqdm(total=len(manifest), desc="reading lidc-crops", unit="file", disable=not progress)
    for name, data in _iter_files(location):
        if name not in manifest:
            continue  # e.g. a README next to the data: ignored
        digest = hashlib.sha256(data).hexdigest()
        if digest != manifest[name]:
            bad.append(f"{name} (sha256 {digest[:12]}..., expected {manifest[name][:12]}...)")
        found[name] = data
        bar.update(1)
    bar.close()
    missing = sorted(set(manifest) - set(found))
    if missing or bad:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing file(s), e.g. {', '.join(missing[:3])}")
        if bad:
            parts.append(f"{len(bad)} file(s) with a wrong checksum: {'; '.join(bad[:3])}")
        raise CropCopyError(f"the lidc-crops copy at {location} is incomplete or damaged: {'; '.join(parts)}. "
                            "Fetch it again with `softnodule data fetch lidc-crops` (it resumes and re-checks).")
    raw = {}
    for name, data in found.items():
        if name.startswith(CROP_DIR) and name.endswith(".txt"):
            raw[int(Path(name).stem)] = parse_raw_crop(data, name)
    meta = _read_csv(found[META_PATH])
    return CropCopy(
        raw=raw,
        rows=_read_csv(found[CSV_PATH]),
        manufacturer_by_series={m["Series ID"]: m["Manufacturer"] for m in meta},
        patient_by_series={m["Series ID"]: m["Subject ID"] for m in meta},
        location=location,
    )


def raw_origin_rc(points_xy: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """Full-slice ``(row, col)`` of the raw 71x71 crop's top-left pixel, from the reader's contour."""
    pts = np.asarray(points_xy, dtype=float)
    cx = (pts[:, 0].min() + pts[:, 0].max()) / 2
    cy = (pts[:, 1].min() + pts[:, 1].max()) / 2
    return int(np.floor(cy)) - CROP_OFFSET, int(np.floor(cx)) - CROP_OFFSET
