"""Records of runs made elsewhere (a lent GPU): finished and unfinished runs scored on test, the deadline."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace

import pytest

from softnodule.config import PROFILES
from softnodule.runs.jobs import segmenter_inputs
from softnodule.runs.lease import train_until
from softnodule.runs.plan import plan
from softnodule.runs.record import job_record
from softnodule.train.segmentation import dataset_arrays, train_segmenter

#: three epochs without early stopping, so a run can be stopped between epochs
LONGER = replace(PROFILES["smoke"], table_epochs=3, patience=None)


class _LeaseOver(Exception):
    pass


def _stop_after_first(epoch: int, row: dict) -> None:
    raise _LeaseOver


def test_an_unfinished_run_is_scored_with_its_best_weights_and_labelled_unfinished(run_cache):
    job = next(j for j in plan(LONGER, "phantom", notebooks=["11"]) if j.label == "unet on lidc, seed 0")
    cfg, data, teacher = segmenter_inputs(job.coords)
    with pytest.raises(_LeaseOver):
        train_segmenter(cfg, data, teacher, progress=False, on_epoch_end=_stop_after_first)
    r = job_record(job)
    n_test = len(dataset_arrays(data, "test"))
    assert r["finished"] is False and r["best_epoch"] == 1 and r["stopped_epoch"] == 1 and len(r["val_curve"]) == 1
    assert "unfinished" in r["stop_reason"] and r["max_epochs"] == 3
    assert r["dice_n"] + r["dice_n_undefined"] == n_test and r["dice_ci_low"] <= r["dice_mean"] <= r["dice_ci_high"]
    assert 0.0 <= r["threshold"] <= 1.0 and r["test_degenerate"]["degenerate"] in (None, "all foreground",
                                                                                    "all background", "constant")
    train_segmenter(cfg, data, teacher, progress=False)  # resumes and finishes
    done = job_record(job)
    assert done["finished"] is True and done["stopped_epoch"] == 3 and done["stop_reason"] == "max_epochs"
    assert done["val_curve"][:1] == r["val_curve"]


def test_a_job_without_a_finished_epoch_is_a_clear_error(run_cache):
    job = next(j for j in plan(LONGER, "phantom", notebooks=["11"]) if j.label == "cfcnn on lidc, seed 0")
    with pytest.raises(FileNotFoundError, match="no finished epoch.*softnodule train --only"):
        job_record(job)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def test_train_until_stops_the_whole_process_group_at_the_deadline(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    child = ("import subprocess, sys, time; "
             "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
             f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(120)")
    out = train_until([sys.executable, "-c", child], 3.0, tmp_path / "log.txt")
    assert out["stopped_at_deadline"] is True and out["seconds"] < 30
    grandchild = int(pid_file.read_text())
    deadline = time.time() + 10
    while time.time() < deadline and _alive(grandchild):
        time.sleep(0.1)
    assert not _alive(grandchild), "the training command's own children outlived the deadline"
    assert train_until([sys.executable, "-c", "pass"], 30.0, tmp_path / "log2.txt") == {
        "returncode": 0, "stopped_at_deadline": False, "seconds": pytest.approx(0.0, abs=15)}


def test_a_dask_worker_without_the_dataset_builds_it_and_trains(run_cache):
    """The worker's process is daemonic (no process pool): it labels the cases itself, then trains."""
    import shutil

    from softnodule.runs import executors as X

    jobs = plan(PROFILES["smoke"], "phantom", notebooks=["11"])
    job = next(j for j in jobs if j.label == "cfcnn on lidc, seed 0")
    shutil.rmtree(run_cache / "datasets")  # built by the planner here; the worker must build it again
    out = X.execute([job], executor="dask", workers=1, echo=lambda line: None)
    assert out["failed"] == 0 and out["trained"] == 1, out["failures"]
    assert any((run_cache / "datasets").glob("lidc_style-phantom-*/manifest.json"))
