"""Named models: one name per row of the DSNet ablation, with its training recipe.

``build_model(name)`` returns the segmenter only (never the SR teacher); ``model_spec(name)``
says what it reproduces and which losses it trains with (Dice always; Soft Mask L1 and the
pixel-wise GAN loss where the row adds them).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from softnodule.models.dsnet import DSNetSegmenter, UNet

__all__ = ["MODEL_NAMES", "ModelSpec", "build_model", "count_parameters", "model_spec"]


@dataclass(frozen=True)
class ModelSpec:
    """What a named model is and how it is trained.

    Attributes
    ----------
    name : str
        Registry name.
    description : str
        One line on the architecture.
    needs_sr : bool
        Whether the model reads the SR teacher's image/features.
    stem : str
        ``DSNetSegmenter`` stem (``"unet"`` for the plain U-Net).
    paper_row : str
        The table row it reproduces.
    soft_mask_loss : bool
        Train with the L1 Soft Mask loss on the tanh output.
    gan_loss : bool
        Train against the pixel-wise discriminator.
    """

    name: str
    description: str
    needs_sr: bool
    stem: str
    paper_row: str
    soft_mask_loss: bool
    gan_loss: bool


_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="unet",
        description="original U-Net (double conv, max-pool, 2x2 up-conv)",
        needs_sr=False,
        stem="unet",
        paper_row="TNNLS Table III: orig. UNet (baseline, Dice)",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_backbone",
        description="DSNet CBAM backbone at input resolution",
        needs_sr=False,
        stem="none",
        paper_row="TNNLS Table III: our proposed backbone (Dice)",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_sr_input",
        description="backbone on the SR image at SR resolution",
        needs_sr=True,
        stem="sr_input",
        paper_row="TNNLS Table III: + SR Input",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_edrfm",
        description="backbone after EDRFM (one conv over image, SR, SR features)",
        needs_sr=True,
        stem="edrfm",
        paper_row="conference Table 3: + EDRFM",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_sdrfm",
        description="backbone after SDRFM (selective fusion, no high-frequency term)",
        needs_sr=True,
        stem="sdrfm",
        paper_row="conference Table 3: + SDRFM",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_drtm",
        description="backbone after DRTM (detail texture + selective fusion)",
        needs_sr=True,
        stem="drtm",
        paper_row="TNNLS Table III: + DRTM",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_soft",
        description="DRTM + backbone, Dice + Soft Mask L1",
        needs_sr=True,
        stem="drtm",
        paper_row="TNNLS Table III: + Soft Mask Loss",
        soft_mask_loss=True,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet",
        description="full DSNet: DRTM + backbone, Dice + Soft Mask L1 + pixel GAN",
        needs_sr=True,
        stem="drtm",
        paper_row="TNNLS Table III: + GAN Loss (our DSNet)",
        soft_mask_loss=True,
        gan_loss=True,
    ),
    ModelSpec(
        name="softgan",
        description="SoftGAN: backbone without SR, Dice + Soft Mask L1 + pixel GAN",
        needs_sr=False,
        stem="none",
        paper_row="SoftGAN (ICME 2022): backbone + Soft Mask + GAN",
        soft_mask_loss=True,
        gan_loss=True,
    ),
)
_BY_NAME = {s.name: s for s in _SPECS}
MODEL_NAMES: tuple[str, ...] = tuple(s.name for s in _SPECS)


def model_spec(name: str) -> ModelSpec:
    """Return the :class:`ModelSpec` of ``name``; ValueError listing ``MODEL_NAMES`` if unknown."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}"
        ) from None


def build_model(
    name: str,
    *,
    width: int = 16,
    depth: int = 4,
    sr_factor: int = 2,
    feat_channels: int = 32,
    **overrides: object,
) -> nn.Module:
    """Build the segmenter called ``name`` (not its SR teacher).

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES`.
    width, depth : int
        Backbone width and number of down-sampling steps.
    sr_factor, feat_channels : int
        SR teacher's factor and feature channels (ignored by models without SR).
    **overrides
        Extra constructor arguments, e.g. ``detail_texture=False``, ``selective_fusion=False``.

    Returns
    -------
    nn.Module
        ``UNet`` or ``DSNetSegmenter``; ``forward(x, sr=None, sr_feats=None) -> SegOutput``.
    """
    spec = model_spec(name)
    if spec.stem == "unet":
        return UNet(width=width, depth=depth, **overrides)  # type: ignore[arg-type]
    kwargs: dict[str, object] = {
        "width": width,
        "depth": depth,
        "sr_factor": sr_factor,
        "feat_ch": feat_channels,
        "stem": spec.stem,
    }
    kwargs.update(overrides)
    return DSNetSegmenter(**kwargs)  # type: ignore[arg-type]


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters of ``module`` (only those with ``requires_grad`` by default)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
