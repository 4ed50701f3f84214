"""softnodule.losses: known values, the GAN modes, and the offline-only perceptual loss decision."""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from softnodule import losses as L


def test_dice_loss_zero_for_perfect_binary_prediction():
    t = torch.zeros(3, 1, 8, 8)
    t[0, 0, 2:5, 2:5] = 1
    t[1, 0, 0, 0] = 1  # image 2 stays empty: empty vs empty is also loss 0 thanks to smooth
    assert L.dice_loss(t.clone(), t).item() == pytest.approx(0.0, abs=1e-7)


def test_dice_loss_known_value_and_per_image_average():
    prob = torch.tensor([[0.5, 0.5], [0.0, 0.0]]).view(1, 1, 2, 2)
    target = torch.tensor([[1.0, 0.0], [0.0, 0.0]]).view(1, 1, 2, 2)
    # 1 - (2*0.5 + 1) / (0.25 + 0.25 + 1 + 1) = 1 - 2/2.5 = 0.2
    assert L.dice_loss(prob, target).item() == pytest.approx(0.2)
    # batch: mean of per-image losses (0.2 and 0), not one Dice over the pooled batch
    both_p = torch.cat([prob, target])
    both_t = torch.cat([target, target])
    assert L.dice_loss(both_p, both_t).item() == pytest.approx(0.1)
    assert L.dice_loss(prob, target, smooth=0.0).item() == pytest.approx(1 - 1 / 1.5)
    with pytest.raises(ValueError):
        L.dice_loss(prob, target[..., :1])


def test_dice_loss_has_gradient():
    prob = torch.rand(2, 1, 4, 4, requires_grad=True)
    L.dice_loss(prob, (torch.rand(2, 1, 4, 4) > 0.5).float()).backward()
    assert prob.grad is not None and torch.isfinite(prob.grad).all()


def test_soft_mask_l1_maps_target_to_minus_one_one():
    alpha = torch.tensor([0.0, 0.5, 1.0])
    assert L.soft_mask_l1(torch.tensor([-1.0, 0.0, 1.0]), alpha).item() == pytest.approx(0.0)
    # prediction 0 vs targets -1, 0, 1 -> mean(1, 0, 1)
    assert L.soft_mask_l1(torch.zeros(3), alpha).item() == pytest.approx(2 / 3)


def test_gan_loss_values():
    z = torch.zeros(2, 1, 4, 4)
    van = L.GANLoss("vanilla")
    assert van(z, True).item() == pytest.approx(math.log(2))
    assert van(z, False).item() == pytest.approx(math.log(2))
    ls = L.GANLoss("lsgan")
    assert ls(z, True).item() == pytest.approx(1.0)
    assert ls(z, False).item() == pytest.approx(0.0)
    assert ls(torch.full((3,), 0.5), True).item() == pytest.approx(0.25)
    assert van(torch.full((3,), 2.0), True).item() == pytest.approx(math.log1p(math.exp(-2.0)))
    with pytest.raises(ValueError, match="mode"):
        L.GANLoss("wgan")


def test_weight_dataclasses():
    assert L.SegLossWeights() == L.SegLossWeights(dice=0.5, soft=100.0, gan=1.0)
    assert L.SRLossWeights() == L.SRLossWeights(mse=1.0, adversarial=1e-3, perceptual=8e-3, tv=2e-8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        L.SegLossWeights().dice = 1.0  # type: ignore[misc]


def test_tv_loss_known_value_and_srgan_form():
    assert L.tv_loss(torch.ones(2, 1, 5, 5)).item() == 0.0
    img = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).view(1, 1, 2, 2)
    assert L.tv_loss(img).item() == pytest.approx(2.0)  # 2 * (0 + mean(1, 1))
    x = torch.randn(3, 2, 6, 7)
    b, _, h, w = x.shape
    h_tv = (x[:, :, 1:, :] - x[:, :, :h - 1, :]).pow(2).sum()
    w_tv = (x[:, :, :, 1:] - x[:, :, :, :w - 1]).pow(2).sum()
    ref = 2 * (h_tv / x[:, :, 1:, :][0].numel() + w_tv / x[:, :, :, 1:][0].numel()) / b
    assert L.tv_loss(x).item() == pytest.approx(ref.item(), rel=1e-6)


# ----- perceptual loss: never downloads; decision logic tested with fakes ---------------------

def test_perceptual_loss_in_this_environment(caplog):
    caplog.set_level(logging.WARNING, logger="softnodule.losses")
    module, notice = L.make_perceptual_loss()
    if module is None:
        assert notice.startswith("perceptual loss skipped:")
        assert "\n" not in notice
        assert notice in caplog.text
    else:  # torchvision and the weights happen to be present
        assert isinstance(module, L.VGGPerceptualLoss)


def test_default_weights_path_is_torch_hub_cache():
    assert L.vgg19_weights_path() == Path(torch.hub.get_dir()) / "checkpoints" / "vgg19-dcbb9e9d.pth"


