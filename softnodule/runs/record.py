"""Score a plan's segmenter jobs on their test split, finished or not: the record of a run made elsewhere.

Written for runs on a borrowed accelerator (the paper profile on a GPU lent for minutes, `results/paper/`):
the lease can end before a run reaches its plateau. A finished run is scored as the tables score it. An
unfinished one is scored with its best-validation weights so far, read from ``last.pt``, at a threshold
chosen on validation, and is labelled ``finished: False`` with its last epoch, never passed off as a
result. The test split is read once, here, after training; nothing is selected on it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..config import cache_dir
from ..metrics import best_threshold
from ..train.checkpoints import load_checkpoint, read_result
from .jobs import Job, segmenter_inputs

#: per-image metrics summarised in a record (fractions, reported in points)
METRICS: tuple[str, ...] = ("dice", "iou", "sen", "ppv")


def _trained(job: Job, device: str):
    """``(TrainedSegmenter, dataset, finished, history)`` of a job: the finished run, or its best weights so far."""
    from ..train.segmentation import (
        TrainedSegmenter,
        dataset_arrays,
        predict,
        train_segmenter,
    )

    cfg, data, teacher = segmenter_inputs(job.coords)
    folder = cache_dir() / job.folder
    result = read_result(folder)
    if result is not None:
        trained = train_segmenter(cfg, data, teacher, device=device, progress=False)  # loads, trains nothing
        return trained, data, True, result["history"]
    if not (folder / "last.pt").exists():
        raise FileNotFoundError(f"job {job.label!r} ({job.key}) has no finished epoch in {folder}: nothing to score; "
                                f"train it first (softnodule train --only '{Path(job.folder).name}')")
    state = load_checkpoint(folder / "last.pt")
    model = cfg.build()
    model.load_state_dict(state["best"]["state"])
    from ..models import SRSegmenter

    pipeline = SRSegmenter(model, teacher.generator if teacher is not None else None).eval()
    val = dataset_arrays(data, "val")
    prob, soft = predict(pipeline, val.image, device=device)
    t, val_dice = best_threshold(prob[:, 0], val.binary[:, 0] > 0.5)
    ts, _ = best_threshold(soft[:, 0], val.binary[:, 0] > 0.5)
    history = state["history"]
    partial = {"threshold": float(t), "soft_threshold": float(ts), "val_dice_at_threshold": float(val_dice),
               "val_dice_at_0.5": float(state["best"]["dice"]), "best_epoch": int(state["best"]["epoch"]),
               "stopped_epoch": len(history), "stop_reason": "unfinished (the run was stopped before its plateau)",
               "history": history, "train_seconds": float(state["seconds"])}
    return TrainedSegmenter(pipeline, cfg, job.key, partial), data, False, history


def job_record(job: Job, *, device: str = "auto") -> dict[str, Any]:
    """One job's record: training facts (epochs, ms/iter, time, device) and test metrics with 95 % CIs.

    Each metric is the mean over test images (points), with a bootstrap CI over images; images where a
    metric is undefined (no predicted or no true foreground) are counted in ``n_undefined``.
    """
    from ..degenerate import degenerate_summary
    from ..experiments.engine.evidence import row_stats
    from ..train.segmentation import dataset_arrays, evaluate

    if job.kind != "segmenter":
        raise ValueError(f"job {job.label!r} is a {job.kind}: only segmenter jobs have test metrics")
    trained, data, finished, history = _trained(job, device)
    t0 = time.perf_counter()
    ev = evaluate(trained, dataset_arrays(data, "test"), device=device)
    r = trained.result
    record: dict[str, Any] = {
        "key": job.key, "label": job.label, "finished": finished, "best_epoch": r.get("best_epoch"),
        "stopped_epoch": r.get("stopped_epoch"), "stop_reason": r.get("stop_reason"),
        "max_epochs": trained.config.epochs, "threshold": trained.threshold,
        "val_dice_at_threshold": r.get("val_dice_at_threshold"), "train_seconds": r.get("train_seconds"),
        "ms_per_iter": float(np.mean([h["ms_per_iter"] for h in history])) if history else None,
        "device": r.get("device"), "test_seconds": round(time.perf_counter() - t0, 2),
        "test_degenerate": degenerate_summary(ev["degenerate"]),
        "val_curve": [round(float(h["val_dice"]), 4) for h in history]}
    for head, per_image in (("", ev["per_image"]), ("soft_head_", ev["per_image_soft_head"])):
        for m in METRICS:
            stats = row_stats([per_image[m]])
            record |= {f"{head}{m}_{k}": stats[k] for k in ("mean", "ci_low", "ci_high", "n", "n_undefined")}
    return record
