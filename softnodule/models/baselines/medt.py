"""MedT: Medical Transformer (Valanarasu et al., MICCAI 2021), TNNLS Table I "MedT" and "MedT†".

J. M. J. Valanarasu et al., "Medical Transformer: Gated Axial-Attention for Medical Image
Segmentation". Gated axial attention (self-attention along the height axis, then the width axis,
with relative position encodings for queries, keys and values whose contribution is scaled by
learnable gates) inside residual bottleneck blocks; the LoGo strategy runs a shallow *global*
branch on the whole image and a deeper *local* branch on a 4x4 grid of patches (position-free
axial blocks), adds their full-resolution features, and a 3x3 conv + 1x1 conv give the map.

Compact re-implementation (own code). Simplifications:

- Width knob ``w``: stem ``max(w // 8, 2)`` channels, axial stage ``i`` outputs
  ``max(w // 2, 2) * 2**i`` (8 / 32-256 at width 64, i.e. MedT's ``s = 0.125``; the stem's middle
  conv has ``w`` channels where MedT has 128); at most 4 heads of at least 8 channels each
  (MedT: 8 heads): the (L x L) attention maps dominate the CPU cost, and fewer heads make fewer.
- Relative positions are clipped to +-(``max_span`` - 1) so one model accepts any input size (the
  published embeddings are sized for one image size). The BN over the stacked similarity logits
  is replaced by the usual ``1 / sqrt(d)`` scaling; one BN on the gated output.
- One axial block per stage (MedT: 1, 2, 4, 1); the local branch has ``clamp(depth, 2, 4)``
  stages (the global branch 2, as published); H and W must be multiples of ``patch_grid * 2**L``
  for the local branch's ``L`` stages.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.baselines.base import LogitSegmenter, bn_act, conv_bn, resize

__all__ = ["AxialBlock", "GatedAxialAttention", "MedT"]


def _heads(channels: int, max_heads: int = 4, min_size: int = 8) -> int:
    """Most heads (<= ``max_heads``) of even size >= ``min_size`` (q and k take half of a head).

    Falls back to one head for narrow layers; few, wide heads keep the (L x L) attention maps,
    which dominate the cost on a CPU, few.
    """
    if channels < 2 or channels % 2:
        raise ValueError(f"axial attention needs an even channel count >= 2, got {channels}")
    for h in range(max_heads, 1, -1):
        if channels % (2 * h) == 0 and channels // h >= min_size:
            return h
    return 1


def _query_pos(q: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
    """``einsum("bgci,cij->bgij")`` as one batched matmul over ``i`` (einsum broadcasts here)."""
    b, g, c, n = q.shape
    out = torch.bmm(q.permute(3, 0, 1, 2).reshape(n, b * g, c), emb.permute(1, 0, 2))
    return out.reshape(n, b, g, n).permute(1, 2, 0, 3)


def _attend_pos(attn: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
    """``einsum("bgij,cij->bgci")`` as one batched matmul over ``i``."""
    b, g, n, _ = attn.shape
    out = torch.bmm(attn.permute(2, 0, 1, 3).reshape(n, b * g, n), emb.permute(1, 2, 0))
    return out.reshape(n, b, g, -1).permute(1, 2, 3, 0)


class GatedAxialAttention(nn.Module):
    """Multi-head self-attention along one axis with gated relative position encodings.

    Parameters
    ----------
    channels : int
        Input and output channels (even).
    axis : {"h", "w"}
        Attend along the height or the width axis.
    positional : bool
        Use relative encodings and gates (global branch) or plain axial attention (local branch).
    max_span : int
        Relative offsets are clipped to ``+-(max_span - 1)``.
    """

    def __init__(
        self, channels: int, axis: str, positional: bool = True, max_span: int = 64
    ) -> None:
        super().__init__()
        if axis not in ("h", "w"):
            raise ValueError(f"axis must be 'h' or 'w', got {axis!r}")
        self.axis, self.positional, self.max_span = axis, positional, max_span
        self.heads = _heads(channels)
        self.gp = channels // self.heads
        self.qkv = nn.Sequential(
            nn.Conv1d(channels, 2 * channels, 1, bias=False), nn.BatchNorm1d(2 * channels)
        )
        self.bn_out = nn.BatchNorm1d(channels)
        if positional:
            self.rel = nn.Parameter(torch.randn(2 * self.gp, 2 * max_span - 1) / math.sqrt(self.gp))
            # MedT's gate initialisation: positional terms start small, the content term at 1
            self.g_q, self.g_k, self.g_v = (nn.Parameter(torch.tensor(0.1)) for _ in range(3))

    def _rel(self, n: int, device: torch.device) -> torch.Tensor:
        i = torch.arange(n, device=device)
        idx = (i[:, None] - i[None, :]).clamp(-(self.max_span - 1), self.max_span - 1)
        return self.rel[:, idx + self.max_span - 1]  # (2*gp, n, n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        # sequences along the attended axis: (B * other, C, L)
        seq = x.permute(0, 3, 1, 2) if self.axis == "h" else x.permute(0, 2, 1, 3)
        n_other, length = seq.shape[1], seq.shape[3]
        seq = seq.reshape(b * n_other, c, length)
        qkv = self.qkv(seq).reshape(b * n_other, self.heads, 2 * self.gp, length)
        half = self.gp // 2
        q, k, v = torch.split(qkv, [half, half, self.gp], dim=2)
        logits = torch.einsum("bgci,bgcj->bgij", q, k) / math.sqrt(half)
        if self.positional:
            q_e, k_e, v_e = torch.split(self._rel(length, x.device), [half, half, self.gp], dim=0)
            qr = _query_pos(q, q_e)
            kr = _query_pos(k, k_e).transpose(2, 3)
            logits = logits + self.g_q * qr + self.g_k * kr
        attn = torch.softmax(logits, dim=-1)
        out = torch.einsum("bgij,bgcj->bgci", attn, v)
        if self.positional:
            out = out + self.g_v * _attend_pos(attn, v_e)
        out = self.bn_out(out.reshape(b * n_other, c, length)).reshape(b, n_other, c, length)
        return out.permute(0, 2, 3, 1) if self.axis == "h" else out.permute(0, 2, 1, 3)


class AxialBlock(nn.Module):
    """MedT residual block: 1x1 -> height attention -> width attention (-> avg-pool) -> 1x1, + x.

    Parameters
    ----------
    in_ch, out_ch : int
        Block input/output channels; the attention runs at ``out_ch // 2`` (even) channels.
    stride : int
        Average-pool after the attention (and on the shortcut) when 2.
    positional : bool
        Gated relative encodings (global branch) or none (local branch).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, positional: bool = True) -> None:
        super().__init__()
        mid = max(2, out_ch // 2 // 2 * 2)
        self.stride = stride
        self.down = bn_act(in_ch, mid, kernel=1)
        self.attn_h = GatedAxialAttention(mid, "h", positional)
        self.attn_w = GatedAxialAttention(mid, "w", positional)
        self.up = conv_bn(mid, out_ch, kernel=1)
        self.shortcut = (
            nn.Identity() if in_ch == out_ch and stride == 1 else conv_bn(in_ch, out_ch, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.attn_w(self.attn_h(self.down(x))))
        skip = self.shortcut(x)
        if self.stride > 1:
            h, skip = F.avg_pool2d(h, self.stride), F.avg_pool2d(skip, self.stride)
        return F.relu(self.up(h) + skip)


class _Branch(nn.Module):
    """Conv stem (stride 2), ``n`` axial stages (stride 2 from the 2nd), conv decoder to full size.

    Widths for ``width = w``: stem ``c = max(w // 8, 2) -> w -> c`` (MedT: 8 -> 128 -> 8 at
    s = 0.125), stage ``i`` outputs ``max(w // 2, 2) * 2**i``, output ``max(w // 4, 2)``.
    """

    def __init__(self, width: int, n: int, positional: bool) -> None:
        super().__init__()
        c = max(width // 8, 2)  # >= 2: a 1-channel BN -> conv -> BN path is scale-invariant
        self.stem = nn.Sequential(
            bn_act(1, c, kernel=7, stride=2), bn_act(c, width), bn_act(width, c)
        )
        outs = [max(width // 2, 2) * 2**i for i in range(n)]
        ins = [c, *outs[:-1]]
        self.stages = nn.ModuleList(
            [
                AxialBlock(i, o, 1 if k == 0 else 2, positional)
                for k, (i, o) in enumerate(zip(ins, outs))
            ]
        )
        # decoder: deepest -> stage 0 width via skips, then to the output width at full resolution
        self.decoders = nn.ModuleList([bn_act(outs[k], outs[k - 1]) for k in range(n - 1, 0, -1)])
        self.out_channels = max(width // 4, 2)
        self.final = bn_act(outs[0], self.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        skips = []
        for stage in self.stages:
            h = stage(h)
            skips.append(h)
        for dec, skip in zip(self.decoders, reversed(skips[:-1])):
            h = dec(resize(h, skip.shape[-2:])) + skip
        return self.final(resize(h, x.shape[-2:]))


class MedT(LogitSegmenter):
    """Compact MedT with LoGo: a global gated-axial branch plus a local patch branch.

    Parameters
    ----------
    width : int
        Width knob (see the module docstring); 64 gives MedT's published widths.
    depth : int
        Local-branch stages ``clamp(depth, 2, 4)``.
    patch_grid : int
        The local branch sees a ``patch_grid x patch_grid`` grid of patches (4 in MedT).
    """

    def __init__(self, width: int = 16, depth: int = 4, patch_grid: int = 4) -> None:
        super().__init__()
        if width < 1 or patch_grid < 1:
            raise ValueError(f"need width >= 1 and patch_grid >= 1, got {width}, {patch_grid}")
        self.patch_grid = patch_grid
        self.local_stages = max(2, min(depth, 4))
        self.global_branch = _Branch(width, 2, positional=True)
        self.local_branch = _Branch(width, self.local_stages, positional=False)
        c = self.global_branch.out_channels
        self.head = nn.Sequential(bn_act(c, c), nn.Conv2d(c, 1, 1))

    def _local(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        g = self.patch_grid
        m = g * 2**self.local_stages
        if h % m or w % m:
            raise ValueError(
                f"MedT input {h}x{w} must be a multiple of patch_grid * 2**local_stages = {m}"
            )
        ph, pw = h // g, w // g
        patches = (
            x.reshape(b, 1, g, ph, g, pw).permute(0, 2, 4, 1, 3, 5).reshape(b * g * g, 1, ph, pw)
        )
        out = self.local_branch(patches)
        c = out.shape[1]
        return out.reshape(b, g, g, c, ph, pw).permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.global_branch(x) + self._local(x))
