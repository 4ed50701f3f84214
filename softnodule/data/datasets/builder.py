"""The two Soft Mask datasets of the paper, built from any image source (`DatasetSpec.source`).

* ``lnsm_style`` (stand-in for the paper's DeepLesion-based LNSM): strategy (3), RECIST ->
  GrabCut -> trimap -> closed-form Soft Mask; binary ground truth = the Soft Mask binarised at
  0.5, as in the paper; paper split 1000 / 100 / 400 (train / val / test). On real LIDC images the
  RECIST comes from ONE reader's outline (DeepLesion has one radiologist per lesion); on the
  phantom from the consensus shape; on DeepLesion from its own RECIST and its own split.
* ``lidc_style``: strategy (2), the real readers' masks -> trimap -> Soft Mask; binary ground
  truth = the 50 % consensus, as in the paper; nodules with 2-4 readers; paper split 387 / 55 / 544.

On LIDC sources the two draw from disjoint patient pools (`splits.make_patient_pools`) over the
nodules the source can show. Each build is cached under the hash of its spec, source included
(``SOFTNODULE_CACHE/datasets/<name>-<source>-<hash>/``): ``arrays.npz`` (compressed), ``manifest.json``
(spec, source, counts, skipped cases with reasons, timing) and the split file. Cases that fail are
skipped and counted by reason, never fatal. ``true_alpha`` is stored only when the source knows it.
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

from ...config import Profile, cache_dir, get_profile
from ...io import atomic_write_bytes, atomic_write_text
from ..case import NoduleCase, NoduleRecord
from ..lidc.index import INDEX_VERSION, NoduleIndex, load_nodule_index
from ..parallel import map_chunks
from ..sources import check_source_name
from ..sources.nodule_sources import NoduleSource, open_nodule_source
from .splits import (
    SPLIT_NAMES,
    Split,
    fits_crop,
    make_patient_pools,
    patient_level_split,
)

#: Bump when rendering or labelling changes, so cached datasets are rebuilt.
DATASET_CODE_VERSION = 2
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
    source: str = "phantom"

    def __post_init__(self) -> None:
        check_source_name(self.source)

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
def select_split(spec: DatasetSpec, index: NoduleIndex, source: NoduleSource | None = None) -> Split:
    """The patient-level split of usable nodules from this spec's patient pool.

    Only nodules the source can show take part, in the pools as in the splits (``source`` None means
    every nodule of the index, i.e. the phantom).
    """
    records = index.records if source is None else source.available()
    pools = make_patient_pools(records, spec.lidc_pool_nodules, min_readers=spec.lidc_min_readers,
                               crop=spec.crop, seed=spec.seed)
    if spec.name == "lidc_style":
        pool = set(pools.lidc)
        ok = [r for r in records if r.patient_id in pool and spec.lidc_min_readers <= r.n_readers <= MAX_READERS
              and fits_crop(r, spec.crop)]
    else:
        pool = set(pools.lnsm)
        ok = [r for r in records if r.patient_id in pool and fits_crop(r, spec.crop)]
    split = patient_level_split(ok, spec.split, name=spec.name, seed=spec.seed)
    split.notes.insert(0, f"pool rule: {pools.rule}; {len(ok)} usable nodules in this pool "
                          f"(source {spec.source}: {len(records)} of {len(index.records)} nodules available)")
    return split


# --------------------------------------------------------------------------------------------
# labelling one case
# --------------------------------------------------------------------------------------------
def label_case(case: NoduleCase, spec: DatasetSpec, recist=None):
    """Soft Mask of one case by the spec's strategy (2: readers, 3: RECIST, ``case.recist`` by default)."""
    from ...matting.pipeline import soft_mask_from_readers, soft_mask_from_recist

    kw = {"eps": spec.eps, "radius": spec.radius}
    if spec.strategy == 2:
        if case.readers.shape[0] == 0:
            raise ValueError(f"{case.case_id}: strategy (2) needs reader masks; source {case.source} has none")
        return soft_mask_from_readers(case.image, case.readers, **kw)
    if spec.strategy == 3:
        return soft_mask_from_recist(case.image, recist or case.recist, erode_px=spec.erode_px,
                                     dilate_px=spec.dilate_px, seed=spec.seed, **kw)
    raise ValueError(f"strategy must be 2 (readers) or 3 (RECIST) for {spec.name}, got {spec.strategy}")


