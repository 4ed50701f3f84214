"""Use an accelerator lent for a few minutes: time one training step, train planned jobs until a deadline, record.

The lent machine goes back when its time is up, so this driver never lets the work run past it:

1. the step time of ``--bench-model`` at the profile's sizes, alone on the device, fast and reference path
   (`bench_train.train_speedup`);
2. ``softnodule train --executor dask`` on the jobs whose labels match ``--labels``, in its own process group,
   stopped at ``--seconds``. A stopped job keeps its finished epochs (the cache's ``last.pt``) and resumes
   later from them, like a killed worker's;
3. one record per segmenter job with at least one finished epoch (`record.job_record`): epochs, stop reason or
   ``finished: False``, ms/iter, test metrics with 95 % CIs. Written to ``--out`` as ``lease_record.json``
   (everything) and ``lease_jobs.csv`` (one numeric row per job), beside ``train.log``.

Run it as ``python -m softnodule.runs.lease --profile paper --source lidc-crops --labels REGEX --seconds S
--out DIR`` (see docs/cluster.md, "A GPU for a few minutes").
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: seconds a stopped ``softnodule train`` gets to exit after SIGTERM before SIGKILL
GRACE_SECONDS = 15


def _train_command(args: argparse.Namespace, folders: list[str]) -> list[str]:
    return [sys.executable, "-m", "softnodule.cli", "train", "--profile", args.profile, "--source", args.source,
            "--executor", "dask", "--workers", str(args.workers), "--only", ",".join(folders), "--json"]


def train_until(cmd: list[str], seconds: float, log: Path) -> dict[str, Any]:
    """Run ``cmd`` (its output to ``log``) for at most ``seconds``; stop its whole process group after that."""
    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=max(seconds, 1.0))
            stopped = False
        except subprocess.TimeoutExpired:
            stopped = True
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                rc = proc.wait(timeout=GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                rc = proc.wait()
    return {"returncode": rc, "stopped_at_deadline": stopped, "seconds": round(time.perf_counter() - t0, 1)}


def _csv_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if not isinstance(v, (list, dict))} for r in records]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    import torch

    from ..bench_train import train_speedup
    from ..config import get_profile
    from ..env import device_description
    from .plan import plan
    from .record import job_record

    ap = argparse.ArgumentParser(prog="python -m softnodule.runs.lease", description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="paper")
    ap.add_argument("--source", default="auto")
    ap.add_argument("--notebooks", default="09", help="plan these notebooks (comma-separated number prefixes)")
    ap.add_argument("--labels", required=True, help="regular expression on the plan's job labels")
    ap.add_argument("--seconds", type=float, required=True, help="stop training this long after the start")
    ap.add_argument("--workers", type=int, default=1, help="Dask workers (they share the GPU)")
    ap.add_argument("--bench-model", default="dsnet")
    ap.add_argument("--bench-iters", type=int, default=20, help="timed steps per path (after 5 warm-up steps); 0 skips the step timing")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    profile = get_profile(args.profile)

    def plan_jobs():
        jobs = plan(profile, args.source, notebooks=[n.strip() for n in args.notebooks.split(",")])
        return [j for j in jobs if j.key and re.search(args.labels, j.label)]

    record: dict[str, Any] = {"profile": profile.name, "source": args.source, "device": device_description(),
                              "torch": torch.__version__, "workers": args.workers, "labels": args.labels}
    jobs = plan_jobs()
    record["jobs"] = [{"label": j.label, "key": j.key, "status_before": j.status} for j in jobs]
    print(f"lease: {len(jobs)} jobs: " + "; ".join(f"{j.label} [{j.status}]" for j in jobs), flush=True)
    if args.bench_iters > 0:
        speed = train_speedup(args.bench_model, profile=profile, iters=args.bench_iters, warmup=5)
        record["step_bench"] = {"model": args.bench_model, "batch": profile.batch_size, **speed}
        print(f"lease: one {args.bench_model} step alone on the device: {speed}", flush=True)

    left = args.seconds - (time.perf_counter() - start)
    record["train"] = train_until(_train_command(args, [Path(j.folder).name for j in jobs]), left,
                                  args.out / "train.log")
    print(f"lease: training {record['train']}", flush=True)
    records = []
    for job in plan_jobs():
        if job.kind != "segmenter" or job.status == "todo":
            continue
        try:
            records.append(job_record(job))
        except Exception as exc:  # noqa: BLE001 - one unreadable run must not lose the others' records
            records.append({"key": job.key, "label": job.label, "error": f"{type(exc).__name__}: {exc}"})
        print(f"lease: recorded {job.label}", flush=True)
    record["records"] = records
    record["wall_seconds"] = round(time.perf_counter() - start, 1)
    (args.out / "lease_record.json").write_text(json.dumps(record, indent=1, default=float))
    rows = _csv_rows(records)
    if rows:
        with (args.out / "lease_jobs.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=sorted({k for r in rows for k in r}))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
