"""The plan: every training a profile's notebooks need, as jobs keyed by their cache keys.

`plan` walks the same building blocks the notebooks call (the table modules' ``VARIANT_NAMES`` and
``claim_variants``, `table_runs.seeds_for`, `table_runs.variant_config`, the SR teacher's inputs) and
computes each run's key WITHOUT training: a job is ``done`` (its result is cached), ``running`` (another
process holds its lock), ``partial`` (stopped after ``last_epoch``; it resumes), ``todo``, or ``blocked``
when it depends on a decision taken on validation numbers that do not exist yet (Table I/II's best
baseline: its extra seeds are known once every baseline's seed 0 has trained).

Covered: the SR teacher (02), DSNet Tables I-V and the conference ablation (04-07, 11), Table VII's
cross-validation folds on the datasets present here (08: ISBI 2012, PROMISE12 when configured), Table VIII
and the fast-path check (09), the walk-through runs of 03 and 10 (the same runs as the tables' seed 0).
LGAN (14): the Lipschitz decision's runs, then every structure and seed with the option chosen on
validation (``blocked`` until the decision's runs are done). CasGAN (12): its SR depth rule, each table's
lr sweep, rows, priors and cascade rows, each step planned once the runs its decision reads are done
(`_casgan`). Cascade runs are keyed from their prior's key (`casgan.tables.prior_identity`) without
running the prior. Every notebook's runs are planned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..config import Profile, cache_dir
from ..io import atomic_write_text
from .jobs import Job, dataset_of, lgan_inputs, profile_dict, refresh, segmenter_inputs, teacher_inputs

#: notebooks the plan covers, and the ones whose trainings happen inside the notebook for now
PLANNED_NOTEBOOKS: tuple[str, ...] = ("02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "14")
UNPLANNED_NOTEBOOKS: tuple[str, ...] = ()


def _dsnet_tables() -> list[tuple[str, ModuleType, tuple[str, ...]]]:
    """(notebook, table module, columns) exactly as the table notebooks call ``nb.run``."""
    from ..experiments.dsnet import (
        table1_lnsm,
        table2_lidc,
        table3_ablation,
        table3_conference,
        table4_soft_labels,
        table5_drtm,
    )

    both = ("lnsm", "lidc")
    return [("04", table1_lnsm, ("lnsm",)), ("05", table3_ablation, both), ("05", table3_conference, both),
            ("06", table4_soft_labels, both), ("07", table5_drtm, both), ("11", table2_lidc, ("lidc",))]


@dataclass(frozen=True)
class TeacherRef:
    """What a segmenter's cache key needs of the SR teacher (its key and factor), before it is trained."""

    key: str
    config: Any


@dataclass(frozen=True)
class _Finished:
    """A finished run's result, enough for a validation decision (`comparison.best_baseline`)."""

    result: dict[str, Any]


def _where(dataset: str, data_args: dict[str, Any] | None) -> str:
    """A job's data for people: ``lnsm``, or ``isbi fold 2``."""
    return dataset + (f" fold {data_args['fold']}" if data_args else "")


