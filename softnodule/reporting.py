"""Results tables (ours next to the paper's), provenance JSON and figures, all written atomically."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .config import figures_dir, results_dir
from .env import environment_summary
from .io import atomic_write_bytes, atomic_write_text


class RunClock:
    """Wall time of a notebook or experiment, for its provenance."""

    def __init__(self) -> None:
        self.started = time.time()

    @property
    def seconds(self) -> float:
        return time.time() - self.started


def provenance(profile: str, parameters: Mapping[str, Any], *, data_source: str, seeds: Sequence[int] = (),
               clock: RunClock | None = None, extra: Mapping[str, Any] | None = None,
               image_source: str | None = None) -> dict[str, Any]:
    """The provenance record DESIGN asks for next to every results file.

    ``image_source`` is the image source of the nodule images (``phantom``, ``lidc-crops``, ...; see
    `softnodule.data.sources`); ``data_source`` describes the exact data in words.
    """
    return {
        "profile": profile,
        "parameters": dict(parameters),
        "image_source": image_source,
        "data_source": data_source,
        "seeds": list(seeds),
        "wall_seconds": round(clock.seconds, 2) if clock else None,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **environment_summary(),
        **(dict(extra) if extra else {}),
    }


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def write_table(rows: Sequence[Mapping[str, Any]], name: str, profile: str, prov: Mapping[str, Any]) -> Path:
    """Write ``results/<profile>/<name>.csv`` and ``<name>.provenance.json`` (atomically).

    Returns the CSV path. Columns are the union of the rows' keys in first-seen order.
    """
    if not rows:
        raise ValueError(f"table {name!r} has no rows; nothing written")
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k)) for k in columns})
    out = results_dir(profile) / f"{name}.csv"
    atomic_write_text(out.with_suffix(".provenance.json"), json.dumps(prov, indent=2, default=str))
    atomic_write_text(out, buf.getvalue())
    return out


def read_table(path: str | Path) -> list[dict[str, str]]:
    """Rows of a CSV written by `write_table`."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A GitHub-markdown table (for notebooks' printouts and REPORT files)."""
    if not rows:
        return "(empty)"
    columns = list(columns or rows[0].keys())
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def save_fig(fig, name: str, profile: str, dpi: int = 110) -> Path:
    """Save a matplotlib figure to ``figures/<profile>/<name>.png`` (atomically)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return atomic_write_bytes(figures_dir(profile) / f"{name}.png", buf.getvalue())
