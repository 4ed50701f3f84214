"""Notebook 03: DSNet (and the plain U-Net under the same budget) on the LNSM-style set.

Test metrics are computed once, at the epoch and threshold chosen on the validation split, and
printed next to the paper's Table I rows. Ours: per-image mean ± std and pooled Dice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...data.datasets.builder import SoftMaskDataset
from ...data.datasets.torch_data import segmentation_arrays
from ...metrics import summarize
from ...train.segmentation import SegConfig, TrainedSegmenter, evaluate, train_segmenter

#: Table I (LNSM, %), mean ± std: DICE, SEN, PPV. SoftGAN's DICE is Table VIII's "w/o DRF" row.
PAPER_LNSM: dict[str, dict[str, tuple[float, float] | None]] = {
    "unet": {"dice": (87.88, 1.1), "sen": (86.62, 3.2), "ppv": (89.04, 5.7)},
    "dsnet": {"dice": (93.77, 3.1), "sen": (91.76, 0.9), "ppv": (95.88, 2.5)},
    "softgan": {"dice": (91.63, 3.2), "sen": None, "ppv": None},
}


def train_models(names: Sequence[str], profile, dataset: SoftMaskDataset, teacher=None, *, progress: bool = True,
                 **overrides: Any) -> dict[str, TrainedSegmenter]:
    """Load or train each named model with the profile's sizes (same epochs, batch and seed for all)."""
    return {n: train_segmenter(SegConfig.for_profile(n, profile, **overrides), dataset, teacher, progress=progress)
            for n in names}


def test_evaluations(trained: Mapping[str, TrainedSegmenter], dataset: SoftMaskDataset) -> dict[str, dict[str, Any]]:
    """Evaluate every model on the TEST split once (validation-chosen checkpoint and threshold)."""
    test = segmentation_arrays(dataset, "test")
    return {name: evaluate(t, test) for name, t in trained.items()}


def test_rows(trained: Mapping[str, TrainedSegmenter], evaluations: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per model, numbers only: our test metrics (%) with CIs next to the paper's, run columns.

    One seed per model here (the notebook's walk-through); the claim DSNet > U-Net is judged with the
    claim seeds in Table I (notebook 04).
    """
    from ..engine.table_runs import run_columns, score_columns

    rows = []
    for name, t in trained.items():
        ev = evaluations[name]
        s = summarize(ev["per_image"])
        row = {"variant": name, "method": name}
        row |= score_columns([ev], PAPER_LNSM.get(name, {}), ("dice", "sen", "ppv", "iou"))
        row |= {"dice_pooled": 100 * s["dice_pooled"], "hd_px": s["hd_mean"]} | run_columns([t])
        rows.append(row)
    return rows


def dice_of(evaluation: Mapping[str, Any]) -> float:
    """Mean per-image test Dice (0-1) of one evaluation."""
    return float(np.mean(evaluation["per_image"]["dice"]))


def loss_curve_figure(trained: Mapping[str, TrainedSegmenter]):
    """Segmenter loss terms, discriminator loss and validation Dice per epoch, one column per model."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(trained), figsize=(4.2 * len(trained), 6), squeeze=False)
    for c, (name, t) in enumerate(trained.items()):
        h = t.result["history"]
        ep = [r["epoch"] for r in h]
        ax = axes[0, c]
        for k, label in (("dice", "Dice loss"), ("l1", "L1 (Soft Mask)"), ("gan", "GAN (segmenter)"),
                         ("d_loss", "discriminator")):
            if k in h[0]:
                ax.plot(ep, [r[k] for r in h], "o-", ms=3, label=label)
        ax.set(title=f"{name}: losses", xlabel="epoch")
        ax.legend(fontsize=7)
        axes[1, c].plot(ep, [r["val_dice"] for r in h], "o-", ms=3)
        axes[1, c].axvline(t.result["best_epoch"], color="k", ls="--", lw=0.8, label="kept (best val)")
        axes[1, c].set(title=f"{name}: validation Dice @0.5", xlabel="epoch")
        axes[1, c].legend(fontsize=7)
    fig.tight_layout()
    return fig


def prediction_figure(dataset: SoftMaskDataset, evaluation: Mapping[str, Any], n: int = 6, seed: int = 0,
                      title: str = "DSNet"):
    """Test cases: image, predicted binary and Soft Mask, the reference Soft Mask, true alpha (phantom only), consensus."""
    import matplotlib.pyplot as plt

    from ...matting.window import hu_to_unit

    sub = dataset.subset("test")
    idx = np.sort(np.random.default_rng(seed).choice(len(sub["image"]), size=min(n, len(sub["image"])), replace=False))
    t = evaluation["threshold"]
    cols = [("CT", lambda i: hu_to_unit(sub["image"][i]), "gray"),
            (f"{title} binary (p > {t:.2f})", lambda i: evaluation["prob"][i, 0] > t, "gray"),
            (f"{title} Soft Mask", lambda i: evaluation["soft"][i, 0], "magma"),
            ("reference Soft Mask", lambda i: sub["soft"][i], "magma"),
            ("true alpha (phantom)", lambda i: sub["true_alpha"][i], "magma"),
            ("50 % consensus", lambda i: sub["consensus"][i], "gray")]
    if "true_alpha" not in sub:  # real images: nobody knows the true alpha
        cols = [c for c in cols if not c[0].startswith("true alpha")]
    fig, axes = plt.subplots(len(idx), len(cols), figsize=(1.9 * len(cols), 1.9 * len(idx)), squeeze=False)
    for r, i in enumerate(idx):
        for c, (name, get, cmap) in enumerate(cols):
            axes[r, c].imshow(np.asarray(get(i), float), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(name, fontsize=8)
        axes[r, 0].set_ylabel(f"Dice {evaluation['per_image']['dice'][i]:.2f}", fontsize=8)
    fig.tight_layout()
    return fig
