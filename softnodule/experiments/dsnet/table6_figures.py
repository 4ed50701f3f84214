"""Figures of Table VI: agreement by nodule rating, the matrix beside the paper's, and a Fig. 11 panel."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from ...agreement import CONSENSUS
from ...data.case import NoduleCase
from .paper_numbers import TABLE6_DOCTORS

SIZE_BINS = (0.0, 6.0, 10.0, 20.0, np.inf)


def rating_groups(frame: Mapping[str, np.ndarray]) -> dict[str, tuple[list[str], np.ndarray]]:
    """Group labels and a per-nodule group index for size bins, texture and spiculation (rounded medians)."""
    lo = SIZE_BINS
    size_labels = [f"<{lo[1]:.0f}", f"{lo[1]:.0f}-{lo[2]:.0f}", f"{lo[2]:.0f}-{lo[3]:.0f}", f">{lo[3]:.0f}"]
    out = {"size": (size_labels, np.digitize(frame["diameter_mm"], lo[1:-1]))}
    for key in ("texture", "spiculation"):
        values = np.round(frame[key]).astype(int)
        labels = [str(v) for v in range(1, 6)]
        out[key] = (labels, values - 1)
    return out


def agreement_by_rating_figure(frame: Mapping[str, np.ndarray]):
    """Mean pairwise reader Dice (2-D and 3-D) by size bin, texture and spiculation rating; n under each box."""
    import matplotlib.pyplot as plt

    groups = rating_groups(frame)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True)
    panels = (("size", "mean reader diameter (mm)"), ("texture", "texture (1 ground-glass … 5 solid)"),
              ("spiculation", "spiculation (1 none … 5 marked)"))
    for ax, (key, xlabel) in zip(axes, panels):
        labels, idx = groups[key]
        present = [g for g in range(len(labels)) if (idx == g).any()]
        for off, col, color in ((-0.2, "pairwise_2d", "tab:blue"), (0.2, "pairwise_3d", "tab:orange")):
            data = [100 * frame[col][idx == g] for g in present]
            ax.boxplot(data, positions=np.arange(len(present)) + off, widths=0.35, showfliers=False,
                       patch_artist=True, boxprops={"facecolor": color, "alpha": 0.5}, medianprops={"color": "k"})
        ax.set_xticks(np.arange(len(present)), [f"{labels[g]}\nn={int((idx == g).sum())}" for g in present],
                      fontsize=8)
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("mean pairwise reader Dice (%)")
    axes[0].plot([], [], color="tab:blue", lw=6, alpha=0.5, label="key slice (2-D)")
    axes[0].plot([], [], color="tab:orange", lw=6, alpha=0.5, label="all slices (3-D)")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Reader agreement on {len(frame['pairwise_2d'])} real 4-reader LIDC nodules", fontsize=10)
    fig.tight_layout()
    return fig


def agreement_by_rating_rows(frame: Mapping[str, np.ndarray]) -> list[dict]:
    """The numbers behind the figure: n and mean ± std pairwise Dice (%) per group."""
    rows = []
    for key, (labels, idx) in rating_groups(frame).items():
        for g, label in enumerate(labels):
            sel = idx == g
            if sel.any():
                rows.append({"by": key, "group": label, "n": int(sel.sum()),
                             "pairwise_2d": f"{100 * frame['pairwise_2d'][sel].mean():.2f} ± "
                                            f"{100 * frame['pairwise_2d'][sel].std():.1f}",
                             "pairwise_3d": f"{100 * frame['pairwise_3d'][sel].mean():.2f} ± "
                                            f"{100 * frame['pairwise_3d'][sel].std():.1f}"})
    return rows


def matrix_figure(blocks: Mapping[str, tuple[Sequence[str], np.ndarray]]):
    """Heat maps of mean Dice (%) per cell: each of our matrices, then the paper's Table VI."""
    import matplotlib.pyplot as plt

    names_p = ["D1", "D2", "D3", "D4", CONSENSUS, "DSNet"]
    paper = np.array([[np.nan if a == b else TABLE6_DOCTORS[a][b] for b in names_p] for a in names_p])
    with warnings.catch_warnings():  # the diagonal is all-nan by design
        warnings.simplefilter("ignore", RuntimeWarning)
        ours = [(t, list(n), 100 * np.nanmean(m, axis=0)) for t, (n, m) in blocks.items()]
    panels = [*ours,
              ("paper (TNNLS Table VI)", names_p, paper)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.0))
    for ax, (title, names, mat) in zip(np.atleast_1d(axes), panels):
        ax.imshow(mat, vmin=50, vmax=100, cmap="viridis")
        short = [n.replace(CONSENSUS, "50%") for n in names]
        ax.set_xticks(range(len(names)), short, fontsize=8, rotation=45)
        ax.set_yticks(range(len(names)), short, fontsize=8)
        for i in range(len(names)):
            for j in range(len(names)):
                if i != j and np.isfinite(mat[i, j]):
                    ax.text(j, i, f"{mat[i, j]:.1f}", ha="center", va="center", fontsize=7,
                            color="w" if mat[i, j] < 80 else "k")
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def fig11_panel(cases: Sequence[NoduleCase], soft: np.ndarray, binary: np.ndarray, *, title: str = ""):
    """Fig. 11 style: CT, each reader's outline, the 50 % consensus, DSNet's Soft Mask and its binarisation.

    One row per case; every row's label says the image source (phantom / lidc-crops / lidc-dicom).
    """
    import matplotlib.pyplot as plt

    from ...data.sources.phantom import LIDC_APPEARANCE

    n_r = max(c.readers.shape[0] for c in cases)
    cols = ["CT", *(f"Doctor {i + 1}" for i in range(n_r)), "50% consensus", "DSNet Soft Mask", "DSNet binary"]
    fig, axes = plt.subplots(len(cases), len(cols), figsize=(1.6 * len(cols), 1.75 * len(cases)), squeeze=False)
    lo, hi = LIDC_APPEARANCE.window_range
    for row, (case, s, b) in enumerate(zip(cases, soft, binary)):
        ax = axes[row]
        img = np.clip((case.image - lo) / (hi - lo), 0, 1)
        ax[0].imshow(img, cmap="gray")
        ax[0].set_ylabel(f"{case.case_id.split('/')[0][-4:]}\n{case.source}", fontsize=7)
        for i in range(n_r):
            ax[1 + i].imshow(img, cmap="gray")
            if i < case.readers.shape[0]:
                ax[1 + i].contour(case.readers[i], levels=[0.5], colors=["tab:orange"], linewidths=0.8)
        ax[1 + n_r].imshow(img, cmap="gray")
        ax[1 + n_r].contour(case.consensus, levels=[0.5], colors=["tab:green"], linewidths=0.8)
        ax[2 + n_r].imshow(s, cmap="magma", vmin=0, vmax=1)
        ax[3 + n_r].imshow(img, cmap="gray")
        ax[3 + n_r].contour(b.astype(float), levels=[0.5], colors=["tab:cyan"], linewidths=0.8)
        for a in ax:
            a.set_xticks([])
            a.set_yticks([])
    for a, c in zip(axes[0], cols):
        a.set_title(c, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def fig11_selection(blocks: Sequence, per_block: int = 2, seed: int = 0
                    ) -> tuple[list[NoduleCase], list[np.ndarray], list[np.ndarray]]:
    """Cases, Soft Masks and binary masks for `fig11_panel`: ``per_block`` seeded picks from each
    `table6_doctors.ModelBlock`, in the order given (real CT first in notebook 10)."""
    cases, soft, binary = [], [], []
    rng = np.random.default_rng(seed)
    for block in blocks:
        n = len(block.eval_set.cases)
        for i in sorted(rng.choice(n, size=min(per_block, n), replace=False)):
            cases.append(block.eval_set.cases[i])
            soft.append(block.pred["soft"][i])
            binary.append(block.pred["binary"][i])
    return cases, soft, binary
