"""The two Soft Mask datasets of the paper, rebuilt on the embedded default (phantom) source.

* ``lnsm_style`` (stand-in for the paper's DeepLesion-based LNSM): strategy (3), RECIST ->
  GrabCut -> trimap -> closed-form Soft Mask; binary ground truth = the Soft Mask binarised at
  0.5, as in the paper; rendered with the LNSM scanner appearance; paper split 1000 / 100 / 400
  (train / val / test).
* ``lidc_style``: strategy (2), the real readers' masks -> trimap -> Soft Mask; binary ground
  truth = the 50 % consensus, as in the paper; LIDC scanner appearance; paper split 387 / 55 / 544.

The two draw from disjoint patient pools (`splits.make_patient_pools`). Each build is cached under
the hash of its spec (``SOFTNODULE_CACHE/datasets/<name>-<hash>/``): ``arrays.npz`` (compressed),
``manifest.json`` (spec, counts, skipped cases with reasons, timing) and the split file. Cases that
fail (no contour on the key slice, degenerate GrabCut, ...) are skipped and reported, never fatal.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Profile, cache_dir, get_profile
from ..io import atomic_write_bytes, atomic_write_text
from .case import NoduleCase, NoduleRecord
from .lidc import INDEX_VERSION, NoduleIndex, load_nodule_index
from .parallel import map_chunks
from .splits import (
    SPLIT_NAMES,
    Split,
    fits_crop,
    make_patient_pools,
    patient_level_split,
)

#: Bump when rendering or labelling changes, so cached datasets are rebuilt.
DATASET_CODE_VERSION = 1
MAX_READERS = 4


@dataclass(frozen=True)
class DatasetSpec:
    """Everything that determines a built dataset (its hash is the cache key)."""

    name: str
    split: tuple[int, int, int]
    crop: int = 64
    appearance: str = "lnsm"
    strategy: int = 3
    erode_px: int = 2
    dilate_px: int = 2
    eps: float = 1e-5
    radius: int = 1
    seed: int = 0
    lidc_pool_nodules: int = 1000  # the paper uses 986; a small margin lets whole patients fill the split
    lidc_min_readers: int = 2

    def key(self) -> str:
        """Content hash of the spec, the index layout and the dataset code version."""
        payload = json.dumps({**asdict(self), "index": INDEX_VERSION, "code": DATASET_CODE_VERSION}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


def lnsm_spec(profile: Profile | str | None = None, **overrides: Any) -> DatasetSpec:
    """The LNSM-style spec for a profile (paper: 1000 / 100 / 400, strategy 3, 64x64)."""
    p = profile if isinstance(profile, Profile) else get_profile(profile)
    return DatasetSpec(**{"name": "lnsm_style", "split": p.lnsm_split, "crop": p.crop, "appearance": "lnsm",
                          "strategy": 3, **overrides})


def lidc_spec(profile: Profile | str | None = None, **overrides: Any) -> DatasetSpec:
    """The LIDC-style spec for a profile (paper: 387 / 55 / 544, strategy 2, 64x64)."""
    p = profile if isinstance(profile, Profile) else get_profile(profile)
    return DatasetSpec(**{"name": "lidc_style", "split": p.lidc_split, "crop": p.crop, "appearance": "lidc",
                          "strategy": 2, **overrides})


# --------------------------------------------------------------------------------------------
# selecting nodules
# --------------------------------------------------------------------------------------------
def select_split(spec: DatasetSpec, index: NoduleIndex) -> Split:
    """The patient-level split of usable nodules from this spec's patient pool."""
    pools = make_patient_pools(index.records, spec.lidc_pool_nodules, min_readers=spec.lidc_min_readers,
                               crop=spec.crop, seed=spec.seed)
    if spec.name == "lidc_style":
        pool = set(pools.lidc)
        ok = [r for r in index.records if r.patient_id in pool and spec.lidc_min_readers <= r.n_readers <= MAX_READERS
              and fits_crop(r, spec.crop)]
    else:
        pool = set(pools.lnsm)
        ok = [r for r in index.records if r.patient_id in pool and fits_crop(r, spec.crop)]
    split = patient_level_split(ok, spec.split, name=spec.name, seed=spec.seed)
    split.notes.insert(0, f"pool rule: {pools.rule}; {len(ok)} usable nodules in this pool")
    return split


