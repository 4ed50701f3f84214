"""Run a plan's missing jobs: here, one after another (``local``), or on a Dask cluster (``dask``).

Both executors call the same `jobs.run_job`, so a job trains through the notebooks' own cached, locked,
resumable functions and writes only into the content-addressed cache (atomically: ``result.json`` last).

* ``local``: in this process, in plan order (the SR teacher first).
* ``dask``: a `distributed.LocalCluster` (``workers`` processes, one thread each) or a running scheduler
  (``scheduler="tcp://host:8786"``, e.g. one started by dask-jobqueue on SLURM; see docs/cluster.md).
  The jobs that read the SR teacher depend on its job; the others start at once.
  Workers with a ``GPU`` resource get one job per GPU (``resources={"GPU": 1}``). A killed worker's job is
  retried on another worker (``retries``) and resumes from its last finished epoch; the run lock makes sure
  two workers, or two commands, never train one key at once.

Weights depend on the number of threads a job uses (float sums in another order): jobs run with
``threads`` threads (Dask: 1 per worker by default), and equal thread counts give bit-identical weights on
either executor.
"""

from __future__ import annotations

import fnmatch
import os
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..config import cache_dir
from ..train.checkpoints import read_progress
from .jobs import Job, needs_teacher, run_job

EXECUTORS: tuple[str, ...] = ("local", "dask")
Printer = Callable[[str], None]


class SchedulerUnreachable(RuntimeError):
    """The Dask scheduler address could not be reached."""


class CacheNotShared(RuntimeError):
    """A Dask worker does not see this process's cache (a cluster needs a shared filesystem)."""


def select(jobs: Sequence[Job], only: str | None = None) -> list[Job]:
    """Jobs to run: todo or partial, matching ``only`` (glob on the run folder or the label, comma-separated)."""
    pats = [p.strip() for p in only.split(",")] if only else []

    def match(j: Job) -> bool:
        return not pats or any(fnmatch.fnmatch(j.folder, p) or fnmatch.fnmatch(Path(j.folder).name, p)
                               or fnmatch.fnmatch(j.label, p) for p in pats)

    return [j for j in jobs if j.status in ("todo", "partial") and match(j)]


def _rerun_hint(job: Job) -> str:
    return f"softnodule train --only '{Path(job.folder).name}' (profile and source as before)"


def _failure(job: Job, exc: BaseException) -> dict[str, Any]:
    return {"key": job.key, "label": job.label, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
            "rerun": _rerun_hint(job)}


def _settle(job: Job, call: Callable[[], dict[str, Any]], echo: Printer, prefix: str = "") -> dict[str, Any]:
    """Run ``call`` for ``job``; print its done / FAILED line; a failure becomes a record, never a raise."""
    try:
        r = call()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, the plan goes on
        r = _failure(job, exc)
        echo(f"{prefix}FAILED {job.label}: {r['error']}; rerun: {r['rerun']}")
    else:
        echo(f"{prefix}done {job.label} in {r['seconds']:.0f} s (best epoch {r['best_epoch']}, "
             f"stopped {r['stopped_epoch']}, {r['stop_reason']})")
    return r


def run_local(jobs: Sequence[Job], *, threads: int | None = None, echo: Printer = print) -> list[dict[str, Any]]:
    """Train ``jobs`` here, one after another; a failed job is reported and the rest go on."""
    out = []
    for i, job in enumerate(_ordered(jobs), 1):
        echo(f"[{i}/{len(jobs)}] start {job.label} ({job.key})")
        out.append(_settle(job, lambda job=job: run_job(job.row(), threads=threads), echo, f"[{i}/{len(jobs)}] "))
    return out


def _ordered(jobs: Sequence[Job]) -> list[Job]:
    """The SR teacher first: every SR model reads it."""
    return sorted(jobs, key=lambda j: j.kind != "sr_teacher")


def _check_worker_cache(path: str, token: str) -> str:
    """Runs on a worker: the cache is there and holds the client's token file."""
    p = Path(path)
    if not (p / f".cluster-check-{token}").exists():
        raise CacheNotShared(f"worker on {os.uname().nodename} cannot see the cache {path} (or it is another "
                             "directory there); put SOFTNODULE_CACHE on a filesystem every worker mounts")
    return os.uname().nodename


