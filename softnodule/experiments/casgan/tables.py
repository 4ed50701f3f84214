"""CasGAN Tables 1, 3 and 4 (notebook 12): variants, the cascade's prior, rows with the paper beside ours.

* Table 1 (LNSM-style set): U-Net, SegNet, DeepLabV3+, UNet++, CE-Net and CasGAN's three variants
  (binary target, without SR, full). The baselines are the very runs of DSNet Table I (notebook 04): same
  variant names, same config, so `train_variants` returns the cached runs.
* Table 3 (LIDC-style set): CasGAN with the binary target, with the softened target max(binary, Soft Mask),
  and CasGAN++ (binary target + prior); U-Net and CF-CNN are the cached runs of DSNet Table II. The paper's
  other rows (graph cut, [27], [32]) are literature values on other data: printed, not re-run.
* Table 4 (ISBI 2012, 4-fold cross-validation by slice as in `table7_generalization`): CasGAN_bin,
  CasGAN_soft (softened), CE-Net, CE-Net++ and CasGAN++, metrics per slice. PROMISE12 only when a copy is
  configured, else rows with the paper's values only.

The cascade (CasGAN §3.3, Fig. 5): a ``casgan`` (full model, Soft Mask target) is trained on the same
training split, frozen, and its Soft Mask for every crop of every split becomes a second input channel
(`prior_dataset`); ``casgan_pp`` / ``cenet_pp`` are trained on that two-channel data. The prior is plain
data for the second stage: no gradient can reach the CasGAN that produced it.

Budget: every model gets the project's table budget (the profile's ``table_epochs``, batch 4, Adam with
poly decay, flips). The learning rate is 2e-4 for the baselines (the DSNet tables' recipe, whose cached runs
are reused) and the paper's 0.002 for CasGAN's models (`table_runs.CASGAN_TRAIN`): at 2e-4 their
regression-only loss (no Dice) was still near the all-background solution after the 2 quick epochs (quick
LNSM-style test Dice 9-12 % with SR, 43 % without). The paper's "linear decay after 35 epochs" is not
reproduced (the poly decay over ``table_epochs`` applies).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ...config import Profile
from ...data.datasets.builder import SoftMaskDataset
from ...data.datasets.torch_data import ArraySplits, SegmentationArrays, dataset_arrays
from ...metrics import scores_from_counts
from ...models.registry import model_spec
from ...train.segmentation import TrainedSegmenter, predict
from ..dsnet.paper_numbers import fmt_cell
from .paper_numbers import TABLE1, TABLE3, TABLE3_LITERATURE, TABLE4
from ..dsnet.table7_generalization import DATASET_LABELS, slice_counts
from ..engine.table_runs import VARIANTS, evaluate_variants, metric_rows, train_variants

TABLE1_VARIANTS: tuple[str, ...] = ("unet", "segnet", "deeplabv3p", "unetpp", "casgan_bin", "cenet",
                                    "casgan_no_sr", "casgan")
TABLE3_VARIANTS: tuple[str, ...] = ("unet", "cfcnn", "casgan_bin", "casgan_pp", "casgan_soft")
TABLE4_VARIANTS: tuple[str, ...] = ("casgan_bin", "casgan_soft", "cenet", "cenet_pp", "casgan_pp")
#: the variant whose frozen Soft Mask is the cascade's prior (full CasGAN, Soft Mask target)
PRIOR_VARIANT = "casgan"
#: variants that read cat(image, prior)
CASCADE_VARIANTS: tuple[str, ...] = ("casgan_pp", "cenet_pp")
METRICS: tuple[str, ...] = ("dice", "iou", "acc")
#: paper order of Table 3 (literature rows interleaved, as printed)
TABLE3_ORDER: tuple[str, ...] = ("gc", "unet", "mukherjee", "cfcnn", "roy", "casgan_bin", "casgan_pp", "casgan_soft")
NOTES = ("CasGAN = frozen SR teacher (x2 quick, x4 paper) + pix2pix U-Net segmentor without pooling on "
         "cat(bilinear image, SR image), MSE + 100 L1 + pixel GAN, no Dice; output area-averaged to the label "
         "grid, binarised at the validation threshold. Budget = the project's table budget (Adam + poly decay over "
         "table_epochs, batch 4, flips); lr 2e-4 for the baselines, the paper's 0.002 for CasGAN's models (its "
         "linear decay after 35 epochs is not reproduced). No pretrained encoders. "
         "Data: the LNSM-/LIDC-style sets of the notebook's image source (see the provenance), not DeepLesion / the authors' 119 LIDC lesions.")

_PRIOR_CACHE: dict[tuple[str, str], ArraySplits] = {}


def prior_dataset(dataset: SoftMaskDataset | ArraySplits, prior: TrainedSegmenter, *,
                  device: str = "auto") -> ArraySplits:
    """``dataset`` with a second image channel: the frozen CasGAN ``prior``'s Soft Mask, mapped to [-1, 1].

    The prior is computed once per crop (eval mode, no gradient) for every split present; targets, binary
    masks and ids are unchanged. The content key combines the dataset key and the prior run's cache key, so a
    retrained prior gives new cascade runs.

    Parameters
    ----------
    dataset : SoftMaskDataset or ArraySplits
        One-channel crops with ``train`` / ``val`` (and usually ``test``) splits.
    prior : TrainedSegmenter
        A trained one-channel model (normally the ``casgan`` variant trained on ``dataset``).
    device : str
        Where the prior runs.

    Returns
    -------
    ArraySplits
        Images (N, 2, S, S): channel 0 the crop, channel 1 ``2 * soft - 1`` of the prior.
    """
    if model_spec(prior.config.model).in_channels != 1:
        raise ValueError(f"the prior must read the 1-channel crop; {prior.config.model!r} does not")
    base_key = dataset.manifest["key"]
    cached = _PRIOR_CACHE.get((base_key, prior.key))
    if cached is not None:
        return cached
    splits: dict[str, SegmentationArrays] = {}
    for split in ("train", "val", "test"):
        try:
            a = dataset_arrays(dataset, split)
        except ValueError:
            if split == "test":
                continue
            raise
        if a.image.shape[1] != 1:
            raise ValueError(f"{dataset.manifest['spec']['name']}: {split} images have {a.image.shape[1]} channels, "
                             "expected 1 (a prior is added once)")
        _, soft = predict(prior.pipeline, a.image, device=device)
        image = np.concatenate([a.image, 2.0 * soft - 1.0], axis=1).astype(np.float32)
        splits[split] = SegmentationArrays(image, a.soft, a.binary, a.ids)
    key = hashlib.sha256(f"{base_key}|casgan-prior|{prior.key}".encode()).hexdigest()[:12]
    out = ArraySplits(f"{dataset.manifest['spec']['name']}+prior", key, splits,
                      notes={"base_key": base_key, "prior_key": prior.key, "prior_model": prior.config.model})
    _PRIOR_CACHE[(base_key, prior.key)] = out
    return out


def train_and_evaluate(names: Sequence[str], profile: Profile, dataset: SoftMaskDataset | ArraySplits,
                       teacher=None, *, progress: bool = True
                       ) -> tuple[dict[str, list[TrainedSegmenter]], dict[str, list[dict[str, Any]]],
                                  list[TrainedSegmenter]]:
    """Load or train every variant, cascade ones on the prior data; each run tested once.

    Returns ``(runs, evaluations, priors)``: runs and test evaluations per variant in the order of ``names``
    (one per seed), and the prior CasGAN runs (one per seed, empty when no cascade variant is asked for).
    Seed ``s`` of a cascade variant reads the prior of seed ``s``.
    """
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; see table_runs.VARIANTS")
    plain = [n for n in names if n not in CASCADE_VARIANTS]
    cascade = [n for n in names if n in CASCADE_VARIANTS]
    runs = train_variants(plain, profile, dataset, teacher, progress=progress)
    evals = evaluate_variants(runs, dataset)
    priors: list[TrainedSegmenter] = []
    if cascade:
        priors = train_variants([PRIOR_VARIANT], profile, dataset, teacher, progress=progress)[PRIOR_VARIANT]
        for n in cascade:
            runs[n], evals[n] = [], []
        for p in priors:
            data = prior_dataset(dataset, p)
            part = train_variants(cascade, profile, data, teacher, seeds=[p.config.seed], progress=progress)
            part_evals = evaluate_variants(part, data)
            for n in cascade:
                runs[n] += part[n]
                evals[n] += part_evals[n]
    return {n: runs[n] for n in names}, {n: evals[n] for n in names}, priors


def table1_rows(runs: Mapping[str, list], evaluations: Mapping[str, list]) -> list[dict[str, Any]]:
    """CasGAN Table 1 rows: Dice / IoU / ACC, ours (mean ± std over test crops, %) | paper | diff."""
    return metric_rows(runs, evaluations, TABLE1, metrics=METRICS, paper_source="CasGAN Table 1")


def _literature_row(key: str) -> dict[str, Any]:
    row: dict[str, Any] = {"method": TABLE3_LITERATURE[key], "variant": key}
    for m in METRICS:
        row |= {m: "", f"{m}_paper": fmt_cell(TABLE3[key].get(m), 1), f"{m}_diff": None}
    return row | {"paper_source": "CasGAN Table 3 (value claimed by the method's paper)",
                  "status": "paper only: not re-implemented"}


def table3_rows(runs: Mapping[str, list], evaluations: Mapping[str, list]) -> list[dict[str, Any]]:
    """CasGAN Table 3 rows in the paper's order: measured variants, and literature rows with the paper only."""
    measured = {r["variant"]: r | {"status": "measured"}
                for r in metric_rows(runs, evaluations, TABLE3, metrics=METRICS, paper_source="CasGAN Table 3")}
    order = [k for k in TABLE3_ORDER if k in measured or k in TABLE3_LITERATURE]
    order += [k for k in measured if k not in order]
    return [measured[k] if k in measured else _literature_row(k) for k in order]


