"""The papers' claims as data, and their verdicts from our paired intervals.

A `Claim` says "variant A scores higher (or lower) than variant B on this table's test set", with the
paper's two numbers. `claim_rows` scores it on our runs: the paired difference on the same test
images (bootstrap over images, pooled over seeds, `evidence.paired_difference`) and a verdict
(`evidence.verdict`) against the sign of the paper's difference. A side whose runs are degenerate
(`softnodule.degenerate`) or still improving at their cap is named in ``note``. When a side is
degenerate in at least half of its seeds the verdict is withheld (``inconclusive``, the interval's own
verdict kept in the note): a difference between a method and a constant output says nothing about the
paper's claim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .evidence import paired_difference, verdict


@dataclass(frozen=True)
class Claim:
    """One claim of a paper: A vs B on one table's test set.

    Attributes
    ----------
    claim_id : str
        Unique key, e.g. ``"dsnet.table3.lnsm.drtm"``.
    source : str
        Where the paper states it, e.g. ``"TNNLS Table III (LNSM)"``.
    text : str
        The claim in words.
    a, b : str
        Variant names (A is the one the paper finds better, unless its numbers say otherwise).
    paper_a, paper_b : float or None
        The paper's values of ``metric`` for A and B (%); their difference gives the claim's sign.
    metric : str
        Per-image metric key (``dice``, ``iou``, ...).
    """

    claim_id: str
    source: str
    text: str
    a: str
    b: str
    paper_a: float | None = None
    paper_b: float | None = None
    metric: str = "dice"

    @property
    def paper_diff(self) -> float | None:
        if self.paper_a is None or self.paper_b is None:
            return None
        return round(self.paper_a - self.paper_b, 2)

    @property
    def paper_sign(self) -> float:
        """+1 when the paper has A above B (or gives no numbers: A is the claimed improvement), -1 below."""
        d = self.paper_diff
        return 1.0 if d is None or d > 0 else (-1.0 if d < 0 else 0.0)


def step_claims(prefix: str, source: str, order: Sequence[str], paper: Mapping[str, float | None],
                labels: Mapping[str, str], metric: str = "dice") -> list[Claim]:
    """Ablation claims: every row of ``order`` against the row above it."""
    return [Claim(f"{prefix}.{a}", source, f"{labels.get(a, a)} vs {labels.get(b, b)}", a, b,
                  paper.get(a), paper.get(b), metric) for b, a in zip(order[:-1], order[1:])]


def _side_notes(name: str, runs: Sequence[Any] | None, evaluations: Sequence[Mapping[str, Any]]
                ) -> tuple[list[str], bool]:
    """Notes on one side of a claim, and whether that side is degenerate in at least half of its seeds."""
    from ...degenerate import degenerate_label

    notes = []
    labels = [degenerate_label(e["degenerate"]) for e in evaluations if "degenerate" in e]
    bad = [x for x in labels if x]
    if bad:
        notes.append(f"{name}: {bad[0]} in {len(bad)}/{len(labels)} seeds")
    if runs:
        rising = sum(bool(t.result.get("still_improving")) for t in runs)
        if rising:
            notes.append(f"{name}: still improving at the cap in {rising}/{len(runs)} seeds")
    return notes, bool(labels) and 2 * len(bad) >= len(labels)


def claim_rows(claims: Sequence[Claim], evaluations: Mapping[str, Sequence[Mapping[str, Any]]], *,
               runs: Mapping[str, Sequence[Any]] | None = None, image_source: str = "",
               dataset: str = "") -> list[dict[str, Any]]:
    """One row per claim whose two variants were run: paper vs ours with the CI and the verdict."""
    rows = []
    for c in claims:
        if c.a not in evaluations or c.b not in evaluations:
            continue
        ea, eb = evaluations[c.a], evaluations[c.b]
        d = paired_difference([e["per_image"][c.metric] for e in ea], [e["per_image"][c.metric] for e in eb])
        ours_a = 100 * float(np.nanmean([np.nanmean(e["per_image"][c.metric]) for e in ea]))
        ours_b = 100 * float(np.nanmean([np.nanmean(e["per_image"][c.metric]) for e in eb]))
        notes_a, degenerate_a = _side_notes(c.a, (runs or {}).get(c.a), ea)
        notes_b, degenerate_b = _side_notes(c.b, (runs or {}).get(c.b), eb)
        notes = notes_a + notes_b
        judged = verdict(d["ci_low"], d["ci_high"], c.paper_sign)
        if degenerate_a or degenerate_b:  # a degenerate side says nothing about the method: not judged
            notes.append(f"verdict withheld (interval alone: {judged})")
            judged = "inconclusive"
        rows.append({"claim_id": c.claim_id, "source": c.source, "claim": c.text, "a": c.a, "b": c.b,
                     "metric": c.metric, "paper_a": c.paper_a, "paper_b": c.paper_b, "paper_diff": c.paper_diff,
                     "ours_a": ours_a, "ours_b": ours_b, "diff": d["diff"], "ci_low": d["ci_low"],
                     "ci_high": d["ci_high"], "n": d["n"], "n_seeds_a": d["n_seeds_a"], "n_seeds_b": d["n_seeds_b"],
                     "verdict": judged,
                     "note": "; ".join(notes), "image_source": image_source, "dataset": dataset})
    return rows


def display_claims(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Formatting for display only: claim, paper difference, ours with its CI, verdict, note."""
    def num(x: float | None) -> str:
        return "" if x is None else f"{x:+.2f}"

    return [{"claim": r["claim"], "source": r["source"], "paper (A − B)": num(r["paper_diff"]),
             "ours (A − B) [95 % CI]": f"{r['diff']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]",
             "seeds": f"{r['n_seeds_a']}/{r['n_seeds_b']}", "n": r["n"], "verdict": r["verdict"],
             "note": r["note"]} for r in rows]
