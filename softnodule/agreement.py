"""Agreement between several readers' masks, and between readers and a model (the Table VI matrix).

Table VI of the DSNet paper reports the Dice between every pair of "doctors", the 50 % consensus and
DSNet. Two traps make a naive version of it misleading, and this module avoids both:

* **Self-inclusion.** The 50 % consensus is built from the readers themselves, so "reader i vs the
  consensus" compares a reader with a mask that partly *is* that reader. `leave_one_out_consensus`
  gives, for each reader, the consensus of the OTHER readers; a model is compared with that same
  reference (``model_vs_loo``), so "is the model closer to the other readers than reader i is?" is a
  fair question.
* **Anonymous readers.** In LIDC, "Doctor 1..4" is only the order of the annotations inside one
  nodule, not the same person across nodules (REFERENCE §4). The ordered matrix is reported, but
  the order-free summaries (`order_free_summary`) are the numbers that mean something.

Masks may be 2-D (a key slice) or 3-D (a nodule's slices): every function works on any shape.
Dice follows `softnodule.metrics.dice` (both masks empty = 1).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .metrics import dice

CONSENSUS = "50% Consensus"


def reader_names(n: int) -> list[str]:
    """``["D1", ..., "Dn"]``: the paper's labels, which are annotation order, not identity."""
    return [f"D{i + 1}" for i in range(n)]


def consensus_mask(masks: np.ndarray, level: float = 0.5) -> np.ndarray:
    """pylidc's consensus: in when ``mean over readers >= level`` (4 readers: at least 2; 3: at least 2).

    Parameters
    ----------
    masks : ndarray, (R, ...) bool
        One mask per reader, any spatial shape.
    level : float
        Consensus level in (0, 1].
    """
    masks = np.asarray(masks)
    if masks.ndim < 2 or masks.shape[0] == 0:
        raise ValueError(f"need (R, ...) masks with R >= 1, got shape {masks.shape}")
    if not 0.0 < level <= 1.0:
        raise ValueError(f"level must be in (0, 1], got {level}")
    return masks.astype(np.float32).mean(axis=0) >= level


def leave_one_out_consensus(masks: np.ndarray, level: float = 0.5) -> np.ndarray:
    """For each reader, the consensus of the other readers (``(R, ...)`` bool; needs R >= 2)."""
    masks = np.asarray(masks, dtype=bool)
    r = masks.shape[0]
    if r < 2:
        raise ValueError(f"leave-one-out consensus needs at least 2 readers, got {r}")
    return np.stack([consensus_mask(np.delete(masks, i, axis=0), level) for i in range(r)])


@dataclass
class Agreement:
    """The agreement of one nodule.

    Attributes
    ----------
    names : list of str
        Row/column names of ``matrix``: readers, the consensus, then each extra (e.g. ``"DSNet"``).
    matrix : ndarray, (K, K)
        Dice of every pair (symmetric, nan on the diagonal).
    reader_vs_loo : ndarray, (R,)
        Dice of reader i with the consensus of the other readers.
    extra_vs_loo : dict of str -> ndarray (R,)
        Dice of each extra mask with the same leave-one-out consensus of reader i.
    """

    names: list[str]
    matrix: np.ndarray
    reader_vs_loo: np.ndarray
    extra_vs_loo: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_readers(self) -> int:
        return int(self.reader_vs_loo.shape[0])


def agreement(readers: np.ndarray, extras: Mapping[str, np.ndarray] | None = None, *,
              level: float = 0.5) -> Agreement:
    """Dice matrix of readers + 50 % consensus + extra masks, and the leave-one-out comparisons.

    Parameters
    ----------
    readers : ndarray, (R, ...) bool
        The readers' masks (R >= 2), annotation order.
    extras : mapping, optional
        Other masks of the same shape to place in the matrix (a model's binarised output).
    level : float
        Consensus level (0.5 = the paper's 50 % consensus).
    """
    readers = np.asarray(readers, dtype=bool)
    extras = {k: np.asarray(v, dtype=bool) for k, v in (extras or {}).items()}
    for name, m in extras.items():
        if m.shape != readers.shape[1:]:
            raise ValueError(f"extra mask {name!r} has shape {m.shape}, readers have {readers.shape[1:]}")
    cons = consensus_mask(readers, level)
    loo = leave_one_out_consensus(readers, level)
    names = [*reader_names(readers.shape[0]), CONSENSUS, *extras]
    masks = [*readers, cons, *extras.values()]
    k = len(masks)
    matrix = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(i + 1, k):
            matrix[i, j] = matrix[j, i] = dice(masks[i], masks[j])
    reader_vs_loo = np.array([dice(readers[i], loo[i]) for i in range(readers.shape[0])])
    extra_vs_loo = {n: np.array([dice(m, loo[i]) for i in range(readers.shape[0])]) for n, m in extras.items()}
    return Agreement(names, matrix, reader_vs_loo, extra_vs_loo)


