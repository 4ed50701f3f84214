"""The ``softnodule`` command: reproduce, plan, train, doctor, data info/build/fetch/export, lidc readers, bench,
notebooks publish/check, inspect."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .config import PROFILE_NAMES
from .data.sources import SOURCE_NAMES


def _print_result(result: dict[str, Any], as_json: bool, *, width: int, float_format: str = "") -> None:
    """One JSON line (``--json``) or one aligned ``key value`` line per entry."""
    if as_json:
        print(json.dumps(result))
        return
    for k, v in result.items():
        print(f"{k:{width}s} {v:{float_format}}" if isinstance(v, float) else f"{k:{width}s} {v}")


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .runner import reproduce

    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    reproduce(args.profile, start=args.start, source=args.source, fetch_missing=not args.no_fetch, only=only,
              executor=None if args.executor == "none" else args.executor, scheduler=args.scheduler,
              workers=args.workers, threads=args.threads)
    if args.publish:
        from .notebook_outputs import publish

        written = publish(args.profile)
        print(f"published {len(written)} executed notebooks into notebooks/ (commit them with results/{args.profile}/)")
    return 0


def _notebooks(args: argparse.Namespace) -> list[str] | None:
    return [n.strip() for n in args.notebooks.split(",")] if getattr(args, "notebooks", None) else None


def _plan_jobs(args: argparse.Namespace):
    from .config import get_profile
    from .runs.plan import plan

    return plan(get_profile(args.profile), args.source, notebooks=_notebooks(args),
                bench=getattr(args, "bench", False))


def _cmd_plan(args: argparse.Namespace) -> int:
    from .runs.plan import summary

    jobs = _plan_jobs(args)
    if args.json:
        print(json.dumps({"profile": args.profile, "summary": summary(jobs), "jobs": [j.row() for j in jobs]}))
        return 0
    for j in jobs:
        epoch = f" (epoch {j.last_epoch}/{j.max_epochs})" if j.last_epoch else ""
        est = f" ~{j.est_seconds / 60:.0f} min" if j.est_seconds else ""
        print(f"{j.status:8s} {j.key or '-':12s} {j.label}{epoch}{est}  [{','.join(j.notebooks)}]")
    _print_result(summary(jobs), False, width=20)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .config import get_profile
    from .runs.executors import train_plan

    echo = (lambda line: print(line, file=sys.stderr)) if args.json else print
    out = train_plan(get_profile(args.profile), args.source, notebooks=_notebooks(args), only=args.only,
                     executor=args.executor, scheduler=args.scheduler, workers=args.workers, threads=args.threads,
                     echo=echo)
    if args.json:
        print(json.dumps({k: v for k, v in out.items() if k != "results"}))
    else:
        for f in out["failures"]:
            print(f"FAILED {f['label']} ({f['key']}): {f['error']}\n  rerun: {f['rerun']}")
        _print_result({k: v for k, v in out.items() if k not in ("results", "failures")}, False, width=16)
    return 1 if out["failed"] else 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from .config import cache_dir
    from .data.lidc.index import nodule_index_path
    from .data.sources import all_source_status, default_source
    from .env import environment_summary, torchvision_status

    env = environment_summary()
    print(f"softnodule {env['packages']['softnodule']}  python {env['python']}  ({env['platform']})")
    print(f"device      : {env['device']}")
    print(f"git         : {env['commit']}{' (dirty)' if env['dirty'] else ''}")
    for name, ver in env["packages"].items():
        print(f"  {name:24s} {ver or '-- not installed'}")
    print(f"torchvision : {torchvision_status()}")
    print(f"cache       : {cache_dir()}")
    idx = nodule_index_path()
    print(f"nodule index: {idx} ({'cached' if idx.exists() else 'not built yet: first use builds it (~4 min)'})")
    print("image sources:")
    for s in all_source_status():
        print(f"  {s.name:11s} {'usable' if s.usable else 'NOT usable':10s} {s.location or ''}")
        print(f"  {'':11s} {s.detail}")
    try:
        print(f"notebooks use: {default_source()} (SOFTNODULE_SOURCE or a notebook's `source` parameter overrides)")
    except RuntimeError as exc:  # SOFTNODULE_SOURCE names a source that is not usable here
        print(f"notebooks use: ERROR {exc}")
    return 0


def _cmd_data_info(args: argparse.Namespace) -> int:
    from .data.lidc.index import load_nodule_index

    index = load_nodule_index(progress=not args.json)
    info = index.info()
    from .data.sources import source_status

    if source_status("lidc-crops").usable:
        from .data.sources.lidc_crops import load_lidc_crops

        info["lidc_crops"] = load_lidc_crops(progress=not args.json, index=index).info()
    _print_result(info, args.json, width=36)
    return 0


def _cmd_data_build(args: argparse.Namespace) -> int:
    from .data.datasets.builder import lidc_spec, lnsm_spec, load_or_build
    from .data.sources import default_source

    source = default_source(args.source)
    spec = (lnsm_spec if args.which == "lnsm" else lidc_spec)(args.profile, source=source)
    if args.executor == "dask":
        from .runs.executors import dask_client

        with dask_client(args.scheduler, args.workers, echo=lambda line: print(line, file=sys.stderr)) as client:
            ds = load_or_build(spec, progress=not args.json, client=client)
    else:
        ds = load_or_build(spec, progress=not args.json, workers=args.workers)
    m = ds.manifest
    summary = {"source": source, "dataset": spec.name, "profile": args.profile, "n_train": ds.counts["train"],
               "n_val": ds.counts["val"], "n_test": ds.counts["test"], "requested": m["requested"],
               "n_patients": sum(m["patients"].values()), "patients": m["patients"],
               "skipped": m.get("skipped_by_reason", {}), "path": str(ds.path),
               "build_seconds": m.get("build_seconds")}
    _print_result(summary, args.json, width=14)
    return 0


def _cmd_data_export(args: argparse.Namespace) -> int:
    from .data.export import export_case
    from .data.sources import default_source

    written = export_case(args.case_id, default_source(args.source), args.out, strategy=args.strategy)
    print(json.dumps(written, default=str) if args.json else f"wrote {written['path']} ({', '.join(written['arrays'])})")
    return 0


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from .data.fetch import (
        FetchError,
        fetch_isbi,
        fetch_lidc_crops,
        promise12_instructions,
    )

    if args.which == "promise12":
        ok, text = promise12_instructions()
        print(text)
        return 0 if ok else 2
    try:
        if args.which == "lidc-crops":
            dest = fetch_lidc_crops(timeout=args.timeout)
        else:
            dest = fetch_isbi(timeout=args.timeout)
    except FetchError as exc:
        print(f"softnodule: error: {exc}", file=sys.stderr)
        return 2
    if args.which == "lidc-crops":
        print(f"LIDC crops ready at {dest} (found automatically; or set SOFTNODULE_LIDC_CROPS)")
    else:
        print(f"ISBI 2012 training data ready at {dest} (found automatically; or set SOFTNODULE_ISBI_DIR)")
    return 0


def _cmd_lidc_readers(args: argparse.Namespace) -> int:
    from .data.lidc.reader_study import load_reader_study

    summary = load_reader_study(rebuild=args.rebuild, progress=not args.json, limit=args.limit).summary()
    _print_result(summary, args.json, width=46, float_format=".4f")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from . import bench

    kwargs = ({"cases": args.cases, "lnsm_cases": args.lnsm_cases} if args.what == "matting"
              else {"iters": args.iters, "reps": args.reps})
    result: dict[str, Any] = bench.BENCHES[args.what](**kwargs)
    _print_result(result, args.json, width=28)
    return 0


def _cmd_notebooks(args: argparse.Namespace) -> int:
    from . import notebook_outputs as outputs

    if args.notebooks_command == "publish":
        written = outputs.publish(args.profile)
        print(f"published {len(written)} executed notebooks of the {args.profile} run into notebooks/")
        return 0
    found = outputs.check(args.profile)
    result = {"profile": found.profile, "results_commit": found.results_commit, "with_outputs": len(found.executed),
              "stripped": len(found.stripped), "ok": found.ok, "problems": found.problems}
    _print_result(result, args.json, width=16)
    return 0 if found.ok else 1


def _cmd_inspect(args: argparse.Namespace) -> int:
    from .inspector import serve

    server = serve(args.nodule_id, args.source, port=args.port, timeout=args.timeout)
    print(f"Soft Mask inspector: {server.url}  (source {server.source}, nodule {server.nodule_id}; Ctrl-C stops it)",
          flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(server.url)
    server.wait()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="softnodule", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def executor_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (default: a LocalCluster)")
        q.add_argument("--workers", type=int, help="LocalCluster worker processes (default: the CPU count, or one "
                       "per GPU)")
        q.add_argument("--threads", type=int, help="torch threads per job (dask default 1; equal counts give equal "
                       "weights)")

    r = sub.add_parser("reproduce", help="train the planned jobs, then run every notebook in order with papermill")
    r.add_argument("--profile", choices=PROFILE_NAMES, default="quick")
    r.add_argument("--from", dest="start", metavar="NN", help="start at the notebook numbered NN")
    r.add_argument("--source", choices=("auto", *SOURCE_NAMES), default="auto",
                   help="image source of every notebook (auto: lidc-crops when found or fetched, else phantom)")
    r.add_argument("--no-fetch", action="store_true", help="never download the LIDC crops (offline runs)")
    r.add_argument("--only", metavar="NN,NN", help="run only these notebooks (number prefixes, e.g. 00,01,10)")
    r.add_argument("--publish", action="store_true", help="then copy the executed notebooks into notebooks/ for "
                   "readers (softnodule notebooks publish: one clean commit, machine paths replaced)")
    r.add_argument("--executor", choices=("local", "dask", "none"), default="local",
                   help="train the plan's missing jobs first, here or on Dask (none: the notebooks train them)")
    executor_args(r)
    r.set_defaults(func=_cmd_reproduce)

    def plan_args(q: argparse.ArgumentParser) -> None:
        q.add_argument("--profile", choices=PROFILE_NAMES, default="quick")
        q.add_argument("--source", choices=("auto", *SOURCE_NAMES), default="auto")
        q.add_argument("--notebooks", metavar="NN,NN", help="only the trainings of these notebooks")
        q.add_argument("--json", action="store_true", help="machine-readable output")

    pl = sub.add_parser("plan", help="every training the profile's notebooks need, with its cache key and state")
    plan_args(pl)
    pl.add_argument("--bench", action="store_true", help="time the models with no finished run yet (a few "
                    "steps each), so every job gets an estimate; kept in the cache for later plans")
    pl.set_defaults(func=_cmd_plan)

    t = sub.add_parser("train", help="train the plan's missing jobs (locally or on a Dask cluster)")
    plan_args(t)
    t.add_argument("--executor", choices=("local", "dask"), default="local")
    executor_args(t)
    t.add_argument("--only", metavar="PATTERN", help="glob(s) on the run folder or label, comma-separated")
    t.set_defaults(func=_cmd_train)

    d = sub.add_parser("doctor", help="versions, device, cache and data locations")
    d.set_defaults(func=_cmd_doctor)

    data = sub.add_parser("data", help="the nodule index and the datasets")
    dsub = data.add_subparsers(dest="data_command", required=True)
    di = dsub.add_parser("info", help="counts from the nodule index")
    di.add_argument("--json", action="store_true")
    di.set_defaults(func=_cmd_data_info)
    db = dsub.add_parser("build", help="build (or load) a dataset into the cache")
    db.add_argument("which", choices=("lnsm", "lidc"))
    db.add_argument("--profile", choices=PROFILE_NAMES, default="quick")
    db.add_argument("--source", choices=("auto", *SOURCE_NAMES), default="auto",
                    help="image source (auto: lidc-crops when a copy is found, else phantom)")
    db.add_argument("--json", action="store_true")
    db.add_argument("--executor", choices=("local", "dask"), default="local",
                    help="label the cases in local processes or as Dask tasks (same arrays, bit for bit)")
    db.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (default: a LocalCluster)")
    db.add_argument("--workers", type=int, help="processes (local) or LocalCluster workers (default: the CPU count)")
    db.set_defaults(func=_cmd_data_build)
    de = dsub.add_parser("export", help="write one case (HU image, readers, consensus, Soft Mask, RECIST) to .npz")
    de.add_argument("case_id", metavar="NODULE_ID", help="e.g. LIDC-IDRI-0001/s0012/n01 (or a DeepLesion lesion id)")
    de.add_argument("--source", choices=("auto", *SOURCE_NAMES), default="auto")
    de.add_argument("--out", required=True, metavar="FILE.npz")
    de.add_argument("--strategy", type=int, choices=(2, 3), default=None,
                    help="trimap strategy of the Soft Mask (default: 2 with >= 2 readers, else 3)")
    de.add_argument("--json", action="store_true")
    de.set_defaults(func=_cmd_data_export)
    df = dsub.add_parser("fetch", help="download ISBI 2012 or the LIDC crops (verified); PROMISE12 help")
    df.add_argument("which", choices=("isbi2012", "lidc-crops", "promise12"))
    df.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    df.set_defaults(func=_cmd_data_fetch)

    lidc = sub.add_parser("lidc", help="statistics of the real LIDC annotations (no images needed)")
    lsub = lidc.add_subparsers(dest="lidc_command", required=True)
    lr = lsub.add_parser("readers", help="agreement of the four readers of every 4-reader nodule (Table VI)")
    lr.add_argument("--json", action="store_true")
    lr.add_argument("--rebuild", action="store_true", help="recompute instead of reading the cache")
    lr.add_argument("--limit", type=int, default=None, metavar="N",
                    help="only the first N 4-reader nodules (a quick check; cached separately)")
    lr.set_defaults(func=_cmd_lidc_readers)

    b = sub.add_parser("bench", help="benchmarks (performance targets are checked here, not in tests)")
    b.add_argument("what", choices=("matting", "train"))
    b.add_argument("--json", action="store_true")
    b.add_argument("--cases", type=int, default=200, help="phantom crops for timings and alpha_mae (>= 200)")
    b.add_argument("--lnsm-cases", type=int, default=1000, help="cases built for lnsm_build_s_per_1000")
    b.add_argument("--iters", type=int, default=8, help="train: timed training steps per model")
    b.add_argument("--reps", type=int, default=30, help="train: timed inference repetitions per model")
    b.set_defaults(func=_cmd_bench)

    nbs = sub.add_parser("notebooks", help="the executed notebooks committed for readers: publish a run, check it")
    nsub = nbs.add_subparsers(dest="notebooks_command", required=True)
    npub = nsub.add_parser("publish", help="copy executed/<profile>/ into notebooks/ (one clean commit, results/ "
                           "from the same run, machine paths replaced)")
    nchk = nsub.add_parser("check", help="do the committed notebooks' outputs come from the run in results/<profile>/?")
    nchk.add_argument("--json", action="store_true")
    for q in (npub, nchk):
        q.add_argument("--profile", choices=PROFILE_NAMES, default="quick")
    nbs.set_defaults(func=_cmd_notebooks)

    ins = sub.add_parser("inspect", help="the trimap / Soft Mask inspector as a web page on localhost (Voila)")
    ins.add_argument("nodule_id", nargs="?", help="nodule to open on, e.g. LIDC-IDRI-0001/s0012/n01 (default: the first)")
    ins.add_argument("--source", choices=("auto", "phantom", "lidc-crops", "lidc-dicom"), default="auto",
                     help="image source (auto: lidc-crops when present, else the phantom)")
    ins.add_argument("--port", type=int, help="loopback port (default: a free one)")
    ins.add_argument("--open", action="store_true", help="also open the page in the default browser")
    ins.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server to start")
    ins.set_defaults(func=_cmd_inspect)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as exc:
        # RuntimeError covers SourceUnavailableError (a source with no data here)
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"softnodule: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
