"""Table VII: generalisation beyond lung nodules — ISBI 2012 (EM membranes) and PROMISE12 (prostate MRI).

ISBI: the 30 labelled training slices (the test labels were never released), 4-fold cross-validation by
slice as in the conference paper; every slice is tested exactly once. Slices are area-downsampled (quick:
512 → 256) and cut into 64x64 tiles for training; metrics are computed per *slice* (tiles re-assembled),
so a row is the mean over the 30 slices with a 95 % bootstrap CI over slices. On ISBI about 80 % of
the pixels are membrane-free foreground, so "everything is foreground" already scores high: the table
shows that floor, flags degenerate runs, and its claims (DSNet vs U-Net and vs the best baseline chosen
on validation) withhold a verdict when a side is degenerate. Soft Masks by strategy (1). DSNet's SR teacher is the CT
teacher of notebook 02 (the papers do not say which SR model they used on EM images; a CT-trained
teacher is a domain mismatch we accept and state).

PROMISE12 cannot be downloaded without registration: when no copy is configured the arm is reported as
not run (paper values only, no numbers of ours).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...config import Profile
from ...data.datasets.torch_data import dataset_arrays
from ...metrics import scores_from_counts
from .paper_numbers import TABLE7
from ..engine.table_runs import VARIANTS, evaluate_variants, train_variants

VARIANT_NAMES: tuple[str, ...] = ("unet", "unet3p", "infnet", "medt", "dsnet")
#: cross-validation folds (the conference paper's 4-fold split of the 30 ISBI slices)
FOLDS = 4
DATASET_LABELS = {"isbi": "ISBI 2012", "promise12": "PROMISE12"}


def isbi_size(profile: Profile) -> int:
    """Side the 512x512 ISBI slices are downsampled to (smoke 128, quick 256, paper 512)."""
    return {"smoke": 128, "quick": 256}.get(profile.name, 512)


def run_folds(make_fold, profile: Profile, teacher=None, *, folds: int = FOLDS, names: Sequence[str] = VARIANT_NAMES,
              progress: bool = True) -> list[dict[str, Any]]:
    """Train and test every method on every fold; ``make_fold(k) -> ArraySplits``.

    Returns one record per fold: ``{"fold", "dataset", "runs", "evals"}`` (test split evaluated once per run).
    """
    out = []
    for k in range(folds):
        ds = make_fold(k)
        runs = train_variants(names, profile, ds, teacher, progress=progress)
        out.append({"fold": k, "dataset": ds, "runs": runs, "evals": evaluate_variants(runs, ds)})
    return out


def slice_counts(evaluation: Mapping[str, Any], ids: Sequence[str], truth: np.ndarray) -> dict[str, np.ndarray]:
    """TP/FP/FN/TN per slice, summing the tiles of each slice (ids ``.../sNN/tMM``)."""
    pred = evaluation["prob"][:, 0] > evaluation["threshold"]
    gt = truth[:, 0] > 0.5
    slices = [i.rsplit("/", 1)[0] for i in ids]
    order = list(dict.fromkeys(slices))
    counts = {k: np.zeros(len(order)) for k in ("tp", "fp", "fn", "tn")}
    for i, s in enumerate(slices):
        j = order.index(s)
        p, g = pred[i], gt[i]
        counts["tp"][j] += np.sum(p & g)
        counts["fp"][j] += np.sum(p & ~g)
        counts["fn"][j] += np.sum(~p & g)
        counts["tn"][j] += np.sum(~p & ~g)
    return counts


def slice_evaluations(folds: Sequence[Mapping[str, Any]], name: str) -> list[dict[str, Any]]:
    """Per seed: DICE / SEN / PPV of every test slice of every fold, and per-slice degenerate flags.

    Each evaluation dict has the shape `claims.claim_rows` and `table_runs.score_columns` read
    (``per_image`` = per slice here). A slice is all foreground when no pixel of it is predicted background.
    """
    n_seeds = min(len(f["evals"][name]) for f in folds)
    out = []
    for s in range(n_seeds):
        parts: dict[str, list[np.ndarray]] = {"dice": [], "sen": [], "ppv": []}
        flags: dict[str, list[np.ndarray]] = {"all_fg": [], "all_bg": [], "constant": []}
        for f in folds:
            test = dataset_arrays(f["dataset"], "test")
            c = slice_counts(f["evals"][name][s], test.ids, test.binary)
            scores = scores_from_counts(c["tp"], c["fp"], c["fn"], c["tn"])
            for m in parts:
                parts[m].append(np.atleast_1d(scores[m]))
            predicted = c["tp"] + c["fp"]
            total = predicted + c["fn"] + c["tn"]
            flags["all_fg"].append(predicted == total)
            flags["all_bg"].append(predicted == 0)
            flags["constant"].append((predicted == total) | (predicted == 0))
        out.append({"per_image": {m: np.concatenate(v) for m, v in parts.items()},
                    "degenerate": {k: np.concatenate(v) for k, v in flags.items()}})
    return out


def per_slice_scores(folds: Sequence[Mapping[str, Any]], name: str) -> dict[str, np.ndarray]:
    """DICE / SEN / PPV of every test slice of every fold for method ``name`` (seed 0)."""
    return slice_evaluations(folds, name)[0]["per_image"]


def all_foreground_evaluation(folds: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The trivial "everything is foreground" prediction scored per slice (the floor of this table)."""
    parts: dict[str, list[np.ndarray]] = {"dice": [], "sen": [], "ppv": []}
    for f in folds:
        test = dataset_arrays(f["dataset"], "test")
        ones = {"prob": np.ones_like(test.binary), "threshold": 0.5}
        c = slice_counts(ones, test.ids, test.binary)
        scores = scores_from_counts(c["tp"], c["fp"], c["fn"], c["tn"])
        for m in parts:
            parts[m].append(np.atleast_1d(scores[m]))
    n = sum(len(v) for v in parts["dice"])
    return [{"per_image": {m: np.concatenate(v) for m, v in parts.items()},
             "degenerate": {"all_fg": np.ones(n, bool), "all_bg": np.zeros(n, bool), "constant": np.ones(n, bool)}}]


