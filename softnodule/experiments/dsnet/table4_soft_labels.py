"""Table IV: DSNet supervised by different soft labels (none, Kats et al., Gros et al., our Soft Mask).

Same network, losses and budget; only the target of the L1 and GAN terms changes ("under the same
conditions", TNNLS §IV-B 2). The Dice term always sees the same binary mask, and test metrics use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .paper_numbers import TABLE4
from ..engine.table_runs import metric_rows, target_dataset

VARIANT_NAMES: tuple[str, ...] = ("dsnet_binary_target", "dsnet_kats", "dsnet_gros", "dsnet")
PAPER = {n: {"dice": cells["lnsm"]} for n, cells in TABLE4.items()}
TARGET_OF = {"dsnet_binary_target": "binary", "dsnet_kats": "kats", "dsnet_gros": "gros", "dsnet": "soft_mask"}


def table_rows(runs: Mapping[str, list], evaluations: Mapping[str, list]) -> list[dict[str, Any]]:
    """Rows in the paper's order with DICE ours | paper | diff."""
    ordered = {n: runs[n] for n in VARIANT_NAMES if n in runs}
    return metric_rows(ordered, evaluations, PAPER, paper_source="TNNLS Table IV (LNSM)")


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