def case_row(case: NoduleCase, spec: DatasetSpec, recist_reader: int | None = None) -> dict[str, Any]:
    """Label one case; returns the arrays of one dataset row (``true_alpha`` only when the source has it).

    ``recist_reader``: for strategy (3), measure RECIST on that one reader's mask instead of the consensus.
    """
    from ..recist import measure_recist

    recist = case.recist
    if spec.strategy == 3 and recist_reader is not None:
        recist = measure_recist(case.readers[recist_reader], case.spacing_mm)
    sm = label_case(case, spec, recist)
    soft = np.asarray(sm.alpha, dtype=np.float32)
    binary = case.consensus if spec.strategy == 2 else soft >= 0.5
    consensus = case.consensus if case.consensus is not None else soft >= 0.5
    readers = np.zeros((MAX_READERS, spec.crop, spec.crop), bool)
    readers[: min(MAX_READERS, case.readers.shape[0])] = case.readers[:MAX_READERS]
    row = {
        "image": case.image.astype(np.float32),
        "soft": soft,
        "binary": binary.astype(np.uint8),
        "trimap": np.asarray(sm.trimap, dtype=np.uint8),
        "consensus": consensus.astype(np.uint8),
        "readers": readers,
        "n_readers": case.readers.shape[0],
        "recist": recist.as_deeplesion().astype(np.float32),
        "notes": "; ".join(sm.notes),
    }
    if case.true_alpha is not None:
        row["true_alpha"] = case.true_alpha.astype(np.float32)
    return row


def build_case(record: NoduleRecord, spec: DatasetSpec, source: NoduleSource | None = None) -> dict[str, Any]:
    """Load (or render) and label one nodule from the spec's source; returns one dataset row."""
    source = source or _WORKER_SOURCE
    if source is None or source.name != spec.source:
        raise RuntimeError(f"build_case needs the opened {spec.source!r} source")
    case = source.case(record, size=spec.crop, seed=spec.seed, appearance=spec.appearance)
    return case_row(case, spec, source.recist_reader(case))


_WORKER_INDEX: NoduleIndex | None = None
_WORKER_SOURCE: NoduleSource | None = None


def _init_worker(source_name: str = "phantom") -> None:
    global _WORKER_INDEX, _WORKER_SOURCE
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER_INDEX = load_nodule_index(progress=False)
    _WORKER_SOURCE = open_nodule_source(source_name, _WORKER_INDEX, progress=False)


def _build_chunk(ids: list[str], spec: DatasetSpec) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
    assert _WORKER_INDEX is not None
    good, bad = [], []
    for nid in ids:
        try:
            good.append((nid, build_case(_WORKER_INDEX[nid], spec, _WORKER_SOURCE)))
        except Exception as exc:  # a bad case is skipped and reported, never fatal for the batch
            bad.append((nid, f"{type(exc).__name__}: {exc}"))
    return good, bad


