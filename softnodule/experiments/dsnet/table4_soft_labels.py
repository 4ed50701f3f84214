"""Table IV: DSNet supervised by different soft labels (none, Kats et al., Gros et al., our Soft Mask).

Same network, losses and budget; only the target of the L1 and GAN terms changes ("under the same
conditions", TNNLS §IV-B 2). The Dice term always sees the same binary mask, and test metrics use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..engine.claims import Claim
from ..engine.table_runs import VARIANTS, metric_rows, target_dataset
from .ablation import SOURCES, column_paper, ordered, paper_means
from .paper_numbers import TABLE4

CSV = "dsnet_table4"
VARIANT_NAMES: tuple[str, ...] = ("dsnet_binary_target", "dsnet_kats", "dsnet_gros", "dsnet")
PAPER = column_paper(TABLE4, "lnsm")
TARGET_OF = {"dsnet_binary_target": "binary", "dsnet_kats": "kats", "dsnet_gros": "gros", "dsnet": "soft_mask"}


def claim_variants(column: str = "lnsm") -> set[str]:
    """Every target: each is compared with the Soft Mask."""
    return set(VARIANT_NAMES)


def claims(column: str = "lnsm", runs: Mapping[str, list] | None = None) -> list[Claim]:
    """Our Soft Mask vs each other supervision target (the paper: the Soft Mask is best)."""
    paper = paper_means(TABLE4, column)
    return [Claim(f"dsnet.table4.{column}.vs_{n}", f"TNNLS Table IV ({SOURCES[column]})",
                  f"Soft Mask supervision beats {VARIANTS[n].label}", "dsnet", n, paper.get("dsnet"), paper.get(n))
            for n in VARIANT_NAMES if n != "dsnet"]


def table_rows(runs: Mapping[str, list], evaluations: Mapping[str, list], column: str = "lnsm",
               image_source: str = "") -> list[dict[str, Any]]:
    """Rows in the paper's order, numbers for ours and the paper's."""
    return metric_rows(ordered(runs, VARIANT_NAMES), evaluations, column_paper(TABLE4, column),
                       paper_source=f"TNNLS Table IV ({SOURCES[column]})", image_source=image_source)


def soft_label_figure(dataset, n: int = 4, seed: int = 0):
    """Training crops with each supervision target side by side (binary, Kats, Gros, Soft Mask)."""
    import matplotlib.pyplot as plt

    from ...data.datasets.torch_data import dataset_arrays

    targets = {t: dataset_arrays(target_dataset(dataset, t), "train") for t in ("binary", "kats", "gros", "soft_mask")}
    base = targets["soft_mask"]
    idx = np.sort(np.random.default_rng(seed).choice(len(base), size=min(n, len(base)), replace=False))
    titles = ["CT crop", "binary (no soft label)", "Kats et al.", "Gros et al. (SoftSeg)", "our Soft Mask"]
    fig, axes = plt.subplots(len(idx), 5, figsize=(9.5, 1.95 * len(idx)), squeeze=False)
    for r, i in enumerate(idx):
        maps = [(base.image[i, 0] + 1) / 2] + [targets[t].soft[i, 0] for t in ("binary", "kats", "gros", "soft_mask")]
        for c, m in enumerate(maps):
            axes[r, c].imshow(m, cmap="gray" if c == 0 else "magma", vmin=0, vmax=1, interpolation="nearest")
            axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(titles[c], fontsize=8)
    fig.tight_layout()
    return fig