def table4_folds(profile: Profile) -> int:
    """Folds of Table 4 to run: all 4 (every slice tested once); the first 2 of the 4 in the smoke profile.

    Smoke numbers are meaningless anyway, and half the folds keep notebook 12 near the CI's one minute.
    """
    return 2 if profile.name == "smoke" else 4


def run_folds(make_fold: Callable[[int], ArraySplits], profile: Profile, teacher=None, *, folds: int = 4,
              names: Sequence[str] = TABLE4_VARIANTS, progress: bool = True) -> list[dict[str, Any]]:
    """Train and test every Table 4 variant on every fold; ``make_fold(k) -> ArraySplits``.

    Returns one record per fold: ``{"fold", "dataset", "runs", "evals", "priors"}``.
    """
    out = []
    for k in range(folds):
        ds = make_fold(k)
        runs, evals, priors = train_and_evaluate(names, profile, ds, teacher, progress=progress)
        out.append({"fold": k, "dataset": ds, "runs": runs, "evals": evals, "priors": priors})
    return out


def per_slice_scores(folds: Sequence[Mapping[str, Any]], name: str) -> dict[str, np.ndarray]:
    """Dice / IoU / ACC of every test slice of every fold and seed (tiles re-assembled per slice)."""
    parts: dict[str, list[np.ndarray]] = {m: [] for m in METRICS}
    for f in folds:
        test = dataset_arrays(f["dataset"], "test")
        for ev in f["evals"][name]:
            c = slice_counts(ev, test.ids, test.binary)
            s = scores_from_counts(c["tp"], c["fp"], c["fn"], c["tn"])
            for m in METRICS:
                parts[m].append(np.atleast_1d(s[m]))
    return {m: np.concatenate(v) for m, v in parts.items()}


