"""SRSegmenter: the SR teacher is frozen, stays in eval mode, and must match the segmenter."""

from __future__ import annotations

import pytest
import torch

from softnodule.models import SRGenerator, SRSegmenter, build_model, count_parameters

TINY = {"width": 4, "depth": 2, "sr_factor": 2, "feat_channels": 6}


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _model(name: str = "dsnet") -> SRSegmenter:
    return SRSegmenter(build_model(name, **TINY), SRGenerator(2, 6, 1))


def test_teacher_frozen_and_eval_after_train() -> None:
    model = _model()
    assert all(not p.requires_grad for p in model.teacher.parameters())
    model.train()
    assert model.training and model.segmenter.training
    assert not model.teacher.training
    assert all(not m.training for m in model.teacher.modules())
    model.eval()
    model.train(True)
    assert not model.teacher.training


def test_teacher_gets_no_grad_and_keeps_its_statistics() -> None:
    model = _model().train()
    bn = model.teacher.trunk_tail[1]
    before = bn.running_mean.clone()
    out = model(torch.rand(2, 1, 32, 32) * 2 - 1)
    (out.prob.mean() + out.soft.mean()).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert torch.equal(bn.running_mean, before)
    assert any(p.grad is not None for p in model.segmenter.parameters())
    n_teacher = count_parameters(model.teacher, trainable_only=False)
    assert count_parameters(model) == count_parameters(model.segmenter)
    assert (
        count_parameters(model, trainable_only=False)
        == count_parameters(model.segmenter) + n_teacher
    )
    assert {id(p) for p in model.trainable_parameters()} == {
        id(p) for p in model.segmenter.parameters()
    }


def test_forward_matches_segmenter_called_with_teacher_outputs() -> None:
    model = _model().eval()
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    sr, feats = model.teacher.forward_features(x)
    ref = model.segmenter(x, sr, feats)
    out = model(x)
    assert torch.allclose(out.prob, ref.prob) and torch.allclose(out.soft, ref.soft)


def test_models_without_sr_need_no_teacher() -> None:
    model = SRSegmenter(build_model("softgan", **TINY), None)
    assert model(torch.rand(2, 1, 32, 32)).prob.shape == (2, 1, 32, 32)


def test_teacher_mismatches_raise() -> None:
    with pytest.raises(ValueError, match="needs an SR teacher"):
        SRSegmenter(build_model("dsnet", **TINY), None)
    with pytest.raises(ValueError, match="factor"):
        SRSegmenter(build_model("dsnet", **TINY), SRGenerator(4, 6, 1))
    with pytest.raises(ValueError, match="feat_channels"):
        SRSegmenter(build_model("dsnet", **TINY), SRGenerator(2, 8, 1))
    # the SR-input stem reads no features, so their width does not matter
    SRSegmenter(build_model("dsnet_sr_input", **TINY), SRGenerator(2, 8, 1))
