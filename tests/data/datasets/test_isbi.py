"""ISBI 2012 loader, folds and fold datasets on the real training slices (skipped without them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from softnodule.data.datasets import isbi


@pytest.fixture(scope="module")
def isbi_dir(shared_data: Path) -> Path:
    """The team's real ISBI 2012 slices (the loader itself is given the folder explicitly)."""
    path = shared_data / "isbi2012"
    if not (path / "train" / "image").is_dir():
        pytest.skip(f"{path} is not present (real ISBI 2012 slices)")
    return path


def test_load_train_shapes_and_dtypes(isbi_dir):
    images, labels = isbi.load_isbi_train(isbi_dir)
    assert images.shape == labels.shape == (30, 512, 512)
    assert images.dtype == np.uint8 and labels.dtype == bool
    assert 0.5 < labels.mean() < 0.95  # cell interior dominates, membranes are thin


def test_folds_cover_every_slice_once():
    plan = isbi.isbi_folds(30, folds=4, val_per_fold=3, seed=0)
    assert [len(f["test"]) for f in plan] == [8, 8, 7, 7]
    tested = sorted(s for f in plan for s in f["test"])
    assert tested == list(range(30))
    for f in plan:
        tr, va, te = set(f["train"]), set(f["val"]), set(f["test"])
        assert not (tr & va or tr & te or va & te)
        assert tr | va | te == set(range(30)) and len(va) == 3
    assert isbi.isbi_folds(seed=0) == plan and isbi.isbi_folds(seed=1) != plan
    with pytest.raises(ValueError):
        isbi.isbi_folds(30, folds=4, val_per_fold=22)


def test_root_lookup_and_missing_message(tmp_path, monkeypatch, tmp_cache):
    monkeypatch.setenv("SOFTNODULE_ISBI_DIR", str(tmp_path / "nowhere"))
    assert isbi.isbi_root() is None
    with pytest.raises(isbi.IsbiMissing) as exc:
        isbi.require_isbi_root()
    msg = str(exc.value)
    assert "nowhere" in msg and "softnodule data fetch isbi2012" in msg and "SOFTNODULE_ISBI_DIR" in msg


def test_only_the_env_var_and_the_fetch_target_are_looked_at(isbi_dir, monkeypatch, tmp_cache):
    """No team folder is a fallback: without SOFTNODULE_ISBI_DIR and a fetch, there is no ISBI data."""
    monkeypatch.delenv("SOFTNODULE_ISBI_DIR", raising=False)
    assert isbi.isbi_root() is None
    assert [label for label, _ in isbi._candidates()] == ["fetch target"]


def test_env_var_wins(isbi_dir, monkeypatch, tmp_cache):
    monkeypatch.setenv("SOFTNODULE_ISBI_DIR", str(isbi_dir))
    assert isbi.isbi_root() == isbi_dir


def test_degenerate_slices_are_reported():
    img = np.full((16, 16), 100.0, np.float32)
    soft, notes = isbi.soft_slice(img, np.zeros((16, 16), bool))
    assert soft.max() == 0 and notes and notes[0].startswith("degenerate")
    soft, notes = isbi.soft_slice(img, np.ones((16, 16), bool))
    assert soft.min() == 1 and notes[0].startswith("degenerate")


def test_tiles_are_row_major_per_slice():
    arr = np.arange(2 * 4 * 4).reshape(2, 4, 4)
    t = isbi.tiles(arr, 2)
    assert t.shape == (8, 2, 2)
    np.testing.assert_array_equal(t[1], arr[0, 0:2, 2:4])
    np.testing.assert_array_equal(t[6], arr[1, 2:4, 0:2])


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


def test_fold_dataset(isbi_dir, tmp_cache):
    ds = isbi.isbi_dataset(0, size=128, tile=64, progress=False, root=isbi_dir)
    plan = isbi.isbi_folds()[0]
    assert ds.counts == {s: 4 * len(plan[s]) for s in ("train", "val", "test")}
    assert ds.manifest["spec"]["name"] == "isbi2012-f0" and ds.manifest["slices"] == plan
    assert ds.manifest["degenerate_slices"] == 0
    for name in ("train", "val", "test"):
        a = ds.split(name)
        assert a.image.shape == a.soft.shape == a.binary.shape == (len(a), 1, 64, 64)
        assert a.image.dtype == a.soft.dtype == a.binary.dtype == np.float32
        assert -1.0 <= a.image.min() < -0.5 and 0.5 < a.image.max() <= 1.0
        assert 0.0 <= a.soft.min() and a.soft.max() <= 1.0
        assert set(np.unique(a.binary)) <= {0.0, 1.0}
        slices = {int(i.split("/")[1][1:]) for i in a.ids}
        assert slices == set(plan[name])
    tr = ds.split("train")
    assert _dice(tr.soft >= 0.5, tr.binary > 0.5) > 0.85
    assert 0.05 < float(((tr.soft > 0.02) & (tr.soft < 0.98)).mean()) < 0.6  # a real soft band
    # cached per slice; the warm call reuses it, keys differ per fold and per size/tile
    cache = list(tmp_cache.glob("datasets/isbi2012-*/slice_*.npz"))
    assert len(cache) == 30
    ds1 = isbi.isbi_dataset(1, size=128, tile=64, progress=False, root=isbi_dir)
    ds2 = isbi.isbi_dataset(0, size=128, tile=32, progress=False, root=isbi_dir)
    assert ds1.manifest["soft_seconds"] < 0.5
    assert len({ds.manifest["key"], ds1.manifest["key"], ds2.manifest["key"]}) == 3
    same = sorted(set(ds1.split("test").ids) & set(tr.ids))  # a slice tested in fold 1, trained on in fold 0
    assert same
    i1, i0 = ds1.split("test").ids.index(same[0]), tr.ids.index(same[0])
    np.testing.assert_array_equal(ds1.split("test").soft[i1], tr.soft[i0])
    assert ds2.counts["test"] == 16 * len(plan["test"])


def test_bad_tile_and_fold(isbi_dir):
    with pytest.raises(ValueError):
        isbi.isbi_dataset(0, size=128, tile=48, root=isbi_dir)
    with pytest.raises(ValueError):
        isbi.isbi_dataset(4, size=128, tile=64, root=isbi_dir)
