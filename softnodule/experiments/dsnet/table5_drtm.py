"""Table V: the DRTM ablation — neither part / detail texture enhancement (DTM) only / DTM + CSF.

All three are the full DSNet recipe (Soft Mask L1 + GAN); only the DRTM switches differ
(`DSNetSegmenter(detail_texture=, selective_fusion=)`; without CSF the two branches are summed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .paper_numbers import TABLE5
from ..engine.table_runs import VARIANTS, add_step_gains, metric_rows

VARIANT_NAMES: tuple[str, ...] = ("dsnet_drtm_neither", "dsnet_drtm_dtm_only", "dsnet")
PAPER = {n: {"dice": cells["lnsm"]} for n, cells in TABLE5.items()}


def table_rows(runs: Mapping[str, list], evaluations: Mapping[str, list]) -> list[dict[str, Any]]:
    """Rows with the DTM / CSF switches, DICE ours | paper | diff and the step gains."""
    ordered = {n: runs[n] for n in VARIANT_NAMES if n in runs}
    rows = add_step_gains(metric_rows(ordered, evaluations, PAPER, paper_source="TNNLS Table V (LNSM)"), PAPER)
    for row in rows:
        ov = dict(VARIANTS[row["variant"]].overrides)
        row["DTM"] = "yes" if ov.get("detail_texture", True) else "no"
        row["CSF"] = "yes" if ov.get("selective_fusion", True) else "no"
    return rows
