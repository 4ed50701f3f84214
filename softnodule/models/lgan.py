"""LGAN (Tan et al., CMIG; ``papers/004_*.txt``): the U-Net generator and the five WGAN critics.

Generator (§2.2.1, Fig. 2): a U-Net whose encoder blocks are two 3x3 convolutions + 2x2 max-pooling,
whose decoder blocks are one stride-2 deconvolution (``ConvTranspose2d``) + concatenation with the
encoder's feature map + two 3x3 convolutions, LeakyReLU activations (DCGAN style, slope 0.2), and a
final 1x1 convolution; the output is the lung probability (sigmoid). Widths ``gen_width * 2**i``
(paper 64 .. 1024, ``depth`` 4). Batch normalisation after each convolution is a knob (the paper does
not say; on by default because it lets narrow nets train in few epochs).

Critics (§3, Fig. 3; "Conv k,s,n" = convolution with kernel k, stride s, n filters + BN + LeakyReLU 0.2;
every stride-2 layer halves the side, rounding up):

* ``basic``, ``product``, ``early_fusion`` (Fig. 3a): Conv3,2,64 -> Conv3,2,64 -> Conv3,2,128 ->
  Conv3,2,256 -> FC 1024 -> LeakyReLU -> FC 1; input = the mask (1 channel), the mask times the CT
  (1 channel) or cat(CT, mask) (2 channels);
* ``late_fusion`` (Fig. 3b): CT branch Conv3,1,64 -> Conv3,2,64; mask branch Conv3,2,64; concat ->
  Conv3,2,128 -> Conv3,2,256 -> Conv3,2,512 -> FC head;
* ``regression`` (Fig. 3c): two branches (generated mask, ground-truth mask), each Conv3,1,64 ->
  Conv3,2,64 -> Conv3,2,128 -> Conv3,1,128; concat -> Conv3,2,256 -> Conv3,2,512 -> FC head. Its output
  approximates the EM distance between the two masks. The strides of the branch's last two layers are
  not legible in the paper: ours down-sample by 16 in total, like the other critics (inference).

Critic widths scale with ``width`` (paper 64: filters ``n * width / 64``, FC ``16 * width``) so CPU
profiles can use narrow nets; the flatten size is computed from ``input_size`` (224 in the paper), so
the paper's fully-connected head is kept at any input side.

The critic's normalisation is a knob: ``"batch"`` (the paper's BN), ``"layer"`` (GroupNorm with one
group, recommended with a gradient penalty because BN couples the samples whose per-sample gradients
are penalised) or ``"none"``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["CRITIC_STRUCTURES", "LGAN_STRUCTURES", "BasicCritic", "LGANGenerator", "LateFusionCritic",
           "RegressionCritic", "build_critic", "build_lgan", "conv_block"]

#: Generator alone ("unet", BCE only) and the five LGAN critics, in the paper's Table 2 order.
LGAN_STRUCTURES = ("unet", "basic", "product", "early_fusion", "late_fusion", "regression")
CRITIC_STRUCTURES = LGAN_STRUCTURES[1:]


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}; choose 'batch', 'layer' or 'none'")


def conv_block(cin: int, cout: int, k: int = 3, s: int = 1, norm: str = "batch") -> nn.Sequential:
    """The paper's "Conv k,s,n": convolution (padding k//2) + normalisation + LeakyReLU(0.2)."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=s, padding=k // 2), _norm(norm, cout), nn.LeakyReLU(0.2))


def _scaled(n: int, width: int) -> int:
    return max(1, int(round(n * width / 64)))


def _side(size: int, strides: int) -> int:
    for _ in range(strides):
        size = math.ceil(size / 2)
    return size


class _FCHead(nn.Module):
    """FC 1024 -> LeakyReLU -> FC 1 on the flattened feature map (a scalar per sample, no sigmoid)."""

    def __init__(self, features: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(features, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(f.flatten(1)))).squeeze(1)


