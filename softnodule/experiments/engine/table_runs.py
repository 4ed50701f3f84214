"""Train, evaluate and tabulate the variants behind the DSNet tables (notebooks 04-09).

A *variant* is one trained row: a registry model, the soft target it is supervised with (Table IV) and
constructor overrides (Table V). Every variant is trained with the same budget (the profile's
``table_epochs`` cap and ``patience``, batch, Adam 2e-4 poly, flips) and cached by config hash, so a variant that appears in
several tables (DSNet is in I, III, IV, V and VIII) is trained once.

Selection is honest: checkpoint (the run stops at its validation plateau) and threshold come from the
validation split; the test split is evaluated once per trained run. Rows are numbers: the mean over
seeds of the per-image mean, the seed SD and a 95 % bootstrap CI over test images (`evidence.row_stats`),
beside the paper's value. Each run also recorded what the authors' protocol (best epoch and threshold
picked on the TEST split) would have reported: see ``author_dice``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...config import Profile
from ...data.datasets.builder import SoftMaskDataset
from ...data.datasets.torch_data import ArraySplits, SegmentationArrays, dataset_arrays
from ...matting.soft_labels import gros_soft_label, kats_soft_label
from ...metrics import summarize
from .evidence import row_stats
from ...models import count_parameters, model_spec
from ...train.segmentation import SegConfig, TrainedSegmenter, evaluate, train_segmenter
from ..dsnet.paper_numbers import Cell

TARGETS = ("soft_mask", "binary", "kats", "gros", "softened")


@dataclass(frozen=True)
class Variant:
    """One trained row of a table.

    Attributes
    ----------
    name : str
        Row key (unique across all tables).
    model : str
        Registry name (`softnodule.models.MODEL_NAMES`).
    label : str
        Row label as the paper writes it.
    target : str
        Soft target the L1/GAN terms see: ``"soft_mask"`` (ours), ``"binary"`` (no soft supervision),
        ``"kats"`` or ``"gros"`` (Table IV), ``"softened"`` = max(binary, Soft Mask) (CasGAN Eq. 6).
        Ignored by Dice-only models. For CasGAN models (``"casgan"`` loss recipe) it is THE target.
    overrides : tuple
        Constructor overrides, e.g. ``(("selective_fusion", False),)``.
    train : tuple
        `SegConfig` fields that differ from the shared table budget, e.g. ``(("lr", 2e-3),)`` for
        CasGAN's published learning rate. Empty for every DSNet-table variant (their configs, hence
        their cache keys, are unchanged).
    """

    name: str
    model: str
    label: str
    target: str = "soft_mask"
    overrides: tuple[tuple[str, Any], ...] = ()
    train: tuple[tuple[str, Any], ...] = ()


_V = Variant
#: CasGAN §4: "The learning rate is set to 0.002" (its decay schedule is not reproduced: the table budget's
#: poly decay over ``table_epochs`` applies, as to every row)
CASGAN_TRAIN: tuple[tuple[str, Any], ...] = (("lr", 2e-3),)
VARIANTS: dict[str, Variant] = {v.name: v for v in (
    _V("unet", "unet", "UNet"),
    _V("cfcnn", "cfcnn", "CF-CNN"),
    _V("dbresnet", "dbresnet", "DB-ResNet"),
    _V("unetpp", "unetpp", "UNet++"),
    _V("infnet", "infnet", "INFNet"),
    _V("infnet_sr", "infnet_sr", "INFNet† (SR input)"),
    _V("medt", "medt", "MedT"),
    _V("medt_sr", "medt_sr", "MedT† (SR input)"),
    _V("deeplabv3p", "deeplabv3p", "DeepLabV3+"),
    _V("attention_unet", "attention_unet", "Attention UNet"),
    _V("cenet", "cenet", "CE-Net"),
    _V("unet3p", "unet3p", "UNet3+"),
    _V("dsnet_backbone", "dsnet_backbone", "our proposed backbone"),
    _V("dsnet_sr_input", "dsnet_sr_input", "+ SR Input"),
    _V("dsnet_edrfm", "dsnet_edrfm", "+ EDRFM (conference)"),
    _V("dsnet_sdrfm", "dsnet_sdrfm", "+ SDRFM (conference)"),
    _V("dsnet_drtm", "dsnet_drtm", "+ DRTM"),
    _V("dsnet_soft", "dsnet_soft", "+ Soft Mask Loss"),
    _V("dsnet", "dsnet", "DSNet (+ GAN Loss)"),
    _V("dsnet_binary_target", "dsnet", "w/o soft label supervision (binary target)", target="binary"),
    _V("dsnet_kats", "dsnet", "Soft label of Kats et al. [30]", target="kats"),
    _V("dsnet_gros", "dsnet", "Soft label of Gros et al. [31]", target="gros"),
    _V("dsnet_drtm_neither", "dsnet", "DRTM without DTM and CSF",
       overrides=(("detail_texture", False), ("selective_fusion", False))),
    _V("dsnet_drtm_dtm_only", "dsnet", "DRTM with DTM only", overrides=(("selective_fusion", False),)),
    _V("softgan", "softgan", "w/o DRF (SoftGAN)"),
    # CasGAN paper (002_*.txt). Table 1: CasGAN_soft is the full model (SR + Soft Mask), CasGAN_bin the
    # same with the binary mask as target, CasGAN_withoutSR the Soft Mask without SRGAN. Tables 3/4:
    # CasGAN_soft means the SOFTENED binary mask max(binary, Soft Mask) as target (variant casgan_soft),
    # CasGAN++ / CE-net++ read the prior of a trained ``casgan`` (see experiments.casgan.tables).
    # CasGAN's models train with the paper's Adam lr 0.002 (same epochs, batch and poly decay as the rest;
    # at 2e-4 their regression-only loss had not left the all-background solution after 2 quick epochs).
    _V("segnet", "segnet", "SegNet"),
    _V("casgan", "casgan", "CasGAN_soft (SR + Soft Mask: full CasGAN)", train=CASGAN_TRAIN),
    _V("casgan_bin", "casgan", "CasGAN_bin (binary mask as target)", target="binary", train=CASGAN_TRAIN),
    _V("casgan_no_sr", "casgan_no_sr", "CasGAN_withoutSR (Soft Mask, no SRGAN)", train=CASGAN_TRAIN),
    _V("casgan_soft", "casgan", "CasGAN_soft (softened binary mask as target)", target="softened",
       train=CASGAN_TRAIN),
    _V("casgan_pp", "casgan_pp", "CasGAN++ (binary target + CasGAN prior)", target="binary", train=CASGAN_TRAIN),
    _V("cenet_pp", "cenet_pp", "CE-Net++ (CE-Net + CasGAN prior)"),
)}

_TARGET_CACHE: dict[tuple[str, str], ArraySplits] = {}


@dataclass(frozen=True)
class DatasetIdentity:
    """A derived dataset's name and content key without its arrays: what a run's cache key reads.

    The plan (`softnodule.runs`) computes the keys of runs on derived data (a soft target, a cascade
    prior) from these, so it never has to build the data; the builders below use the same functions,
    so the two cannot drift (a worker that rebuilt the real data checks the key again).
    """

    name: str
    key: str

    @property
    def manifest(self) -> dict[str, Any]:
        return {"key": self.key, "spec": {"name": self.name}}


def target_identity(dataset: Any, target: str) -> DatasetIdentity:
    """Name and key of `target_dataset` (``target`` other than ``soft_mask``)."""
    base_key = dataset.manifest["key"]
    return DatasetIdentity(f"{dataset.manifest['spec']['name']}+{target}",
                           hashlib.sha256(f"{base_key}|{target}|kats(1.2,0.5)|gros(2.0)".encode()).hexdigest()[:12])


def variant_identity(variant: Variant, dataset: Any) -> Any:
    """`variant_dataset`'s name and key without building it (``dataset`` itself when unchanged)."""
    if model_spec(variant.model).soft_mask_loss and variant.target != "soft_mask":
        return target_identity(dataset, variant.target)
    return dataset


