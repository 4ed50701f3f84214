"""CasGAN's SoftGAN segmentor (CasGAN §3.2.2, Fig. 4) and the cascade's prior-input models (§3.3, Fig. 5).

CasGAN = a frozen SRGAN (the project's SR teacher, :mod:`softnodule.train.sr`) followed by SoftGAN, a
pix2pix-style segmentation GAN. The segmentor :class:`SoftGANSegmentor` is a pix2pix U-Net generator:

* no pooling: every down-sampling step is a 4x4 stride-2 convolution, every up-sampling step a 4x4
  stride-2 transposed convolution ("our segmentor does not use pooling ... the same as DCGAN and pix2pix");
* LeakyReLU(0.2) in the encoder, ReLU in the decoder, BatchNorm everywhere except the outermost and the
  innermost encoder convolutions (pix2pix's ``UnetSkipConnectionBlock``), skip concatenation;
* one output map through ``tanh``: the Soft Mask in [-1, 1] (pix2pix's image convention).

:class:`CasGAN` feeds it ``cat(bilinear-upsampled image, SR image)`` at SR resolution (the paper's input)
and area-averages the output back to the label grid, as the DSNet SR stems do (partial-volume rule,
:class:`~softnodule.models.dsnet.DSNetSegmenter`). Without SR (``use_sr=False``, the paper's
"CasGAN without SRGAN") it runs on the image at the input resolution.

Depth at SR resolution (inference: the paper's Fig. 4 is drawn for one input size only): pix2pix sizes its
U-Net to its input (8 stride-2 steps for 256 px, down to a 1x1 bottleneck). ``depth`` counts the steps on
the LABEL grid; with ``extra_sr_steps=True`` (the default) the segmentor at SR resolution gets ``log2(f)``
more, so its bottleneck covers the same part of the crop with or without SR; with ``False`` it keeps
``depth`` steps (a bottleneck f times wider). Which of the two the tables use is decided on VALIDATION Dice
(`softnodule.experiments.casgan.tables.depth_sweep`, recorded in ``casgan_table1_lnsm_depth_choice.csv``).
An earlier version of this project chose ``True`` from TEST Dice (47 % vs 70 % at 2 epochs); that decision
was withdrawn because it read the test split.

Output convention (the project's ``SegOutput``): ``soft`` = the tanh map in [-1, 1]; ``prob`` =
``(soft + 1) / 2``, i.e. the predicted Soft Mask in [0, 1]. CasGAN has no separate binary head: the paper
binarises its Soft Mask at 128/255, which is ``prob > 0.5`` here (the training loop still picks the
threshold on validation, as for every model). It is trained with the ``"casgan"`` loss recipe (MSE to the
target + 100 L1 + pixel-wise GAN, no Dice; :func:`softnodule.losses.casgan_mse`).

The cascade (CasGAN++ / CE-Net++): a trained CasGAN's Soft Mask is given to a second segmenter as an extra
input channel. The prior is computed once by the frozen CasGAN and stored as a second image channel
(``softnodule.experiments.casgan.tables.prior_dataset``), so the models here only have to accept
``x = cat(image, prior)`` with 2 channels: :class:`CasGAN` with ``in_channels=2`` and
:class:`PriorInputSegmenter` (a baseline whose first convolution reads 2 channels, e.g. CE-Net).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.backbone import SegOutput, check_sr_image
from softnodule.models.baselines.base import LogitSegmenter
from softnodule.models.baselines.cenet import CENet

__all__ = [
    "CASGAN_NAMES",
    "CasGAN",
    "PriorInputSegmenter",
    "SoftGANSegmentor",
    "build_casgan_model",
    "widen_first_conv",
]

#: registry names built here: the two CasGAN segmentors, then the two prior-input (cascade) models
CASGAN_NAMES: tuple[str, ...] = ("casgan", "casgan_no_sr", "casgan_pp", "cenet_pp")


def _channels(width: int, depth: int) -> list[int]:
    """Encoder widths ``w, 2w, 4w, 8w, 8w, ...`` (pix2pix caps at 8w)."""
    return [min(width * 2**i, width * 8) for i in range(depth)]


class SoftGANSegmentor(nn.Module):
    """pix2pix U-Net generator without pooling: stride-2 4x4 convs down, 4x4 transposed convs up, tanh out.

    Parameters
    ----------
    in_ch : int
        Input channels (2 for ``cat(image, SR image)``).
    width : int
        Channels of the first level (64 in pix2pix).
    depth : int
        Number of stride-2 steps (>= 1); H and W must be multiples of ``2**depth``.
    out_ch : int
        Output channels (1: the Soft Mask).
    dropout : float
        Dropout after the normalised decoder steps whose input is the bottleneck or the two levels
        above it (pix2pix uses 0.5 there). Default 0: the paper does not mention dropout, and the
        short CPU budgets of this project do not need the regulariser.
    """

    def __init__(self, in_ch: int = 2, width: int = 16, depth: int = 4, out_ch: int = 1,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if in_ch < 1 or width < 1 or depth < 1:
            raise ValueError(f"need in_ch >= 1, width >= 1, depth >= 1; got {in_ch}, {width}, {depth}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.depth = depth
        ch = _channels(width, depth)
        downs: list[nn.Module] = [nn.Conv2d(in_ch, ch[0], 4, 2, 1)]  # outermost: no activation, no norm
        for i in range(1, depth):
            innermost = i == depth - 1
            layers: list[nn.Module] = [nn.LeakyReLU(0.2), nn.Conv2d(ch[i - 1], ch[i], 4, 2, 1, bias=innermost)]
            if not innermost:
                layers.append(nn.BatchNorm2d(ch[i]))  # pix2pix: no norm at the innermost level
            downs.append(nn.Sequential(*layers))
        self.downs = nn.ModuleList(downs)
        ups: list[nn.Module] = []
        for i in range(depth - 1, -1, -1):
            cin = ch[i] if i == depth - 1 else 2 * ch[i]
            if i == 0:
                ups.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(cin, out_ch, 4, 2, 1), nn.Tanh()))
                continue
            layers = [nn.ReLU(), nn.ConvTranspose2d(cin, ch[i - 1], 4, 2, 1, bias=False), nn.BatchNorm2d(ch[i - 1])]
            if dropout > 0 and i >= depth - 3:
                layers.append(nn.Dropout(dropout))
            ups.append(nn.Sequential(*layers))
        self.ups = nn.ModuleList(ups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Soft Mask in [-1, 1], (B, out_ch, H, W), for ``x`` (B, in_ch, H, W)."""
        h, w = x.shape[-2:]
        m = 2**self.depth
        if h % m or w % m:
            raise ValueError(f"SoftGAN segmentor input {h}x{w} must be a multiple of 2**depth = {m}")
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = skips.pop()  # the bottleneck is not a skip
        for up in self.ups:
            x = up(x)
            if skips:
                x = torch.cat([x, skips.pop()], dim=1)
        return x


