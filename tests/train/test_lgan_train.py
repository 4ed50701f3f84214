"""LGAN training: deterministic, finite losses, cached reload, resume == uninterrupted, early stopping
(by patience, resume-safe), evaluation with degenerate flags."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import softnodule.train.lgan as lgan_train
from softnodule.data.datasets.lung_slices import phantom_lung_slices
from softnodule.train.lgan import LGANConfig, evaluate_lgan, lgan_config, summarize_lgan, train_lgan

TINY = dict(gen_width=2, gen_depth=2, width=2, input_size=32, batch_size=2, lr=1e-3)


@pytest.fixture()
def slices(tmp_cache):
    return phantom_lung_slices(4, 2, 2, size=32, progress=False)


def _weights(trained) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trained.generator.state_dict().items()}


def test_deterministic_and_finite(slices, tmp_cache, monkeypatch, tmp_path):
    cfg = LGANConfig("regression", epochs=2, lipschitz="gp", critic_norm="layer", **TINY)
    a = train_lgan(cfg, slices, progress=False)
    monkeypatch.setenv("SOFTNODULE_CACHE", str(tmp_path / "other"))
    b = train_lgan(cfg, slices, progress=False)
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    def drop_time(hist):
        return [{k: v for k, v in h.items() if k != "ms_per_iter"} for h in hist]

    assert drop_time(a.result["history"]) == drop_time(b.result["history"])
    for h in a.result["history"]:
        for k in ("g_loss", "bce", "g_adv", "d_loss", "gp", "val_iou"):
            assert np.isfinite(h[k]), (k, h)
        assert 0.0 <= h["val_iou"] <= 1.0
    assert a.result["best_epoch"] in (1, 2)
    assert a.result["val_iou"] == a.result["history"][a.result["best_epoch"] - 1]["val_iou"]
    assert a.result["val_iou"] >= max(h["val_iou"] for h in a.result["history"]) - cfg.min_delta


def test_cached_reload_and_new_key_on_change(slices, tmp_cache):
    cfg = LGANConfig("basic", epochs=1, **TINY)
    first = train_lgan(cfg, slices, progress=False)
    calls = []
    again = train_lgan(cfg, slices, progress=False, on_epoch_end=lambda e, r: calls.append(e))
    assert calls == [] and again.key == first.key
    assert all(torch.equal(x, y) for x, y in zip(_weights(first).values(), _weights(again).values()))
    other = train_lgan(LGANConfig("basic", epochs=1, **{**TINY, "lr": 5e-4}), slices, progress=False)
    assert other.key != first.key


def test_code_version_keys_the_cache(slices, tmp_cache, monkeypatch):
    cfg = LGANConfig("unet", epochs=1, **TINY)
    first = train_lgan(cfg, slices, progress=False)
    monkeypatch.setattr(lgan_train, "LGAN_CODE_VERSION", lgan_train.LGAN_CODE_VERSION + 1)
    calls = []
    bumped = train_lgan(cfg, slices, progress=False, on_epoch_end=lambda e, r: calls.append(e))
    assert bumped.key != first.key and calls == [0]  # a new code version retrains


def _stop(result):
    return {k: result[k] for k in ("best_epoch", "stopped_epoch", "stop_reason", "still_improving", "max_epochs",
                                   "patience")}


def _no_time(history):
    return [{k: v for k, v in h.items() if k != "ms_per_iter"} for h in history]


def test_early_stopping_by_patience(slices, tmp_cache):
    # the tiny generator's validation IoU plateaus at once: with patience 2 the run stops long before the cap
    cfg = LGANConfig("basic", epochs=8, patience=2, **TINY)
    run = train_lgan(cfg, slices, progress=False)
    r = run.result
    assert r["stop_reason"] == "patience" and r["still_improving"] is False
    assert r["stopped_epoch"] == len(r["history"]) < cfg.epochs
    assert r["stopped_epoch"] - r["best_epoch"] == cfg.patience
    best = r["history"][r["best_epoch"] - 1]["val_iou"]
    assert r["val_iou"] == best
    assert all(h["val_iou"] <= best + cfg.min_delta for h in r["history"])  # nothing later counted as a gain
    capped = train_lgan(LGANConfig("basic", epochs=2, patience=None, **TINY), slices, progress=False).result
    assert (capped["stop_reason"], capped["stopped_epoch"], len(capped["history"])) == ("max_epochs", 2, 2)


@pytest.mark.parametrize("interrupt_after", [0, 2])
def test_resumed_run_takes_the_same_stopping_decision(slices, tmp_cache, monkeypatch, tmp_path, interrupt_after):
    cfg = LGANConfig("early_fusion", epochs=8, patience=2, **TINY)
    full = train_lgan(cfg, slices, progress=False)
    assert full.result["stop_reason"] == "patience" and full.result["stopped_epoch"] == 3
    monkeypatch.setenv("SOFTNODULE_CACHE", str(tmp_path / f"second-{interrupt_after}"))

    def interrupt(epoch, row):
        if epoch == interrupt_after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_lgan(cfg, slices, progress=False, on_epoch_end=interrupt)
    seen = []
    resumed = train_lgan(cfg, slices, progress=False, on_epoch_end=lambda e, r: seen.append(e))
    # interrupted after the last epoch before the stop (index 2), the resumed run trains nothing: the
    # decision comes from the checkpointed best epoch, not from a fresh count
    assert seen == list(range(interrupt_after + 1, full.result["stopped_epoch"]))
    assert _stop(resumed.result) == _stop(full.result)
    assert _no_time(resumed.result["history"]) == _no_time(full.result["history"])
    wa, wb = _weights(full), _weights(resumed)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resume_equals_uninterrupted(slices, tmp_cache, monkeypatch, tmp_path):
    cfg = LGANConfig("early_fusion", epochs=2, **TINY)
    full = train_lgan(cfg, slices, progress=False)
    monkeypatch.setenv("SOFTNODULE_CACHE", str(tmp_path / "second"))

    def interrupt(epoch, row):
        if epoch == 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_lgan(cfg, slices, progress=False, on_epoch_end=interrupt)
    seen = []
    resumed = train_lgan(cfg, slices, progress=False, on_epoch_end=lambda e, r: seen.append(e))
    assert seen == [1]
    wa, wb = _weights(full), _weights(resumed)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_clipping_run_keeps_critic_small_and_evaluation(slices, tmp_cache):
    trained = train_lgan(LGANConfig("late_fusion", epochs=1, lipschitz="clip", **TINY), slices, progress=False)
    h = trained.result["history"][0]
    assert abs(h["d_real"]) < 10.0 and abs(h["d_fake"]) < 10.0
    ev = evaluate_lgan(trained, slices.split("test"))
    assert ev["prob"].shape == (2, 1, 32, 32) and ((ev["prob"] >= 0) & (ev["prob"] <= 1)).all()
    s = ev["summary"]
    assert s["n"] == 2 and 0.0 <= s["iou_mean"] <= 1.0 and 0.0 <= s["iou_median"] <= 1.0
    flags = ev["degenerate"]
    assert set(flags) == {"all_fg", "all_bg", "constant"} and all(f.shape == (2,) for f in flags.values())
    pred = ev["prob"][:, 0] > 0.5
    assert np.array_equal(flags["all_bg"], ~pred.reshape(2, -1).any(axis=1))
    lean = evaluate_lgan(trained, slices.split("test"), keep_prob=False)
    assert "prob" not in lean and np.array_equal(lean["per_image"]["iou"], ev["per_image"]["iou"])


def test_summary_mean_and_median_and_undefined_hd():
    per = {"iou": np.array([0.2, 0.9, 1.0]), "dice": np.array([0.3, 0.95, 1.0]), "hd": np.array([np.nan, 2.0, 4.0])}
    s = summarize_lgan(per)
    assert s["iou_mean"] == pytest.approx(0.7) and s["iou_median"] == pytest.approx(0.9)
    assert s["hd_mean"] == pytest.approx(3.0) and s["hd_median"] == pytest.approx(3.0) and s["hd_n_undefined"] == 1


def test_config_checks_and_profiles(tmp_cache):
    with pytest.raises(ValueError, match="structure"):
        LGANConfig("vanilla")
    with pytest.raises(ValueError, match="lipschitz"):
        LGANConfig("basic", lipschitz="spectral")
    quick = lgan_config("regression", "quick")
    assert quick.input_size == 224 and quick.structure == "regression"
    assert (quick.epochs, quick.patience) == (30, 4)  # the profile's table_epochs cap and patience
    assert lgan_config("basic", "quick", patience=None).patience is None
    with pytest.raises(ValueError, match="patience"):
        LGANConfig("basic", patience=0)
    paper = lgan_config("basic", "paper")
    assert (paper.lr, paper.weight_decay, paper.gen_width, paper.width) == (1e-5, 5e-4, 64, 64)
    with pytest.raises(ValueError, match="input_size"):
        train_lgan(LGANConfig("unet", epochs=1, **{**TINY, "input_size": 64}),
                   phantom_lung_slices(2, 1, 1, size=32, progress=False), progress=False)