def _soft_target(binary: np.ndarray, target: str, soft: np.ndarray | None = None) -> np.ndarray:
    """Replacement soft targets (N, 1, S, S) in [0, 1] built from the binary masks (and, for
    ``"softened"``, the Soft Masks ``soft``: CasGAN's Eq. 6, elementwise max(binary, Soft Mask))."""
    if target == "softened":
        if soft is None or soft.shape != binary.shape:
            raise ValueError("the softened target needs the Soft Masks, same shape as the binary masks")
        return np.maximum(binary, soft).astype(np.float32)
    if target == "binary":
        return binary.astype(np.float32)
    make = {"kats": kats_soft_label, "gros": gros_soft_label}[target]
    return np.stack([make(b[0] > 0.5)[None] for b in binary]).astype(np.float32)


def target_dataset(dataset: SoftMaskDataset | ArraySplits, target: str) -> SoftMaskDataset | ArraySplits:
    """``dataset`` with its Soft Masks replaced by another soft target (binary masks and images unchanged).

    Kats et al.: the mask plus a ring to 120 % size at value 0.5; Gros et al. (SoftSeg): interpolation
    soft label (`softnodule.matting.soft_labels`). Both are trained with DSNet's own losses ("under the same
    conditions", TNNLS §IV-B 2), not with SoftSeg's Adaptive Wing loss. ``"softened"``: CasGAN's softened
    binary label, max(binary, Soft Mask) per pixel (CasGAN §3.3, Eq. 6).
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    if target == "soft_mask":
        return dataset
    base_key = dataset.manifest["key"]
    cached = _TARGET_CACHE.get((base_key, target))
    if cached is not None:
        return cached
    splits: dict[str, SegmentationArrays] = {}
    for split in ("train", "val", "test"):
        a = dataset_arrays(dataset, split)
        splits[split] = SegmentationArrays(a.image, _soft_target(a.binary, target, a.soft), a.binary, a.ids)
    ident = target_identity(dataset, target)
    out = ArraySplits(ident.name, ident.key, splits, notes={"base_key": base_key, "target": target})
    _TARGET_CACHE[(base_key, target)] = out
    return out


def variant_dataset(variant: Variant, dataset: SoftMaskDataset | ArraySplits) -> SoftMaskDataset | ArraySplits:
    """The data ``variant`` trains on: ``dataset`` with its soft target (Dice-only models read it unchanged)."""
    return target_dataset(dataset, variant.target) if model_spec(variant.model).soft_mask_loss else dataset


def variant_config(variant: Variant, profile: Profile, seed: int) -> SegConfig:
    """The training config of one variant and seed (the profile's table budget)."""
    return SegConfig.for_profile(variant.model, profile, epochs=profile.table_epochs, seed=seed,
                                 overrides=variant.overrides, **dict(variant.train))


def seeds_for(name: str, profile: Profile, claim: Collection[str] = ()) -> tuple[int, ...]:
    """``profile.claim_seeds`` for a variant a claim rests on, else ``profile.seeds``."""
    return tuple(profile.claim_seeds if name in claim else profile.seeds)


def train_variants(names: Sequence[str], profile: Profile, dataset: SoftMaskDataset | ArraySplits,
                   teacher=None, *, seeds: Sequence[int] | None = None, claim: Collection[str] = (),
                   progress: bool = True) -> dict[str, list[TrainedSegmenter]]:
    """Load or train every named variant for every seed.

    Seeds: ``seeds`` when given, else ``profile.claim_seeds`` for the variants in ``claim`` (the rows a
    paper's claim rests on) and ``profile.seeds`` for the others. A seed's run is cached by its config
    key, so a variant shared by several tables trains once per seed.
    """
    out: dict[str, list[TrainedSegmenter]] = {}
    for name in names:
        v = VARIANTS[name]
        data = variant_dataset(v, dataset)
        chosen = tuple(seeds) if seeds is not None else seeds_for(name, profile, claim)
        out[name] = [train_segmenter(variant_config(v, profile, s), data, teacher, progress=progress)
                     for s in chosen]
    return out


def evaluate_variants(runs: Mapping[str, list[TrainedSegmenter]], dataset: SoftMaskDataset | ArraySplits
                      ) -> dict[str, list[dict[str, Any]]]:
    """Each trained run on the TEST split, once (validation-chosen checkpoint and threshold)."""
    test = dataset_arrays(dataset, "test")
    return {name: [evaluate(t, test) for t in ts] for name, ts in runs.items()}


def _median(values: Sequence[float]) -> float:
    return float(np.median(values)) if len(values) else float("nan")


def run_columns(ts: Sequence[TrainedSegmenter]) -> dict[str, Any]:
    """How the runs of one row ended (numbers over seeds): epochs, stopping, cost."""
    res = [t.result for t in ts]
    return {"best_epoch": _median([r["best_epoch"] for r in res]),
            "stopped_epoch": _median([r.get("stopped_epoch", len(r["history"])) for r in res]),
            "max_epochs": ts[0].config.epochs, "patience": ts[0].config.patience,
            "n_stopped_by_patience": sum(r.get("stop_reason") == "patience" for r in res),
            "still_improving": any(r.get("still_improving", r["best_epoch"] == len(r["history"])) for r in res),
            "threshold_val": float(np.mean([t.threshold for t in ts])),
            "train_min": round(sum(r["train_seconds"] for r in res) / 60.0, 2),
            "ms_per_iter": float(np.nanmean([r.get("ms_per_iter") or np.nan for r in res])),
            "params": count_parameters(ts[0].pipeline.segmenter)}


def degenerate_columns(evaluations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Degenerate predictions of one row: per-image counts (mean over seeds) and the run label."""
    from ...degenerate import degenerate_label

    flags = [e["degenerate"] for e in evaluations if "degenerate" in e]
    if not flags:
        return {}
    labels = [degenerate_label(f) for f in flags]
    bad = [x for x in labels if x]
    return {"n_all_fg": float(np.mean([f["all_fg"].sum() for f in flags])),
            "n_all_bg": float(np.mean([f["all_bg"].sum() for f in flags])),
            "n_constant": float(np.mean([f["constant"].sum() for f in flags])),
            "degenerate": f"{bad[0]} ({len(bad)}/{len(labels)} seeds)" if bad else ""}


def score_columns(evaluations: Sequence[Mapping[str, Any]], paper: Mapping[str, Cell],
                  metrics: Sequence[str] = ("dice", "sen", "ppv"), primary: str = "dice") -> dict[str, Any]:
    """Numbers of one row: mean, seed SD, CI, n for every metric (the primary one without prefix),
    the paper's value beside each, and the Soft Mask head's Dice where the evaluations have it."""
    row: dict[str, Any] = {}
    for m in metrics:
        s = row_stats([e["per_image"][m] for e in evaluations])
        pre = "" if m == primary else f"{m}_"
        cell = paper.get(m)
        row |= {f"{pre}mean": s["mean"], f"{pre}sd": s["sd"], f"{pre}ci_low": s["ci_low"],
                f"{pre}ci_high": s["ci_high"], f"{pre}image_sd": s["image_sd"],
                f"{pre}paper_mean": cell[0] if cell else None, f"{pre}paper_sd": cell[1] if cell else None,
                f"{pre}diff_vs_paper": s["mean"] - cell[0] if cell else None}
        if m == primary:
            row |= {"n": s["n"], "n_seeds": s["n_seeds"]}
        elif s["n_undefined"]:
            row[f"{m}_n_undefined"] = s["n_undefined"]
    if all("per_image_soft_head" in e for e in evaluations):
        s = row_stats([e["per_image_soft_head"][primary] for e in evaluations])
        row |= {"soft_head_mean": s["mean"], "soft_head_ci_low": s["ci_low"], "soft_head_ci_high": s["ci_high"]}
    return row


def metric_rows(runs: Mapping[str, list[TrainedSegmenter]], evaluations: Mapping[str, list[dict[str, Any]]],
                paper: Mapping[str, Mapping[str, Cell]], *, metrics: Sequence[str] = ("dice", "sen", "ppv"),
                paper_source: str | Mapping[str, str] = "TNNLS", image_source: str = "") -> list[dict[str, Any]]:
    """One row per variant, every value a number (% for scores): see `score_columns`, `run_columns`,
    `degenerate_columns`; plus pooled Dice and what the authors' protocol would have reported for the
    same runs (``author_dice``: best epoch and threshold picked on the TEST split, mean over seeds)."""
    rows = []
    for name, ts in runs.items():
        evs = evaluations[name]
        row: dict[str, Any] = {"method": VARIANTS[name].label if name in VARIANTS else name, "variant": name}
        row |= score_columns(evs, paper.get(name, {}), metrics)
        row["dice_pooled"] = 100 * float(np.mean([summarize(e["per_image"])["dice_pooled"] for e in evs]))
        authors = [t.result.get("author_protocol") for t in ts]
        if all(a is not None for a in authors):
            row["author_dice"] = 100 * float(np.mean([a["test_dice"] for a in authors]))
            row["author_inflation"] = row["author_dice"] - row["mean"]
        source = paper_source if isinstance(paper_source, str) else paper_source.get(name, "")
        row |= degenerate_columns(evs) | run_columns(ts)
        row |= {"paper_source": source if name in paper else "", "image_source": image_source}
        rows.append(row)
    return rows


def add_step_gains(rows: list[dict[str, Any]], paper: Mapping[str, Mapping[str, Cell]]) -> list[dict[str, Any]]:
    """Ablation tables: mean Dice gained by each row over the row above, ours and the paper's (points).

    The interval and verdict of each step are in the table's claims (`claims.step_claims`)."""
    prev = None
    for row in rows:
        cell = paper.get(row["variant"], {}).get("dice")
        row["gain_vs_prev"] = None if prev is None else row["mean"] - prev[0]
        row["paper_gain_vs_prev"] = (None if prev is None or prev[1] is None or cell is None
                                     else round(cell[0] - prev[1], 2))
        prev = (row["mean"], cell[0] if cell else None)
    return rows


def display_rows(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str] = ("dice",)) -> list[dict[str, Any]]:
    """Formatting for display only: "mean ± seed SD [CI]" strings beside the paper's cell per metric."""
    out = []
    for r in rows:
        d: dict[str, Any] = {"method": r["method"]}
        for m in metrics:
            pre = "" if m == "dice" else f"{m}_"
            if r.get(f"{pre}mean") is None:
                continue
            sd = r.get(f"{pre}sd")
            d[f"{m} ours"] = (f"{r[f'{pre}mean']:.2f}" + (f" ± {sd:.2f}" if sd is not None else "")
                              + f" [{r[f'{pre}ci_low']:.1f}, {r[f'{pre}ci_high']:.1f}]")
            pm = r.get(f"{pre}paper_mean")
            psd = r.get(f"{pre}paper_sd")
            d[f"{m} paper"] = "" if pm is None else f"{pm:.2f}" + ("" if psd is None else f" ± {psd:.1f}")
        epochs = (f"{r['best_epoch']:g}/{r['stopped_epoch']:g}" if r.get("best_epoch") is not None else "")
        d |= {"seeds": r.get("n_seeds"), "best/stopped epoch": epochs,
              "flag": "; ".join(x for x in ("still improving" if r.get("still_improving") else "",
                                             r.get("degenerate") or "") if x)}
        out.append(d)
    return out


def mean_dice(evaluations: Sequence[dict[str, Any]]) -> float:
    """Mean per-image test Dice (0-1) over all images of all seeds."""
    return float(np.nanmean(np.concatenate([e["per_image"]["dice"] for e in evaluations])))


def comparison_figure(rows: Sequence[Mapping[str, Any]], title: str, metric: str = "dice"):
    """Horizontal bars: ours (mean, 95 % CI) beside the paper's value, per row; flagged rows hatched."""
    import matplotlib.pyplot as plt

    pre = "" if metric == "dice" else f"{metric}_"
    mean = np.array([r.get(f"{pre}mean", np.nan) for r in rows], float)
    err = np.array([[m - r.get(f"{pre}ci_low", m) for m, r in zip(mean, rows)],
                    [r.get(f"{pre}ci_high", m) - m for m, r in zip(mean, rows)]], float)
    paper = np.array([np.nan if r.get(f"{pre}paper_mean") is None else r[f"{pre}paper_mean"] for r in rows], float)
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.2))
    bars = ax.barh(y - 0.2, mean, 0.4, xerr=err, label="ours (test, mean, 95 % CI)", color="tab:blue",
                   error_kw={"lw": 0.8})
    for bar, r in zip(bars, rows):
        if r.get("still_improving") or r.get("degenerate"):
            bar.set_hatch("//")
            bar.set_alpha(0.6)
    ax.barh(y + 0.2, paper, 0.4, label="paper", color="tab:gray")
    ax.set_yticks(y, [r["method"] + (" *" if r.get("still_improving") else "")
                      + (" (degenerate)" if r.get("degenerate") else "") for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel=f"{metric.upper()} (%)  * still improving at the cap", title=title, xlim=(0, 100))
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def table_provenance(profile: Profile, runs: Mapping[str, list[TrainedSegmenter]], dataset, teacher=None, *,
                     clock=None, notes: str = "", extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The provenance record of one table: profile, budget, data, teacher and every run's cache key."""
    from ...reporting import provenance

    counts = getattr(dataset, "counts", {})
    params = {"table_epochs": profile.table_epochs, "batch_size": profile.batch_size, "width": profile.width,
              "depth": profile.depth, "sr_factor": profile.sr_factor, "variants": list(runs),
              "selection": "checkpoint = best validation Dice @0.5; threshold chosen on validation; test once",
              "notes": notes}
    seeds = sorted({t.config.seed for ts in runs.values() for t in ts})
    return provenance(profile.name, params, data_source=f"{dataset.manifest.get('source', '?')} "
                      f"{dataset.manifest['spec']['name']} {dataset.manifest['key']} {counts}", seeds=seeds, clock=clock,
                      image_source=dataset.manifest.get("source"),
                      extra={"teacher_key": getattr(teacher, "key", None),
                             "run_keys": {n: [t.key for t in ts] for n, ts in runs.items()},
                             "train_seconds": {n: [t.result["train_seconds"] for t in ts] for n, ts in runs.items()},
                             **(dict(extra) if extra else {})})
