"""Early stopping on a validation score: train until the curve has plateaued, keep the best epoch.

A run stops when ``patience`` epochs in a row have not raised the best validation score by more than
``min_delta``, or at its cap (``max_epochs``). What it records (`stop_record`) lets a table show how
the run ended: ``best_epoch``, ``stopped_epoch``, ``stop_reason`` (``"patience"`` or ``"max_epochs"``)
and ``still_improving``: the best epoch lies in the last ``patience`` epochs, so the curve had not
been seen to flatten and a longer run might score higher.

The state is a plain dict (best score, best epoch, epochs done) kept in the training checkpoint, so a
resumed run takes exactly the decision an uninterrupted one would have taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STOP_REASONS = ("patience", "max_epochs")


@dataclass(frozen=True)
class EarlyStopping:
    """The stopping rule of one run.

    Attributes
    ----------
    max_epochs : int
        The cap: the run never trains more epochs than this.
    patience : int or None
        Epochs without improvement after which the run stops; None trains to the cap.
    min_delta : float
        An epoch improves only if its score beats the best so far by more than this.
    """

    max_epochs: int
    patience: int | None = None
    min_delta: float = 1e-3

    def __post_init__(self) -> None:
        if self.max_epochs < 1:
            raise ValueError(f"max_epochs must be >= 1, got {self.max_epochs}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {self.patience}")
        if self.min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {self.min_delta}")

    def improved(self, score: float, best: float) -> bool:
        """Whether ``score`` counts as an improvement over ``best``."""
        return score > best + self.min_delta

    def should_stop(self, epochs_done: int, best_epoch: int) -> bool:
        """Whether to stop before training epoch ``epochs_done + 1`` (epochs are counted from 1)."""
        if epochs_done >= self.max_epochs:
            return True
        return self.patience is not None and best_epoch > 0 and epochs_done - best_epoch >= self.patience

    def stop_record(self, best_epoch: int, stopped_epoch: int) -> dict[str, Any]:
        """What a result records about how the run ended (see the module docstring)."""
        by_patience = self.patience is not None and stopped_epoch - best_epoch >= self.patience
        window = self.patience if self.patience is not None else 1
        return {"best_epoch": int(best_epoch), "stopped_epoch": int(stopped_epoch),
                "stop_reason": "patience" if by_patience else "max_epochs",
                "still_improving": bool(not by_patience and stopped_epoch - best_epoch < window),
                "max_epochs": int(self.max_epochs), "patience": self.patience, "min_delta": float(self.min_delta)}