class CasGAN(nn.Module):
    """CasGAN's segmentor with the project's call convention ``forward(x, sr=None, sr_feats=None)``.

    Parameters
    ----------
    width, depth : int
        :class:`SoftGANSegmentor` width, and stride-2 steps counted on the label grid: the segmentor has
        ``depth + log2(f)`` steps at SR resolution (see the module docstring), ``depth`` without SR.
    sr_factor : int
        SR teacher's factor f, a power of two (ignored without SR).
    use_sr : bool
        True: input ``cat(bilinear x f of x, sr)`` at (fH, fW), output area-averaged to (H, W);
        False: input ``x`` at (H, W) ("CasGAN without SRGAN").
    in_channels : int
        Channels of ``x``: 1 (the crop) or 2 (crop and the cascade's prior, CasGAN++).
    dropout : float
        See :class:`SoftGANSegmentor`.
    extra_sr_steps : bool
        True: ``depth + log2(f)`` stride-2 steps at SR resolution; False: ``depth`` (ignored without SR).
    """

    needs_feats = False

    def __init__(self, width: int = 16, depth: int = 4, sr_factor: int = 2, *, use_sr: bool = True,
                 in_channels: int = 1, dropout: float = 0.0, extra_sr_steps: bool = True) -> None:
        super().__init__()
        if use_sr and (sr_factor < 1 or sr_factor & (sr_factor - 1)):
            raise ValueError(f"sr_factor must be a power of two >= 1, got {sr_factor}")
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        self.needs_sr = use_sr
        self.sr_factor = sr_factor if use_sr else 1
        self.in_channels = in_channels
        # + log2(f) at SR resolution unless the validation-chosen rule says otherwise (module docstring)
        net_depth = depth + (self.sr_factor.bit_length() - 1 if extra_sr_steps else 0)
        self.net = SoftGANSegmentor(in_channels + int(use_sr), width, net_depth, 1, dropout)

    def _check_x(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            hint = (" (image + CasGAN prior: build the dataset with casgan_tables.prior_dataset)"
                    if self.in_channels == 2 else "")
            raise ValueError(f"CasGAN expects x of shape (B, {self.in_channels}, H, W){hint}, got {tuple(x.shape)}")

    def soft_at_work_resolution(self, x: torch.Tensor, sr: torch.Tensor | None = None) -> torch.Tensor:
        """The tanh map at the resolution the segmentor works at ((fH, fW) with SR, else (H, W))."""
        self._check_x(x)
        if not self.needs_sr:
            return self.net(x)
        check_sr_image(x, sr, self.sr_factor, "CasGAN")
        f = self.sr_factor
        x_up = x if f == 1 else F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=False)
        return self.net(torch.cat([x_up, sr], dim=1))

    def forward(self, x: torch.Tensor, sr: torch.Tensor | None = None,
                sr_feats: torch.Tensor | None = None) -> SegOutput:
        soft = self.soft_at_work_resolution(x, sr)
        if self.sr_factor > 1:
            soft = F.avg_pool2d(soft, self.sr_factor)  # area average to the label grid (partial volume)
        return SegOutput((soft + 1.0) * 0.5, soft)


