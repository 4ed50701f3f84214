"""What the DSNet ablation tables (III, IV, V, conference Table 3) share: a column per set, claims per row.

Each of these tables has an LNSM and a LIDC column; a row's paper value is ``TABLE[row][column]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..dsnet.paper_numbers import Cell
from ..engine.claims import Claim, step_claims
from ..engine.table_runs import VARIANTS, add_step_gains, metric_rows

SOURCES = {"lnsm": "LNSM", "lidc": "LIDC"}


def column_paper(table: Mapping[str, Mapping[str, Cell]], column: str) -> dict[str, dict[str, Cell]]:
    """``{row: {"dice": cell}}`` of one column of a quoted ablation table."""
    if column not in SOURCES:
        raise ValueError(f"unknown column {column!r}; choose one of {', '.join(SOURCES)}")
    return {n: {"dice": cells[column]} for n, cells in table.items() if cells.get(column) is not None}


def paper_means(table: Mapping[str, Mapping[str, Cell]], column: str) -> dict[str, float]:
    """``{row: mean}`` of one column (for `claims.Claim` numbers)."""
    return {n: c["dice"][0] for n, c in column_paper(table, column).items()}


def ordered(runs: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """``runs`` restricted to ``names``, in that order."""
    return {n: runs[n] for n in names if n in runs}


def ablation_claims(prefix: str, title: str, table: Mapping[str, Mapping[str, Cell]], names: tuple[str, ...],
                    column: str) -> list[Claim]:
    """Each row of an ablation column against the row above it (``title`` e.g. "TNNLS Table III")."""
    return step_claims(f"{prefix}.{column}", f"{title} ({SOURCES[column]})", names, paper_means(table, column),
                       {n: VARIANTS[n].label for n in names})


def ablation_rows(runs: Mapping[str, Any], evaluations: Mapping[str, Any], table: Mapping[str, Mapping[str, Cell]],
                  names: tuple[str, ...], title: str, column: str, image_source: str) -> list[dict[str, Any]]:
    """Numeric rows of one ablation column in table order, with the paper's values and the step gains."""
    paper = column_paper(table, column)
    rows = metric_rows(ordered(runs, names), evaluations, paper, paper_source=f"{title} ({SOURCES[column]})",
                       image_source=image_source)
    return add_step_gains(rows, paper)
