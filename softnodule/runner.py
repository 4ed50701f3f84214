"""The notebook runner: every notebook in order with papermill, one progress line each.

``softnodule reproduce --profile quick`` executes ``notebooks/NN_*.ipynb`` into
``executed/<profile>/`` (git-ignored), records wall time and peak memory per notebook in
``results/<profile>/run_report.json``, stops clearly on the first failure (which notebook, which
cell) and resumes with ``--from NN``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .config import PROFILE_NAMES, REPO_ROOT, results_dir
from .io import atomic_write_text


@dataclass
class NotebookRun:
    """What happened to one notebook."""

    notebook: str
    status: str
    wall_seconds: float
    peak_memory_mb: float | None
    error: str | None = None
    image_source: str | None = None


def list_notebooks(notebook_dir: Path | None = None, start: str | None = None,
                   only: list[str] | None = None) -> list[Path]:
    """Numbered notebooks in run order, from ``start`` (a number prefix like ``"01"``) on, or ``only`` those."""
    notebook_dir = notebook_dir or REPO_ROOT / "notebooks"
    books = sorted(p for p in notebook_dir.glob("[0-9][0-9]_*.ipynb"))
    if start is not None:
        if not any(p.name.startswith(start) for p in books):
            raise ValueError(f"--from {start}: no notebook starts with {start!r} in {notebook_dir}")
        books = [p for p in books if p.name[: len(start)] >= start]
    if only:
        unknown = [n for n in only if not any(p.name.startswith(n) for p in books)]
        if unknown:
            raise ValueError(f"--only {','.join(unknown)}: no such notebook in {notebook_dir}")
        books = [p for p in books if any(p.name.startswith(n) for n in only)]
    return books


class PeakMemory:
    """Peak resident memory (MB) of this process's children (the notebook kernel), sampled 5x a second."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def resolve_run_source(source: str = "auto", *, fetch_missing: bool = False) -> str:
    """The one image source of a whole run (every notebook uses it: sources are never mixed).

    ``auto`` takes ``lidc-crops`` when a local copy or the fetch cache has it; with ``fetch_missing`` it
    first tries ``softnodule data fetch lidc-crops`` once (internet needed) and falls back to the phantom,
    saying so, when that fails.
    """
    from .data.sources import default_source, source_status

    if (os.environ.get("SOFTNODULE_SOURCE") or source) in (None, "", "auto") and fetch_missing \
            and not source_status("lidc-crops").usable:
        from .data.fetch import FetchError, fetch_lidc_crops

        print("no copy of the public LIDC crops yet: fetching them once (softnodule data fetch lidc-crops) ...",
              flush=True)
        try:
            fetch_lidc_crops()
        except FetchError as exc:
            print(f"could not fetch the LIDC crops ({str(exc).splitlines()[0]}); this run uses the PHANTOM "
                  "(rendered CT, not real pixels)", flush=True)
    return default_source(source)


def _train_first(profile: str, source: str, books: list[Path], echo=print, **executor_args) -> dict | None:
    """Train the plan's missing jobs for ``books`` before they run; counts and wall time for the run report."""
    from .config import PROFILES
    from .runs.executors import train_plan
    from .runs.plan import PLANNED_NOTEBOOKS

    wanted = sorted({nb.name[:2] for nb in books} & set(PLANNED_NOTEBOOKS))
    if not wanted:
        return None
    echo(f"training first (plan of notebooks {', '.join(wanted)}, executor {executor_args['executor']})")
    out = train_plan(PROFILES[profile], source, notebooks=wanted, echo=echo, **executor_args)
    for f in out["failures"]:
        echo(f"FAILED {f['label']} ({f['key']}): {f['error']}; the notebook will try again")
    return {k: v for k, v in out.items() if k not in ("results", "failures")} | {"notebooks": wanted}


