"""Shared pieces of the baselines: the one-logit interface, the SR-image wrapper, helpers.

Every baseline predicts one logit map. The DSNet interface wants two maps, so
``prob = sigmoid(logit)`` and ``soft = 2 * prob - 1``: the baselines are trained with Dice only
(TNNLS Table I, conference Table 1), and ``soft`` exists only so that a training or evaluation
loop can treat every named model alike.

``SRImageSegmenter`` is the "dagger" protocol of TNNLS Table I (INFNet†, MedT†): the same network
is run on the frozen SR teacher's image at SR resolution and its probability map is area-averaged
back to the input (label) grid, as :class:`~softnodule.models.dsnet.DSNetSegmenter` does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.backbone import SegOutput, check_sr_image

__all__ = [
    "LogitSegmenter",
    "SRImageSegmenter",
    "bn_act",
    "conv_bn",
    "resize",
    "seg_output",
    "stage_strides",
]


def seg_output(logit: torch.Tensor) -> SegOutput:
    """Turn one logit map into ``SegOutput(prob=sigmoid(logit), soft=2 * prob - 1)``."""
    prob = torch.sigmoid(logit)
    return SegOutput(prob, 2.0 * prob - 1.0)


def resize(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Bilinear resize to ``size`` (a no-op when the size already matches)."""
    size = tuple(size)
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def conv_bn(
    in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, dilation: int = 1
) -> nn.Sequential:
    """``Conv2d -> BatchNorm2d`` with "same" padding and no conv bias (BN follows)."""
    pad = dilation * (kernel - 1) // 2
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride, pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_ch),
    )


def bn_act(
    in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, dilation: int = 1
) -> nn.Sequential:
    """``Conv2d -> BatchNorm2d -> ReLU`` ("same" padding, no conv bias)."""
    return nn.Sequential(*conv_bn(in_ch, out_ch, kernel, stride, dilation), nn.ReLU(inplace=True))


def stage_strides(depth: int, n: int = 5) -> list[int]:
    """Strides of ``n`` ResNet-style down-sampling points for a total stride of ``2**depth``.

    ResNet-like encoders (CE-Net, Inf-Net) down-sample five times: stem conv, max-pool, and the
    first block of stages 2-4, i.e. stride 32, which leaves 2x2 maps on 64x64 crops. For smaller
    ``depth`` the points are switched off in the order max-pool, stage 4, stage 3, stage 2 (the
    stem always keeps stride 2 when ``depth >= 1``), so the early, cheap layers keep their place.

    Parameters
    ----------
    depth : int
        Number of stride-2 steps wanted; clamped to ``[0, n]``.
    n : int
        Number of candidate points, in network order ``stem, maxpool, stage2, stage3, ...``.

    Returns
    -------
    list of int
        Stride (1 or 2) of each point in network order.
    """
    d = max(0, min(depth, n))
    # priority: stem first, then stages 2.. in order, max-pool last
    priority = [0, *range(2, n), 1]
    on = set(priority[:d])
    return [2 if i in on else 1 for i in range(n)]


class LogitSegmenter(nn.Module):
    """Base class of the baselines: ``logits(x)`` -> one map; ``forward`` -> :class:`SegOutput`.

    Subclasses implement :meth:`logits` for ``x`` (B, 1, H, W) and return (B, 1, H, W) logits at
    the input resolution.
    """

    needs_sr = False

    def logits(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(
        self,
        x: torch.Tensor,
        sr: torch.Tensor | None = None,
        sr_feats: torch.Tensor | None = None,
    ) -> SegOutput:
        return seg_output(self.logits(x))


class SRImageSegmenter(nn.Module):
    """Run a baseline on the SR teacher's image and area-average its output to the input grid.

    TNNLS Table I's "†" rows (INFNet†, MedT†): "using SR image output by the super-resolution
    model as the input". The network sees ``sr`` (B, 1, fH, fW) only (not ``x``, not the SR
    features), so ``needs_feats`` is False; ``prob`` is averaged over f x f cells (partial-volume
    rule, as in ``DSNetSegmenter``) and ``soft = 2 * prob - 1``.

    Parameters
    ----------
    net : LogitSegmenter
        The baseline network (built for the SR image's size).
    sr_factor : int
        SR teacher's up-scaling factor f.
    """

    needs_sr = True
    needs_feats = False

    def __init__(self, net: LogitSegmenter, sr_factor: int = 2) -> None:
        super().__init__()
        if sr_factor < 1:
            raise ValueError(f"sr_factor must be >= 1, got {sr_factor}")
        self.net = net
        self.sr_factor = sr_factor

    def forward(
        self,
        x: torch.Tensor,
        sr: torch.Tensor | None = None,
        sr_feats: torch.Tensor | None = None,
    ) -> SegOutput:
        f = self.sr_factor
        check_sr_image(x, sr, f, f"{type(self.net).__name__} on the SR image")
        prob = torch.sigmoid(self.net.logits(sr))
        if f > 1:
            prob = F.avg_pool2d(prob, f)
        return SegOutput(prob, 2.0 * prob - 1.0)
