"""LGAN Table 2 (five WGAN critics vs the U-Net alone) and its Fig. 4, on thorax phantoms (+ real slices).

Which variants: the six rows of the paper's Table 2 (`models.lgan.LGAN_STRUCTURES`), all with the
same generator, data, budget and seed; only the critic (and so the generator's adversarial term)
differs. Which data: the thorax phantom (`data.datasets.lung_slices`, exact lung masks), test split
evaluated once with the checkpoint of best validation IoU; plus, when the user's LIDC-IDRI DICOM
folder (``SOFTNODULE_LIDC_DIR``) is set, real LIDC slices from it (`lung_slices.real_lung_slices`)
with classical (uncorrected) masks as an extra test set that no model trained on.
How to aggregate: per-slice IoU and symmetric Hausdorff distance (pixels of the 224 px input), mean
and median over slices, as the paper; each beside the paper's value and the difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...config import Profile
from ...data.datasets.torch_data import ArraySplits, SegmentationArrays
from ...models.lgan import LGAN_STRUCTURES
from ...train.lgan import TrainedLGAN, evaluate_lgan, lgan_config, train_lgan
from .paper_numbers import PAPER_LABELS, TABLE2_LIDC

__all__ = ["LABELS", "PHANTOM_DATA", "REAL_DATA", "STRUCTURES", "classical_vs_exact", "curves_figure",
           "evaluate_structures",
           "fig4_panel", "mask_comparison_figure", "pick_slices", "ranking_sentence", "table_rows",
           "train_structures"]

STRUCTURES: tuple[str, ...] = LGAN_STRUCTURES
LABELS: dict[str, str] = {
    "unet": "U-Net (baseline)", "basic": "LGAN Basic", "product": "LGAN Product", "early_fusion": "LGAN Early fusion",
    "late_fusion": "LGAN Late fusion", "regression": "LGAN Regression",
}
PHANTOM_DATA = "thorax phantom test split, exact masks"
REAL_DATA = "real LIDC slices, classical masks"
_METRICS = ("iou_mean", "iou_median", "hd_mean", "hd_median")


def train_structures(profile: Profile | str, dataset: ArraySplits, structures: Sequence[str] = STRUCTURES, *,
                     seed: int = 0, progress: bool = True, **overrides: Any) -> dict[str, TrainedLGAN]:
    """Train (or load from the cache) each structure with the profile's settings (`train.lgan.lgan_config`)."""
    return {s: train_lgan(lgan_config(s, profile, seed=seed, **overrides), dataset, progress=progress)
            for s in structures}


def evaluate_structures(runs: Mapping[str, TrainedLGAN], arrays: SegmentationArrays) -> dict[str, dict[str, Any]]:
    """`train.lgan.evaluate_lgan` of every run on one split (predictions, per-slice metrics, summary)."""
    return {name: evaluate_lgan(run, arrays) for name, run in runs.items()}


def table_rows(evals: Mapping[str, Mapping[str, Any]], runs: Mapping[str, TrainedLGAN] | None = None, *,
               data: str = PHANTOM_DATA) -> list[dict[str, Any]]:
    """Table 2 rows: ours | paper | diff for mean / median IoU and Hausdorff, plus how each run was selected."""
    rows = []
    for name, ev in evals.items():
        s, paper = ev["summary"], TABLE2_LIDC[name]
        row: dict[str, Any] = {"structure": name, "label": LABELS[name], "paper_row": PAPER_LABELS[name],
                               "data": data, "n_slices": s["n"]}
        for m in _METRICS:
            row[m] = round(s[m], 4)
            row[f"{m}_paper"] = paper[m]
            row[f"{m}_diff"] = round(s[m] - paper[m], 4)
        row["hd_n_undefined"] = s["hd_n_undefined"]
        if runs is not None and name in runs:
            r = runs[name].result
            row.update(best_epoch=r["best_epoch"], epochs=runs[name].config.epochs, val_iou=round(r["val_iou"], 4),
                       train_min=round(r["train_seconds"] / 60.0, 2), ms_per_iter=round(r["ms_per_iter"], 1))
        rows.append(row)
    return rows


def ranking_sentence(rows: Sequence[Mapping[str, Any]]) -> str:
    """Best structure by mean IoU here and in the paper, and whether every LGAN beats the U-Net."""
    ours = sorted(rows, key=lambda r: -r["iou_mean"])
    base = next((r for r in rows if r["structure"] == "unet"), None)
    beat = [r["label"] for r in rows if base is not None and r["structure"] != "unet" and r["iou_mean"] > base["iou_mean"]]
    paper_best = max(TABLE2_LIDC, key=lambda k: TABLE2_LIDC[k]["iou_mean"])
    text = (f"{rows[0]['data']}: best mean IoU {ours[0]['label']} ({ours[0]['iou_mean']:.3f}); paper: "
            f"{LABELS[paper_best]} ({TABLE2_LIDC[paper_best]['iou_mean']:.3f}).")
    if base is not None:
        text += (f" {len(beat)} of {len(rows) - 1} LGAN structures beat the U-Net alone "
                 f"({base['iou_mean']:.3f}); in the paper all five do (U-Net {TABLE2_LIDC['unet']['iou_mean']:.3f}).")
    return text


def pick_slices(arrays: SegmentationArrays, n: int = 3) -> list[int]:
    """Slices at evenly spread quantiles of lung area (small to large lungs): model-independent picks."""
    area = arrays.binary[:, 0].sum(axis=(1, 2))
    order = np.argsort(area, kind="stable")
    qs = np.linspace(0.1, 0.9, n) if n > 1 else np.array([0.5])
    return [int(order[int(round(q * (len(order) - 1)))]) for q in qs]


def fig4_panel(arrays: SegmentationArrays, evals: Mapping[str, Mapping[str, Any]], indices: Sequence[int], *,
               title: str = ""):
    """Fig. 4: per slice, the CT with the ground truth, then every structure's mask (green) with its IoU."""
    import matplotlib.pyplot as plt

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


def curves_figure(runs: Mapping[str, TrainedLGAN]):
    """Validation IoU per epoch of every run (left) and the critic's gap D(real) - D(fake) (right)."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, run in runs.items():
        hist = run.result["history"]
        epochs = [h["epoch"] for h in hist]
        (line,) = a.plot(epochs, [h["val_iou"] for h in hist], marker=".", label=LABELS[name])
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