def stamp_notebook(path: Path, stamp: dict) -> None:
    """Write the run's stamp into an executed notebook's metadata (`notebook_outputs.RUN_KEY`)."""
    from .notebook_outputs import RUN_KEY

    if not path.exists():
        return
    nb = json.loads(path.read_text())
    nb.setdefault("metadata", {})[RUN_KEY] = stamp
    atomic_write_text(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def reproduce(profile: str, start: str | None = None, notebook_dir: Path | None = None, out_dir: Path | None = None,
              kernel_name: str = "python3", source: str = "auto", fetch_missing: bool = False,
              only: list[str] | None = None, executor: str | None = "local", scheduler: str | None = None,
              workers: int | None = None, threads: int | None = None) -> list[NotebookRun]:
    """Plan, train, then run the notebooks of one profile on one image source.

    ``executor`` (``local`` or ``dask``, see `softnodule.runs`) first trains every planned job the chosen
    notebooks need, so the notebooks only load finished runs; ``None`` leaves training to the notebooks
    (they train what they miss, one after another). Raises SystemExit(1) on the first failed notebook.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .env import git_commit
    from .notebook_outputs import run_stamp

    if profile not in PROFILE_NAMES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILE_NAMES)}")
    books = list_notebooks(notebook_dir, start, only)
    out_dir = out_dir or REPO_ROOT / "executed" / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["SOFTNODULE_PROFILE"] = profile  # the kernel inherits it: parameters and env agree
    chosen = resolve_run_source(source, fetch_missing=fetch_missing)
    os.environ["SOFTNODULE_SOURCE"] = chosen  # one source for every notebook of the run
    runs: list[NotebookRun] = []
    print(f"softnodule reproduce --profile {profile} (image source {chosen}): {len(books)} notebooks -> {out_dir}",
          flush=True)
    training = (_train_first(profile, chosen, books, lambda line: print(line, flush=True), executor=executor, scheduler=scheduler, workers=workers,
                             threads=threads) if executor else None)
    failed = False
    for i, nb in enumerate(books, 1):
        t0 = time.perf_counter()
        print(f"[{i}/{len(books)}] {nb.name} ...", end=" ", flush=True)
        with PeakMemory() as mem:
            try:
                pm.execute_notebook(str(nb), str(out_dir / nb.name), parameters={"profile": profile},
                                    kernel_name=kernel_name, progress_bar=False, cwd=str(nb.parent))
                status, error = "ok", None
            except PapermillExecutionError as exc:
                status, error = "failed", f"cell {exc.exec_count} raised {exc.ename}: {exc.evalue}"
                failed = True
            stamp_notebook(out_dir / nb.name, run_stamp(profile, chosen))
        run = NotebookRun(nb.name, status, time.perf_counter() - t0, round(mem.peak_mb, 1), error, chosen)
        runs.append(run)
        print(f"{run.status} in {run.wall_seconds:.1f} s" + (f" ({run.error})" if run.error else ""), flush=True)
        if failed:
            break
    report_path = results_dir(profile) / "run_report.json"
    entries = {}
    if (start is not None or only) and report_path.exists():  # a partial run keeps the other notebooks' entries
        entries = {e["notebook"]: e for e in json.loads(report_path.read_text()).get("notebooks", [])}
    entries.update({r.notebook: asdict(r) for r in runs})
    merged = [entries[k] for k in sorted(entries)]
    report = {"profile": profile, **git_commit(), "image_sources": sorted({e.get("image_source") or "not recorded" for e in merged}),
              "notebooks": merged, "total_seconds": round(sum(e["wall_seconds"] for e in merged), 1),
              "planned_training": training,
              "peak_memory_note": "peak_memory_mb: peak RSS of the notebook's kernel and its children, sampled every 0.2 s"}
    atomic_write_text(report_path, json.dumps(report, indent=2))
    if failed:
        bad = runs[-1]
        print(f"\nSTOPPED at {bad.notebook}: {bad.error}\n  executed copy with the traceback: {out_dir / bad.notebook}\n"
              f"  resume with: softnodule reproduce --profile {profile} --from {bad.notebook[:2]}", file=sys.stderr)
        raise SystemExit(1)
    print(f"done: {len(runs)} notebooks in {report['total_seconds']} s; report {results_dir(profile) / 'run_report.json'}")
    return runs
