"""Segmentation models: the U-Net baseline and DSNet with its ablation stems (Table III / V).

All models share one call convention: ``forward(x, sr=None, sr_feats=None) -> SegOutput`` with
``x`` (B, 1, H, W) in [-1, 1], ``sr`` the SR teacher's image (B, 1, fH, fW) and ``sr_feats`` its
features (B, feat_ch, fH, fW); ``prob`` and ``soft`` come back at the input resolution H, W.
``needs_sr`` says whether the model reads ``sr``/``sr_feats``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.backbone import SegmentationHead, SegOutput, UNetBackbone, check_sr_image
from softnodule.models.blocks import conv_bn_relu
from softnodule.models.fusion import DRTM, EDRFM, SDRFM, SRInputStem

__all__ = ["STEMS", "DSNetSegmenter", "UNet"]

STEMS = ("none", "sr_input", "edrfm", "sdrfm", "drtm")


class UNet(nn.Module):
    """Original U-Net baseline (Table III "orig. UNet") at the input resolution.

    Double conv blocks, 2x2 max-pooling, 2x2 transposed convolutions, skip concatenation, and
    the two-output :class:`SegmentationHead`.

    Parameters
    ----------
    width : int
        Channels of the first level (64 in Ronneberger et al.).
    depth : int
        Number of pooling steps; H and W must be multiples of ``2**depth``.
    """

    needs_sr = False

    def __init__(self, width: int = 16, depth: int = 4) -> None:
        super().__init__()
        self.backbone = UNetBackbone(1, width, depth, block="plain", down="maxpool", up="convT2")
        self.head = SegmentationHead(width)

    def forward(
        self,
        x: torch.Tensor,
        sr: torch.Tensor | None = None,
        sr_feats: torch.Tensor | None = None,
    ) -> SegOutput:
        return self.head(self.backbone(x))


class DSNetSegmenter(nn.Module):
    """DSNet segmenter: input stem -> CBAM U-Net backbone -> two-output head.

    ``stem="none"`` is a conv3-BN-ReLU stem on ``x`` at the input resolution (the backbone
    alone: Table III "our proposed backbone", and SoftGAN). Every other stem works at SR
    resolution: ``x_up`` = bilinear up-sampling of ``x`` by ``sr_factor``, the stem fuses
    ``x_up``/``sr``/``sr_feats``, the backbone and head run at (fH, fW), and both maps are then
    area-averaged back to (H, W).

    Parameters
    ----------
    width : int
        Backbone width (channels of level 0 and of every stem's output).
    depth : int
        Backbone down-sampling steps.
    sr_factor : int
        SR teacher's up-scaling factor f (ignored by ``stem="none"``).
    feat_ch : int
        Channels of the SR teacher's features (ignored by ``"none"`` and ``"sr_input"``).
    stem : {"none", "sr_input", "edrfm", "sdrfm", "drtm"}
        Input stage (see :mod:`softnodule.models.fusion`).
    detail_texture, selective_fusion : bool
        DRTM switches (Table V); only used with ``stem="drtm"``.
    cbam_reduction : int
        CBAM channel-gate reduction ratio of the backbone blocks (16 in CBAM).
    """

    def __init__(
        self,
        width: int = 16,
        depth: int = 4,
        sr_factor: int = 2,
        feat_ch: int = 32,
        stem: str = "drtm",
        detail_texture: bool = True,
        selective_fusion: bool = True,
        cbam_reduction: int = 16,
    ) -> None:
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if sr_factor < 1:
            raise ValueError(f"sr_factor must be >= 1, got {sr_factor}")
        self.stem_name = stem
        self.sr_factor = sr_factor
        self.feat_ch = feat_ch
        self.needs_sr = stem != "none"
        self.stem: nn.Module
        if stem == "none":
            self.stem = conv_bn_relu(1, width)
        elif stem == "sr_input":
            self.stem = SRInputStem(width)
        elif stem == "edrfm":
            self.stem = EDRFM(feat_ch, width)
        elif stem == "sdrfm":
            self.stem = SDRFM(feat_ch, width)
        else:
            self.stem = DRTM(feat_ch, width, detail_texture, selective_fusion)
        self.needs_feats = bool(getattr(self.stem, "needs_feats", False))
        self.backbone = UNetBackbone(
            width, width, depth, block="cbam", down="conv4", up="convT4", reduction=cbam_reduction
        )
        self.head = SegmentationHead(width)

    def _check_sr(
        self, x: torch.Tensor, sr: torch.Tensor | None, feats: torch.Tensor | None
    ) -> None:
        check_sr_image(x, sr, self.sr_factor, f"stem {self.stem_name!r}")
        b, _, h, w = x.shape
        f = self.sr_factor
        if not self.needs_feats:
            return
        want_f = (b, self.feat_ch, f * h, f * w)
        if feats is None:
            raise ValueError(
                f"stem {self.stem_name!r} needs the SR teacher's features: pass sr_feats of shape "
                f"{want_f} (or wrap the model in SRSegmenter with an SRGenerator teacher)"
            )
        if tuple(feats.shape) != want_f:
            raise ValueError(f"sr_feats has shape {tuple(feats.shape)}, expected {want_f}")

    def forward(
        self,
        x: torch.Tensor,
        sr: torch.Tensor | None = None,
        sr_feats: torch.Tensor | None = None,
    ) -> SegOutput:
        if not self.needs_sr:
            return self.head(self.backbone(self.stem(x)))
        self._check_sr(x, sr, sr_feats)
        f = self.sr_factor
        x_up = (
            x if f == 1 else F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=False)
        )
        out = self.head(self.backbone(self.stem(x_up, sr, sr_feats)))
        if f == 1:
            return out
        # inference: the paper does not say how the fH x fW output meets the H x W labels; area
        # averaging (after the activations) is the partial-volume rule and keeps the ranges.
        return SegOutput(F.avg_pool2d(out.prob, f), F.avg_pool2d(out.soft, f))
