"""Checkpoints: atomic writes, safe loads (``weights_only=True``), run folders keyed by config hash.

A run folder ``SOFTNODULE_CACHE/models/<name>-<hash>/`` holds ``last.pt`` (everything needed to
resume after the last completed epoch), ``weights.pt`` (the selected weights) and ``result.json``
(written last: its presence means the run finished).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import cache_dir
from ..io import atomic_write_bytes, atomic_write_text

#: Bump when a training loop changes in a way that changes its result: cached weights are retrained.
TRAIN_CODE_VERSION = 1


def config_hash(*parts: Any) -> str:
    """12-hex content hash of dataclasses / dicts / strings (sorted JSON) and the training code version."""
    payload = [asdict(p) if is_dataclass(p) else p for p in parts]
    text = json.dumps({"parts": payload, "code": TRAIN_CODE_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_dir(kind: str, name: str, key: str) -> Path:
    """``SOFTNODULE_CACHE/<kind>/<name>-<key>/`` (created)."""
    path = cache_dir() / kind / f"{name}-{key}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """``torch.save`` to memory, then an atomic write: a kill mid-save leaves the old file intact."""
    buf = io.BytesIO()
    torch.save(state, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (no arbitrary code from pickles)."""
    return torch.load(path, map_location=map_location, weights_only=True)


def rng_state() -> dict[str, Any]:
    """Torch's global CPU random state (batches and flips are seeded per epoch, see `torch_data`)."""
    return {"torch": torch.get_rng_state()}


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of `rng_state`."""
    torch.set_rng_state(state["torch"])


def write_result(folder: Path, result: dict[str, Any]) -> Path:
    """Write ``result.json`` last (it marks a finished run)."""
    return atomic_write_text(folder / "result.json", json.dumps(result, indent=1, default=float))


def write_progress(folder: Path, epoch: int, max_epochs: int, val_score: float, seconds: float) -> Path:
    """``progress.json``: the last finished epoch of a run in progress (the plan reads it, never ``last.pt``)."""
    return atomic_write_text(folder / "progress.json", json.dumps(
        {"epoch": int(epoch), "max_epochs": int(max_epochs), "val_score": float(val_score),
         "seconds": round(float(seconds), 2)}))


def read_progress(folder: Path) -> dict[str, Any] | None:
    """`write_progress`'s record, or None (no epoch finished yet, or a run that predates it)."""
    try:
        return json.loads((folder / "progress.json").read_text())
    except (OSError, ValueError):
        return None


def read_result(folder: Path) -> dict[str, Any] | None:
    """The finished run's ``result.json``, or None while the run is missing or incomplete."""
    path = folder / "result.json"
    if not path.exists() or not (folder / "weights.pt").exists():
        return None
    return json.loads(path.read_text())