def connect(scheduler: str | None = None, workers: int | None = None, *, threads: int = 1, timeout: float = 10.0):
    """A Dask client: to ``scheduler`` if given, else to a new LocalCluster of ``workers`` processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError) as exc:
            raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one "
                                       "(`dask scheduler`, or dask-jobqueue: see docs/cluster.md) or use "
                                       "--executor local") from exc
    gpus = local_gpus()
    cluster = LocalCluster(n_workers=workers or gpus or max((os.cpu_count() or 2), 1), threads_per_worker=threads,
                           processes=True, dashboard_address=None, resources={"GPU": 1} if gpus else None)
    return Client(cluster)


def local_gpus() -> int:
    """CUDA devices this process sees (0 without torch's CUDA build).

    A LocalCluster on a GPU machine gives each worker the resource ``GPU: 1``: by default one worker per
    GPU, so each job has a GPU to itself. More workers than GPUs share them (small models leave a large
    GPU mostly idle); every worker then uses the first visible device (``device="auto"``), so on a
    multi-GPU host start one worker per GPU instead (docs/cluster.md).
    """
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - no usable CUDA build: no GPU
        return 0


def check_cache(client, root: Path | None = None) -> list[str]:
    """Every worker sees this process's cache (a token file written here, read there); their host names."""
    root = root or cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    flag = root / f".cluster-check-{token}"
    flag.write_text("softnodule")
    try:
        hosts = client.run(_check_worker_cache, str(root), token)
    finally:
        flag.unlink(missing_ok=True)
    return sorted(set(hosts.values()))


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, *, echo: Printer = print):
    """`connect`, check that every worker sees the cache, yield the client; close it (and a LocalCluster) after."""
    client = connect(scheduler, workers, threads=1)
    try:
        hosts = check_cache(client)
        echo(f"dask: {len(client.scheduler_info()['workers'])} workers on {', '.join(hosts)}; cache {cache_dir()}")
        yield client
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and scheduler is None:
            cluster.close()


def _worker_job(row: dict[str, Any], threads: int | None, env: dict[str, str], *after: Any) -> dict[str, Any]:
    """Runs on a worker. ``after``: the futures of jobs this one reads (Dask passes their results; unused)."""
    os.environ.update(env)  # the client's cache and data paths
    return run_job(row, threads=threads)


class Replan:
    """The plan again, for `run_dask`: the runnable jobs, re-read only when a finished job unblocks some.

    ``waits_for(keys)``: whether one of the finished ``keys`` is a run a blocked job waits for (its
    ``after``), so a plan of 130 jobs is not recomputed after every one of them.
    """

    def __init__(self, plan_jobs: Callable[[], list[Job]], only: str | None, echo: Printer):
        self.plan_jobs, self.only, self.echo = plan_jobs, only, echo
        self.offered: set[str] = set()
        self.waves = 0
        self.waiting: set[str] | None = set()

    def start(self, jobs: Sequence[Job]) -> list[Job]:
        """The first plan's runnable jobs (and what its blocked jobs wait for)."""
        return self._take(jobs)

    def waits_for(self, keys: Collection[str]) -> bool:
        return self.waiting is None or bool(self.waiting.intersection(keys))

    def __call__(self) -> list[Job]:
        return self._take(self.plan_jobs())

    def _take(self, jobs: Sequence[Job]) -> list[Job]:
        runnable = select(jobs, self.only)
        blocked = [j for j in jobs if j.status == "blocked"]
        # a blocked job without the keys it waits for: plan again after every finished job
        self.waiting = None if any(not j.after for j in blocked) else {k for j in blocked for k in j.after}
        if {j.key for j in runnable} - self.offered:
            self.waves += 1
            self.offered.update(j.key for j in runnable)
            if self.waves > 1:
                self.echo(_plan_line(jobs, runnable))
        return runnable


def _priority(job: Job) -> int:
    """Dask priority of a job: the teacher first, then the longest estimated job first.

    Longest-first (LPT) keeps short jobs for the end, so the last workers to finish finish close together
    instead of one long run keeping the plan open while the others idle. Jobs without an estimate go last.
    Jobs are also submitted in this order: an idle worker takes the first task that reaches the scheduler.
    """
    return 10**9 if job.kind == "sr_teacher" else int(job.est_seconds or 0)


