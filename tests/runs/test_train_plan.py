"""Plan -> train -> notebooks: `reproduce` trains the plan first, in rounds until blocked jobs are resolved."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from softnodule.config import PROFILES
from softnodule.runner import _train_first
from softnodule.runs.plan import plan


def test_reproduce_trains_the_plan_first_and_a_second_round_resolves_the_best_baseline(run_cache):
    books = [Path("11_table2_lidc.ipynb"), Path("01_data.ipynb")]  # 01 trains nothing: not planned
    lines: list[str] = []
    out = _train_first("smoke", "phantom", books, executor="local", scheduler=None, workers=None, threads=1,
                       echo=lines.append)
    assert out["notebooks"] == ["11"] and out["failed"] == 0
    assert out["rounds"] == 2 and out["blocked"] == 0  # round 2: the best baseline's extra seed, chosen on val
    jobs = plan(PROFILES["smoke"], "phantom", notebooks=["11"])
    assert all(j.status == "done" for j in jobs) and out["trained"] == len(jobs)
    assert any("1 blocked" in line for line in lines)
    again = _train_first("smoke", "phantom", books, executor="local", scheduler=None, workers=None, threads=1,
                         echo=lines.append)
    assert again["trained"] == 0 and again["rounds"] == 0 and again["cached"] == len(jobs)


def test_the_plan_lists_table_vii_folds_with_the_keys_notebook_08_trains(run_cache):
    from softnodule.data.datasets.isbi import isbi_dataset, isbi_root
    from softnodule.experiments.dsnet import table7_generalization as T7

    if isbi_root() is None:
        pytest.skip("ISBI 2012 not found (SOFTNODULE_ISBI_DIR): Table VII has no jobs here")
    smoke = PROFILES["smoke"]
    jobs = [j for j in plan(smoke, "phantom", notebooks=["08"]) if j.kind == "segmenter"]
    assert len(jobs) == T7.FOLDS * len(T7.VARIANT_NAMES) * len(smoke.seeds)
    assert {j.coords["data_args"]["fold"] for j in jobs} == set(range(T7.FOLDS))
    unet0 = next(j for j in jobs if j.label == "unet on isbi fold 0, seed 0")
    # train it exactly as notebook 08 does (no teacher needed for U-Net), then the plan must see it done
    T7.run_folds(lambda k: isbi_dataset(k, size=T7.isbi_size(smoke), root=isbi_root(), progress=False), smoke,
                 None, folds=1, names=("unet",), progress=False)
    again = {j.key: j.status for j in plan(smoke, "phantom", notebooks=["08"])}
    assert again[unet0.key] == "done"
    assert sum(s == "done" for s in again.values()) >= 1 and "todo" in again.values()


def test_lgan_jobs_wait_for_the_lipschitz_decision_and_match_notebook_14s_runs(run_cache):
    from softnodule.data.datasets.lung_slices import load_lgan_dataset
    from softnodule.experiments.lgan import structures as L
    from softnodule.runs.executors import train_plan

    smoke = PROFILES["smoke"]
    first = plan(smoke, "phantom", notebooks=["14"])
    lgan = [j for j in first if j.kind == "lgan"]
    assert [j.status for j in lgan].count("blocked") == 1 and len(lgan) == 1 + len(L.LIPSCHITZ_OPTIONS)
    out = train_plan(smoke, "phantom", notebooks=["14"], only="lgan/*", threads=1, echo=lambda line: None)
    assert out["failed"] == 0 and out["rounds"] == 2 and out["blocked"] == 0
    done = {j.key for j in plan(smoke, "phantom", notebooks=["14"]) if j.kind == "lgan" and j.status == "done"}
    ds = load_lgan_dataset(smoke, progress=False)
    choice = L.choose_lipschitz(smoke, ds, progress=False)  # notebook 14's calls: everything loads from the cache
    runs = L.train_structures(smoke, ds, lipschitz=choice["choice"], progress=False)
    notebook_keys = {r.key for rs in runs.values() for r in rs} | {r["key"] for r in choice["rows"]}
    assert notebook_keys == done


def test_plan_bench_gives_every_trainable_job_an_estimate_and_keeps_the_timings(run_cache, tmp_path, monkeypatch):
    fresh = _fresh_cache(run_cache, tmp_path)  # no finished run and no timing yet; the built data is reused
    monkeypatch.setenv("SOFTNODULE_CACHE", str(fresh))
    smoke = PROFILES["smoke"]
    before = [j for j in plan(smoke, "phantom", notebooks=["07"]) if j.kind == "segmenter" and j.status == "todo"]
    assert before and all(j.est_seconds is None for j in before)  # nothing finished, nothing timed: no guess
    jobs = [j for j in plan(smoke, "phantom", notebooks=["07"], bench=True)
            if j.kind == "segmenter" and j.status == "todo"]
    assert all(j.est_seconds > 0 and "benchmark" in j.est_basis and j.iters_per_epoch >= 1 for j in jobs)
    timed = list((fresh / "bench").glob("train_ms-smoke-*t.json"))
    assert len(timed) == 1
    again = [j for j in plan(smoke, "phantom", notebooks=["07"]) if j.kind == "segmenter" and j.status == "todo"]
    assert [j.est_seconds for j in again] == [j.est_seconds for j in jobs]  # read back, not re-timed


def test_casgan_plan_follows_notebook_12s_decisions_so_the_notebook_trains_nothing(run_cache, monkeypatch):
    """Depth rule, lr sweeps, best baseline, priors and cascade rows, on smaller tables (same code paths)."""
    from softnodule.data.datasets import isbi
    from softnodule.experiments.casgan import tables as C
    from softnodule.experiments.dsnet.sr_pretraining import run_sr_pretraining
    from softnodule.experiments.engine.notebook_data import notebook_data
    from softnodule.runs.executors import train_plan

    for name, value in {"TABLE1_VARIANTS": ("unet", "casgan_bin", "casgan"), "TABLE1_BASELINES": ("unet",),
                        "TABLE1_CLAIM_VARIANTS": ("casgan", "casgan_bin"), "TABLE3_VARIANTS": ("unet", "casgan_pp"),
                        "TABLE3_CLAIM_VARIANTS": ("casgan_pp",)}.items():
        monkeypatch.setattr(C, name, value)
    monkeypatch.setattr(isbi, "isbi_root", lambda: None)  # Table 4's folds are the same steps per fold
    smoke = PROFILES["smoke"]
    out = train_plan(smoke, "phantom", notebooks=["12"], threads=1, echo=lambda line: None)
    assert out["failed"] == 0 and out["blocked"] == 0 and out["rounds"] >= 3  # depth; sweeps; rows, priors, cascade
    jobs = plan(smoke, "phantom", notebooks=["12"])
    assert all(j.status == "done" for j in jobs)
    labels = [j.label for j in jobs]
    assert any("same SR steps" in x for x in labels) and any("prior seed 1" in x for x in labels)
    finished = {p.parent.name for p in (run_cache / "segmenters").glob("*/result.json")}
    data = notebook_data(smoke, "phantom", progress=False)
    teacher, _, _ = run_sr_pretraining(smoke, [data.lnsm, data.lidc], data.index, seed=0)
    t1 = C.table1(smoke, data.lnsm, teacher, progress=False)
    t3 = C.table3(smoke, data.lidc, teacher, extra_sr_steps=t1.extra_sr_steps, progress=False)
    assert {p.parent.name for p in (run_cache / "segmenters").glob("*/result.json")} == finished  # nothing new
    keys = {r.key for t in (t1, t3) for rs in t.runs.values() for r in rs} | {p.key for p in t3.priors}
    assert keys <= {j.key for j in jobs}


def _fresh_cache(run_cache: Path, tmp_path: Path) -> Path:
    """An empty run cache beside ``run_cache``, with its built index and datasets (no rebuild)."""
    import shutil

    fresh = tmp_path / "cache"
    for folder in ("nodule_index", "datasets"):
        if (run_cache / folder).exists():
            shutil.copytree(run_cache / folder, fresh / folder)
    return fresh


def _weights(root: Path, jobs) -> dict[str, str]:
    import hashlib

    return {j.key: hashlib.sha256((root / j.folder / "weights.pt").read_bytes()).hexdigest()
            for j in jobs if j.kind == "segmenter"}


def test_dask_plan_starts_unblocked_jobs_on_the_same_cluster_with_the_local_weights(run_cache, tmp_path, monkeypatch):
    from softnodule.runs.executors import train_plan

    smoke = PROFILES["smoke"]
    local = train_plan(smoke, "phantom", notebooks=["11"], threads=1, echo=lambda line: None)  # cached if trained
    assert local["failed"] == 0 and local["blocked"] == 0
    reference = _weights(run_cache, plan(smoke, "phantom", notebooks=["11"]))
    monkeypatch.setenv("SOFTNODULE_CACHE", str(_fresh_cache(run_cache, tmp_path)))
    lines: list[str] = []
    out = train_plan(smoke, "phantom", notebooks=["11"], executor="dask", workers=2, echo=lines.append)
    assert out["failed"] == 0 and out["blocked"] == 0 and out["rounds"] == 2  # the best baseline's seed: wave 2
    assert sum(line.startswith("dask: ") for line in lines) == 1  # one cluster for both waves
    jobs = plan(smoke, "phantom", notebooks=["11"])
    assert all(j.status == "done" for j in jobs) and out["trained"] == len(jobs)
    extra = next(i for i, line in enumerate(lines) if line.startswith("queued") and "seed 1" in line
                 and not line.startswith(("queued unet ", "queued dsnet ")))  # the best baseline's extra seed
    assert any(line.startswith("done ") for line in lines[:extra])  # queued once a run it reads was done
    assert any(line.startswith("queued dsnet on lidc") and line.endswith("after the SR teacher") for line in lines)
    assert _weights(Path(os.environ["SOFTNODULE_CACHE"]), jobs) == reference  # same weights as the local rounds


def test_only_jobs_that_read_the_sr_teacher_depend_on_its_task():
    from distributed import Client, LocalCluster

    from softnodule.runs.executors import _Submitter
    from softnodule.runs.jobs import needs_teacher

    jobs = [j for j in plan(PROFILES["smoke"], "phantom", notebooks=["11"]) if j.status != "blocked"]
    teacher = next(j for j in jobs if j.kind == "sr_teacher")
    assert {j.coords["variant"] for j in jobs if needs_teacher(j)} >= {"dsnet", "infnet_sr", "medt_sr"}
    assert not any(needs_teacher(j) for j in jobs if j.coords.get("variant") in ("unet", "cfcnn", "medt"))
    # a scheduler without workers: the tasks wait, their dependencies can be read, nothing trains
    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster, Client(cluster) as client:
        sub = _Submitter(client, 1, {}, 0, lambda line: None)
        sub.submit(list(reversed(jobs)))  # the teacher is put first whatever the order

        def dependencies(dask_scheduler):
            return {k: sorted(d.key for d in ts.dependencies) for k, ts in dask_scheduler.tasks.items()}

        deadline = time.monotonic() + 30  # submissions reach the scheduler asynchronously
        while len(deps := client.run_on_scheduler(dependencies)) < len(jobs) and time.monotonic() < deadline:
            time.sleep(0.1)
        for j in jobs:
            want = [f"train-{teacher.key}"] if needs_teacher(j) else []
            assert deps[f"train-{j.key}"] == want, j.label
        client.cancel(list(sub.futures))


def test_dask_runs_the_teacher_first_then_the_longest_estimated_job_first():
    from dataclasses import replace

    from distributed import Client, LocalCluster

    from softnodule.runs.executors import _Submitter

    jobs = [j for j in plan(PROFILES["smoke"], "phantom", notebooks=["11"]) if j.status != "blocked"]
    teacher = next(j for j in jobs if j.kind == "sr_teacher")
    short, long, unknown = (replace(j, est_seconds=e) for j, e in
                            zip([j for j in jobs if j.coords.get("variant") in ("cfcnn", "unetpp", "medt")],
                                (10.0, 900.0, None)))
    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster, Client(cluster) as client:
        lines: list[str] = []
        sub = _Submitter(client, 1, {}, 0, lines.append)
        sub.submit([unknown, short, long, teacher])
        assert [line.split(" (")[0] for line in lines] == [f"queued {j.label}" for j in (teacher, long, short, unknown)]

        def priorities(dask_scheduler):
            return {k: ts.priority for k, ts in dask_scheduler.tasks.items()}

        deadline = time.monotonic() + 30  # submissions reach the scheduler asynchronously
        while len(prio := client.run_on_scheduler(priorities)) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        order = sorted(prio, key=prio.get)  # Dask runs the lowest priority tuple first
        assert order == [f"train-{j.key}" for j in (teacher, long, short, unknown)]
        client.cancel(list(sub.futures))