def widen_first_conv(net: nn.Module, in_channels: int) -> nn.Module:
    """Replace ``net``'s first ``Conv2d`` (which must read 1 channel) by one reading ``in_channels``.

    The new convolution has the same kernel, stride, padding, dilation and bias setting and a fresh
    (default) initialisation; every other layer is untouched. Used to give a baseline the cascade's
    extra prior channel. Returns ``net`` (modified in place).
    """
    for name, mod in net.named_modules():
        if isinstance(mod, nn.Conv2d):
            if mod.in_channels != 1:
                raise ValueError(f"first conv {name!r} of {type(net).__name__} reads {mod.in_channels} "
                                 "channels, expected 1")
            new = nn.Conv2d(in_channels, mod.out_channels, mod.kernel_size, mod.stride, mod.padding,
                            mod.dilation, mod.groups, mod.bias is not None, mod.padding_mode)
            parent = net.get_submodule(name.rpartition(".")[0]) if "." in name else net
            setattr(parent, name.rpartition(".")[2], new)
            return net
    raise ValueError(f"{type(net).__name__} has no Conv2d to widen")


class PriorInputSegmenter(LogitSegmenter):
    """A one-logit baseline whose first convolution reads ``cat(image, prior)`` (CE-Net++ of Table 4).

    Parameters
    ----------
    net : LogitSegmenter
        The baseline, built for 1-channel input; its first Conv2d is widened to ``in_channels``.
    in_channels : int
        2: the crop and the CasGAN prior.
    """

    def __init__(self, net: LogitSegmenter, in_channels: int = 2) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.net = widen_first_conv(net, in_channels)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self.net).__name__} + prior expects x of shape (B, {self.in_channels}, H, W) "
                             f"(image + CasGAN prior: see casgan_tables.prior_dataset), got {tuple(x.shape)}")
        return self.net.logits(x)


def build_casgan_model(name: str, *, width: int = 16, depth: int = 4, sr_factor: int = 2,
                       **overrides: object) -> nn.Module:
    """Build one of :data:`CASGAN_NAMES` (use :func:`softnodule.models.build_model` instead).

    ``casgan``: SR + image at SR resolution; ``casgan_no_sr``: image only at input resolution;
    ``casgan_pp``: image + prior at input resolution (the cascade's second stage; it reads no SR image,
    see the registry); ``cenet_pp``: CE-Net with a 2-channel first convolution.
    """
    if name == "casgan":
        return CasGAN(width, depth, sr_factor, use_sr=True, **overrides)  # type: ignore[arg-type]
    if name == "casgan_no_sr":
        return CasGAN(width, depth, sr_factor, use_sr=False, **overrides)  # type: ignore[arg-type]
    if name == "casgan_pp":
        return CasGAN(width, depth, sr_factor, use_sr=False, in_channels=2, **overrides)  # type: ignore[arg-type]
    if name == "cenet_pp":
        return PriorInputSegmenter(CENet(width=width, depth=depth, **overrides), 2)  # type: ignore[arg-type]
    raise ValueError(f"unknown CasGAN model {name!r}; choose one of {', '.join(CASGAN_NAMES)}")