def build_rows(ids: list[str], spec: DatasetSpec, *, workers: int | None = None, progress: bool = True,
               index: NoduleIndex | None = None, source: NoduleSource | None = None,
               client=None) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]]]:
    """Load + label many nodules on all cores, or on a Dask ``client``'s workers; (rows by id, skipped (id, reason))."""
    if client is not None:
        workers = len(client.scheduler_info()["workers"]) or 1
    workers = workers or os.cpu_count() or 1
    if workers == 1 and client is None:
        global _WORKER_INDEX, _WORKER_SOURCE
        _WORKER_INDEX = index or load_nodule_index(progress=False)
        _WORKER_SOURCE = source or open_nodule_source(spec.source, _WORKER_INDEX, progress=False)
    rows, skipped = map_chunks(partial(_build_chunk, spec=spec), ids, workers=workers,
                               chunk=max(8, len(ids) // (workers * 8) or 1),
                               initializer=partial(_init_worker, spec.source),
                               desc=f"building {spec.name} ({spec.source})", unit="case", progress=progress,
                               client=client)
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
    return cache_dir() / "datasets" / f"{spec.name}-{spec.source}-{spec.key()}"


def skip_reasons(skipped: list[tuple[str, str]]) -> dict[str, int]:
    """``{reason: count}`` of skipped cases (the case id is taken out of each message so reasons group)."""
    out: dict[str, int] = {}
    for nid, reason in skipped:
        key = reason.replace(nid, "<case>").replace(nid.split("@")[0], "<case>")
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _deeplesion_selection(spec: DatasetSpec) -> tuple[Split, dict[str, Any], Path, dict[str, int]]:
    """DeepLesion's own patient-level split, whole patients taken until each split holds its request."""
    from ..sources.deeplesion import deeplesion_root, deeplesion_split, read_dl_info

    root = deeplesion_root()
    if root is None:
        raise RuntimeError("source deeplesion: set SOFTNODULE_DEEPLESION_DIR to the folder holding DL_info.csv "
                           "and Images_png/")
    rows, skipped_rows = read_dl_info(root / "DL_info.csv")
    by_id = {r.lesion_id: r for r in rows}
    theirs = deeplesion_split(rows)
    nodules: dict[str, list[str]] = {s: [] for s in SPLIT_NAMES}
    patients: dict[str, list[str]] = {s: [] for s in SPLIT_NAMES}
    for s, want in zip(SPLIT_NAMES, spec.split):
        for lid in theirs[s]:
            pid = by_id[lid].patient_id
            if pid not in patients[s]:
                if len(nodules[s]) >= want:
                    continue
                patients[s].append(pid)
            nodules[s].append(lid)
    split = Split(spec.name, nodules, patients, spec.split, spec.seed,
                  [f"DeepLesion's own Train_Val_Test split (patient-level), whole patients until each split holds "
                   f"its request; {len(rows)} lung lesions in DL_info.csv"])
    split.check_disjoint()
    return split, by_id, root, skipped_rows.as_dict()


def _deeplesion_chunk(ids: list[str], spec: DatasetSpec, rows: dict[str, Any], root: Path):
    from ..sources.deeplesion import deeplesion_case

    good, bad = [], []
    for lid in ids:
        try:
            good.append((lid, case_row(deeplesion_case(rows[lid], root, spec.crop), spec)))
        except Exception as exc:  # a bad lesion is skipped and counted, never fatal for the batch
            bad.append((lid, f"{type(exc).__name__}: {exc}"))
    return good, bad


def _no_setup() -> None:
    """DeepLesion chunks read their files directly: no per-worker state."""


def build_dataset(spec: DatasetSpec, *, index: NoduleIndex | None = None, workers: int | None = None,
                  progress: bool = True, client=None) -> SoftMaskDataset:
    """Select, load, label and write one dataset (atomically: arrays, then manifest last).

    ``client``: a Dask client whose workers label the cases (same arrays as a local build, bit for bit).

    Raises
    ------
    SourceUnavailableError
        When ``spec.source`` has no data here (never replaced by another source).
    """
    t0 = time.perf_counter()
    source_info: dict[str, Any] = {}
    if spec.source == "deeplesion" and spec.strategy != 3:
        raise ValueError(f"{spec.name}: DeepLesion has one radiologist's RECIST per lesion and no reader masks, so "
                         f"only strategy (3) sets (lnsm) can be built from it, not strategy ({spec.strategy})")
    if spec.source == "deeplesion":
        split, dl_rows, root, source_skipped = _deeplesion_selection(spec)
        ids = [nid for s in SPLIT_NAMES for nid in split.nodules[s]]
        rows, skipped = map_chunks(partial(_deeplesion_chunk, spec=spec, rows=dl_rows, root=root), ids, workers=1,
                                   chunk=16 if client is not None else 1, initializer=_no_setup,
                                   desc=f"building {spec.name} (deeplesion)", progress=progress, client=client)
        patient_of = {lid: r.patient_id for lid, r in dl_rows.items()}
        source_info = {"dl_info_skipped": source_skipped}
    else:
        index = index or load_nodule_index(progress=progress)
        source = open_nodule_source(spec.source, index, progress=progress)
        split = select_split(spec, index, source)
        ids = [nid for s in SPLIT_NAMES for nid in split.nodules[s]]
        rows, skipped = build_rows(ids, spec, workers=workers, progress=progress, index=index, source=source,
                                   client=client)
        patient_of = {n: index[n].patient_id for n in ids}
        source_info = source.info()
    labels = split.split_of()
    kept = [nid for nid in ids if nid in rows]
    if not kept:
        raise RuntimeError(f"{spec.name} ({spec.source}): every case failed; first reasons: {skipped[:3]}")
    arrays = {k: np.stack([rows[n][k] for n in kept]) for k in rows[kept[0]] if k != "notes"}
    arrays["nodule_id"] = np.array(kept)
    arrays["patient_id"] = np.array([patient_of[n] for n in kept])
    arrays["split"] = np.array([labels[n] for n in kept])
    out = dataset_dir(spec)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(out / "arrays.npz", buf.getvalue())
    split.save(out / "split.json")
    seconds = time.perf_counter() - t0
    manifest = {
        "spec": asdict(spec), "key": spec.key(), "source": spec.source,
        "requested": dict(zip(SPLIT_NAMES, spec.split)),
        "counts": {s: int(sum(labels[n] == s for n in kept)) for s in SPLIT_NAMES},
        "patients": {s: len(split.patients[s]) for s in SPLIT_NAMES},
        "skipped": [{"nodule_id": n, "reason": r} for n, r in skipped],
        "skipped_by_reason": skip_reasons(skipped),
        "source_info": source_info,
        "split_notes": split.notes,
        "case_notes": {n: rows[n]["notes"] for n in kept if rows[n]["notes"]},
        "build_seconds": round(seconds, 2),
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))  # written last: marks completion
    return SoftMaskDataset(arrays, manifest, out)


def load_or_build(spec: DatasetSpec, *, progress: bool = True, workers: int | None = None,
                  client=None) -> SoftMaskDataset:
    """The dataset of ``spec`` from the cache, built first when missing or incomplete (``client``: on Dask)."""
    out = dataset_dir(spec)
    if (out / "manifest.json").exists() and (out / "arrays.npz").exists():
        with np.load(out / "arrays.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return SoftMaskDataset(arrays, json.loads((out / "manifest.json").read_text()), out)
    return build_dataset(spec, progress=progress, workers=workers, client=client)


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
