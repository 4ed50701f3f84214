"""Training losses of DSNet / SoftGAN (segmentation) and of the CasGAN / DSNet SRGAN stage.

Segmentation (DSNet TNNLS §III-B, REFERENCE §3): ``L = 0.5 Dice + 100 L1(soft) + 1 GAN`` where

* `dice_loss` is the paper's squared-denominator Dice on the sigmoid head against the binary mask;
* `soft_mask_l1` is the L1 distance between the tanh head and the Soft Mask mapped to [-1, 1];
* `GANLoss` is the pix2pix adversarial term, ``"vanilla"`` (BCE with logits, the pix2pix default)
  or ``"lsgan"`` (least squares, what the authors' group code used): a knob, not a guess.

CasGAN's SoftGAN (CasGAN §3.2.2, Eq. 2-3, REFERENCE §6): ``L = MSE(soft) + 100 L1(soft) + GAN`` with
`casgan_mse` the pixel-wise MSE between the tanh output and the target mapped to [-1, 1]; no Dice term
(the ``"casgan"`` recipe of `softnodule.train.segmentation.train_step`).

Super-resolution (SRGAN, REFERENCE §3 and §6): ``1 MSE + 1e-3 adversarial + 8e-3 perceptual +
2e-8 TV`` in `SRGeneratorLoss`. The perceptual term needs torchvision and local VGG-19 weights;
`make_perceptual_loss` never downloads and returns ``(None, notice)`` when either is missing
(the usual case on CPU-only Linux, where ``import torchvision`` fails: REFERENCE §7).

All functions are device-agnostic: they follow the device of their inputs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

logger = logging.getLogger(__name__)

#: File name of torchvision's ImageNet VGG-19 weights in the torch hub cache (``IMAGENET1K_V1``).
VGG19_WEIGHTS_FILE = "vgg19-dcbb9e9d.pth"
#: Number of ``vgg19().features`` layers kept: indices 0..35, i.e. up to and including relu5_4
#: (SRGAN's "VGG54" content loss, Ledig et al. 2017).
VGG19_RELU5_4 = 36
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def dice_loss(prob: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    """DSNet's squared-denominator Dice loss, per image then averaged over the batch.

    ``1 - (2 sum(x y) + smooth) / (sum(x^2) + sum(y^2) + smooth)`` with the sums over (C, H, W)
    of one image. Squaring the denominator (Milletari et al. 2016, V-Net) is what the paper writes;
    per-image averaging keeps small nodules from being swamped by large ones in a batch.

    Parameters
    ----------
    prob : Tensor, (B, 1, H, W)
        Sigmoid output in [0, 1].
    target : Tensor, (B, 1, H, W)
        Binary mask (any float/int/bool dtype, values 0 or 1).
    smooth : float
        Added to numerator and denominator; keeps an empty-vs-empty image at loss 0.

    Returns
    -------
    Tensor
        Scalar loss in [0, 1].
    """
    if prob.shape != target.shape:
        raise ValueError(f"prob and target must have the same shape, got {tuple(prob.shape)} and {tuple(target.shape)}")
    if prob.dim() < 2:
        raise ValueError(f"expected a batch (B, C, H, W), got shape {tuple(prob.shape)}")
    x = prob.flatten(1)
    y = target.to(prob.dtype).flatten(1)
    num = 2.0 * (x * y).sum(1) + smooth
    den = (x * x).sum(1) + (y * y).sum(1) + smooth
    return (1.0 - num / den).mean()


def soft_mask_l1(soft_pred: Tensor, soft_target: Tensor) -> Tensor:
    """Mean ``|soft_pred - (2 soft_target - 1)|``: the Soft Mask L1 term.

    Parameters
    ----------
    soft_pred : Tensor
        tanh output in [-1, 1].
    soft_target : Tensor, same shape
        Soft Mask (alpha matte) in [0, 1]; mapped to [-1, 1] as the paper normalises the GT.
    """
    if soft_pred.shape != soft_target.shape:
        raise ValueError(
            "soft_pred and soft_target must have the same shape, "
            f"got {tuple(soft_pred.shape)} and {tuple(soft_target.shape)}"
        )
    return F.l1_loss(soft_pred, 2.0 * soft_target.to(soft_pred.dtype) - 1.0)


#: Weight of `casgan_mse` in the CasGAN recipe. The paper gives none (Eq. 2 is "the" segmentor loss and
#: lambda = 100 weighs the added L1 term), so 1. A module constant, not a `SegLossWeights` field, so the
#: cache keys of existing configs stay unchanged; changing it requires bumping ``TRAIN_CODE_VERSION``.
CASGAN_MSE_WEIGHT = 1.0


def casgan_mse(soft_pred: Tensor, soft_target: Tensor) -> Tensor:
    """Mean ``(soft_pred - (2 soft_target - 1))**2``: CasGAN's Eq. 2, the Soft Mask MSE.

    Eq. 2 averages the squared error over the r W x r H pixels of the SR-resolution output; here the
    output is compared on the label grid after area averaging (the project's convention for SR models),
    in the same [-1, 1] range as `soft_mask_l1` (i.e. 4x the MSE of the [0, 1] maps).

    Parameters
    ----------
    soft_pred : Tensor
        tanh output in [-1, 1].
    soft_target : Tensor, same shape
        Target in [0, 1] (Soft Mask, binary mask or softened mask).
    """
    if soft_pred.shape != soft_target.shape:
        raise ValueError(
            "soft_pred and soft_target must have the same shape, "
            f"got {tuple(soft_pred.shape)} and {tuple(soft_target.shape)}"
        )
    return F.mse_loss(soft_pred, 2.0 * soft_target.to(soft_pred.dtype) - 1.0)


class GANLoss(nn.Module):
    """Adversarial loss against an all-real or all-fake target (pix2pix's ``GANLoss``).

    Parameters
    ----------
    mode : {"vanilla", "lsgan"}
        ``"vanilla"``: ``BCEWithLogits(logits, 1 or 0)`` (the pix2pix default);
        ``"lsgan"``: ``MSE(logits, 1 or 0)`` (the authors' group code). Logits are the raw
        discriminator outputs in both modes (no sigmoid in the discriminator).

    Call ``loss(logits, target_is_real)`` with a bool; returns a scalar tensor (mean over all
    elements, so a pixel-wise discriminator's map is averaged).
    """

    MODES = ("vanilla", "lsgan")

    def __init__(self, mode: str = "vanilla") -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"GANLoss mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode

    def forward(self, logits: Tensor, target_is_real: bool) -> Tensor:
        target = torch.full_like(logits, 1.0 if target_is_real else 0.0)
        if self.mode == "vanilla":
            return F.binary_cross_entropy_with_logits(logits, target)
        return F.mse_loss(logits, target)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


@dataclass(frozen=True)
class SegLossWeights:
    """Weights of the segmentation loss ``dice * Dice + soft * L1(soft) + gan * GAN`` (DSNet)."""

    dice: float = 0.5
    soft: float = 100.0
    gan: float = 1.0


@dataclass(frozen=True)
class SRLossWeights:
    """Weights of the SRGAN generator loss (CasGAN / DSNet SR stage, REFERENCE §3)."""

    mse: float = 1.0
    adversarial: float = 1e-3
    perceptual: float = 8e-3
    tv: float = 2e-8


def tv_loss(img: Tensor) -> Tensor:
    """Total variation, exactly as the widely used SRGAN ``TVLoss`` (leftthomas/SRGAN).

    ``2 * (mean((x[:, :, 1:, :] - x[:, :, :-1, :])^2) + mean((x[:, :, :, 1:] - x[:, :, :, :-1])^2))``:
    squared (not absolute) vertical and horizontal neighbour differences, each averaged over all
    its B x C x (H-1) x W (resp. B x C x H x (W-1)) elements, summed, times 2. The weight 2e-8 of
    the papers was tuned with this form, so the factor 2 is kept.

    Parameters
    ----------
    img : Tensor, (B, C, H, W)
    """
    if img.dim() != 4:
        raise ValueError(f"tv_loss expects (B, C, H, W), got shape {tuple(img.shape)}")
    dv = img[:, :, 1:, :] - img[:, :, :-1, :]
    dh = img[:, :, :, 1:] - img[:, :, :, :-1]
    return 2.0 * (dv.pow(2).mean() + dh.pow(2).mean())


class VGGPerceptualLoss(nn.Module):
    """MSE between frozen feature maps of a 1-channel image in [-1, 1] and a reference.

    The slice is mapped to [0, 1], replicated to 3 channels and normalised with the ImageNet
    mean/std that VGG was trained with, then passed through ``features`` (VGG-19 up to relu5_4
    when built by `make_perceptual_loss`; any frozen module in tests).
    """

    def __init__(self, features: nn.Module) -> None:
        super().__init__()
        self.features = features.eval()
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> VGGPerceptualLoss:
        super().train(mode)
        self.features.eval()  # frozen feature extractor: never in training mode
        return self

    def _prep(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"perceptual loss expects (B, 1, H, W) images in [-1, 1], got {tuple(x.shape)}")
        x = (x + 1.0) * 0.5
        return (x.expand(-1, 3, -1, -1) - self.mean) / self.std

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        return F.mse_loss(self.features(self._prep(sr)), self.features(self._prep(hr)))


def vgg19_weights_path() -> Path:
    """Where torchvision keeps the VGG-19 weights: ``torch.hub.get_dir()/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_WEIGHTS_FILE


def _import_torchvision() -> Any:
    """``import torchvision`` (a separate function so tests can replace it)."""
    import torchvision

    return torchvision


def _build_vgg19_features(torchvision: Any, weights_file: Path) -> nn.Module:
    """VGG-19 ``features[:36]`` with weights loaded from a local file (``weights=None``: no download)."""
    model = torchvision.models.vgg19(weights=None)
    state = torch.load(weights_file, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.features[:VGG19_RELU5_4]


def make_perceptual_loss(weights_file: str | Path | None = None) -> tuple[nn.Module | None, str]:
    """The SRGAN perceptual loss (VGG-19 relu5_4 features), only when it can be built offline.

    Nothing is ever downloaded: the loss is built only if ``import torchvision`` works AND the
    ImageNet weights are already on disk. Otherwise the perceptual term is skipped, the reason
    is logged as a warning and returned, and `SRGeneratorLoss` leaves the term out.

    Parameters
    ----------
    weights_file : path, optional
        The VGG-19 state dict; default `vgg19_weights_path` (the torch hub cache).

    Returns
    -------
    (module or None, notice)
        A `VGGPerceptualLoss` (call ``module(sr, hr)``) and a one-line description, or ``None``
        and a one-line notice that says why the term was skipped.
    """
    try:
        tv = _import_torchvision()
    except Exception as exc:  # noqa: BLE001 - a broken CUDA wheel raises OSError/RuntimeError, not ImportError
        notice = f"perceptual loss skipped: torchvision not importable ({type(exc).__name__}: {str(exc)[:120]})"
        logger.warning(notice)
        return None, notice
    path = Path(weights_file) if weights_file is not None else vgg19_weights_path()
    if not path.is_file():
        notice = f"perceptual loss skipped: VGG-19 weights not found at {path} (never downloaded here)"
        logger.warning(notice)
        return None, notice
    try:
        features = _build_vgg19_features(tv, path)
    except Exception as exc:  # noqa: BLE001 - a corrupt or mismatched weight file must not stop training
        notice = f"perceptual loss skipped: could not load VGG-19 from {path} ({type(exc).__name__}: {str(exc)[:120]})"
        logger.warning(notice)
        return None, notice
    notice = f"perceptual loss: VGG-19 features up to relu5_4 (layer {VGG19_RELU5_4}) from {path}"
    logger.info(notice)
    return VGGPerceptualLoss(features), notice


class SRGeneratorLoss(nn.Module):
    """SRGAN generator loss: ``mse MSE + adversarial BCE(D(sr), 1) + perceptual P + tv TV``.

    Parameters
    ----------
    weights : SRLossWeights
        Term weights (paper: 1, 1e-3, 8e-3, 2e-8).
    perceptual : nn.Module, optional
        ``perceptual(sr, hr) -> scalar`` (from `make_perceptual_loss`); None leaves the term out.

    Call ``loss(sr, hr, d_fake_logits)`` -> ``(total, parts)``: ``total`` is the weighted sum
    (a tensor to back-propagate); ``parts`` maps ``"mse"``, ``"adversarial"``, ``"perceptual"``
    (only when a module is given) and ``"tv"`` to each term's UNWEIGHTED float value, and
    ``"total"`` to ``float(total)``.
    """

    def __init__(self, weights: SRLossWeights | None = None, perceptual: nn.Module | None = None) -> None:
        super().__init__()
        self.weights = weights if weights is not None else SRLossWeights()
        self.perceptual = perceptual

    def forward(self, sr: Tensor, hr: Tensor, d_fake_logits: Tensor) -> tuple[Tensor, dict[str, float]]:
        if sr.shape != hr.shape:
            raise ValueError(f"sr and hr must have the same shape, got {tuple(sr.shape)} and {tuple(hr.shape)}")
        w = self.weights
        terms: dict[str, Tensor] = {
            "mse": F.mse_loss(sr, hr),
            "adversarial": F.binary_cross_entropy_with_logits(d_fake_logits, torch.ones_like(d_fake_logits)),
        }
        if self.perceptual is not None:
            terms["perceptual"] = self.perceptual(sr, hr)
        terms["tv"] = tv_loss(sr)
        total = sum(getattr(w, name) * value for name, value in terms.items())
        parts = {name: float(value.detach()) for name, value in terms.items()}
        parts["total"] = float(total.detach())
        return total, parts
