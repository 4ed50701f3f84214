"""Notebook 02: SR pretraining: the teacher, its held-out PSNR/SSIM against bicubic, curves and panels.

The paper reports no PSNR/SSIM for its SR teacher; the table shows ours against the bicubic
baseline on held-out images (validation-split phantoms and, when present, a held-out real patient).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...data.datasets.sr_pairs import SRImageSet, bicubic_upsample, downsample
from ...train.sr import SRTeacher, evaluate_sr, super_resolve
from ...train.sr import teacher_for_profile as run_sr_pretraining  # noqa: F401  (the notebooks' entry point)


def _subset(images: SRImageSet, kind: str) -> SRImageSet:
    idx = [i for i, s in enumerate(images.sources) if s.split(":")[0] == kind]
    return SRImageSet(images.hr[idx], [images.sources[i] for i in idx])


def sr_metrics_rows(teacher: SRTeacher, held: SRImageSet) -> list[dict[str, Any]]:
    """PSNR / SSIM of SRGAN and bicubic per held-out source kind (and over all of them)."""
    rows = []
    kinds = sorted(held.counts())
    for kind in kinds + (["all"] if len(kinds) > 1 else []):
        subset = held if kind == "all" else _subset(held, kind)
        m = evaluate_sr(teacher.generator, subset, teacher.config.factor, device="cpu")
        for method in ("bicubic", "sr"):
            rows.append({"heldout": kind, "images": m["n"], "method": "SRGAN (ours)" if method == "sr" else "bicubic",
                         "factor": f"x{teacher.config.factor}", "psnr_db": round(m[f"psnr_{method}"], 3),
                         "ssim": round(m[f"ssim_{method}"], 4)})
    return rows


def sr_curve_figure(history: Sequence[dict[str, Any]]):
    """Generator loss per epoch and held-out PSNR of SR vs bicubic."""
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    ax[0].plot(ep, [h["mse"] for h in history], "o-", label="MSE")
    ax[0].plot(ep, [h["g_loss"] for h in history], "s--", label="generator total")
    warm = [h["epoch"] for h in history if not h["gan_phase"]]
    if warm:
        ax[0].axvspan(0.5, max(warm) + 0.5, color="0.9", label="MSE warm-up")
    ax[0].set(xlabel="epoch", ylabel="loss", yscale="log", title="SR training")
    ax[0].legend(fontsize=8)
    ax[1].plot(ep, [h["heldout_psnr_sr"] for h in history], "o-", label="SRGAN")
    ax[1].plot(ep, [h["heldout_psnr_bicubic"] for h in history], "k--", label="bicubic")
    ax[1].set(xlabel="epoch", ylabel="PSNR (dB)", title="held-out PSNR")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def sr_panel_figure(teacher: SRTeacher, held: SRImageSet, n: int = 4, seed: int = 0):
    """Rows of LR / bicubic / SR / HR for ``n`` held-out images (one per source kind first)."""
    import matplotlib.pyplot as plt
    import torch

    rng = np.random.default_rng(seed)
    kinds = sorted(held.counts())
    picks = [held.sources.index(next(s for s in held.sources if s.startswith(k))) for k in kinds]
    rest = [i for i in rng.permutation(len(held)) if i not in picks]
    idx = np.array((picks + rest)[:n])
    f = teacher.config.factor
    hr = torch.from_numpy(held.hr[idx])
    lr = downsample(hr, f)
    panels = {"LR (input)": lr.numpy(), "bicubic": bicubic_upsample(lr, f).numpy(),
              "SRGAN": super_resolve(teacher.generator, lr.numpy(), device="cpu"), "HR (truth)": hr.numpy()}
    fig, axes = plt.subplots(len(idx), 4, figsize=(8, 2.1 * len(idx)), squeeze=False)
    for r, i in enumerate(idx):
        for c, (title, arr) in enumerate(panels.items()):
            axes[r, c].imshow(arr[r, 0], cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
            axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(title, fontsize=9)
        axes[r, 0].set_ylabel(held.sources[i].split(":")[0], fontsize=8)
    fig.tight_layout()
    return fig
