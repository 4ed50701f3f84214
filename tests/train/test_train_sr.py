"""SR pretraining: it learns, resumes exactly, and is cached by config and images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from softnodule.data.datasets.sr_pairs import SRImageSet
from softnodule.train import SRConfig, evaluate_sr, train_sr
from softnodule.train.checkpoints import read_progress
from softnodule.train.sr import sr_run, super_resolve


def _smooth_images(n: int, size: int = 16, seed: int = 0) -> SRImageSet:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    hr = [np.tanh(np.sin(rng.uniform(2, 6) * xx + rng.uniform(0, 6)) * np.cos(rng.uniform(2, 6) * yy))
          for _ in range(n)]
    return SRImageSet(np.stack(hr)[:, None].astype(np.float32), [f"phantom:{i}" for i in range(n)])


CFG = SRConfig(factor=2, width=8, d_width=4, epochs=3, warmup_epochs=2, batch_size=4, lr=1e-3)


def test_sr_learns_and_reports_against_bicubic(tmp_cache):
    images = _smooth_images(16)
    teacher = train_sr(CFG, images, _smooth_images(4, seed=1), progress=False)
    hist = teacher.result["history"]
    assert [h["gan_phase"] for h in hist] == [False, False, True]
    assert hist[-1]["mse"] < hist[0]["mse"]
    assert "d_loss" in hist[-1] and "tv" in hist[-1]
    assert "perceptual" in teacher.result["perceptual_notice"]
    assert not any(p.requires_grad for p in teacher.generator.parameters()) and not teacher.generator.training
    m = evaluate_sr(teacher.generator, images, 2)
    assert m["psnr_bicubic"] > 20 and np.isfinite(m["psnr_sr"]) and -1 <= m["ssim_sr"] <= 1
    assert super_resolve(teacher.generator, images.hr[:3, :, ::2, ::2]).shape == (3, 1, 16, 16)
    progress = read_progress(sr_run(CFG, images, _smooth_images(4, seed=1))[1])  # what the executors print
    assert progress["epoch"] == 3 and progress["val_score"] == pytest.approx(hist[-1]["heldout_psnr_sr"])


def test_sr_resume_equals_uninterrupted(tmp_cache, tmp_path, monkeypatch):
    images, held = _smooth_images(8), _smooth_images(4, seed=1)
    full = train_sr(CFG, images, held, progress=False)
    monkeypatch.setenv("SOFTNODULE_CACHE", str(tmp_path / "other"))

    def stop(epoch, row):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_sr(CFG, images, held, progress=False, on_epoch_end=stop)
    resumed = train_sr(CFG, images, held, progress=False)
    a, b = full.generator.state_dict(), resumed.generator.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert full.key == resumed.key


def test_sr_cache_key_follows_the_images(tmp_cache):
    a = train_sr(CFG, _smooth_images(8), _smooth_images(4, seed=1), progress=False)
    b = train_sr(CFG, _smooth_images(8, seed=5), _smooth_images(4, seed=1), progress=False)
    assert a.key != b.key


def test_too_few_images_is_a_clear_error(tmp_cache):
    with pytest.raises(ValueError, match="at least batch_size"):
        train_sr(CFG, _smooth_images(2), _smooth_images(2), progress=False)
