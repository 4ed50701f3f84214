"""Table III: U-Net → our backbone → + SR input → + DRTM → + Soft Mask loss → + GAN loss (LNSM and LIDC).

Each row adds one thing to the row above. The paper finds every step helps; each step is a claim
(`claims.step_claims`): the paired difference of that row and the row above on the same test images,
pooled over the claim seeds, with its 95 % CI and verdict. ``gain_vs_prev`` is the plain difference
of row means, for reading along the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..engine.claims import Claim
from .ablation import ablation_claims, ablation_rows, column_paper
from .paper_numbers import TABLE3

CSV = "dsnet_table3"
VARIANT_NAMES: tuple[str, ...] = ("unet", "dsnet_backbone", "dsnet_sr_input", "dsnet_drtm", "dsnet_soft", "dsnet")
#: Kept for callers that read the LNSM column directly.
PAPER = column_paper(TABLE3, "lnsm")


def claim_variants(column: str = "lnsm") -> set[str]:
    """Every row: each is a step or the predecessor of one."""
    return set(VARIANT_NAMES)


def claims(column: str = "lnsm", runs: Mapping[str, list] | None = None) -> list[Claim]:
    """Each addition vs the row above it."""
    return ablation_claims("dsnet.table3", "TNNLS Table III", TABLE3, VARIANT_NAMES, column)


def table_rows(runs: Mapping[str, list], evaluations: Mapping[str, list], column: str = "lnsm",
               image_source: str = "") -> list[dict[str, Any]]:
    """Rows in the ablation order: numbers for ours and the paper's, and the step gains."""
    return ablation_rows(runs, evaluations, TABLE3, VARIANT_NAMES, "TNNLS Table III", column, image_source)


def steps_sentence(claim_rows: list[dict[str, Any]]) -> str:
    """How many of the additions are supported, contradicted or inconclusive here (all helped in the paper)."""
    verdicts = [c["verdict"] for c in claim_rows]
    return (f"{verdicts.count('supported')} of {len(verdicts)} additions supported, "
            f"{verdicts.count('contradicted')} contradicted, {verdicts.count('inconclusive')} inconclusive "
            f"(paired 95 % CIs over test images, pooled over seeds); in the paper all {len(verdicts)} helped.")
