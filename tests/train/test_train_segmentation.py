"""Adversarial Soft Mask training: determinism, resume == uninterrupted, caching, honest selection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from softnodule.data.datasets.sr_pairs import SRImageSet
from softnodule.train import SegConfig, SRConfig, evaluate, load_or_train, train_sr
from softnodule.data.datasets.torch_data import segmentation_arrays

TINY = dict(width=4, depth=2, sr_factor=2, feat_channels=4, batch_size=4)


def _teacher(seed: int = 0):
    rng = np.random.default_rng(seed)
    hr = np.clip(rng.normal(0, 0.3, (8, 1, 16, 16)), -1, 1).astype(np.float32)
    images = SRImageSet(hr, [f"phantom:{i}" for i in range(8)])
    return train_sr(SRConfig(factor=2, width=4, d_width=4, epochs=1, warmup_epochs=1, batch_size=4), images,
                    images, progress=False)


def _weights(trained) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trained.pipeline.segmenter.state_dict().items()}


def test_dsnet_resume_equals_uninterrupted(disc_dataset, tmp_cache, monkeypatch, tmp_path):
    teacher = _teacher()
    cfg = SegConfig(model="dsnet", epochs=2, **TINY)
    full = load_or_train(cfg, disc_dataset, teacher, progress=False)

    monkeypatch.setenv("SOFTNODULE_CACHE", str(tmp_path / "second"))
    teacher2 = _teacher()

    def interrupt(epoch, row):
        if epoch == 0:
            raise KeyboardInterrupt  # what Ctrl-C raises mid-run

    with pytest.raises(KeyboardInterrupt):
        load_or_train(cfg, disc_dataset, teacher2, progress=False, on_epoch_end=interrupt)
    epochs_seen = []
    resumed = load_or_train(cfg, disc_dataset, teacher2, progress=False, on_epoch_end=lambda e, r: epochs_seen.append(e))
    assert epochs_seen == [1]  # continued after the last completed epoch
    a, b = _weights(full), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [h["val_dice"] for h in full.result["history"]] == [h["val_dice"] for h in resumed.result["history"]]
    assert full.threshold == resumed.threshold


def test_finished_run_is_loaded_not_retrained(disc_dataset, tmp_cache):
    cfg = SegConfig(model="unet", epochs=1, **TINY)
    first = load_or_train(cfg, disc_dataset, progress=False)
    calls = []
    again = load_or_train(cfg, disc_dataset, progress=False, on_epoch_end=lambda e, r: calls.append(e))
    assert calls == [] and again.key == first.key
    assert all(torch.equal(x, y) for x, y in zip(_weights(first).values(), _weights(again).values()))
    changed = load_or_train(SegConfig(model="unet", epochs=1, lr=1e-3, **TINY), disc_dataset, progress=False)
    assert changed.key != first.key


def test_loss_falls_and_selection_uses_validation_only(disc_dataset, tmp_cache):
    cfg = SegConfig(model="softgan", epochs=4, lr=2e-3, **TINY)
    trained = load_or_train(cfg, disc_dataset, progress=False)
    hist = trained.result["history"]
    assert hist[-1]["dice"] < hist[0]["dice"]  # the Dice term decreases on this easy task
    assert {"l1", "gan", "d_loss"} <= set(hist[0])
    best = max(range(len(hist)), key=lambda i: (hist[i]["val_dice"], -i))
    assert trained.result["best_epoch"] == best + 1
    assert 0.05 <= trained.threshold <= 0.95
    assert trained.result["n_val"] == 4
    ev = evaluate(trained, segmentation_arrays(disc_dataset, "test"))
    assert ev["threshold"] == trained.threshold and ev["prob"].shape == (4, 1, 32, 32)
    assert np.all((ev["soft"] >= 0) & (ev["soft"] <= 1))


def test_dice_only_models_have_no_discriminator(disc_dataset, tmp_cache):
    trained = load_or_train(SegConfig(model="unet", epochs=1, **TINY), disc_dataset, progress=False)
    assert set(trained.result["history"][0]) >= {"dice", "loss"}
    assert "d_loss" not in trained.result["history"][0] and "l1" not in trained.result["history"][0]


def test_sr_models_need_a_matching_teacher(disc_dataset, tmp_cache):
    with pytest.raises(ValueError, match="teacher"):
        load_or_train(SegConfig(model="dsnet", epochs=1, **TINY), disc_dataset, None, progress=False)
    with pytest.raises(ValueError, match="factor"):
        load_or_train(SegConfig(model="dsnet", epochs=1, **{**TINY, "sr_factor": 4}), disc_dataset, _teacher(),
                      progress=False)


def test_checkpoints_load_with_weights_only(disc_dataset, tmp_cache):
    from softnodule.train.checkpoints import load_checkpoint

    trained = load_or_train(SegConfig(model="unet", epochs=1, **TINY), disc_dataset, progress=False)
    folders = list((tmp_cache / "segmenters").iterdir())
    assert len(folders) == 1 and {p.name for p in folders[0].iterdir()} >= {"last.pt", "weights.pt", "result.json"}
    state = load_checkpoint(folders[0] / "last.pt")  # weights_only=True inside
    assert state["epoch"] == 0 and trained.result["best_epoch"] == 1


def test_fast_path_predicts_what_the_reference_path_predicts(disc_dataset, tmp_cache):
    """Channels-last + teacher outputs computed once give the reference path's outputs (same weights)."""
    from softnodule.train.fast_path import teacher_arrays
    from softnodule.train.segmentation import predict

    trained = load_or_train(SegConfig(model="dsnet", epochs=1, audit=False, **TINY), disc_dataset, _teacher(),
                            progress=False)
    val = segmentation_arrays(disc_dataset, "val")
    ref_prob, ref_soft = predict(trained.pipeline, val.image, device="cpu")
    cached = teacher_arrays(trained.pipeline, val.image, device="cpu")
    assert cached[0].shape == (len(val), 1, 64, 64) and cached[1].shape[1] == 4
    fast_prob, fast_soft = predict(trained.pipeline, val.image, device="cpu", fast=True, teacher_out=cached)
    np.testing.assert_allclose(fast_prob, ref_prob, atol=1e-5)
    np.testing.assert_allclose(fast_soft, ref_soft, atol=1e-5)
    assert trained.result["fast_path"] == {"channels_last": False, "teacher_cached": True}  # width 4: no NHWC


