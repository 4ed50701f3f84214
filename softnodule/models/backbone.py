"""U-Net encoder-decoder backbone and the two-output segmentation head (DSNet §III-B 1-2).

``UNetBackbone`` serves both the DSNet backbone (CBAM blocks, 4x4 strided conv down, 4x4
transposed conv up) and the original U-Net (double conv, max-pool, 2x2 transposed conv), so the
Table III "orig. UNet" vs "our proposed backbone" rows differ only in these switches.
``SegmentationHead`` turns the final feature map into the sigmoid map (Dice vs binary mask) and
the tanh map (L1 vs the Soft Mask normalised to [-1, 1]).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from softnodule.models.blocks import CBAMBlock, DownSample, PlainBlock, UpSample

__all__ = ["BLOCKS", "DOWNS", "UPS", "SegOutput", "SegmentationHead", "UNetBackbone", "check_sr_image"]

BLOCKS = ("cbam", "plain")
DOWNS = ("conv4", "maxpool")
UPS = ("convT4", "convT2")


class SegOutput(NamedTuple):
    """Output of every segmentation model, both maps (B, 1, H, W) at the input (label) resolution.

    Attributes
    ----------
    prob : torch.Tensor
        Sigmoid map in [0, 1] (supervised by the binary mask with Dice).
    soft : torch.Tensor
        Tanh map in [-1, 1] (supervised by the Soft Mask normalised to [-1, 1] with L1).
    """

    prob: torch.Tensor
    soft: torch.Tensor


def check_sr_image(x: torch.Tensor, sr: torch.Tensor | None, factor: int, who: str) -> None:
    """Raise a clear ValueError unless ``sr`` is the teacher's image for ``x``: (B, 1, f*H, f*W)."""
    b, _, h, w = x.shape
    want = (b, 1, factor * h, factor * w)
    if sr is None:
        raise ValueError(f"{who} needs the SR teacher's image: pass sr of shape {want} "
                         "(or wrap the model in SRSegmenter with an SRGenerator teacher)")
    if tuple(sr.shape) != want:
        raise ValueError(f"sr has shape {tuple(sr.shape)}, expected {want} (sr_factor={factor})")


def _make_block(kind: str, in_ch: int, out_ch: int, reduction: int = 16) -> nn.Module:
    if kind == "cbam":
        return CBAMBlock(in_ch, out_ch, reduction)
    if kind == "plain":
        return PlainBlock(in_ch, out_ch)
    raise ValueError(f"block must be one of {BLOCKS}, got {kind!r}")


def _make_down(kind: str, in_ch: int, out_ch: int) -> nn.Module:
    if kind == "conv4":
        return DownSample(in_ch, out_ch)
    if kind == "maxpool":
        return nn.MaxPool2d(2)
    raise ValueError(f"down must be one of {DOWNS}, got {kind!r}")


def _make_up(kind: str, in_ch: int, out_ch: int) -> nn.Module:
    if kind == "convT4":
        return UpSample(in_ch, out_ch)
    if kind == "convT2":
        return nn.ConvTranspose2d(in_ch, out_ch, 2, stride=2)  # original U-Net "up-conv 2x2"
    raise ValueError(f"up must be one of {UPS}, got {kind!r}")


class UNetBackbone(nn.Module):
    """U-Net encoder-decoder returning the full-resolution feature map (B, width, H, W).

    Encoder level 0 is ``block(in_ch, width)`` at full resolution; each of the ``depth`` further
    levels halves H, W and uses ``width * 2**i`` channels, capped at ``width * 8``. The decoder
    mirrors it: up-sample to the skip's width, concatenate the skip, block back to that width.

    Parameters
    ----------
    in_ch : int
        Channels of the input tensor.
    width : int
        Channels of level 0 (and of the output).
    depth : int
        Number of down-sampling steps; H and W must be multiples of ``2**depth``.
    block : {"cbam", "plain"}
        DSNet CBAM residual block or the original U-Net double conv.
    down : {"conv4", "maxpool"}
        4x4 stride-2 conv + BN + LeakyReLU (DSNet) or 2x2 max-pooling (U-Net).
    up : {"convT4", "convT2"}
        4x4 stride-2 transposed conv + BN + ReLU (DSNet) or 2x2 transposed conv (U-Net).
    reduction : int
        CBAM channel-gate reduction ratio (16 in CBAM; ignored by plain blocks).
    """

    def __init__(
        self,
        in_ch: int,
        width: int,
        depth: int,
        block: str = "cbam",
        down: str = "conv4",
        up: str = "convT4",
        reduction: int = 16,
    ) -> None:
        super().__init__()
        if depth < 0 or width < 1:
            raise ValueError(f"need depth >= 0 and width >= 1, got depth={depth}, width={width}")
        self.depth = depth
        self.out_channels = width
        chans = [min(width * 2**i, width * 8) for i in range(depth + 1)]
        self.stem = _make_block(block, in_ch, width, reduction)
        self.downs = nn.ModuleList()
        self.enc = nn.ModuleList()
        for i in range(1, depth + 1):
            if down == "conv4":
                # inference: the strided conv changes the width, the block then keeps it (as in
                # the group's pix2pix encoders); with max-pooling the block changes it (U-Net).
                self.downs.append(_make_down(down, chans[i - 1], chans[i]))
                self.enc.append(_make_block(block, chans[i], chans[i], reduction))
            else:
                self.downs.append(_make_down(down, chans[i - 1], chans[i - 1]))
                self.enc.append(_make_block(block, chans[i - 1], chans[i], reduction))
        self.ups = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in range(depth, 0, -1):
            self.ups.append(_make_up(up, chans[i], chans[i - 1]))
            self.dec.append(_make_block(block, 2 * chans[i - 1], chans[i - 1], reduction))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = 2**self.depth
        if h % m or w % m:
            raise ValueError(f"input size {h}x{w} must be a multiple of 2**depth = {m}")
        x = self.stem(x)
        skips = [x]
        for down, block in zip(self.downs, self.enc):
            x = block(down(x))
            skips.append(x)
        skips.pop()  # the bottleneck is not a skip
        for up, block in zip(self.ups, self.dec):
            x = block(torch.cat([up(x), skips.pop()], dim=1))
        return x


class SegmentationHead(nn.Module):
    """Two 3x3 convolutions to one channel each: sigmoid -> ``prob``, tanh -> ``soft``.

    Parameters
    ----------
    in_ch : int
        Channels of the backbone's output.
    """

    def __init__(self, in_ch: int) -> None:
        super().__init__()
        # inference: the paper's single "3x3 conv" feeds both activations; two separate 3x3 convs
        # (1 channel each) let the binary and the soft outputs differ (sigmoid(z) and tanh(z) of
        # one z are tied: tanh(z) = 2*sigmoid(2z) - 1), at the cost of 9*in_ch + 1 parameters.
        self.prob_conv = nn.Conv2d(in_ch, 1, 3, padding=1)
        self.soft_conv = nn.Conv2d(in_ch, 1, 3, padding=1)

    def forward(self, feats: torch.Tensor) -> SegOutput:
        return SegOutput(torch.sigmoid(self.prob_conv(feats)), torch.tanh(self.soft_conv(feats)))
