"""Table V: the DRTM ablation — neither part / detail texture enhancement (DTM) only / DTM + CSF.

All three are the full DSNet recipe (Soft Mask L1 + GAN); only the DRTM switches differ
(`DSNetSegmenter(detail_texture=, selective_fusion=)`; without CSF the two branches are summed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..engine.claims import Claim
from ..engine.table_runs import VARIANTS
from .ablation import ablation_claims, ablation_rows, column_paper
from .paper_numbers import TABLE5

CSV = "dsnet_table5"
VARIANT_NAMES: tuple[str, ...] = ("dsnet_drtm_neither", "dsnet_drtm_dtm_only", "dsnet")
PAPER = column_paper(TABLE5, "lnsm")


def claim_variants(column: str = "lnsm") -> set[str]:
    return set(VARIANT_NAMES)


def claims(column: str = "lnsm", runs: Mapping[str, list] | None = None) -> list[Claim]:
    """DTM over neither part, then CSF over DTM alone (each row vs the row above)."""
    return ablation_claims("dsnet.table5", "TNNLS Table V", TABLE5, VARIANT_NAMES, column)


def table_rows(runs: Mapping[str, list], evaluations: Mapping[str, list], column: str = "lnsm",
               image_source: str = "") -> list[dict[str, Any]]:
    """Rows with the DTM / CSF switches, numbers for ours and the paper's, and the step gains."""
    rows = ablation_rows(runs, evaluations, TABLE5, VARIANT_NAMES, "TNNLS Table V", column, image_source)
    for row in rows:
        ov = dict(VARIANTS[row["variant"]].overrides)
        row["DTM"] = bool(ov.get("detail_texture", True))
        row["CSF"] = bool(ov.get("selective_fusion", True))
    return rows
