"""Early stopping: the rule on known curves, a real run that stops by patience, and its resume."""

from __future__ import annotations

import pytest
import torch

from softnodule.train import SegConfig, load_or_train
from softnodule.train.early_stopping import EarlyStopping

TINY = dict(width=4, depth=2, sr_factor=2, feat_channels=4, batch_size=4)


def _run_rule(rule: EarlyStopping, curve: list[float]) -> tuple[int, int]:
    """Replay a validation curve through the rule the training loop applies: (best, stopped)."""
    best, best_epoch, done = -1.0, 0, 0
    for score in curve:
        if rule.should_stop(done, best_epoch):
            break
        done += 1
        if rule.improved(score, best):
            best, best_epoch = score, done
    return best_epoch, done


def test_rule_stops_after_patience_epochs_without_gain():
    rule = EarlyStopping(max_epochs=20, patience=3, min_delta=0.01)
    curve = [0.5, 0.6, 0.7, 0.705, 0.70, 0.69, 0.9, 0.9]  # +0.005 is below min_delta: not a gain
    best, stopped = _run_rule(rule, curve)
    assert (best, stopped) == (3, 6)
    assert rule.stop_record(best, stopped) == {
        "best_epoch": 3, "stopped_epoch": 6, "stop_reason": "patience", "still_improving": False,
        "max_epochs": 20, "patience": 3, "min_delta": 0.01}


def test_rule_at_the_cap_flags_a_curve_still_rising():
    rule = EarlyStopping(max_epochs=5, patience=3)
    best, stopped = _run_rule(rule, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    rec = rule.stop_record(best, stopped)
    assert (best, stopped, rec["stop_reason"], rec["still_improving"]) == (5, 5, "max_epochs", True)
    # best long before the cap but patience not exhausted at the cap: plateau seen, not still improving
    rec = EarlyStopping(max_epochs=10, patience=3).stop_record(best_epoch=7, stopped_epoch=10)
    assert rec["stop_reason"] == "patience" and not rec["still_improving"]
    rec = EarlyStopping(max_epochs=10, patience=4).stop_record(best_epoch=7, stopped_epoch=10)
    assert rec["stop_reason"] == "max_epochs" and rec["still_improving"]


def test_rule_without_patience_trains_to_the_cap():
    rule = EarlyStopping(max_epochs=4, patience=None)
    assert _run_rule(rule, [0.9, 0.1, 0.1, 0.1, 0.1]) == (1, 4)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(max_epochs=4, patience=0)


def test_training_stops_by_patience_and_resume_takes_the_same_decision(disc_dataset, tmp_cache, monkeypatch,
                                                                         tmp_path):
    # min_delta 0.999: only the first epoch can count as a gain, so patience 2 stops after epoch 3
    cfg = SegConfig(model="unet", epochs=8, patience=2, min_delta=0.999, audit=False, **TINY)
    full = load_or_train(cfg, disc_dataset, progress=False)
    r = full.result
    assert (r["best_epoch"], r["stopped_epoch"], r["stop_reason"], r["still_improving"]) == (1, 3, "patience", False)
    assert len(r["history"]) == 3

    monkeypatch.setenv("SOFTNODULE_CACHE", str(tmp_path / "second"))

    def interrupt(epoch, row):
        if epoch == 2:  # killed after the epoch that triggers the stop, before the result was written
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_or_train(cfg, disc_dataset, progress=False, on_epoch_end=interrupt)
    seen: list[int] = []
    resumed = load_or_train(cfg, disc_dataset, progress=False, on_epoch_end=lambda e, row: seen.append(e))
    assert seen == []  # the stop decision is taken again from the checkpoint: no further epoch
    assert resumed.result["stopped_epoch"] == 3 and resumed.result["best_epoch"] == 1
    a = full.pipeline.segmenter.state_dict()
    b = resumed.pipeline.segmenter.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_channels_last_only_for_the_dsnet_family():
    from softnodule.train.fast_path import use_channels_last

    assert use_channels_last("dsnet") and use_channels_last("dsnet_sr_input")
    assert not any(use_channels_last(m) for m in ("unet", "cenet", "cenet_pp", "deeplabv3p", "casgan"))
    assert not use_channels_last("dsnet", width=4)  # smoke widths: never (oneDNN heap corruption seen there)