class _Submitter:
    """Puts jobs on a Dask client once each (by key): the SR teacher first, the jobs that read it after it.

    A job that reads the teacher (`jobs.needs_teacher`) gets the teacher job's future as an argument, so
    Dask starts it only once the teacher is trained, while every other job starts at once on a free
    worker: no barrier, no worker idling on the teacher's lock.
    """

    def __init__(self, client, threads: int | None, env: dict[str, str], retries: int, echo: Printer):
        gpu = any("GPU" in (w.get("resources") or {}) for w in client.scheduler_info()["workers"].values())
        self.client, self.threads, self.env, self.retries, self.echo = client, threads, env, retries, echo
        self.resources = {"GPU": 1} if gpu else None
        self.futures: dict[Any, Job] = {}
        self.teacher = None

    def submit(self, jobs: Sequence[Job]) -> list[Any]:
        """Submit the jobs not submitted before; their new futures."""
        seen = {j.key for j in self.futures.values()}
        new = []
        for j in sorted(jobs, key=_priority, reverse=True):  # idle workers take the first arrivals
            if j.key in seen:
                continue
            after = (self.teacher,) if self.teacher is not None and needs_teacher(j) else ()
            fut = self.client.submit(_worker_job, j.row(), self.threads, self.env, *after, key=f"train-{j.key}",
                                     retries=self.retries, resources=self.resources, pure=False,
                                     priority=_priority(j))
            if j.kind == "sr_teacher":
                self.teacher = fut
            self.futures[fut] = j
            seen.add(j.key)
            new.append(fut)
            self.echo(f"queued {j.label} ({j.key})" + (" after the SR teacher" if after else ""))
        return new


def run_dask(jobs: Sequence[Job], *, client, threads: int | None = 1, retries: int = 2, poll: float = 5.0,
             echo: Printer = print, env: dict[str, str] | None = None, replan: Replan | None = None
             ) -> list[dict[str, Any]]:
    """Train ``jobs`` on the client's workers; one line per job event and epoch.

    The SR teacher goes first and only the jobs that read it wait for it (`_Submitter`). With ``replan``
    (`Replan`), a finished job that a blocked job waits for re-plans and the jobs it unblocked (a best
    baseline's extra seeds, CasGAN's next stage) are submitted at once, instead of after the slowest job
    of a round: on a cluster a round's tail would idle every other worker.
    """
    from distributed import as_completed

    env = env if env is not None else {k: v for k, v in os.environ.items() if k.startswith("SOFTNODULE_")}
    sub = _Submitter(client, threads, env, retries, echo)
    pending = as_completed(sub.submit(jobs))
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    root = cache_dir()
    while not pending.is_empty():
        finished = pending.next_batch(block=False) if pending.has_ready() else []
        for fut in finished:
            out.append(_settle(sub.futures[fut], fut.result, echo))
        if finished and replan is not None and replan.waits_for([sub.futures[f].key for f in finished]):
            for fut in sub.submit(replan()):
                pending.add(fut)
        for fut, job in sub.futures.items():  # epoch lines from the shared cache's progress files
            if fut.done():
                continue
            p = read_progress(root / job.folder)
            if p and seen.get(job.key) != p["epoch"]:
                seen[job.key] = p["epoch"]
                echo(f"epoch {p['epoch']}/{p['max_epochs']} {job.label}: val {p['val_score']:.4f}")
        if not finished:
            time.sleep(poll)
    return out


