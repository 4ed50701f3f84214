"""Named models: shapes, ranges, recipes, parameter counts, errors, gradient flow."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from softnodule.models import (
    MODEL_NAMES,
    SegOutput,
    SRGenerator,
    SRSegmenter,
    build_model,
    count_parameters,
    model_spec,
)
from softnodule.models.blocks import ChannelGate
from softnodule.models.registry import ModelSpec

TINY = {"width": 4, "depth": 2, "sr_factor": 2, "feat_channels": 6}


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _inputs(model: torch.nn.Module, h: int = 32, w: int = 32):
    x = torch.rand(2, 1, h, w) * 2 - 1
    if not model.needs_sr:
        return x, None, None
    f = TINY["sr_factor"]
    sr = torch.rand(2, 1, f * h, f * w) * 2 - 1
    feats = torch.randn(2, TINY["feat_channels"], f * h, f * w)
    return x, sr, feats


def test_names_and_order() -> None:
    assert MODEL_NAMES[:9] == (
        "unet",
        "dsnet_backbone",
        "dsnet_sr_input",
        "dsnet_edrfm",
        "dsnet_sdrfm",
        "dsnet_drtm",
        "dsnet_soft",
        "dsnet",
        "softgan",
    )


def test_recipes() -> None:
    dice_only = MODEL_NAMES[:6]
    for name in dice_only:
        s = model_spec(name)
        assert not s.soft_mask_loss and not s.gan_loss, name
    assert model_spec("dsnet_soft").soft_mask_loss and not model_spec("dsnet_soft").gan_loss
    for name in ("dsnet", "softgan"):
        assert model_spec(name).soft_mask_loss and model_spec(name).gan_loss
    assert model_spec("dsnet").stem == "drtm" and model_spec("softgan").stem == "none"
    assert not model_spec("softgan").needs_sr
    spec = model_spec("dsnet")
    assert isinstance(spec, ModelSpec) and spec.paper_row
    with pytest.raises(AttributeError):
        spec.gan_loss = False  # type: ignore[misc]  # frozen


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_shapes_and_ranges(name: str) -> None:
    model = build_model(name, **TINY)
    assert model.needs_sr == model_spec(name).needs_sr
    out = model(*_inputs(model))
    assert isinstance(out, SegOutput)
    assert out.prob.shape == out.soft.shape == (2, 1, 32, 32)
    assert 0 <= out.prob.min() and out.prob.max() <= 1
    assert -1 <= out.soft.min() and out.soft.max() <= 1


@pytest.mark.parametrize("name", ["unet", "dsnet_backbone", "dsnet"])
def test_non_square_multiple_of_two_to_depth(name: str) -> None:
    model = build_model(name, **TINY)
    out = model(*_inputs(model, 16, 48))
    assert out.prob.shape == (2, 1, 16, 48)


def test_sr_models_area_average_the_sr_resolution_head() -> None:
    model = build_model("dsnet_drtm", **TINY).eval()
    seen = {}
    model.head.register_forward_hook(lambda m, i, o: seen.setdefault("out", o))
    out = model(*_inputs(model))
    assert seen["out"].prob.shape == (2, 1, 64, 64)
    assert torch.allclose(out.prob, F.avg_pool2d(seen["out"].prob, 2))
    assert torch.allclose(out.soft, F.avg_pool2d(seen["out"].soft, 2))


def test_parameter_counts_grow_with_width_and_follow_switches() -> None:
    for name in MODEL_NAMES:
        small = count_parameters(build_model(name, **{**TINY, "width": 4}))
        big = count_parameters(build_model(name, **{**TINY, "width": 8}))
        assert big > small, name
    full = count_parameters(build_model("dsnet", **TINY))
    no_dtm = count_parameters(build_model("dsnet", **TINY, detail_texture=False))
    no_csf = count_parameters(build_model("dsnet", **TINY, selective_fusion=False))
    assert len({full, no_dtm, no_csf}) == 3
    assert count_parameters(build_model("dsnet", **TINY)) == count_parameters(
        build_model("dsnet_drtm", **TINY)
    )


def test_count_parameters_trainable_only() -> None:
    model = build_model("unet", **TINY)
    n = count_parameters(model)
    model.head.requires_grad_(False)
    assert count_parameters(model) == n - 2 * (9 * 4 + 1)
    assert count_parameters(model, trainable_only=False) == n


def test_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown model 'dsnet2'.*unet.*softgan"):
        build_model("dsnet2")
    with pytest.raises(ValueError, match="unknown model"):
        model_spec("nope")


@pytest.mark.parametrize("name", ["dsnet_edrfm", "dsnet_sdrfm", "dsnet_drtm", "dsnet"])
def test_missing_sr_inputs_raise(name: str) -> None:
    model = build_model(name, **TINY)
    x, sr, feats = _inputs(model)
    with pytest.raises(ValueError, match="needs the SR teacher's image.*sr of shape"):
        model(x)
    with pytest.raises(ValueError, match="needs the SR teacher's features.*sr_feats"):
        model(x, sr)
    with pytest.raises(ValueError, match="sr has shape"):
        model(x, sr[..., :32, :32], feats)
    with pytest.raises(ValueError, match="sr_feats has shape"):
        model(x, sr, feats[:, :3])


def test_sr_input_needs_only_the_image() -> None:
    model = build_model("dsnet_sr_input", **TINY)
    x, sr, _ = _inputs(model)
    with pytest.raises(ValueError, match="needs the SR teacher's image"):
        model(x)
    assert model(x, sr).prob.shape == (2, 1, 32, 32)


def _record_channel_gate_activity(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Hook every CBAM channel-gate MLP: which hidden ReLU units were active for some input."""
    alive: dict[str, torch.Tensor] = {}

    def hook(name: str):
        def _h(_m, _i, out: torch.Tensor) -> None:
            act = (out > 0).any(dim=0)
            alive[name] = alive[name] | act if name in alive else act

        return _h

    for name, mod in model.named_modules():
        if isinstance(mod, ChannelGate):
            mod.mlp[1].register_forward_hook(hook(name))
    return alive


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_gradient_flow(name: str) -> None:
    seg = build_model(name, **TINY)
    teacher = SRGenerator(TINY["sr_factor"], TINY["feat_channels"], 1) if seg.needs_sr else None
    model = SRSegmenter(seg, teacher).train()
    alive = _record_channel_gate_activity(seg)
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    target = (torch.rand(2, 1, 32, 32) > 0.5).float()
    out = model(x)
    loss = F.binary_cross_entropy(out.prob, target) + (out.soft - (2 * target - 1)).abs().mean()
    loss.backward()
    trainable = {n: p for n, p in seg.named_parameters() if p.requires_grad}
    assert trainable
    for n, p in trainable.items():
        assert p.grad is not None, n
        assert torch.isfinite(p.grad).all(), n
        gate = n.rsplit(".mlp.", 1)[0]
        if gate in alive and (n.endswith(("mlp.0.weight", "mlp.0.bias"))):
            # A CBAM hidden unit whose ReLU is off for every input (avg and max path, whole batch)
            # gets no gradient by construction; every active unit must get one.
            g = p.grad.abs().reshape(p.shape[0], -1).sum(dim=1)
            assert torch.all(g[alive[gate]] > 0), n
            assert torch.all(g[~alive[gate]] == 0), n
        elif gate in alive and n.endswith("mlp.2.weight"):
            g = p.grad.abs().sum(dim=0)
            assert torch.all(g[alive[gate]] > 0), n
        else:
            assert p.grad.abs().sum() > 0, n


def test_overrides_reach_the_constructor() -> None:
    base = count_parameters(build_model("dsnet_backbone", **TINY))
    assert count_parameters(build_model("dsnet_backbone", **TINY, cbam_reduction=2)) > base
    with pytest.raises(TypeError):
        build_model("unet", **TINY, detail_texture=False)
