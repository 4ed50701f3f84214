"""LGAN Table 2 (five WGAN critics vs the U-Net alone) and its Fig. 4, on thorax phantoms (+ real slices).

Which variants: the six rows of the paper's Table 2 (`models.lgan.LGAN_STRUCTURES`), all with the
same generator, data and budget; only the critic (and so the generator's adversarial term) differs.
Which data: the thorax phantom (`data.datasets.lung_slices`, exact lung masks), test split evaluated
once with the checkpoint of best validation IoU; plus, when the user's LIDC-IDRI DICOM folder
(``SOFTNODULE_LIDC_DIR``) is set, real LIDC slices from it (`lung_slices.real_lung_slices`) with
classical (uncorrected) masks as an extra test set that no model trained on.

How the evidence is built (`softnodule.experiments.engine`):

* every run trains to its validation plateau (early stopping on validation IoU, the profile's
  ``patience``, cap ``table_epochs``) and records how it ended (best / stopped epoch, still improving);
* the paper's claims (`CLAIMS`: every critic structure above the U-Net alone, and Regression above
  the other four) rest on all six rows, so each row trains ``profile.claim_seeds`` (`seeds_for`);
* the Lipschitz control of the critics (weight clipping or gradient penalty, not stated in the
  paper) is decided on the VALIDATION split (`choose_lipschitz`: both options trained with seed 0,
  the higher validation IoU wins), never on test scores; the tables use the chosen option;
* rows (`table_rows`) hold numbers only, in the paper's units (IoU and Dice as fractions, Hausdorff
  in pixels of the 224 px input): per metric the mean over seeds, the seed SD, a 95 % bootstrap CI
  over test images and the median over images, the paper's mean and median beside, the run columns
  and the degenerate-prediction counts, plus an all-foreground floor row;
* claims (`claim_table`, the engine's units: IoU in %, differences in points) are paired differences
  over test images pooled over seeds, with a verdict against the sign of the paper's difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...config import PROFILES, Profile
from ...data.datasets.torch_data import ArraySplits, SegmentationArrays, dataset_arrays
from ...models.lgan import CRITIC_STRUCTURES, LGAN_STRUCTURES
from ...train.lgan import TrainedLGAN, evaluate_lgan, lgan_config, train_lgan
from ..engine.claims import Claim, claim_rows
from ..engine.evidence import row_stats, seed_averaged
from ..engine.table_runs import degenerate_columns
from ..engine.trivial import TRIVIAL_LABELS, trivial_evaluations
from .paper_numbers import PAPER_LABELS, TABLE2_LIDC

__all__ = ["CHOICE_STRUCTURES", "CLAIMS", "CLAIM_STRUCTURES", "LABELS", "LIPSCHITZ_OPTIONS", "PHANTOM_DATA",
           "REAL_DATA", "STRUCTURES", "choice_provenance", "choose_lipschitz", "claim_table", "classical_vs_exact",
           "curves_figure", "decide_lipschitz", "display_rows", "evaluate_structures", "fig4_panel",
           "lipschitz_overrides", "mask_comparison_figure", "pick_slices", "ranking_sentence", "run_columns",
           "score_columns", "seeds_for", "table_provenance", "table_rows", "train_structures"]

STRUCTURES: tuple[str, ...] = LGAN_STRUCTURES
LABELS: dict[str, str] = {
    "unet": "U-Net (baseline)", "basic": "LGAN Basic", "product": "LGAN Product", "early_fusion": "LGAN Early fusion",
    "late_fusion": "LGAN Late fusion", "regression": "LGAN Regression",
}
PHANTOM_DATA = "thorax phantom test split, exact masks"
REAL_DATA = "real LIDC slices, classical masks"
SOURCE = "CMIG Table 2 (LIDC-IDRI)"


def _pct(x: float) -> float:
    return round(100.0 * x, 4)


#: The paper's claims on Table 2 (mean IoU, %): every critic lifts the U-Net ("All the LGAN designs
#: achieve better performance than the generator alone"), and Regression is the best structure.
CLAIMS: tuple[Claim, ...] = tuple(
    Claim(f"lgan.table2.{s}_vs_unet", SOURCE, f"{LABELS[s]} above the U-Net alone (mean IoU)", s, "unet",
          _pct(TABLE2_LIDC[s]["iou_mean"]), _pct(TABLE2_LIDC["unet"]["iou_mean"]), "iou")
    for s in CRITIC_STRUCTURES
) + tuple(
    Claim(f"lgan.table2.regression_vs_{s}", SOURCE, f"LGAN Regression above {LABELS[s]} (best structure, mean IoU)",
          "regression", s, _pct(TABLE2_LIDC["regression"]["iou_mean"]), _pct(TABLE2_LIDC[s]["iou_mean"]), "iou")
    for s in CRITIC_STRUCTURES if s != "regression"
)
#: Rows a claim rests on: they train ``profile.claim_seeds``.
CLAIM_STRUCTURES: frozenset[str] = frozenset(x for c in CLAIMS for x in (c.a, c.b))

#: The two Lipschitz controls of the WGAN critics (`train.lgan`): weight clipping with the paper's BN
#: critics, or the gradient penalty with layer-normalised critics (BN couples the penalised samples).
LIPSCHITZ_OPTIONS: dict[str, dict[str, str]] = {
    "clip": {"lipschitz": "clip", "critic_norm": "batch"},
    "gp": {"lipschitz": "gp", "critic_norm": "layer"},
}
#: Structures the Lipschitz decision trains (Basic: the plain WGAN critic on masks).
CHOICE_STRUCTURES: tuple[str, ...] = ("basic",)


def _profile(profile: Profile | str) -> Profile:
    return PROFILES[profile] if isinstance(profile, str) else profile


def lipschitz_overrides(structure: str, option: str) -> dict[str, str]:
    """`LGANConfig` fields of one Lipschitz option; none for ``unet`` (no critic, so one cached run)."""
    if option not in LIPSCHITZ_OPTIONS:
        raise ValueError(f"unknown Lipschitz option {option!r}; choose one of {', '.join(LIPSCHITZ_OPTIONS)}")
    return {} if structure == "unet" else dict(LIPSCHITZ_OPTIONS[option])


def seeds_for(structure: str, profile: Profile | str) -> tuple[int, ...]:
    """``profile.claim_seeds`` for a row a claim rests on (`CLAIM_STRUCTURES`), else ``profile.seeds``."""
    p = _profile(profile)
    return tuple(p.claim_seeds if structure in CLAIM_STRUCTURES else p.seeds)


# ------------------------------------------------------------------------- the Lipschitz decision
def _train_val_only(dataset: ArraySplits) -> ArraySplits:
    """``dataset`` without its test split (same key and name, so the runs are the table's cached runs)."""
    splits = {s: dataset_arrays(dataset, s) for s in ("train", "val")}
    notes = {k: v for k, v in dataset.manifest.items() if k != "key"}
    return ArraySplits(dataset.manifest["spec"]["name"], dataset.manifest["key"], splits, notes)


def decide_lipschitz(val_scores: Mapping[str, float]) -> str:
    """The option with the highest validation score; a tie goes to the first in `LIPSCHITZ_OPTIONS`
    (``clip``, the recipe of the WGAN paper LGAN builds on)."""
    order = [o for o in LIPSCHITZ_OPTIONS if o in val_scores]
    if not order:
        raise ValueError(f"no validation score for any of {list(LIPSCHITZ_OPTIONS)}")
    return max(order, key=lambda o: (float(val_scores[o]), -order.index(o)))


def choose_lipschitz(profile: Profile | str, dataset: ArraySplits, *, structures: Sequence[str] = CHOICE_STRUCTURES,
                     seed: int = 0, progress: bool = True, **overrides: Any) -> dict[str, Any]:
    """Decide clipping vs gradient penalty on the VALIDATION split (seed ``seed``, `CHOICE_STRUCTURES`).

    Both options are trained (or loaded from the cache) with the profile's settings; each is scored by
    the validation IoU of its selected checkpoint (mean over ``structures``); `decide_lipschitz` picks.
    The runs see a copy of ``dataset`` without its test split, so no test score can enter the choice.

    Returns ``choice`` (the option), ``val_iou`` (option -> IoU, a fraction), ``rows`` (one per option
    and structure, numbers only: the ``lgan_lipschitz_choice`` table) and ``runs`` (option -> structure
    -> run).
    """
    data = _train_val_only(dataset)
    runs = {opt: {s: train_lgan(lgan_config(s, profile, seed=seed, **{**overrides, **lipschitz_overrides(s, opt)}),
                                data, progress=progress) for s in structures}
            for opt in LIPSCHITZ_OPTIONS}
    scores = {opt: float(np.mean([r.result["val_iou"] for r in rs.values()])) for opt, rs in runs.items()}
    choice = decide_lipschitz(scores)
    rows = []
    for opt, rs in runs.items():
        for s, run in rs.items():
            r = run.result
            rows.append({"option": opt, "structure": s, "lipschitz": run.config.lipschitz,
                         "critic_norm": run.config.critic_norm, "seed": run.config.seed, "split": "val",
                         "val_iou": float(r["val_iou"]), "option_val_iou": scores[opt],
                         "best_epoch": r["best_epoch"], "stopped_epoch": r.get("stopped_epoch", len(r["history"])),
                         "stop_reason": r.get("stop_reason", ""), "still_improving": r.get("still_improving"),
                         "chosen": opt == choice, "criterion": "highest validation IoU of the selected "
                         "checkpoint, mean over structures; tie -> clip", "key": run.key})
    return {"choice": choice, "val_iou": scores, "rows": rows, "runs": runs}


# ------------------------------------------------------------------------- train and evaluate
def train_structures(profile: Profile | str, dataset: ArraySplits, structures: Sequence[str] = STRUCTURES, *,
                     lipschitz: str = "clip", seeds: Sequence[int] | None = None, progress: bool = True,
                     **overrides: Any) -> dict[str, list[TrainedLGAN]]:
    """Train (or load from the cache) each structure for each of its seeds (`seeds_for`, or ``seeds``).

    The profile's settings (`train.lgan.lgan_config`), the critics with the Lipschitz option
    ``lipschitz`` (decided by `choose_lipschitz`); ``overrides`` change any other config field.
    """
    out: dict[str, list[TrainedLGAN]] = {}
    for s in structures:
        chosen = tuple(seeds) if seeds is not None else seeds_for(s, profile)
        out[s] = [train_lgan(lgan_config(s, profile, seed=k, **{**overrides, **lipschitz_overrides(s, lipschitz)}),
                             dataset, progress=progress) for k in chosen]
    return out


def evaluate_structures(runs: Mapping[str, Sequence[TrainedLGAN]], arrays: SegmentationArrays
                        ) -> dict[str, list[dict[str, Any]]]:
    """`train.lgan.evaluate_lgan` of every seed's run on one split (probabilities kept for the first seed)."""
    return {name: [evaluate_lgan(run, arrays, keep_prob=i == 0) for i, run in enumerate(rs)]
            for name, rs in runs.items()}


# ------------------------------------------------------------------------- rows and claims
#: Table metrics (per-image key) and whether the paper's Table 2 reports them; all in the paper's units.
_METRICS: dict[str, bool] = {"iou": True, "dice": False, "hd": True}


def _median(per_seed: Sequence[np.ndarray]) -> float:
    v = seed_averaged(per_seed)
    v = v[~np.isnan(v)]
    return float(np.median(v)) if v.size else float("nan")


def score_columns(evaluations: Sequence[Mapping[str, Any]], paper: Mapping[str, float] | None) -> dict[str, Any]:
    """Per metric (IoU, Dice: fractions; Hausdorff: pixels): ``<m>_mean`` over seeds, ``<m>_sd`` (seed SD),
    ``<m>_ci_low`` / ``<m>_ci_high`` (95 % bootstrap over images), ``<m>_image_sd``, ``<m>_median`` (over
    images of the seed-averaged scores) and the paper's values beside (``<m>_mean_paper``,
    ``<m>_mean_diff``, ``<m>_median_paper``, ``<m>_median_diff``; None where Table 2 has no column)."""
    row: dict[str, Any] = {}
    for m, in_paper in _METRICS.items():
        per_seed = [e["per_image"][m] for e in evaluations]
        s = row_stats(per_seed, scale=1.0)
        pm = pmed = None
        if paper is not None and in_paper:
            pm, pmed = float(paper[f"{m}_mean"]), float(paper[f"{m}_median"])
        med = _median(per_seed)
        row |= {f"{m}_mean": s["mean"], f"{m}_sd": s["sd"], f"{m}_ci_low": s["ci_low"], f"{m}_ci_high": s["ci_high"],
                f"{m}_image_sd": s["image_sd"], f"{m}_mean_paper": pm,
                f"{m}_mean_diff": s["mean"] - pm if pm is not None else None,
                f"{m}_median": med, f"{m}_median_paper": pmed,
                f"{m}_median_diff": med - pmed if pmed is not None else None}
        if m == "iou":
            row |= {"n": s["n"], "n_seeds": s["n_seeds"]}
        if m == "hd":
            row["hd_n_undefined"] = s["n_undefined"]
    return row


def run_columns(runs: Sequence[TrainedLGAN]) -> dict[str, Any]:
    """How the runs of one row ended (numbers over seeds): epochs, stopping, validation IoU, cost."""
    res = [t.result for t in runs]
    cfg = runs[0].config
    return {"best_epoch": float(np.median([r["best_epoch"] for r in res])),
            "stopped_epoch": float(np.median([r.get("stopped_epoch", len(r["history"])) for r in res])),
            "max_epochs": cfg.epochs, "patience": cfg.patience,
            "n_stopped_by_patience": sum(r.get("stop_reason") == "patience" for r in res),
            "still_improving": any(r.get("still_improving", r["best_epoch"] == len(r["history"])) for r in res),
            "val_iou": float(np.mean([r["val_iou"] for r in res])),
            "lipschitz": "" if cfg.structure == "unet" else cfg.lipschitz,
            "critic_norm": "" if cfg.structure == "unet" else cfg.critic_norm,
            "train_min": round(sum(r["train_seconds"] for r in res) / 60.0, 2),
            "ms_per_iter": float(np.nanmean([r.get("ms_per_iter") or np.nan for r in res])),
            "critic_params": res[0].get("critic_params", 0)}


def table_rows(evals: Mapping[str, Sequence[Mapping[str, Any]]],
               runs: Mapping[str, Sequence[TrainedLGAN]] | None = None, *, data: str = PHANTOM_DATA,
               trivial_for: SegmentationArrays | None = None) -> list[dict[str, Any]]:
    """Table 2 rows, numbers only (`score_columns`, `run_columns`, degenerate counts), one per structure.

    ``evals[name]``: one evaluation per seed (`evaluate_structures`). ``trivial_for``: the split's
    arrays, to append the all-foreground floor row (scored exactly like a model).
    """
    rows = []
    for name, evs in evals.items():
        row: dict[str, Any] = {"structure": name, "label": LABELS[name], "paper_row": PAPER_LABELS[name], "data": data}
        row |= score_columns(evs, TABLE2_LIDC[name]) | degenerate_columns(evs)
        if runs is not None and name in runs:
            row |= run_columns(runs[name])
        rows.append(row | {"trivial": False})
    if trivial_for is not None:
        for name, evs in trivial_evaluations(trivial_for.binary[:, 0]).items():
            row = {"structure": name, "label": TRIVIAL_LABELS[name], "paper_row": "", "data": data}
            rows.append(row | score_columns(evs, None) | degenerate_columns(evs) | {"trivial": True})
    return rows


def claim_table(evals: Mapping[str, Sequence[Mapping[str, Any]]], runs: Mapping[str, Sequence[TrainedLGAN]] | None
                = None, *, data: str = PHANTOM_DATA, image_source: str = "") -> list[dict[str, Any]]:
    """The `CLAIMS` scored on one split: paired IoU difference (points) over its images, pooled over
    seeds, 95 % bootstrap CI and verdict against the paper's sign (`engine.claims.claim_rows`)."""
    return claim_rows(CLAIMS, evals, runs=runs, image_source=image_source, dataset=data)


def display_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Formatting for display only: "mean ± seed SD [CI]" strings beside the paper's values."""
    def cell(r: Mapping[str, Any], m: str, digits: int) -> str:
        sd = r.get(f"{m}_sd")
        return (f"{r[f'{m}_mean']:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd is not None else "")
                + f" [{r[f'{m}_ci_low']:.{digits}f}, {r[f'{m}_ci_high']:.{digits}f}]")

    def paper(v: float | None, digits: int) -> str:
        return "" if v is None else f"{v:.{digits}f}"

    out = []
    for r in rows:
        flags = ["still improving" if r.get("still_improving") else "", r.get("degenerate") or ""]
        out.append({"structure": r["label"], "IoU (ours)": cell(r, "iou", 3),
                    "IoU (paper)": paper(r["iou_mean_paper"], 3),
                    "median IoU (ours / paper)": f"{r['iou_median']:.3f} / {paper(r['iou_median_paper'], 3)}",
                    "HD px (ours)": cell(r, "hd", 2), "HD px (paper)": paper(r["hd_mean_paper"], 3),
                    "median HD px (ours / paper)": f"{r['hd_median']:.2f} / {paper(r['hd_median_paper'], 3)}",
                    "Dice (ours)": cell(r, "dice", 3), "seeds": r["n_seeds"],
                    "best/stopped": ("" if r.get("best_epoch") is None
                                     else f"{r['best_epoch']:g}/{r['stopped_epoch']:g} of {r['max_epochs']}"),
                    "flag": "; ".join(x for x in flags if x)})
    return out


def ranking_sentence(rows: Sequence[Mapping[str, Any]]) -> str:
    """Best structure by mean IoU here and in the paper, and how many LGANs score above the U-Net."""
    rows = [r for r in rows if not r.get("trivial")]
    ours = sorted(rows, key=lambda r: -r["iou_mean"])
    base = next((r for r in rows if r["structure"] == "unet"), None)
    beat = [r["label"] for r in rows
            if base is not None and r["structure"] != "unet" and r["iou_mean"] > base["iou_mean"]]
    paper_best = max(TABLE2_LIDC, key=lambda k: TABLE2_LIDC[k]["iou_mean"])
    text = (f"{rows[0]['data']}: best mean IoU {ours[0]['label']} ({ours[0]['iou_mean']:.3f}); paper: "
            f"{LABELS[paper_best]} ({TABLE2_LIDC[paper_best]['iou_mean']:.3f}).")
    if base is not None:
        text += (f" {len(beat)} of {len(rows) - 1} LGAN structures have a higher mean IoU than the U-Net alone "
                 f"({base['iou_mean']:.3f}; the claims table says which differences are resolved); in the paper "
                 f"all five do (U-Net {TABLE2_LIDC['unet']['iou_mean']:.3f}).")
    return text


def choice_provenance(profile: Profile | str, dataset: ArraySplits, choice: Mapping[str, Any], *,
                      clock=None) -> dict[str, Any]:
    """The provenance record of the Lipschitz decision (`choose_lipschitz`): what it read and decided."""
    from ...reporting import provenance

    p = _profile(profile)
    runs = [r for rs in choice["runs"].values() for r in rs.values()]
    params = {"options": LIPSCHITZ_OPTIONS, "structures": sorted({r.config.structure for r in runs}),
              "criterion": "highest validation IoU (@0.5) of the selected checkpoint; tie -> clip",
              "splits_read": ["train", "val"], "choice": choice["choice"], "val_iou": dict(choice["val_iou"])}
    return provenance(p.name, params, data_source=f"{dataset.manifest.get('source', '?')} {dataset.manifest['key']}",
                      seeds=sorted({r.config.seed for r in runs}), clock=clock, image_source="thorax phantom",
                      extra={"run_keys": {f"{r.config.lipschitz}/{r.config.structure}": r.key for r in runs}})


def table_provenance(profile: Profile | str, runs: Mapping[str, Sequence[TrainedLGAN]], dataset: ArraySplits,
                     choice: Mapping[str, Any] | None = None, *, clock=None,
                     extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The provenance record of the LGAN tables: profile, budget, data, Lipschitz decision, run keys."""
    from dataclasses import asdict

    from ...reporting import provenance

    p = _profile(profile)
    cfg = next(iter(runs.values()))[0].config
    params = {"config": {k: v for k, v in asdict(cfg).items() if k not in ("structure", "seed", "lipschitz",
                                                                             "critic_norm")},
              "structures": list(runs), "claim_seeds": list(p.claim_seeds), "seeds": list(p.seeds),
              "selection": "checkpoint = best validation IoU @0.5, early stopping on it; Lipschitz control "
                           "chosen on validation IoU; test evaluated once",
              "lipschitz_choice": (None if choice is None
                                   else {"choice": choice["choice"], "val_iou": choice["val_iou"]})}
    seeds = sorted({t.config.seed for rs in runs.values() for t in rs})
    return provenance(p.name, params, data_source=f"{dataset.manifest.get('source', '?')} {dataset.manifest['key']} "
                      f"{getattr(dataset, 'counts', {})}", seeds=seeds, clock=clock,
                      image_source="thorax phantom",
                      extra={"run_keys": {n: [t.key for t in rs] for n, rs in runs.items()}, "hd_unit": "pixels",
                             **(dict(extra) if extra else {})})


def pick_slices(arrays: SegmentationArrays, n: int = 3) -> list[int]:
    """Slices at evenly spread quantiles of lung area (small to large lungs): model-independent picks."""
    area = arrays.binary[:, 0].sum(axis=(1, 2))
    order = np.argsort(area, kind="stable")
    qs = np.linspace(0.1, 0.9, n) if n > 1 else np.array([0.5])
    return [int(order[int(round(q * (len(order) - 1)))]) for q in qs]


def _first(x: Any) -> Any:
    """The first seed's item of a per-seed list (a single item passes through)."""
    return x[0] if isinstance(x, Sequence) else x


def fig4_panel(arrays: SegmentationArrays, evals: Mapping[str, Any], indices: Sequence[int], *, title: str = ""):
    """Fig. 4: per slice, the CT with the ground truth, then every structure's mask (green) with its IoU.

    ``evals[name]``: an evaluation with ``prob``, or a per-seed list of them (the first seed is shown).
    """
    import matplotlib.pyplot as plt

    evals = {n: _first(e) for n, e in evals.items()}
    names = list(evals)
    fig, axes = plt.subplots(len(indices), len(names) + 1, figsize=(2.2 * (len(names) + 1), 2.3 * len(indices)),
                             squeeze=False)
    green = np.zeros(arrays.image.shape[2:] + (4,), np.float32)
    green[..., 1], green[..., 3] = 1.0, 0.45
    for r, i in enumerate(indices):
        ct = arrays.image[i, 0]
        panels = [("ground truth", arrays.binary[i, 0] > 0.5, None)]
        panels += [(LABELS[n], evals[n]["prob"][i, 0] > 0.5, evals[n]["per_image"]["iou"][i]) for n in names]
        for c, (label, mask, iou) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(ct, cmap="gray", vmin=-1, vmax=1)
            ax.imshow(np.where(mask[..., None], green, 0.0))
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(label, fontsize=8)
            if iou is not None:
                ax.text(0.02, 0.02, f"IoU {iou:.3f}", color="yellow", fontsize=7, transform=ax.transAxes)
        axes[r, 0].set_ylabel(arrays.ids[i], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def curves_figure(runs: Mapping[str, Any]):
    """Validation IoU per epoch (left) and the critic's gap D(real) - D(fake) (right) of every structure
    (its first seed's run when ``runs[name]`` is a per-seed list); a dot marks the kept (best) epoch."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, run in runs.items():
        run = _first(run)
        hist = run.result["history"]
        epochs = [h["epoch"] for h in hist]
        (line,) = a.plot(epochs, [h["val_iou"] for h in hist], marker=".", label=LABELS[name])
        a.plot([run.result["best_epoch"]], [run.result["val_iou"]], "o", mfc="none", color=line.get_color())
        if "d_real" in hist[0]:
            b.plot(epochs, [h["d_real"] - h["d_fake"] for h in hist], marker=".", color=line.get_color(),
                   label=LABELS[name])
    a.set_xlabel("epoch"), a.set_ylabel("validation IoU"), a.legend(fontsize=7)
    b.set_xlabel("epoch"), b.set_ylabel("mean D(real) - D(fake) (critic gap)"), b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def classical_vs_exact(seeds: Sequence[int], size: int = 224) -> dict[str, Any]:
    """Dice and IoU of the classical lung mask against the phantom's exact mask on slices ``seeds``."""
    from ...data.datasets.lung_mask import classical_lung_mask
    from ...data.datasets.thorax import thorax_slice
    from ...metrics import per_image_metrics

    pairs = [thorax_slice(int(s), size) for s in seeds]
    images = np.stack([p[0] for p in pairs])
    exact = np.stack([p[1] for p in pairs])
    classical = classical_lung_mask(images)
    m = per_image_metrics(classical, exact)
    return {"images": images, "exact": exact, "classical": classical, "dice": m["dice"], "iou": m["iou"],
            "hd": m["hd"], "seeds": [int(s) for s in seeds]}


def mask_comparison_figure(result: Mapping[str, Any], indices: Sequence[int] = (0, 1, 2)):
    """CT with the exact phantom mask (green) and the classical mask (red), Dice per slice in the title."""
    import matplotlib.pyplot as plt

    indices = [i for i in indices if i < len(result["images"])]
    fig, axes = plt.subplots(1, len(indices), figsize=(3.4 * len(indices), 3.6), squeeze=False)
    for ax, i in zip(axes[0], indices):
        ax.imshow(result["images"][i], cmap="gray", vmin=-1350, vmax=150)
        ax.contour(result["exact"][i], [0.5], colors="lime", linewidths=0.8)
        ax.contour(result["classical"][i], [0.5], colors="red", linewidths=0.6)
        ax.set_title(f"seed {result['seeds'][i]}: Dice {result['dice'][i]:.3f}", fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle("exact phantom lung mask (green) vs classical mask (red)", fontsize=9)
    fig.tight_layout()
    return fig
