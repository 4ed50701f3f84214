"""A training a profile needs, as a job: its cache key, what it trains, its state, and how to run it anywhere.

A `Job` carries *coordinates* (profile, image source, dataset, variant, seed, config overrides), plain
JSON, not tensors: any process that sees the same cache (a Dask worker on another machine included)
rebuilds the same inputs from them with `segmenter_inputs` / `teacher_inputs` and trains through the
very function the notebooks call (`train_segmenter`, `train_sr`). A job checks that the key it rebuilt is
the key the plan computed, so a worker with other data or code fails loudly instead of training
something else.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..config import Profile
from ..train.checkpoints import read_progress, read_result
from .locks import holder, is_held

#: job states, in the order a summary lists them
STATUSES: tuple[str, ...] = ("done", "running", "partial", "todo", "blocked")


@dataclass
class Job:
    """One training of a profile's plan.

    Attributes
    ----------
    key : str
        The run's cache key (content hash of its config, data and teacher); ``""`` while blocked.
    kind : str
        ``"segmenter"``, ``"sr_teacher"`` or ``"lgan"``.
    folder : str
        The run folder (relative to the cache) where its checkpoints and result live.
    label : str
        What it trains, for people.
    coords : dict
        How to rebuild its inputs (JSON-able; see `segmenter_inputs`).
    notebooks : list of str
        The notebooks (number prefixes) that read the run.
    status : str
        One of `STATUSES`: done, running (its lock is held), partial (stopped after ``last_epoch``), todo,
        blocked (waits for ``after``).
    est_seconds, est_basis : float or None, str
        Training time still to go, and what it was estimated from (`plan._estimate`).
    iters_per_epoch : int or None
        Optimiser steps per epoch (training images / batch size), for the estimate.
    """

    key: str
    kind: str
    folder: str
    label: str
    coords: dict[str, Any]
    notebooks: list[str] = field(default_factory=list)
    status: str = "todo"
    last_epoch: int | None = None
    max_epochs: int | None = None
    est_seconds: float | None = None
    est_basis: str = ""
    iters_per_epoch: int | None = None
    after: list[str] = field(default_factory=list)
    note: str = ""

    def row(self) -> dict[str, Any]:
        """JSON-able record (`softnodule plan --json`)."""
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- coordinates -> inputs


def profile_dict(profile: Profile) -> dict[str, Any]:
    """A profile as JSON-able coordinates (tests use modified profiles, so the name is not enough)."""
    return profile.as_dict()


def profile_from(d: dict[str, Any]) -> Profile:
    """Inverse of `profile_dict` (JSON turns tuples into lists)."""
    return Profile(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def _frozen(d: dict[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in d.items()))


@lru_cache(maxsize=8)
def _context(profile_items: tuple, source: str):
    from ..experiments.engine.notebook_data import NotebookData

    return NotebookData(profile_from(dict(profile_items)), source, progress=False)


def job_data(coords: dict[str, Any]):
    """The notebook data (profile, source, datasets, index) of a job, loaded once per process."""
    return _context(_frozen(coords["profile"]), coords["source"])


#: datasets a job can name: the notebooks' two nodule sets and Table VII's cross-validation folds
JOB_DATASETS: tuple[str, ...] = ("lnsm", "lidc", "isbi", "promise12")


def dataset_of(coords: dict[str, Any]):
    """The base dataset a job trains on, from the cache (built if missing).

    ``"lnsm"`` / ``"lidc"``: the profile's nodule sets. ``"isbi"`` / ``"promise12"``: one fold of Table VII's
    cross-validation, ``coords["data_args"] = {"fold": k, "size": side}`` (as notebook 08 builds it).
    """
    name = coords["dataset"]
    if name not in JOB_DATASETS:
        raise ValueError(f"unknown dataset {name!r} in job coordinates; expected one of {', '.join(JOB_DATASETS)}")
    if name in ("isbi", "promise12"):
        args = coords["data_args"]
        return _fold(name, int(args["fold"]), int(args["size"]))
    return getattr(job_data(coords), name)


@lru_cache(maxsize=16)
def _fold(name: str, fold: int, size: int):
    if name == "isbi":
        from ..data.datasets.isbi import isbi_dataset, require_isbi_root

        return isbi_dataset(fold, size=size, root=require_isbi_root(), progress=False)
    from ..data.datasets.promise12 import promise12_dataset, promise12_root

    root = promise12_root()
    if root is None:
        raise FileNotFoundError("PROMISE12 is not configured on this machine (SOFTNODULE_PROMISE12_DIR)")
    return promise12_dataset(fold, size=size, root=root, progress=False)


def teacher_inputs(coords: dict[str, Any]):
    """``(SRConfig, train images, held-out images)`` of the profile's SR teacher (as notebook 02 builds them)."""
    from ..data.datasets.sr_pairs import sr_training_sets
    from ..train.sr import SRConfig

    data = job_data(coords)
    p = data.profile
    cfg = SRConfig.for_profile(p)
    train, held = sr_training_sets([data.lnsm, data.lidc], data.index, n_phantom=p.sr_images, size=p.sr_hr_size,
                                   seed=cfg.seed, use_real=True, progress=False)
    return cfg, train, held


