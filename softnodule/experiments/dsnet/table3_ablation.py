"""Table III (LNSM column): U-Net → our backbone → + SR input → + DRTM → + Soft Mask loss → + GAN loss.

Each row adds one thing to the row above (`add_step_gains` prints our gain and the paper's). The LIDC
column of the paper's table is quoted in `paper_numbers.TABLE3` and reproduced with the LIDC issue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .paper_numbers import TABLE3
from ..engine.table_runs import add_step_gains, metric_rows

VARIANT_NAMES: tuple[str, ...] = ("unet", "dsnet_backbone", "dsnet_sr_input", "dsnet_drtm", "dsnet_soft", "dsnet")
PAPER = {n: {"dice": cells["lnsm"]} for n, cells in TABLE3.items()}


def table_rows(runs: Mapping[str, list], evaluations: Mapping[str, list]) -> list[dict[str, Any]]:
    """Rows in the ablation order with DICE ours | paper | diff and the step gains."""
    ordered = {n: runs[n] for n in VARIANT_NAMES if n in runs}
    rows = metric_rows(ordered, evaluations, PAPER, paper_source="TNNLS Table III (LNSM)")
    return add_step_gains(rows, PAPER)


def steps_sentence(rows: list[dict[str, Any]]) -> str:
    """How many of the five additions helped here vs in the paper (every one helped there)."""
    gains = [r["gain_vs_prev"] for r in rows[1:] if r["gain_vs_prev"] is not None]
    helped = sum(g > 0 for g in gains)
    return f"{helped} of {len(gains)} additions raised test Dice here; in the paper all {len(gains)} did."