def test_test_split_cannot_reach_any_selection(disc_dataset, tmp_cache):
    """Replacing every test image and label changes nothing that training selects: weights, best epoch,
    stopping, both thresholds. Only the recorded authors'-protocol audit may differ."""
    from softnodule.data.datasets.torch_data import ArraySplits, SegmentationArrays

    splits = {s: segmentation_arrays(disc_dataset, s) for s in ("train", "val", "test")}
    rng = np.random.default_rng(5)
    t = splits["test"]
    scrambled = SegmentationArrays(rng.normal(0, 1, t.image.shape).astype(np.float32), 1 - t.soft,
                                   1 - t.binary, t.ids)
    a_data = ArraySplits("discs", "same-train-val-a", splits)
    b_data = ArraySplits("discs", "same-train-val-b", {**splits, "test": scrambled})
    cfg = SegConfig(model="dsnet", epochs=3, patience=1, **TINY)
    a = load_or_train(cfg, a_data, _teacher(), progress=False)
    b = load_or_train(cfg, b_data, _teacher(), progress=False)
    assert a.key != b.key  # two runs really trained
    for k in ("best_epoch", "stopped_epoch", "stop_reason", "threshold", "soft_threshold", "val_dice_at_0.5"):
        assert a.result[k] == b.result[k], k
    assert [h["val_dice"] for h in a.result["history"]] == [h["val_dice"] for h in b.result["history"]]
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a.result["author_protocol"] != b.result["author_protocol"]  # the audit did read the test split
