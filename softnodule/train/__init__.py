"""Training: SR pretraining (the frozen teacher) and adversarial Soft Mask segmentation.

Both loops are load-or-train: the run folder is keyed by the config hash, a finished run is loaded,
an interrupted one resumes after its last completed epoch.
"""

from __future__ import annotations

from typing import Any

from .checkpoints import config_hash, load_checkpoint, save_checkpoint
from .segmentation import SegConfig, TrainedSegmenter, evaluate, predict, train_segmenter
from .sr import SRConfig, SRTeacher, evaluate_sr, teacher_for_profile, train_sr


def load_or_train(cfg: SegConfig, dataset, teacher: SRTeacher | None = None, **kwargs: Any) -> TrainedSegmenter:
    """The trained segmenter of ``cfg`` on ``dataset``: from the cache, resumed, or trained now."""
    return train_segmenter(cfg, dataset, teacher, **kwargs)


def load_or_train_teacher(profile, datasets, index, *, use_real: bool = True, progress: bool = True,
                          **overrides: Any) -> SRTeacher:
    """The profile's SR teacher, trained on phantoms of the datasets' training nodules (+ real CT)."""
    return teacher_for_profile(profile, datasets, index, use_real=use_real, progress=progress, **overrides)[0]


__all__ = ["SRConfig", "SRTeacher", "SegConfig", "TrainedSegmenter", "config_hash", "evaluate", "evaluate_sr",
           "load_checkpoint", "load_or_train", "load_or_train_teacher", "predict", "save_checkpoint",
           "train_segmenter", "train_sr"]