def fold_runs(folds: Sequence[Mapping[str, Any]]) -> dict[str, list]:
    """Every method's trained runs over all folds (for run columns and the validation-chosen baseline)."""
    return {n: [t for f in folds for t in f["runs"][n]] for n in VARIANT_NAMES}


def rows_for(dataset: str, folds: Sequence[Mapping[str, Any]], image_source: str = "isbi2012"
             ) -> list[dict[str, Any]]:
    """One row per method (numbers: per-slice mean with CI over all folds' test slices, paper beside), then
    the all-foreground floor."""
    from ..engine.table_runs import degenerate_columns, run_columns, score_columns

    rows = []
    runs = fold_runs(folds)
    for name in VARIANT_NAMES:
        evs = slice_evaluations(folds, name)
        row: dict[str, Any] = {"dataset": DATASET_LABELS[dataset], "method": VARIANTS[name].label, "variant": name}
        row |= score_columns(evs, TABLE7[dataset][name]) | degenerate_columns(evs) | run_columns(runs[name])
        row |= {"folds": len(folds), "status": "measured", "image_source": image_source}
        rows.append(row)
    floor = all_foreground_evaluation(folds)
    row = {"dataset": DATASET_LABELS[dataset], "method": "trivial: all foreground", "variant": "trivial_all_fg"}
    row |= score_columns(floor, {}) | degenerate_columns(floor)
    rows.append(row | {"folds": len(folds), "status": "measured", "image_source": image_source, "trivial": True})
    return rows


def claims(dataset: str, folds: Sequence[Mapping[str, Any]]) -> list:
    """DSNet vs U-Net and vs the best baseline chosen on validation (mean over folds), on one dataset."""
    from .comparison import comparison_claims

    return comparison_claims(f"dsnet.table7.{dataset}", f"TNNLS Table VII ({DATASET_LABELS[dataset]})",
                             TABLE7[dataset], fold_runs(folds), {n: VARIANTS[n].label for n in VARIANT_NAMES})