class _Planner:
    def __init__(self, profile: Profile, source: str) -> None:
        self.profile, self.source = profile, source
        self.base = {"profile": profile_dict(profile), "source": source}
        self.root = cache_dir()
        self.jobs: dict[str, Job] = {}
        self.teacher: TeacherRef | None = None

    def add(self, job: Job, notebook: str) -> Job:
        have = self.jobs.get(job.key or job.label)
        if have is None:
            have = self.jobs[job.key or job.label] = refresh(job, self.root)
        if notebook not in have.notebooks:
            have.notebooks.append(notebook)
        return have

    def sr_teacher(self, notebook: str = "02") -> Job:
        from ..train.sr import sr_run

        cfg, train, held = teacher_inputs(self.base)
        key, folder = sr_run(cfg, train, held)
        self.teacher = TeacherRef(key, cfg)
        job = Job(key, "sr_teacher", str(folder.relative_to(self.root)), f"SR teacher x{cfg.factor}",
                  dict(self.base), max_epochs=cfg.epochs)
        return self.add(job, notebook)

    def segmenter(self, notebook: str, dataset: str, variant: str, seed: int, label: str = "",
                  data_args: dict[str, Any] | None = None, more: dict[str, Any] | None = None,
                  **config: Any) -> Job:
        """A segmenter job; ``more``: further coordinates (a CasGAN run's lr and depth rule, its prior)."""
        from ..train.segmentation import segmenter_run

        coords = {**self.base, "dataset": dataset, "variant": variant, "seed": int(seed), "config": config,
                  **(more or {})}
        if data_args:
            coords["data_args"] = data_args
        cfg, data, teacher = segmenter_inputs(coords, teacher=self.teacher, identity_only=True)
        key, folder = segmenter_run(cfg, data, teacher)
        extra = "".join(f", {k}={v}" for k, v in config.items())
        job = Job(key, "segmenter", str(folder.relative_to(self.root)),
                  label or f"{variant} on {_where(dataset, data_args)}, seed {seed}{extra}", coords,
                  max_epochs=cfg.epochs,
                  iters_per_epoch=-(-dataset_of(coords).counts["train"] // cfg.batch_size))
        return self.add(job, notebook)

    def casgan(self, dataset: str, variant: str, seed: int, lr: float, extra_sr_steps: bool,
               data_args: dict[str, Any] | None = None, prior: Job | None = None) -> Job:
        """A CasGAN-table run (notebook 12): ``variant`` at ``lr`` with the SR depth rule, on the prior's data."""
        from ..experiments.casgan.tables import SR_STEP_MODELS
        from ..experiments.engine.table_runs import VARIANTS

        more: dict[str, Any] = {"casgan": {"lr": float(lr), "extra_sr_steps": bool(extra_sr_steps)}}
        if prior is not None:
            more |= {"prior": prior.coords, "prior_key": prior.key}
        label = (f"{variant} on {_where(dataset, data_args)}, seed {seed}, lr {lr:g}"
                 + ("" if extra_sr_steps or VARIANTS[variant].model not in SR_STEP_MODELS else ", same SR steps")
                 + (f", prior seed {prior.coords['seed']}" if prior is not None else ""))
        return self.segmenter("12", dataset, variant, seed, label, data_args=data_args, more=more)

    def lgan(self, notebook: str, structure: str, seed: int, lipschitz: str) -> Job:
        from ..train.lgan import lgan_run

        coords = {**self.base, "structure": structure, "seed": int(seed), "lipschitz": lipschitz}
        cfg, data = lgan_inputs(coords)
        key, folder = lgan_run(cfg, data)
        label = f"LGAN {structure}, seed {seed}" + ("" if structure == "unet" else f", {lipschitz}")
        return self.add(Job(key, "lgan", str(folder.relative_to(self.root)), label, coords, max_epochs=cfg.epochs,
                            iters_per_epoch=-(-data.counts["train"] // cfg.batch_size)), notebook)

    def finished(self, job: Job) -> _Finished | None:
        from ..train.checkpoints import read_result

        result = read_result(self.root / job.folder)
        return _Finished(result) if result is not None else None


def plan(profile: Profile, source: str | None = "auto", *, notebooks: Iterable[str] | None = None,
         bench: bool = False) -> list[Job]:
    """Every training the profile's planned notebooks need (see the module docstring), with its state.

    ``notebooks``: restrict to these number prefixes. The datasets are loaded from the cache (built first
    when missing, as the notebooks would); nothing is trained. ``bench``: time the models that have no
    finished run yet, so that every segmenter job gets an estimate (`bench_ms_per_iter`).
    """
    from ..data.sources import default_source
    from ..experiments.engine.table_runs import seeds_for

    wanted = set(notebooks) if notebooks is not None else set(PLANNED_NOTEBOOKS)
    pl = _Planner(profile, default_source(source))
    teacher_job = pl.sr_teacher()
    if "02" not in wanted:
        teacher_job.notebooks.remove("02")
    for nb, table, columns in _dsnet_tables():
        if nb not in wanted:
            continue
        for column in columns:
            claim = table.claim_variants(column)
            runs = {v: [pl.segmenter(nb, column, v, s) for s in seeds_for(v, profile, claim)]
                    for v in table.VARIANT_NAMES}
            extra = getattr(table, "extra_claim_variants", None)
            if extra is None:
                continue
            finished = {v: [pl.finished(j) for j in js] for v, js in runs.items()}
            if all(f is not None for fs in finished.values() for f in fs):
                for v in extra(finished):
                    for s in seeds_for(v, profile, {v}):
                        pl.segmenter(nb, column, v, s)
            else:
                _blocked(pl, nb, f"{table.CSV} {column}: the best baseline's extra seeds {tuple(profile.claim_seeds)}",
                         [j for js in runs.values() for j in js],
                         "chosen on VALIDATION Dice once every row's first runs are done", dataset=column)
    if "09" in wanted:
        from ..experiments.dsnet.table8_inference_time import VARIANT_NAMES as T8

        for v in T8:
            for s in seeds_for(v, profile):
                pl.segmenter("09", "lnsm", v, s)
        for s in profile.claim_seeds:  # the fast-path check: the tables' fast runs and the reference path
            pl.segmenter("09", "lidc", "dsnet", s)
            pl.segmenter("09", "lidc", "dsnet", s, fast=False)
    if "08" in wanted:
        _table7(pl, profile)
    if "12" in wanted:
        _casgan(pl, profile)
    if "14" in wanted:
        _lgan(pl, profile)
    for nb, models in (("03", ("unet", "dsnet")), ("10", ("dsnet",))):
        if nb in wanted:  # dsnet.training.train_models: SegConfig.for_profile(model, profile, seed=0)
            for m in models:
                pl.segmenter(nb, "lnsm", m, 0, epochs=profile.epochs)
    jobs = list(pl.jobs.values())
    if not teacher_job.notebooks and not any(_reads_teacher(j) for j in jobs):
        jobs.remove(teacher_job)  # e.g. LGAN alone: nothing planned reads the SR teacher
    _estimate(jobs, bench_ms_per_iter(jobs, profile, measure=bench))
    return jobs


def _reads_teacher(job: Job) -> bool:
    """A segmenter job whose model reads the SR teacher (or a blocked step that may plan one)."""
    from ..experiments.engine.table_runs import VARIANTS
    from ..models.registry import model_spec

    if job.kind != "segmenter":
        return False
    v = job.coords.get("variant")
    return job.status == "blocked" or (v in VARIANTS and model_spec(VARIANTS[v].model).needs_sr)


def _table7(pl: _Planner, profile: Profile) -> None:
    """Notebook 08: every method on every cross-validation fold of each dataset present here."""
    from ..data.datasets.isbi import isbi_root
    from ..data.datasets.promise12 import promise12_root
    from ..experiments.dsnet import table7_generalization as T7
    from ..experiments.engine.table_runs import seeds_for

    sizes = {"isbi": T7.isbi_size(profile), "promise12": profile.crop}
    present = {"isbi": isbi_root() is not None, "promise12": promise12_root() is not None}
    for name in (n for n in sizes if present[n]):  # a missing arm is reported "not run" by the notebook
        for k in range(T7.FOLDS):
            for v in T7.VARIANT_NAMES:
                for s in seeds_for(v, profile):
                    pl.segmenter("08", name, v, s, data_args={"fold": k, "size": sizes[name]})


def _blocked(pl: _Planner, notebook: str, label: str, waiting: Sequence[Job], note: str, *, kind: str = "segmenter",
             **coords: Any) -> None:
    """One ``blocked`` job: a step whose decision on validation waits for the unfinished jobs of ``waiting``."""
    pl.add(Job("", kind, "", label, {**pl.base, **coords}, status="blocked",
               after=[j.key for j in waiting if j.status != "done"], note=note), notebook)


def _casgan(pl: _Planner, profile: Profile) -> None:
    """Notebook 12, decision by decision as `casgan.tables` takes them (each on validation Dice).

    1. the SR depth rule (`depth_sweep`: full CasGAN, seed 0, both rules, Table 1's set);
    2. per table (and per Table 4 fold): every row (and the prior's CasGAN) at both learning rates, seed 0;
    3. every row's seeds at its chosen lr, Table 1's best baseline as a claim row, the priors' seeds;
    4. the cascade rows' lr sweep on the seed-0 prior's data, then their seeds, each on its seed's prior.
    A step whose inputs are not trained yet is one ``blocked`` job; plan (or train) again after them.
    """
    from ..data.datasets.isbi import isbi_root
    from ..data.datasets.promise12 import promise12_root
    from ..experiments.casgan import tables as C
    from ..experiments.dsnet.table7_generalization import isbi_size
    from ..experiments.engine.table_runs import VARIANTS

    depth_lr = dict(VARIANTS[C.SWEEP_VARIANT_DEPTH].train)["lr"]
    depth = {r: pl.casgan("lnsm", C.SWEEP_VARIANT_DEPTH, C.SWEEP_SEED, depth_lr, r) for r in C.SR_STEP_RULES}
    val = _val_dices(pl, depth)
    if val is None:
        _blocked(pl, "12", "CasGAN tables: every run, once the SR depth rule is chosen on validation",
                 list(depth.values()), "full CasGAN seed 0 with both depth rules, Table 1's set")
        return
    extra = bool(C.choose_lr(tuple(val.items())))
    tables: list[tuple[str, dict[str, Any] | None, Sequence[str], Sequence[str], Sequence[str]]] = [
        ("lnsm", None, C.TABLE1_VARIANTS, C.TABLE1_CLAIM_VARIANTS, C.TABLE1_BASELINES),
        ("lidc", None, C.TABLE3_VARIANTS, C.TABLE3_CLAIM_VARIANTS, ())]
    for name, present, side in (("isbi", isbi_root(), isbi_size(profile)), ("promise12", promise12_root(),
                                                                            profile.crop)):
        if present is not None:
            claim4 = [n for n in C.TABLE4_CLAIM_VARIANTS if n in C.TABLE4_VARIANTS]
            tables += [(name, {"fold": k, "size": side}, C.TABLE4_VARIANTS, claim4, ())
                       for k in range(C.table4_folds(profile))]
    for dataset, data_args, names, claim, baselines in tables:
        _casgan_table(pl, profile, extra, dataset, data_args, names, claim, baselines)


def _val_dices(pl: _Planner, runs: dict[Any, Job]) -> dict[Any, float] | None:
    """Validation Dice (%) at the validation threshold of each finished run, or None while one is missing."""
    finished = {k: pl.finished(j) for k, j in runs.items()}
    if any(f is None for f in finished.values()):
        return None
    from ..experiments.casgan.tables import validation_dice

    return {k: validation_dice(f) for k, f in finished.items()}  # the number casgan.tables reads


def _lr_choices(pl: _Planner, sweeps: dict[str, dict[float, Job]]) -> dict[str, Any] | None:
    """`casgan.tables.LRChoice` per swept variant, or None while a sweep run is missing."""
    from ..experiments.casgan.tables import SWEEP_SEED, LRChoice, choose_lr

    out = {}
    for n, by_lr in sweeps.items():
        val = _val_dices(pl, by_lr)
        if val is None:
            return None
        pairs = tuple((float(lr), d) for lr, d in val.items())
        out[n] = LRChoice(n, SWEEP_SEED, pairs, choose_lr(pairs))
    return out


def _casgan_table(pl: _Planner, profile: Profile, extra: bool, dataset: str, data_args: dict[str, Any] | None,
                  names: Sequence[str], claim: Sequence[str], baselines: Sequence[str]) -> None:
    """One CasGAN table's jobs, as `casgan.tables.run_table` trains them."""
    from ..experiments.casgan import tables as C
    from ..experiments.engine.table_runs import seeds_for

    where = _where(dataset, data_args)
    plain = [n for n in names if n not in C.CASCADE_VARIANTS]
    cascade = [n for n in names if n in C.CASCADE_VARIANTS]
    swept = plain + ([C.PRIOR_VARIANT] if cascade and C.PRIOR_VARIANT not in plain else [])
    sweeps = {n: {lr: pl.casgan(dataset, n, C.SWEEP_SEED, lr, extra, data_args) for lr in C.LRS} for n in swept}
    choices = _lr_choices(pl, sweeps)
    if choices is None:
        _blocked(pl, "12", f"CasGAN {where}: every row's seeds at its lr chosen on validation",
                 [j for js in sweeps.values() for j in js.values()], "each row at both lrs, seed 0")
        return
    best = C.best_by_validation(choices, [b for b in baselines if b in plain]) if baselines else None
    claim_set = frozenset(n for n in (*claim, *([best] if best else [])) if n in names)
    for n in plain:
        for s in seeds_for(n, profile, claim_set):
            pl.casgan(dataset, n, s, choices[n].lr, extra, data_args)
    if not cascade:
        return
    seeds = sorted({s for n in cascade for s in seeds_for(n, profile, claim_set)})
    priors = {s: pl.casgan(dataset, C.PRIOR_VARIANT, s, choices[C.PRIOR_VARIANT].lr, extra, data_args)
              for s in seeds}
    first = priors.get(C.SWEEP_SEED) or priors[seeds[0]]
    if pl.finished(first) is None:
        _blocked(pl, "12", f"CasGAN {where}: the cascade rows, once their prior is trained", [first],
                 "the prior's frozen Soft Mask is their second input channel")
        return
    seed0 = first.coords["seed"]
    csweeps = {n: {lr: pl.casgan(dataset, n, seed0, lr, extra, data_args, prior=first) for lr in C.LRS}
               for n in cascade}
    cchoices = _lr_choices(pl, csweeps)
    if cchoices is None:
        _blocked(pl, "12", f"CasGAN {where}: the cascade rows' seeds at their lr chosen on validation",
                 [j for js in csweeps.values() for j in js.values()], "each cascade row at both lrs")
        return
    for n in cascade:
        for s in seeds_for(n, profile, claim_set):
            if pl.finished(priors[s]) is None:
                _blocked(pl, "12", f"CasGAN {where}: {n} seed {s}, once its prior is trained", [priors[s]],
                         "seed s of a cascade row reads the prior of seed s")
            else:
                pl.casgan(dataset, n, s, cchoices[n].lr, extra, data_args, prior=priors[s])


def _lgan(pl: _Planner, profile: Profile) -> None:
    """Notebook 14: the Lipschitz decision's runs, then every structure with the option chosen on validation."""
    from ..experiments.lgan import structures as L

    choice = {opt: [pl.lgan("14", s, 0, opt) for s in L.CHOICE_STRUCTURES] for opt in L.LIPSCHITZ_OPTIONS}
    finished = {opt: [pl.finished(j) for j in js] for opt, js in choice.items()}
    if all(f is not None for fs in finished.values() for f in fs):
        scores = {opt: sum(f.result["val_iou"] for f in fs) / len(fs) for opt, fs in finished.items()}
        chosen = L.decide_lipschitz(scores)
        for s in L.STRUCTURES:
            for k in L.seeds_for(s, profile):
                pl.lgan("14", s, k, chosen)
    else:
        _blocked(pl, "14", "LGAN structures, with the Lipschitz control chosen on validation",
                 [j for js in choice.values() for j in js],
                 "clip vs gradient penalty: the higher validation IoU of the choice runs", kind="lgan")


def _bench_model(job: Job) -> str | None:
    """The registry model a segmenter job trains (what `bench_train` can time), else None."""
    from ..experiments.engine.table_runs import VARIANTS

    v = job.coords.get("variant")
    return VARIANTS[v].model if job.kind == "segmenter" and v in VARIANTS else None


def bench_ms_per_iter(jobs: Sequence[Job], profile: Profile, *, measure: bool = False,
                      echo=print) -> dict[str, float]:
    """ms per training step of each model the plan trains, at the profile's sizes, on this machine.

    Read from ``cache/bench/train_ms-<profile>-<threads>t.json``; with ``measure``, models missing there are
    timed first (`bench_train.train_ms_per_iter`, fast path, a few steps each) and the file is updated.
    """
    import json

    import torch

    from ..bench_train import train_ms_per_iter

    path = cache_dir() / "bench" / f"train_ms-{profile.name}-{torch.get_num_threads()}t.json"
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    from ..models.registry import model_spec

    # the step bench feeds one-channel crops: cascade models (crop + prior) are estimated from their runs
    models = sorted({m for j in jobs if (m := _bench_model(j)) is not None and model_spec(m).in_channels == 1})
    missing = [m for m in models if m not in known]
    if measure and missing:
        for i, m in enumerate(missing, 1):
            echo(f"bench [{i}/{len(missing)}] {m} at the {profile.name} profile's sizes ...")
            known[m] = round(train_ms_per_iter(m, profile=profile, iters=4, warmup=1, path="fast"), 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(known, indent=1))
    return {m: known[m] for m in models if m in known}


def _model_data(job: Job) -> tuple[str, str]:
    """(model, dataset) of a job, the unit of `_estimate`'s time per run."""
    c = job.coords
    return (c.get("variant") or c.get("structure", "?"), c.get("dataset", "lung slices"))


def _estimate(jobs: Sequence[Job], bench: dict[str, float] | None = None) -> None:
    """Fill ``est_seconds`` (time still to train) and ``est_basis`` from the plan's finished runs.

    Best: the mean training time of finished runs of the same model on the same dataset. Else: the
    model's mean ms/iter in finished runs on any dataset, times this job's iterations per epoch, times the
    mean number of epochs finished runs took (the cap while none has finished); for a model with no
    finished run, the benchmark's ms/iter (``bench``: model -> ms, `bench_ms_per_iter`) in its place. A
    partial job counts only its remaining epochs. Jobs with neither stay unestimated (``None``).
    """
    import json

    bench = bench or {}

    root = cache_dir()
    per_run: dict[tuple[str, str], list[float]] = {}
    ms_iter: dict[str, list[float]] = {}
    epochs: list[int] = []
    for j in jobs:
        if j.kind == "sr_teacher" or j.status != "done":
            continue
        try:
            r = json.loads((root / j.folder / "result.json").read_text())
        except (OSError, ValueError):
            continue
        per_run.setdefault(_model_data(j), []).append(float(r.get("train_seconds", 0)))
        if r.get("ms_per_iter"):
            ms_iter.setdefault(_model_data(j)[0], []).append(float(r["ms_per_iter"]))
        epochs.append(int(r.get("stopped_epoch") or len(r.get("history", [])) or 0))
    for j in jobs:
        if j.kind == "sr_teacher" or j.status in ("done", "blocked"):
            continue
        left = 1.0 - (j.last_epoch or 0) / max(j.max_epochs or 1, 1)
        same = per_run.get(_model_data(j))
        model_ms = ms_iter.get(_model_data(j)[0]) or ([bench[_bench_model(j)]] if _bench_model(j) in bench else None)
        if same:
            j.est_seconds, j.est_basis = round(sum(same) / len(same) * max(left, 0.1), 1), "same model and dataset"
        elif model_ms and j.iters_per_epoch:
            n_epochs = sum(epochs) / len(epochs) if epochs else (j.max_epochs or 1)
            todo = max(n_epochs - (j.last_epoch or 0), 1.0)
            j.est_seconds = round(sum(model_ms) / len(model_ms) / 1000.0 * j.iters_per_epoch * todo, 1)
            j.est_basis = ("the model's ms/iter on another dataset" if ms_iter.get(_model_data(j)[0])
                           else "the benchmark's ms/iter (softnodule plan --bench)")


def summary(jobs: Sequence[Job]) -> dict[str, Any]:
    """Counts per status, the remaining estimate, and what the plan does not cover."""
    counts = {s: sum(j.status == s for j in jobs) for s in ("done", "running", "partial", "todo", "blocked")}
    todo = [j for j in jobs if j.status in ("partial", "todo")]
    known = [j.est_seconds for j in todo if j.est_seconds is not None]
    return {"jobs": len(jobs), **counts, "est_remaining_hours": round(sum(known) / 3600, 2) if known else None,
            "est_known_for": f"{len(known)} of {len(todo)} remaining jobs",
            "planned_notebooks": list(PLANNED_NOTEBOOKS), "not_planned": list(UNPLANNED_NOTEBOOKS)}