@lru_cache(maxsize=8)
def _teacher(profile_items: tuple, source: str):
    from ..train.sr import train_sr

    coords = {"profile": dict(profile_items), "source": source}
    return train_sr(*teacher_inputs(coords), progress=False)


def teacher_of(coords: dict[str, Any]):
    """The profile's trained SR teacher (loaded from the cache; trained here if missing)."""
    return _teacher(_frozen(coords["profile"]), coords["source"])


def segmenter_inputs(coords: dict[str, Any], teacher=None, *, identity_only: bool = False):
    """``(SegConfig, dataset, teacher)`` of a segmenter job, exactly as the table notebooks build them.

    ``coords["casgan"] = {"lr", "extra_sr_steps"}``: a CasGAN-table run (`casgan.tables.lr_variant`);
    ``coords["prior"]``: the coordinates of the frozen CasGAN whose Soft Mask is the cascade's second
    channel (`casgan.tables.prior_dataset`), with ``coords["prior_key"]`` its key. ``identity_only``
    (the plan): derived data is only named and keyed (`table_runs.DatasetIdentity`), never built, so a
    cascade job is keyed without running its prior.
    """
    from ..experiments.engine.table_runs import VARIANTS, variant_config, variant_dataset, variant_identity
    from ..models.registry import model_spec

    p = profile_from(coords["profile"])
    v = VARIANTS[coords["variant"]]
    cas = coords.get("casgan")
    if cas is not None:
        from ..experiments.casgan.tables import lr_variant

        v = lr_variant(coords["variant"], float(cas["lr"]), bool(cas["extra_sr_steps"]))
    cfg = replace(variant_config(v, p, int(coords["seed"])), **coords.get("config", {}))
    base = dataset_of(coords)
    if "prior" in coords:
        from ..experiments.casgan.tables import prior_dataset, prior_identity

        if identity_only:
            base = prior_identity(base, coords["prior_key"])
        else:
            from ..train.segmentation import train_segmenter

            prior = train_segmenter(*segmenter_inputs(coords["prior"]), progress=False)  # finished: loads
            if prior.key != coords["prior_key"]:
                raise KeyMismatch(f"the cascade prior rebuilt here has key {prior.key}, the plan says "
                                  f"{coords['prior_key']}; re-plan on this machine")
            base = prior_dataset(base, prior)
    data = variant_identity(v, base) if identity_only else variant_dataset(v, base)
    needs_sr = model_spec(v.model).needs_sr
    return cfg, data, (teacher if teacher is not None else teacher_of(coords)) if needs_sr else None


def needs_teacher(job: Job) -> bool:
    """Whether ``job`` reads the profile's SR teacher: an SR model, or a cascade whose prior is one.

    Executors start such a job only after the teacher's own job, so a worker never waits on its lock."""
    if job.kind != "segmenter":
        return False
    from ..experiments.engine.table_runs import VARIANTS
    from ..models.registry import model_spec

    coords = job.coords
    while True:
        if model_spec(VARIANTS[coords["variant"]].model).needs_sr:
            return True
        if "prior" not in coords:
            return False
        coords = coords["prior"]