def order_free(a: Agreement) -> dict[str, float]:
    """The numbers of one nodule that do not depend on which reader is called "D1".

    ``pairwise``: mean Dice over the R(R-1)/2 reader pairs; ``reader_vs_consensus``: mean over readers
    of reader vs the consensus that includes them; ``reader_vs_loo``: mean over readers of reader vs
    the consensus of the others; per extra ``<name>_vs_consensus``, ``<name>_vs_reader`` (mean over
    readers) and ``<name>_vs_loo`` (mean over i of extra vs the consensus without reader i: the fair
    counterpart of ``reader_vs_loo``).
    """
    r = a.n_readers
    iu = np.triu_indices(r, 1)
    c = r  # consensus column
    out = {"pairwise": float(np.mean(a.matrix[:r, :r][iu])),
           "reader_vs_consensus": float(np.mean(a.matrix[:r, c])),
           "reader_vs_loo": float(np.mean(a.reader_vs_loo))}
    for j, name in enumerate(a.names[r + 1:], start=r + 1):
        out[f"{name}_vs_consensus"] = float(a.matrix[j, c])
        out[f"{name}_vs_reader"] = float(np.mean(a.matrix[j, :r]))
        out[f"{name}_vs_loo"] = float(np.mean(a.extra_vs_loo[name]))
    return out


def stack_matrices(agreements: Sequence[Agreement]) -> tuple[list[str], np.ndarray]:
    """(names, (N, K, K)) for nodules that share the same names (same reader count and extras)."""
    if not agreements:
        raise ValueError("no agreements to stack")
    names = agreements[0].names
    for a in agreements:
        if a.names != names:
            raise ValueError(f"cannot stack matrices with names {a.names} and {names}")
    return names, np.stack([a.matrix for a in agreements])


def matrix_rows(names: Sequence[str], matrices: np.ndarray, paper: Mapping[str, Mapping[str, float]] | None = None,
                *, digits: int = 2) -> list[dict[str, Any]]:
    """The matrix as table rows: ``mean ± std`` over nodules (%) per cell, with the paper's cell beside.

    ``paper[row][col]`` (percent) adds a ``<col> (paper)`` column after every column the paper has (empty
    where the paper has no such cell), so every row has the same columns.
    """
    with warnings.catch_warnings():  # the diagonal is all-nan by design
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = 100 * np.nanmean(matrices, axis=0)
        std = 100 * np.nanstd(matrices, axis=0)
    paper_cols = {c for r in (paper or {}).values() for c in r}
    rows = []
    for i, row_name in enumerate(names):
        row: dict[str, Any] = {"": row_name}
        for j, col in enumerate(names):
            row[col] = "-" if i == j else f"{mean[i, j]:.{digits}f} ± {std[i, j]:.1f}"
            if col in paper_cols:
                row[f"{col} (paper)"] = (paper or {}).get(row_name, {}).get(col)
        rows.append(row)
    return rows


def summarize_order_free(per_nodule: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean and std over nodules of every `order_free` number (0-1 scale), plus ``n``."""
    keys = list(per_nodule[0]) if per_nodule else []
    out: dict[str, float] = {"n": len(per_nodule)}
    for k in keys:
        v = np.array([p[k] for p in per_nodule], dtype=float)
        out[f"{k}_mean"] = float(np.nanmean(v))
        out[f"{k}_std"] = float(np.nanstd(v))
    return out