def execute(jobs: Sequence[Job], *, executor: str = "local", scheduler: str | None = None,
            workers: int | None = None, threads: int | None = None, echo: Printer = print,
            replan: Replan | None = None) -> dict[str, Any]:
    """Run ``jobs`` (already `select`-ed) on ``executor``; counts and wall time for ``--json``.

    ``replan`` (Dask only): submit the jobs that finished runs unblock as they become runnable (`run_dask`).
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    t0 = time.perf_counter()
    if not jobs:  # nothing to train: no cluster is started
        return {"executor": executor, "trained": 0, "failed": 0, "failures": [], "wall_seconds": 0.0, "results": []}
    if executor == "local":
        results = run_local(jobs, threads=threads, echo=echo)
        where = "local"
    else:
        with dask_client(scheduler, workers, echo=echo) as client:
            results = run_dask(jobs, client=client, threads=threads or 1, echo=echo, replan=replan)
            where = f"dask ({len(client.scheduler_info()['workers'])} workers)"
    failed = [r for r in results if r["status"] == "failed"]
    return {"executor": where, "trained": len(results) - len(failed), "failed": len(failed),
            "failures": failed, "wall_seconds": round(time.perf_counter() - t0, 1), "results": results}


def _plan_line(jobs: Sequence[Job], todo: Sequence[Job]) -> str:
    running = sum(j.status == "running" for j in jobs)
    blocked = sum(j.status == "blocked" for j in jobs)
    return (f"plan: {len(jobs)} jobs, {sum(j.status == 'done' for j in jobs)} cached, {len(todo)} to train"
            + (f", {running} being trained by another process" if running else "")
            + (f", {blocked} blocked" if blocked else ""))


def train_plan(profile, source: str | None = "auto", *, notebooks: Sequence[str] | None = None,
               only: str | None = None, executor: str = "local", scheduler: str | None = None,
               workers: int | None = None, threads: int | None = None, echo: Printer = print,
               max_rounds: int = 8) -> dict[str, Any]:
    """Plan ``profile``'s trainings, run the missing ones, and plan again while blocked jobs become runnable.

    Jobs behind a decision on validation wait for the runs it reads (Table I/II's best baseline, LGAN's
    Lipschitz control, CasGAN's depth rule, lr sweeps and priors). ``local``: in rounds, each a plan and
    its runnable jobs, until a round trains nothing or after ``max_rounds`` (CasGAN needs five). ``dask``:
    one cluster for the whole plan; a finished job that blocked jobs wait for re-plans, and the jobs it
    unblocked start at once (``rounds`` then counts the waves of new jobs). Returns `execute`'s counts, ``rounds``, ``cached``
    (jobs already done at the start) and ``skipped_running`` and ``blocked`` from the last plan.
    """
    from .plan import plan

    if executor == "dask":
        return _train_plan_dask(profile, source, notebooks=notebooks, only=only, scheduler=scheduler,
                                workers=workers, threads=threads, echo=echo)
    total: dict[str, Any] = {"executor": executor, "trained": 0, "failed": 0, "failures": [], "wall_seconds": 0.0,
                             "results": [], "rounds": 0}
    jobs: list[Job] = []
    cached = None
    for _ in range(max_rounds):
        jobs = plan(profile, source, notebooks=notebooks)
        cached = sum(j.status == "done" for j in jobs) if cached is None else cached
        todo = select(jobs, only)
        echo(_plan_line(jobs, todo))
        if not todo:
            break
        out = execute(todo, executor=executor, scheduler=scheduler, workers=workers, threads=threads, echo=echo)
        total["rounds"] += 1
        total["executor"] = out["executor"]
        for k in ("trained", "failed", "wall_seconds"):
            total[k] += out[k]
        total["failures"] += out["failures"]
        total["results"] += out["results"]
        if out["trained"] == 0 or not any(j.status == "blocked" for j in jobs):
            break
    total["wall_seconds"] = round(total["wall_seconds"], 1)
    return total | {"cached": cached or 0,
                    "skipped_running": sum(j.status == "running" for j in jobs),
                    "blocked": sum(j.status == "blocked" for j in jobs)}


def _train_plan_dask(profile, source, *, notebooks, only, scheduler, workers, threads, echo) -> dict[str, Any]:
    """`train_plan` on Dask: one cluster, unblocked jobs submitted as soon as the runs they read finish."""
    from .plan import plan

    jobs = plan(profile, source, notebooks=notebooks)
    cached = sum(j.status == "done" for j in jobs)
    replan = Replan(lambda: plan(profile, source, notebooks=notebooks), only, echo)
    todo = replan.start(jobs)
    echo(_plan_line(jobs, todo))
    blocked = any(j.status == "blocked" for j in jobs)
    out = execute(todo, executor="dask", scheduler=scheduler, workers=workers, threads=threads, echo=echo,
                  replan=replan if blocked else None)
    if out["trained"] or out["failed"]:
        jobs = plan(profile, source, notebooks=notebooks)
    return out | {"rounds": replan.waves, "cached": cached,
                  "skipped_running": sum(j.status == "running" for j in jobs),
                  "blocked": sum(j.status == "blocked" for j in jobs)}