def _fail_import():
    raise OSError("libcudart.so.12: cannot open shared object file")


def test_skips_when_torchvision_not_importable(monkeypatch, caplog):
    monkeypatch.setattr(L, "_import_torchvision", _fail_import)
    with caplog.at_level(logging.WARNING, logger="softnodule.losses"):
        module, notice = L.make_perceptual_loss()
    assert module is None
    assert notice.startswith("perceptual loss skipped: torchvision not importable")
    assert "OSError" in notice and notice in caplog.text


def test_skips_when_weights_absent(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache
    monkeypatch.setattr(L, "_import_torchvision", lambda: SimpleNamespace())
    built = []
    monkeypatch.setattr(L, "_build_vgg19_features", lambda *a: built.append(a))
    with caplog.at_level(logging.WARNING, logger="softnodule.losses"):
        module, notice = L.make_perceptual_loss()
    assert module is None and not built
    assert "weights not found" in notice and str(tmp_path) in notice
    assert notice in caplog.text


def test_builds_when_torchvision_and_weights_present(monkeypatch, tmp_path):
    weights = tmp_path / "vgg.pth"
    weights.write_bytes(b"x")
    monkeypatch.setattr(L, "_import_torchvision", lambda: SimpleNamespace())
    monkeypatch.setattr(L, "_build_vgg19_features", lambda tv, path: nn.Identity())
    module, notice = L.make_perceptual_loss(weights)
    assert isinstance(module, L.VGGPerceptualLoss) and "relu5_4" in notice
    # corrupt weights: skipped with a notice, not an exception
    def broken(tv, path):
        raise RuntimeError("bad state dict")
    monkeypatch.setattr(L, "_build_vgg19_features", broken)
    module, notice = L.make_perceptual_loss(weights)
    assert module is None and "could not load" in notice


def test_build_vgg19_features_loads_local_file_without_download(tmp_path):
    class FakeVGG(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 4, 1), *[nn.ReLU() for _ in range(39)])

    calls = []

    def vgg19(weights):
        calls.append(weights)
        return FakeVGG()

    src = FakeVGG()
    path = tmp_path / L.VGG19_WEIGHTS_FILE
    torch.save(src.state_dict(), path)
    feats = L._build_vgg19_features(SimpleNamespace(models=SimpleNamespace(vgg19=vgg19)), path)
    assert calls == [None]  # weights=None: torchvision never fetches anything
    assert len(feats) == L.VGG19_RELU5_4 == 36
    assert torch.equal(feats[0].weight, src.features[0].weight)


def test_vgg_perceptual_wrapper_normalises_and_freezes():
    conv = nn.Conv2d(3, 2, 1)
    loss = L.VGGPerceptualLoss(nn.Sequential(nn.Identity()))
    sr = torch.full((1, 1, 4, 4), 0.2)
    hr = torch.full((1, 1, 4, 4), -0.2)
    assert loss(sr, sr).item() == 0.0
    # identity features: ((sr - hr) / 2 / std_c)^2 averaged over the 3 channels
    std = torch.tensor([0.229, 0.224, 0.225])
    assert loss(sr, hr).item() == pytest.approx(((0.2 / std) ** 2).mean().item(), rel=1e-5)
    frozen = L.VGGPerceptualLoss(nn.Sequential(conv, nn.BatchNorm2d(2)))
    frozen.train()
    assert not frozen.features.training
    assert not any(p.requires_grad for p in frozen.parameters())
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))


def test_sr_generator_loss_parts_without_perceptual():
    torch.manual_seed(0)
    sr = torch.rand(2, 1, 8, 8, requires_grad=True)
    hr = torch.rand(2, 1, 8, 8)
    total, parts = L.SRGeneratorLoss()(sr, hr, torch.zeros(2, 1, 8, 8))
    assert set(parts) == {"mse", "adversarial", "tv", "total"}
    assert parts["mse"] == pytest.approx(torch.mean((sr - hr) ** 2).item())
    assert parts["adversarial"] == pytest.approx(math.log(2))
    assert parts["tv"] == pytest.approx(L.tv_loss(sr).item())
    expected = parts["mse"] + 1e-3 * math.log(2) + 2e-8 * parts["tv"]
    assert total.item() == pytest.approx(expected) and parts["total"] == pytest.approx(expected)
    total.backward()
    assert sr.grad is not None


def test_sr_generator_loss_with_perceptual_and_custom_weights():
    class Const(nn.Module):
        def forward(self, sr, hr):
            return (sr * 0).sum() + 3.0

    sr, hr = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    w = L.SRLossWeights(mse=2.0, adversarial=0.5, perceptual=0.1, tv=1.0)
    total, parts = L.SRGeneratorLoss(w, Const())(sr, hr, torch.zeros(1, 1))
    assert parts["perceptual"] == pytest.approx(3.0) and parts["mse"] == pytest.approx(1.0)
    assert parts["tv"] == 0.0
    assert total.item() == pytest.approx(2.0 * 1.0 + 0.5 * math.log(2) + 0.1 * 3.0)
