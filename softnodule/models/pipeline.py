"""Frozen SR teacher + segmenter in one module: ``forward(x) -> SegOutput``.

DSNet uses an off-the-shelf SRGAN as a frozen teacher (TNNLS §III-B 3). ``SRSegmenter`` runs it
under ``torch.no_grad()`` in eval mode and hands ``(sr, sr_feats)`` to the segmenter, so a
training loop can treat every named model alike.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from softnodule.models.backbone import SegOutput
from softnodule.models.srgan import SRGenerator

__all__ = ["SRSegmenter"]


class SRSegmenter(nn.Module):
    """A segmenter plus its frozen SR teacher.

    The teacher's parameters get ``requires_grad=False`` and it stays in eval mode whatever
    ``train()`` is called with (its BatchNorm statistics are not updated).

    Parameters
    ----------
    segmenter : nn.Module
        A model with ``needs_sr`` and ``forward(x, sr=None, sr_feats=None) -> SegOutput``.
    teacher : SRGenerator or None
        Required when ``segmenter.needs_sr``; its ``factor`` and ``feat_channels`` must match the
        segmenter's ``sr_factor`` and ``feat_ch`` where it has them.
    """

    def __init__(self, segmenter: nn.Module, teacher: SRGenerator | None = None) -> None:
        super().__init__()
        needs_sr = bool(getattr(segmenter, "needs_sr", False))
        if needs_sr and teacher is None:
            raise ValueError(
                f"{type(segmenter).__name__} needs an SR teacher (SRGenerator), got None"
            )
        if teacher is not None:
            f = getattr(segmenter, "sr_factor", teacher.factor)
            if f != teacher.factor:
                raise ValueError(f"teacher factor {teacher.factor} != segmenter sr_factor {f}")
            c = getattr(segmenter, "feat_ch", teacher.feat_channels)
            if getattr(segmenter, "needs_feats", True) and c != teacher.feat_channels:
                raise ValueError(
                    f"teacher feat_channels {teacher.feat_channels} != segmenter feat_ch {c}"
                )
            teacher.requires_grad_(False)
            teacher.eval()
        self.segmenter = segmenter
        self.teacher = teacher
        self.needs_sr = needs_sr

    def train(self, mode: bool = True) -> SRSegmenter:
        """Set train/eval mode on the segmenter; the teacher always stays in eval mode."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters that require gradients (the segmenter's): pass these to the optimiser."""
        return (p for p in self.parameters() if p.requires_grad)

    @torch.no_grad()
    def teacher_outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the frozen teacher's ``(sr, feats)`` for a low-resolution batch ``x``."""
        if self.teacher is None:
            raise ValueError("this SRSegmenter has no teacher")
        return self.teacher.forward_features(x)

    def forward(self, x: torch.Tensor) -> SegOutput:
        if not self.needs_sr:
            return self.segmenter(x)
        sr, feats = self.teacher_outputs(x)
        return self.segmenter(x, sr, feats)

    def segment(self, x: torch.Tensor, sr: torch.Tensor | None = None, feats: torch.Tensor | None = None
                ) -> SegOutput:
        """The segmenter on ``x`` with the teacher's outputs given (precomputed once, see
        `softnodule.train.fast_path`); without them this is `forward`."""
        if not self.needs_sr:
            return self.segmenter(x)
        if sr is None or feats is None:
            return self.forward(x)
        return self.segmenter(x, sr, feats)