def lgan_inputs(coords: dict[str, Any]):
    """``(LGANConfig, dataset)`` of an LGAN job, as notebook 14 builds them (the phantom lung slices).

    ``coords``: profile, ``structure``, ``seed`` and ``lipschitz`` (an option of
    `experiments.lgan.structures.LIPSCHITZ_OPTIONS`; the critic-free ``unet`` ignores it).
    """
    from ..experiments.lgan.structures import lipschitz_overrides
    from ..train.lgan import lgan_config

    structure = coords["structure"]
    cfg = lgan_config(structure, profile_from(coords["profile"]), seed=int(coords["seed"]),
                      **lipschitz_overrides(structure, coords["lipschitz"]))
    return cfg, _lgan_dataset(_frozen(coords["profile"]))


@lru_cache(maxsize=4)
def _lgan_dataset(profile_items: tuple):
    from ..data.datasets.lung_slices import load_lgan_dataset

    return load_lgan_dataset(profile_from(dict(profile_items)), progress=False)


# --------------------------------------------------------------------------- state


def state_of(folder: Path) -> tuple[str, int | None]:
    """``(status, last finished epoch)`` of a run folder, from its files and its lock (nothing is loaded)."""
    if read_result(folder) is not None:
        return "done", None
    progress = read_progress(folder) if folder.exists() else None
    epoch = progress["epoch"] if progress else None
    if is_held(folder):
        return "running", epoch
    if progress or (folder / "last.pt").exists():
        return "partial", epoch
    return "todo", None


def refresh(job: Job, root: Path) -> Job:
    """Re-read a job's state from the cache at ``root``."""
    if job.status == "blocked":
        return job
    job.status, job.last_epoch = state_of(root / job.folder)
    if job.status == "running":
        who = holder(root / job.folder) or {}
        job.note = f"locked by host {who.get('host', '?')} pid {who.get('pid', '?')}"
    return job


# --------------------------------------------------------------------------- running one job


class KeyMismatch(RuntimeError):
    """A worker rebuilt a job whose key differs from the plan's (other data, code or profile)."""


def run_job(job_row: dict[str, Any], *, threads: int | None = None, device: str = "auto") -> dict[str, Any]:
    """Train one job from its plan record (in this process); returns ``{"key", "status", "seconds", ...}``.

    Picklable entry point for every executor. ``threads`` sets torch's thread count for the job. A key
    that differs from the plan's raises `KeyMismatch` before anything is trained.
    """
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    t0 = time.perf_counter()
    coords, kind = job_row["coords"], job_row["kind"]
    if kind == "sr_teacher":
        from ..train.sr import sr_run, train_sr

        inputs = teacher_inputs(coords)
        key = sr_run(*inputs)[0]
        _check(key, job_row)
        result = train_sr(*inputs, device=device, progress=False).result
    elif kind == "segmenter":
        from ..train.segmentation import segmenter_run, train_segmenter

        cfg, data, teacher = segmenter_inputs(coords)
        _check(segmenter_run(cfg, data, teacher)[0], job_row)
        result = train_segmenter(cfg, data, teacher, device=device, progress=False).result
    elif kind == "lgan":
        from ..train.lgan import lgan_run, train_lgan

        cfg, data = lgan_inputs(coords)
        _check(lgan_run(cfg, data)[0], job_row)
        result = train_lgan(cfg, data, device=device, progress=False).result
    else:
        raise ValueError(f"unknown job kind {kind!r}")
    return {"key": job_row["key"], "label": job_row["label"], "status": "done",
            "seconds": round(time.perf_counter() - t0, 1), "best_epoch": result.get("best_epoch"),
            "stopped_epoch": result.get("stopped_epoch"), "stop_reason": result.get("stop_reason")}


def _check(key: str, job_row: dict[str, Any]) -> None:
    if key != job_row["key"]:
        raise KeyMismatch(f"job {job_row['label']!r}: this process computes key {key}, the plan says "
                          f"{job_row['key']}: its data, code or cache differ from the planner's (same commit? same "
                          "SOFTNODULE_CACHE and data paths?); re-plan on this machine")