def table4_rows(dataset: str, folds: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per Table 4 variant: per-slice mean ± std (all folds' test slices), paper beside, diff."""
    rows = []
    for name in folds[0]["runs"]:
        paper = TABLE4[dataset].get(name, {})
        row: dict[str, Any] = {"dataset": DATASET_LABELS[dataset], "method": VARIANTS[name].label, "variant": name}
        scores = per_slice_scores(folds, name)
        for m in METRICS:
            v = scores[m]
            cell = paper.get(m)
            row[m] = f"{100 * np.nanmean(v):.2f} ± {100 * np.nanstd(v):.1f}"
            row[f"{m}_paper"] = fmt_cell(cell, 1)
            row[f"{m}_diff"] = None if cell is None else round(100 * float(np.nanmean(v)) - cell[0], 2)
        runs = [r for f in folds for r in f["runs"][name]]
        row |= {"folds": len(folds), "n_test_slices": len(scores["dice"]),
                "best_epoch": "; ".join(str(r.result["best_epoch"]) for r in runs),
                "train_min": round(sum(r.result["train_seconds"] for r in runs) / 60, 2),
                "ms_per_iter": round(float(np.mean([r.result.get("ms_per_iter") or np.nan for r in runs])), 1),
                "status": "measured"}
        rows.append(row)
    return rows


def table4_not_run_rows(dataset: str, reason: str) -> list[dict[str, Any]]:
    """The paper's Table 4 values for an arm we could not run, with the reason and no numbers of ours."""
    rows = []
    for name in TABLE4_VARIANTS:
        row: dict[str, Any] = {"dataset": DATASET_LABELS[dataset], "method": VARIANTS[name].label, "variant": name}
        for m in METRICS:
            row |= {m: "", f"{m}_paper": fmt_cell(TABLE4[dataset][name][m], 1), f"{m}_diff": None}
        rows.append(row | {"folds": 0, "status": f"not run: {reason}"})
    return rows


def folds_provenance(profile: Profile, folds: Sequence[Mapping[str, Any]], teacher=None, *, clock=None,
                     extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Provenance of Table 4: every fold's dataset key, run keys and prior keys."""
    from ...reporting import provenance

    params = {"table_epochs": profile.table_epochs, "width": profile.width, "depth": profile.depth,
              "sr_factor": profile.sr_factor, "folds": len(folds), "variants": list(TABLE4_VARIANTS),
              "prior_variant": PRIOR_VARIANT, "notes": NOTES,
              "selection": "per fold: checkpoint = best validation Dice @0.5, threshold on validation, test once"}
    return provenance(profile.name, params, data_source="; ".join(
        f"fold {f['fold']}: {f['dataset'].manifest['spec']['name']} {f['dataset'].manifest['key']} "
        f"{f['dataset'].counts}" for f in folds) or "no data", image_source="isbi2012", seeds=list(profile.seeds), clock=clock,
        extra={"teacher_key": getattr(teacher, "key", None),
               "run_keys": [{n: [t.key for t in ts] for n, ts in f["runs"].items()} for f in folds],
               "prior_keys": [[p.key for p in f["priors"]] for f in folds], **(dict(extra) if extra else {})})


def prediction_figure(dataset: SoftMaskDataset | ArraySplits, evaluations: Mapping[str, list[dict[str, Any]]],
                      names: Sequence[str] = ("casgan_bin", "casgan"), n: int = 4, seed: int = 0):
    """Test crops: image, Soft Mask, binary mask, and each named variant's predicted Soft Mask (seed 0)."""
    import matplotlib.pyplot as plt

    test = dataset_arrays(dataset, "test")
    idx = np.sort(np.random.default_rng(seed).choice(len(test), size=min(n, len(test)), replace=False))
    cols = [("image", lambda i: (test.image[i, 0] + 1) / 2), ("Soft Mask", lambda i: test.soft[i, 0]),
            ("binary mask", lambda i: test.binary[i, 0])]
    cols += [(f"{VARIANTS[k].label.split(' (')[0]} ({k})", lambda i, k=k: evaluations[k][0]["soft"][i, 0])
             for k in names]
    fig, axes = plt.subplots(len(idx), len(cols), figsize=(1.9 * len(cols), 1.95 * len(idx)), squeeze=False)
    for r, i in enumerate(idx):
        for c, (title, get) in enumerate(cols):
            axes[r, c].imshow(np.asarray(get(i), float), cmap="gray" if c == 0 else "magma", vmin=0, vmax=1,
                              interpolation="nearest")
            axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(title, fontsize=7)
    fig.tight_layout()
    return fig


def _dice(rows: Sequence[Mapping[str, Any]], variant: str) -> float | None:
    r = next((r for r in rows if r["variant"] == variant and r.get("dice")), None)
    return None if r is None else float(str(r["dice"]).split("±")[0])


def claim_lines(rows1: Sequence[Mapping[str, Any]], rows3: Sequence[Mapping[str, Any]],
                rows4: Sequence[Mapping[str, Any]]) -> list[str]:
    """The paper's claims as Dice differences between two rows, ours beside the paper's (points)."""
    isbi = [r for r in rows4 if r.get("dataset") == DATASET_LABELS["isbi"]]
    checks = [
        ("Table 1, Soft Mask vs binary target (casgan - casgan_bin)", rows1, "casgan", "casgan_bin", TABLE1),
        ("Table 1, SR vs no SR (casgan - casgan_no_sr)", rows1, "casgan", "casgan_no_sr", TABLE1),
        ("Table 1, full CasGAN vs CE-Net (casgan - cenet)", rows1, "casgan", "cenet", TABLE1),
        ("Table 3, softened vs binary target (casgan_soft - casgan_bin)", rows3, "casgan_soft", "casgan_bin", TABLE3),
        ("Table 3, prior vs none (casgan_pp - casgan_bin)", rows3, "casgan_pp", "casgan_bin", TABLE3),
        ("Table 4 ISBI, CE-Net prior (cenet_pp - cenet)", isbi, "cenet_pp", "cenet", TABLE4["isbi"]),
        ("Table 4 ISBI, CasGAN prior (casgan_pp - casgan_bin)", isbi, "casgan_pp", "casgan_bin", TABLE4["isbi"]),
    ]
    out = []
    for label, rows, a, b, paper in checks:
        pa, pb = paper[a]["dice"][0], paper[b]["dice"][0]
        da, db = _dice(rows, a), _dice(rows, b)
        ours = "not measured" if da is None or db is None else f"{da - db:+.2f}"
        out.append(f"{label}: ours {ours} Dice points, paper {pa - pb:+.1f}")
    return out