def claim_rows_for(dataset: str, folds: Sequence[Mapping[str, Any]], image_source: str = "isbi2012"
                   ) -> list[dict[str, Any]]:
    """The claims of one dataset with paired intervals over test slices and verdicts."""
    from ..engine.claims import claim_rows

    evals = {n: slice_evaluations(folds, n) for n in VARIANT_NAMES}
    return claim_rows(claims(dataset, folds), evals, runs=fold_runs(folds), image_source=image_source,
                      dataset=DATASET_LABELS[dataset])


def not_run_rows(dataset: str, reason: str) -> list[dict[str, Any]]:
    """The paper's values for an arm we could not run, with the reason and no numbers of ours."""
    rows = []
    for n in VARIANT_NAMES:
        cells = TABLE7[dataset][n]
        row: dict[str, Any] = {"dataset": DATASET_LABELS[dataset], "method": VARIANTS[n].label, "variant": n,
                               "mean": None}
        for m in ("dice", "sen", "ppv"):
            pre = "" if m == "dice" else f"{m}_"
            row[f"{pre}paper_mean"] = cells[m][0]
        rows.append(row | {"folds": 0, "status": f"not run: {reason}"})
    return rows


def fold_provenance(profile: Profile, folds: Sequence[Mapping[str, Any]], teacher=None, *, clock=None,
                    extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Provenance of the cross-validated table: every fold's dataset key and run keys."""
    from ...reporting import provenance

    params = {"table_epochs": profile.table_epochs, "width": profile.width, "depth": profile.depth,
              "folds": len(folds), "variants": list(VARIANT_NAMES), "isbi_size": isbi_size(profile), "tile": 64,
              "selection": "per fold: checkpoint = best validation Dice @0.5, threshold on validation, test once"}
    return provenance(profile.name, params, data_source="; ".join(
        f"fold {f['fold']}: {f['dataset'].manifest['spec']['name']} {f['dataset'].manifest['key']} "
        f"{f['dataset'].counts}" for f in folds) or "no data", image_source="isbi2012", seeds=[0], clock=clock,
        extra={"teacher_key": getattr(teacher, "key", None),
               "run_keys": [{n: ts[0].key for n, ts in f["runs"].items()} for f in folds],
               **(dict(extra) if extra else {})})


def example_figure(fold: Mapping[str, Any], name: str = "dsnet", n: int = 4, seed: int = 0):
    """Fig. 10-style test tiles: image, ground truth, Soft Mask (strategy 1), the model's Soft Mask and binary."""
    import matplotlib.pyplot as plt

    test = dataset_arrays(fold["dataset"], "test")
    ev = fold["evals"][name][0]
    idx = np.sort(np.random.default_rng(seed).choice(len(test), size=min(n, len(test)), replace=False))
    cols = [("image", lambda i: (test.image[i, 0] + 1) / 2, "gray"), ("ground truth", lambda i: test.binary[i, 0], "gray"),
            ("Soft Mask (strategy 1)", lambda i: test.soft[i, 0], "magma"),
            (f"{name} Soft Mask", lambda i: ev["soft"][i, 0], "magma"),
            (f"{name} binary", lambda i: ev["prob"][i, 0] > ev["threshold"], "gray")]
    fig, axes = plt.subplots(len(idx), len(cols), figsize=(9.5, 1.95 * len(idx)), squeeze=False)
    for r, i in enumerate(idx):
        for c, (title, get, cmap) in enumerate(cols):
            axes[r, c].imshow(np.asarray(get(i), float), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(title, fontsize=8)
        axes[r, 0].set_ylabel(test.ids[i].split("/", 1)[1], fontsize=7)
    fig.tight_layout()
    return fig


def display_path(path) -> str | None:
    """A data folder for provenance without machine-specific absolute paths (relative to the repo if possible)."""
    import os

    from ...config import REPO_ROOT

    return None if path is None else os.path.relpath(path, REPO_ROOT)