# --------------------------------------------------------------------------------------------
# labelling one case
# --------------------------------------------------------------------------------------------
def label_case(case: NoduleCase, spec: DatasetSpec):
    """Soft Mask of one case by the spec's strategy (2: readers, 3: RECIST)."""
    from ..matting.pipeline import soft_mask_from_readers, soft_mask_from_recist

    kw = {"eps": spec.eps, "radius": spec.radius}
    if spec.strategy == 2:
        return soft_mask_from_readers(case.image, case.readers, **kw)
    if spec.strategy == 3:
        return soft_mask_from_recist(case.image, case.recist, erode_px=spec.erode_px, dilate_px=spec.dilate_px,
                                     seed=spec.seed, **kw)
    raise ValueError(f"strategy must be 2 (readers) or 3 (RECIST) for {spec.name}, got {spec.strategy}")


def build_case(record: NoduleRecord, spec: DatasetSpec) -> dict[str, Any]:
    """Render and label one nodule; returns the arrays of one dataset row."""
    from .phantom import APPEARANCES, render_case

    case = render_case(record, size=spec.crop, seed=spec.seed, appearance=APPEARANCES[spec.appearance])
    sm = label_case(case, spec)
    soft = np.asarray(sm.alpha, dtype=np.float32)
    binary = case.consensus if spec.strategy == 2 else soft >= 0.5
    readers = np.zeros((MAX_READERS, spec.crop, spec.crop), bool)
    readers[: min(MAX_READERS, case.readers.shape[0])] = case.readers[:MAX_READERS]
    return {
        "image": case.image.astype(np.float32),
        "soft": soft,
        "binary": binary.astype(np.uint8),
        "trimap": np.asarray(sm.trimap, dtype=np.uint8),
        "consensus": case.consensus.astype(np.uint8),
        "true_alpha": case.true_alpha.astype(np.float32),
        "readers": readers,
        "n_readers": case.readers.shape[0],
        "recist": case.recist.as_deeplesion().astype(np.float32),
        "notes": "; ".join(sm.notes),
    }


_WORKER_INDEX: NoduleIndex | None = None


def _init_worker() -> None:
    global _WORKER_INDEX
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER_INDEX = load_nodule_index(progress=False)


def _build_chunk(ids: list[str], spec: DatasetSpec) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
    assert _WORKER_INDEX is not None
    good, bad = [], []
    for nid in ids:
        try:
            good.append((nid, build_case(_WORKER_INDEX[nid], spec)))
        except Exception as exc:  # a bad case is skipped and reported, never fatal for the batch
            bad.append((nid, f"{type(exc).__name__}: {exc}"))
    return good, bad


