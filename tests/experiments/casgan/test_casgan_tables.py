"""CasGAN tables: cache keys untouched, softened target, the cascade's frozen prior, tiny trainings, rows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from softnodule.config import PROFILES
from softnodule.data.datasets.sr_pairs import SRImageSet
from softnodule.data.datasets.torch_data import ArraySplits, SegmentationArrays, dataset_arrays
from softnodule.experiments.casgan import tables as C
from softnodule.experiments.casgan.paper_numbers import TABLE1, TABLE3, TABLE4
from softnodule.experiments.engine.table_runs import TARGETS, VARIANTS, target_dataset, train_variants, variant_config
from softnodule.train import SegConfig, SRConfig, config_hash, load_or_train, predict, train_sr

TINY_PROFILE = replace(PROFILES["smoke"], width=4, depth=2, sr_width=4, table_epochs=1, seeds=(0,))


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _teacher():
    rng = np.random.default_rng(0)
    hr = np.clip(rng.normal(0, 0.3, (8, 1, 16, 16)), -1, 1).astype(np.float32)
    images = SRImageSet(hr, [f"phantom:{i}" for i in range(8)])
    return train_sr(SRConfig(factor=2, width=4, d_width=4, epochs=1, warmup_epochs=1, batch_size=4), images,
                    images, progress=False)


def test_cache_keys_of_existing_configs_are_unchanged():
    # values computed before CasGAN was added: a new SegConfig/SegLossWeights field would change them all
    assert config_hash(SegConfig(model="unet"), "abc", None) == "7795b626b76a"
    assert config_hash(SegConfig(model="dsnet", epochs=2), "k1", "t1") == "6c1a4245729d"


def test_softened_target_is_the_elementwise_max(disc_dataset):
    assert "softened" in TARGETS
    alt = target_dataset(disc_dataset, "softened")
    assert alt.manifest["key"] not in {disc_dataset.manifest["key"], target_dataset(disc_dataset, "binary").manifest["key"]}
    for split in ("train", "val", "test"):
        a, b = dataset_arrays(disc_dataset, split), dataset_arrays(alt, split)
        np.testing.assert_array_equal(b.soft, np.maximum(a.binary, a.soft))
        np.testing.assert_array_equal(b.image, a.image)
        np.testing.assert_array_equal(b.binary, a.binary)
    train = dataset_arrays(alt, "train")
    inside = train.binary > 0.5
    assert np.all(train.soft[inside] == 1.0)  # the binary label is kept ...
    assert np.any((train.soft > 0) & (train.soft < 0.5) & ~inside)  # ... and the Soft Mask's outer fringe added


def test_variants_map_the_paper_rows():
    assert VARIANTS["casgan"].target == "soft_mask" and VARIANTS["casgan"].model == "casgan"
    assert VARIANTS["casgan_bin"].target == "binary" and VARIANTS["casgan_bin"].model == "casgan"
    assert VARIANTS["casgan_no_sr"].model == "casgan_no_sr"
    assert VARIANTS["casgan_soft"].target == "softened"
    assert VARIANTS["casgan_pp"].target == "binary" and VARIANTS["casgan_pp"].model == "casgan_pp"
    # CasGAN's models train with the paper's lr; every other variant keeps the shared budget (and its cache key)
    casgans = {n for n, v in VARIANTS.items() if v.model.startswith("casgan")}
    assert casgans == {"casgan", "casgan_bin", "casgan_no_sr", "casgan_soft", "casgan_pp"}
    for name, v in VARIANTS.items():
        cfg = variant_config(v, TINY_PROFILE, 0)
        assert cfg.lr == (2e-3 if name in casgans else 2e-4), name
        assert v.train == (() if name not in casgans else (("lr", 2e-3),)), name
    for names, table in ((C.TABLE1_VARIANTS, TABLE1), (C.TABLE4_VARIANTS, TABLE4["isbi"])):
        assert set(names) <= set(VARIANTS) and set(names) == set(table)
    assert set(C.TABLE3_VARIANTS) <= set(TABLE3) and set(C.TABLE3_ORDER) == set(TABLE3)
    # printed fractions x 100
    assert TABLE1["casgan"] == {"dice": (91.9, None), "iou": (86.4, None), "acc": (99.4, None)}
    assert TABLE4["isbi"]["casgan_pp"]["dice"] == (98.1, None) and TABLE4["promise12"]["cenet_pp"]["dice"] == (97.6, None)
    # the IoU defect stated in DEFECTS: below the Jensen bound D / (2 - D) even at Dice 0.9155
    assert TABLE1["casgan_no_sr"]["iou"][0] / 100 < 0.9155 / (2 - 0.9155)


def test_casgan_trains_one_epoch_on_discs(disc_dataset, tmp_cache):
    teacher = _teacher()
    trained = load_or_train(SegConfig(model="casgan", epochs=1, width=4, depth=2, sr_factor=2, feat_channels=4),
                            disc_dataset, teacher, progress=False)
    hist = trained.result["history"]
    assert len(hist) == 1 and {"mse", "l1", "gan", "d_loss"} <= set(hist[0]) and "dice" not in hist[0]
    assert np.isfinite(hist[0]["loss"]) and 0 <= trained.result["val_dice_at_0.5"] <= 1
    prob, soft = predict(trained.pipeline, dataset_arrays(disc_dataset, "test").image)
    assert prob.shape == (4, 1, 32, 32)
    np.testing.assert_allclose(prob, soft, atol=1e-6)  # CasGAN's probability is its Soft Mask in [0, 1]
    # the teacher stayed frozen and the run is cached
    assert all(not p.requires_grad for p in trained.pipeline.teacher.parameters())
    again = load_or_train(trained.config, disc_dataset, teacher, progress=False)
    assert again.key == trained.key and again.result["train_seconds"] == trained.result["train_seconds"]


def test_prior_channel_is_the_frozen_casgans_output(disc_dataset, tmp_cache):
    teacher = _teacher()
    prior = train_variants(["casgan"], TINY_PROFILE, disc_dataset, teacher, progress=False)["casgan"][0]
    frozen = {k: v.clone() for k, v in prior.pipeline.segmenter.state_dict().items()}
    data = C.prior_dataset(disc_dataset, prior)
    assert C.prior_dataset(disc_dataset, prior) is data  # computed once
    assert data.manifest["key"] != disc_dataset.manifest["key"] and data.manifest["prior_key"] == prior.key
    for split in ("train", "val", "test"):
        a, b = dataset_arrays(disc_dataset, split), dataset_arrays(data, split)
        _, soft = predict(prior.pipeline, a.image)
        assert b.image.shape == (len(a), 2, 32, 32) and b.image.dtype == np.float32
        np.testing.assert_array_equal(b.image[:, :1], a.image)
        np.testing.assert_allclose(b.image[:, 1:], 2 * soft - 1, atol=1e-6)
        np.testing.assert_array_equal(b.soft, a.soft)
        np.testing.assert_array_equal(b.binary, a.binary)
    # the prior is plain data: training the cascade on it leaves the prior's weights untouched
    runs = train_variants(["casgan_pp", "cenet_pp"], TINY_PROFILE, data, teacher, progress=False)
    assert runs["casgan_pp"][0].result["history"][0]["l1"] > 0
    after = prior.pipeline.segmenter.state_dict()
    assert all(torch.equal(frozen[k], after[k]) for k in frozen)
    with pytest.raises(ValueError, match="expected 1"):
        C.prior_dataset(data, prior)
    with pytest.raises(ValueError, match="reads 2-channel inputs"):
        train_variants(["casgan_pp"], replace(TINY_PROFILE, seeds=(5,)), disc_dataset, teacher, progress=False)


def test_tables_put_the_paper_beside_ours(disc_dataset, tmp_cache):
    teacher = _teacher()
    names = ("casgan_bin", "casgan_pp", "casgan_soft")
    runs, evals, priors = C.train_and_evaluate(names, TINY_PROFILE, disc_dataset, teacher, progress=False)
    assert list(runs) == list(names) and len(priors) == 1 and priors[0].config.model == "casgan"
    assert runs["casgan_pp"][0].pipeline.segmenter.in_channels == 2
    rows = C.table3_rows(runs, evals)
    assert [r["variant"] for r in rows] == ["gc", "mukherjee", "roy", "casgan_bin", "casgan_pp", "casgan_soft"]
    lit = rows[0]
    assert lit["dice"] == "" and lit["dice_paper"] == "68.9" and lit["status"].startswith("paper only")
    soft = next(r for r in rows if r["variant"] == "casgan_soft")
    ours = float(soft["dice"].split("±")[0])
    assert soft["dice_paper"] == "93.10" and soft["dice_diff"] == pytest.approx(ours - 93.1, abs=0.01)
    assert soft["n_test"] == 4 and soft["iou"] and soft["acc"] and soft["status"] == "measured"
    lines = C.claim_lines([], rows, [])
    assert len(lines) == 7 and lines[0].endswith("ours not measured Dice points, paper +0.8")
    bin_ = float(next(r for r in rows if r["variant"] == "casgan_bin")["dice"].split("±")[0])
    assert lines[3] == (f"Table 3, softened vs binary target (casgan_soft - casgan_bin): ours {ours - bin_:+.2f} "
                        "Dice points, paper +0.6")
    assert C.table4_folds(TINY_PROFILE) == 2 and C.table4_folds(PROFILES["quick"]) == 4


def test_table4_rows_score_per_slice(disc_dataset, tmp_cache):
    teacher = _teacher()

    def make_fold(k: int) -> ArraySplits:  # discs as "slices" of 4 tiles each (ids isbi/sNN/tMM)
        splits = {}
        for split in ("train", "val", "test"):
            a = dataset_arrays(disc_dataset, split)
            ids = [f"isbi/s{i // 4 + 10 * k:02d}/t{i % 4:02d}" for i in range(len(a))]
            splits[split] = SegmentationArrays(a.image, a.soft, a.binary, ids)
        return ArraySplits(f"discs-f{k}", f"discs-fold-{k}", splits)

    folds = C.run_folds(make_fold, TINY_PROFILE, teacher, folds=2, names=("cenet", "cenet_pp"), progress=False)
    rows = C.table4_rows("isbi", folds)
    assert [r["variant"] for r in rows] == ["cenet", "cenet_pp"]
    for r in rows:
        assert r["n_test_slices"] == 2 and r["folds"] == 2 and r["dice_paper"] and r["status"] == "measured"
    scores = C.per_slice_scores(folds, "cenet")
    assert scores["dice"].shape == (2,) and np.all((scores["acc"] >= 0) & (scores["acc"] <= 1))
    not_run = C.table4_not_run_rows("promise12", "no data")
    assert len(not_run) == 5 and all(r["dice"] == "" and r["status"] == "not run: no data" for r in not_run)
    assert not_run[-1]["dice_paper"] == "92.1"
