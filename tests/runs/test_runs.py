"""The plan and its executors: keys the notebooks use, run locks across processes, local vs Dask weights,
a killed worker's job retried and resumed, and clear errors."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import shutil
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest

from softnodule.config import PROFILES
from softnodule.runs import executors as X
from softnodule.runs.jobs import run_job, state_of
from softnodule.runs.locks import RunLocked, run_lock
from softnodule.runs.plan import plan, summary

SMOKE = PROFILES["smoke"]
#: three epochs without early stopping, so a run can be killed between epochs
LONGER = replace(SMOKE, table_epochs=3, patience=None, name="smoke")


def _hold_lock(folder: str, ready, release) -> None:
    with run_lock(Path(folder)):
        ready.set()
        release.wait(30)


def test_a_held_lock_excludes_another_process_and_dies_with_its_holder(tmp_path):
    folder = tmp_path / "segmenters" / "unet-x-abc"
    folder.mkdir(parents=True)
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_hold_lock, args=(str(folder), ready, release))
    p.start()
    assert ready.wait(30)
    with pytest.raises(RunLocked, match="another process"):
        with run_lock(folder, blocking=False):
            pass
    assert state_of(folder) == ("running", None)
    os.kill(p.pid, signal.SIGKILL)  # a killed worker leaves no stale lock
    p.join(10)
    with run_lock(folder, blocking=False):
        with run_lock(folder, blocking=False):  # re-entrant in one process
            pass
    assert state_of(folder) == ("todo", None)


def test_an_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(X.SchedulerUnreachable, match="tcp://127.0.0.1:9"):
        X.connect("tcp://127.0.0.1:9", timeout=2)


def _weights(root: Path, jobs) -> dict[str, str]:
    return {j.key: hashlib.sha256((root / j.folder / "weights.pt").read_bytes()).hexdigest() for j in jobs}


@pytest.fixture(scope="module")
def planned(run_cache):
    return plan(SMOKE, "phantom", notebooks=["11"]), run_cache


def test_plan_lists_every_row_and_seed_with_the_notebooks_keys(planned):
    jobs, _ = planned
    by_label = {j.label: j for j in jobs}
    assert "SR teacher x2" in by_label and by_label["SR teacher x2"].kind == "sr_teacher"
    labels = [j.label for j in jobs if j.kind == "segmenter" and j.status != "blocked"]
    assert "unet on lidc, seed 1" in labels and "dsnet on lidc, seed 1" in labels  # claim rows: claim seeds
    assert "cfcnn on lidc, seed 0" in labels and "cfcnn on lidc, seed 1" not in labels
    blocked = [j for j in jobs if j.status == "blocked"]
    assert len(blocked) == 1 and "best baseline" in blocked[0].label and blocked[0].after
    assert len({j.key for j in jobs if j.key}) == len([j for j in jobs if j.key])  # one job per key
    s = summary(jobs)
    assert s["todo"] == len(jobs) - 1 and s["blocked"] == 1 and s["not_planned"] == []


def test_dask_and_local_give_the_same_weights_and_the_plan_sees_them_done(planned):
    jobs, root = planned
    todo = X.select(jobs, "cfcnn-*,dbresnet-*")
    assert sorted(j.coords["variant"] for j in todo) == ["cfcnn", "dbresnet"]
    local = X.execute(todo, executor="local", threads=1, echo=lambda s: None)
    assert local["trained"] == 2 and local["failed"] == 0
    first = _weights(root, todo)
    for j in todo:  # move the runs aside and train them again on two Dask workers
        shutil.move(root / j.folder, root / (j.folder + ".local"))
    out = X.execute(todo, executor="dask", workers=2, echo=lambda s: None)
    assert out["trained"] == 2 and out["executor"] == "dask (2 workers)"
    assert _weights(root, todo) == first
    again = {j.key: j.status for j in plan(SMOKE, "phantom", notebooks=["11"])}
    assert all(again[j.key] == "done" for j in todo)


def test_a_failing_job_is_reported_with_its_key_and_the_rest_goes_on(planned):
    jobs, _ = planned
    todo = X.select(jobs, "cfcnn-*,dbresnet-*")
    broken = replace(todo[0], key="000000000000")  # the worker recomputes another key: refused, not trained
    out = X.execute([broken, todo[1]], executor="local", echo=lambda s: None)
    assert out["failed"] == 1 and out["trained"] == 1
    f = out["failures"][0]
    assert f["key"] == "000000000000" and "KeyMismatch" in f["error"] and "softnodule train --only" in f["rerun"]


def _train_then_die(row: dict, cache: str) -> None:
    os.environ["SOFTNODULE_CACHE"] = cache
    run_job(row, threads=1)


def test_a_killed_job_resumes_from_its_last_epoch_to_the_same_weights(run_cache):
    tmp_cache = run_cache
    jobs = plan(LONGER, "phantom", notebooks=["11"])
    job = X.select(jobs, "unetpp-*")[0]
    folder = tmp_cache / job.folder
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=_train_then_die, args=(job.row(), str(tmp_cache)))
    p.start()
    deadline = time.time() + 120
    while time.time() < deadline and not (folder / "progress.json").exists():
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)  # killed mid-run, after its first epoch
    p.join(10)
    assert state_of(folder)[0] == "partial"
    resumed = X.execute([job], executor="dask", workers=1, echo=lambda s: None)  # the lock died with it
    assert resumed["trained"] == 1
    w_resumed = hashlib.sha256((folder / "weights.pt").read_bytes()).hexdigest()
    shutil.rmtree(folder)
    X.execute([job], executor="local", threads=1, echo=lambda s: None)  # uninterrupted
    assert hashlib.sha256((folder / "weights.pt").read_bytes()).hexdigest() == w_resumed


def test_cli_plan_json_and_a_clear_error_for_an_unreachable_scheduler(planned, capsys):
    import json

    from softnodule.cli import main

    assert main(["plan", "--profile", "smoke", "--source", "phantom", "--notebooks", "11", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {j["key"] for j in out["jobs"] if j["key"]}
    assert keys == {j.key for j in planned[0] if j.key} and out["summary"]["jobs"] == len(out["jobs"])
    assert all(set(j) >= {"key", "label", "status", "notebooks", "last_epoch", "est_seconds"} for j in out["jobs"])
    code = main(["train", "--profile", "smoke", "--source", "phantom", "--notebooks", "11", "--only", "segnet-*",
                 "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 0  # nothing matches segnet in Table II: no cluster is contacted, nothing runs
    code = main(["train", "--profile", "smoke", "--source", "phantom", "--notebooks", "11", "--only", "medt-*",
                 "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