def build_rows(ids: list[str], spec: DatasetSpec, *, workers: int | None = None, progress: bool = True,
               index: NoduleIndex | None = None) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]]]:
    """Render + label many nodules on all cores; returns (rows by id, skipped (id, reason))."""
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        global _WORKER_INDEX
        _WORKER_INDEX = index or load_nodule_index(progress=False)
    rows, skipped = map_chunks(partial(_build_chunk, spec=spec), ids, workers=workers,
                               chunk=max(8, len(ids) // (workers * 8) or 1), initializer=_init_worker,
                               desc=f"building {spec.name}", unit="case", progress=progress)
    return rows, skipped


# --------------------------------------------------------------------------------------------
# the dataset on disk
# --------------------------------------------------------------------------------------------
class SoftMaskDataset:
    """A built dataset: arrays (N, S, S), ids, patients, split labels and the manifest."""

    def __init__(self, arrays: dict[str, np.ndarray], manifest: dict[str, Any], path: Path | None = None) -> None:
        self.arrays = arrays
        self.manifest = manifest
        self.path = path

    def __len__(self) -> int:
        return int(self.arrays["image"].shape[0])

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    @property
    def ids(self) -> list[str]:
        return [str(x) for x in self.arrays["nodule_id"]]

    def indices(self, split: str) -> np.ndarray:
        """Row indices of one split (``train`` / ``val`` / ``test``)."""
        if split not in SPLIT_NAMES:
            raise ValueError(f"split must be one of {SPLIT_NAMES}, got {split!r}")
        return np.flatnonzero(self.arrays["split"] == split)

    def subset(self, split: str) -> dict[str, np.ndarray]:
        """All arrays restricted to one split."""
        idx = self.indices(split)
        return {k: v[idx] for k, v in self.arrays.items()}

    @property
    def counts(self) -> dict[str, int]:
        return {s: int((self.arrays["split"] == s).sum()) for s in SPLIT_NAMES}


def dataset_dir(spec: DatasetSpec) -> Path:
    """Cache folder of one spec."""
    return cache_dir() / "datasets" / f"{spec.name}-{spec.key()}"


def build_dataset(spec: DatasetSpec, *, index: NoduleIndex | None = None, workers: int | None = None,
                  progress: bool = True) -> SoftMaskDataset:
    """Select, render, label and write one dataset (atomically: arrays, then manifest last)."""
    t0 = time.perf_counter()
    index = index or load_nodule_index(progress=progress)
    split = select_split(spec, index)
    labels = split.split_of()
    ids = [nid for s in SPLIT_NAMES for nid in split.nodules[s]]
    rows, skipped = build_rows(ids, spec, workers=workers, progress=progress, index=index)
    kept = [nid for nid in ids if nid in rows]
    if not kept:
        raise RuntimeError(f"{spec.name}: every case failed; first reasons: {skipped[:3]}")
    arrays = {k: np.stack([rows[n][k] for n in kept]) for k in rows[kept[0]] if k != "notes"}
    arrays["nodule_id"] = np.array(kept)
    arrays["patient_id"] = np.array([index[n].patient_id for n in kept])
    arrays["split"] = np.array([labels[n] for n in kept])
    out = dataset_dir(spec)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(out / "arrays.npz", buf.getvalue())
    split.save(out / "split.json")
    seconds = time.perf_counter() - t0
    manifest = {
        "spec": asdict(spec), "key": spec.key(), "source": "phantom",
        "requested": dict(zip(SPLIT_NAMES, spec.split)),
        "counts": {s: int(sum(labels[n] == s for n in kept)) for s in SPLIT_NAMES},
        "patients": {s: len(split.patients[s]) for s in SPLIT_NAMES},
        "skipped": [{"nodule_id": n, "reason": r} for n, r in skipped],
        "split_notes": split.notes,
        "case_notes": {n: rows[n]["notes"] for n in kept if rows[n]["notes"]},
        "build_seconds": round(seconds, 2),
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))  # written last: marks completion
    return SoftMaskDataset(arrays, manifest, out)


def load_or_build(spec: DatasetSpec, *, progress: bool = True, workers: int | None = None) -> SoftMaskDataset:
    """The dataset of ``spec`` from the cache, built first when missing or incomplete."""
    out = dataset_dir(spec)
    if (out / "manifest.json").exists() and (out / "arrays.npz").exists():
        with np.load(out / "arrays.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return SoftMaskDataset(arrays, json.loads((out / "manifest.json").read_text()), out)
    return build_dataset(spec, progress=progress, workers=workers)


#: The paper's split sizes (train, val, test), for tables that print "paper" next to "ours".
PAPER_SPLITS = {"lnsm_style": (1000, 100, 400), "lidc_style": (387, 55, 544)}


def summary_rows(datasets: list[SoftMaskDataset]) -> list[dict[str, Any]]:
    """One row per dataset: nodules and patients per split, next to the paper's counts."""
    rows = []
    for ds in datasets:
        m = ds.manifest
        name = m["spec"]["name"]
        paper = dict(zip(SPLIT_NAMES, PAPER_SPLITS[name]))
        for s in SPLIT_NAMES:
            rows.append({"dataset": name, "split": s, "nodules": m["counts"][s], "requested": m["requested"][s],
                         "paper": paper[s], "patients": m["patients"][s]})
        rows.append({"dataset": name, "split": "skipped", "nodules": len(m["skipped"]), "requested": None,
                     "paper": None, "patients": None})
    return rows


def export_split(ds: SoftMaskDataset, folder: Path) -> Path:
    """Copy a dataset's split file next to the results (small JSON, meant to be committed)."""
    if ds.path is None:
        raise ValueError("dataset has no cache folder; build it with load_or_build first")
    name = ds.manifest["spec"]["name"]
    return atomic_write_text(Path(folder) / f"split_{name}.json", (ds.path / "split.json").read_text())