class LGANGenerator(nn.Module):
    """U-Net generator: ``forward`` gives lung probabilities, ``logits`` the pre-sigmoid map (both (B,1,H,W)).

    Parameters
    ----------
    width : int
        Filters of the first stage (paper 64); stage i has ``width * 2**i``.
    depth : int
        Pooling stages (paper 4: 64-128-256-512-1024). The input side must be divisible by ``2**depth``.
    in_channels : int
        Input channels (1: a CT slice in [-1, 1]).
    batch_norm : bool
        BN after each 3x3 convolution.
    """

    def __init__(self, width: int = 64, depth: int = 4, in_channels: int = 1, batch_norm: bool = True) -> None:
        super().__init__()
        if width < 1 or depth < 1:
            raise ValueError(f"LGANGenerator needs width >= 1 and depth >= 1, got width={width}, depth={depth}")
        self.depth = depth
        widths = [width * 2**i for i in range(depth + 1)]
        norm = "batch" if batch_norm else "none"

        def double(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(conv_block(cin, cout, norm=norm), conv_block(cout, cout, norm=norm))

        self.down = nn.ModuleList([double(in_channels, widths[0])] +
                                  [double(widths[i - 1], widths[i]) for i in range(1, depth + 1)])
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in reversed(range(depth))])
        self.dec = nn.ModuleList([double(2 * widths[i], widths[i]) for i in reversed(range(depth))])
        self.out = nn.Conv2d(widths[0], 1, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 2**self.depth or x.shape[-2] % 2**self.depth:
            raise ValueError(f"input side {tuple(x.shape[-2:])} must be divisible by 2**depth = {2**self.depth}")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([up(x), skips.pop()], 1))
        return self.out(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


class BasicCritic(nn.Module):
    """Fig. 3a: four stride-2 Conv blocks and the FC head; Basic (1 ch), Product (1 ch), Early fusion (2 ch)."""

    def __init__(self, in_channels: int = 1, width: int = 64, input_size: int = 224, norm: str = "batch") -> None:
        super().__init__()
        chans = [_scaled(n, width) for n in (64, 64, 128, 256)]
        layers, cin = [], in_channels
        for c in chans:
            layers.append(conv_block(cin, c, 3, 2, norm))
            cin = c
        self.features = nn.Sequential(*layers)
        self.head = _FCHead(chans[-1] * _side(input_size, 4) ** 2, _scaled(1024, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class LateFusionCritic(nn.Module):
    """Fig. 3b: the CT passes two Conv blocks, the mask one, then concat and three stride-2 blocks."""

    def __init__(self, width: int = 64, input_size: int = 224, norm: str = "batch") -> None:
        super().__init__()
        c64, c128, c256, c512 = (_scaled(n, width) for n in (64, 128, 256, 512))
        self.ct = nn.Sequential(conv_block(1, c64, 3, 1, norm), conv_block(c64, c64, 3, 2, norm))
        self.mask = conv_block(1, c64, 3, 2, norm)
        self.fused = nn.Sequential(conv_block(2 * c64, c128, 3, 2, norm), conv_block(c128, c256, 3, 2, norm),
                                   conv_block(c256, c512, 3, 2, norm))
        self.head = _FCHead(c512 * _side(input_size, 4) ** 2, _scaled(1024, width))

    def forward(self, mask: torch.Tensor, ct: torch.Tensor) -> torch.Tensor:
        return self.head(self.fused(torch.cat([self.ct(ct), self.mask(mask)], 1)))


class RegressionCritic(nn.Module):
    """Fig. 3c: two mask branches (to be scored, ground truth), concat, two stride-2 blocks, FC head."""

    def __init__(self, width: int = 64, input_size: int = 224, norm: str = "batch") -> None:
        super().__init__()
        c64, c128, c256, c512 = (_scaled(n, width) for n in (64, 128, 256, 512))

        def branch() -> nn.Sequential:
            return nn.Sequential(conv_block(1, c64, 3, 1, norm), conv_block(c64, c64, 3, 2, norm),
                                 conv_block(c64, c128, 3, 2, norm), conv_block(c128, c128, 3, 1, norm))

        self.a, self.b = branch(), branch()
        self.fused = nn.Sequential(conv_block(2 * c128, c256, 3, 2, norm), conv_block(c256, c512, 3, 2, norm))
        self.head = _FCHead(c512 * _side(input_size, 4) ** 2, _scaled(1024, width))

    def forward(self, mask: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return self.head(self.fused(torch.cat([self.a(mask), self.b(reference)], 1)))


def build_critic(structure: str, *, width: int = 64, input_size: int = 224, norm: str = "batch") -> nn.Module:
    """The critic of one LGAN structure (``basic`` ... ``regression``)."""
    if structure in ("basic", "product"):
        return BasicCritic(1, width, input_size, norm)
    if structure == "early_fusion":
        return BasicCritic(2, width, input_size, norm)
    if structure == "late_fusion":
        return LateFusionCritic(width, input_size, norm)
    if structure == "regression":
        return RegressionCritic(width, input_size, norm)
    raise ValueError(f"unknown LGAN critic {structure!r}; choose one of {', '.join(CRITIC_STRUCTURES)}")


def build_lgan(structure: str, *, width: int = 64, gen_width: int = 64, gen_depth: int = 4, input_size: int = 224,
               critic_norm: str = "batch", batch_norm: bool = True) -> tuple[LGANGenerator, nn.Module | None]:
    """Generator and critic of one LGAN structure; ``"unet"`` gives the generator alone (critic None).

    Parameters
    ----------
    structure : str
        One of `LGAN_STRUCTURES`.
    width : int
        Critic width (paper 64).
    gen_width, gen_depth : int
        Generator first-stage width and pooling stages (paper 64 and 4).
    input_size : int
        Image side (paper 224); sets the critics' flatten size.
    critic_norm : str
        ``"batch"`` (paper), ``"layer"`` or ``"none"``.
    batch_norm : bool
        BN in the generator.
    """
    if structure not in LGAN_STRUCTURES:
        raise ValueError(f"unknown LGAN structure {structure!r}; choose one of {', '.join(LGAN_STRUCTURES)}")
    gen = LGANGenerator(gen_width, gen_depth, 1, batch_norm)
    critic = None if structure == "unet" else build_critic(structure, width=width, input_size=input_size,
                                                           norm=critic_norm)
    return gen, critic
