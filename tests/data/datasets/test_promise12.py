"""PROMISE12 reader and fold datasets on tiny MetaImage cases written here (real format, fake content)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from softnodule.data.datasets import promise12 as p12

SPACING = (0.625, 0.625, 3.6)  # x, y, z in mm, as PROMISE12's typical T2 volumes


def _volume(seed: int, shape=(6, 48, 48)) -> tuple[np.ndarray, np.ndarray]:
    """An MR-like int16 volume with a bright ellipsoid 'prostate' and its uint8 mask (zyx)."""
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[0 : shape[0], 0 : shape[1], 0 : shape[2]]
    cz, cy, cx = (shape[0] - 1) / 2, shape[1] / 2 + rng.uniform(-3, 3), shape[2] / 2 + rng.uniform(-3, 3)
    r = rng.uniform(11, 14)
    inside = ((z - cz) / 2.6) ** 2 + ((y - cy) / r) ** 2 + ((x - cx) / (r * 1.2)) ** 2 <= 1.0
    inside[0] = False  # one slice without prostate
    vol = 300 + 500 * inside + rng.normal(0, 25, shape)
    return np.round(vol).astype(np.int16), inside.astype(np.uint8)


def write_mhd_by_hand(path: Path, arr: np.ndarray, spacing=SPACING) -> None:
    """A MetaImage header + raw little-endian bytes, written without any imaging library."""
    etype = {np.dtype(np.int16): "MET_SHORT", np.dtype(np.uint8): "MET_UCHAR"}[arr.dtype]
    raw = path.with_suffix(".raw")
    path.write_text(
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        "CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\n"
        "CenterOfRotation = 0 0 0\nAnatomicalOrientation = RAI\n"
        f"ElementSpacing = {spacing[0]} {spacing[1]} {spacing[2]}\n"
        f"DimSize = {arr.shape[2]} {arr.shape[1]} {arr.shape[0]}\n"
        f"ElementType = {etype}\nElementDataFile = {raw.name}\n")
    arr.astype(arr.dtype.newbyteorder("<")).tofile(raw)


def write_mhd_sitk(path: Path, arr: np.ndarray, spacing=SPACING) -> None:
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing)
    sitk.WriteImage(img, str(path), useCompression=False)


@pytest.fixture()
def promise_dir(tmp_path, monkeypatch, tmp_cache) -> Path:
    root = tmp_path / "promise12"
    root.mkdir()
    for i in range(3):
        vol, seg = _volume(i)
        writer = write_mhd_sitk if i == 2 else write_mhd_by_hand
        writer(root / f"Case{i:02d}.mhd", vol)
        writer(root / f"Case{i:02d}_segmentation.mhd", seg)
    monkeypatch.setenv("SOFTNODULE_PROMISE12_DIR", str(root))
    return root


def test_metaimage_round_trip(promise_dir):
    for i in range(3):
        vol, seg = _volume(i)
        got, spacing = p12.read_metaimage(promise_dir / f"Case{i:02d}.mhd")
        assert got.dtype == np.int16 and got.shape == (6, 48, 48)
        np.testing.assert_array_equal(got, vol)
        assert spacing == pytest.approx(SPACING)
        got_seg, _ = p12.read_metaimage(promise_dir / f"Case{i:02d}_segmentation.mhd")
        np.testing.assert_array_equal(got_seg, seg)
    with pytest.raises(FileNotFoundError):
        p12.read_metaimage(promise_dir / "Case99.mhd")


def test_layout_and_root(promise_dir, tmp_path, monkeypatch):
    assert p12.list_cases(promise_dir) == ["Case00", "Case01", "Case02"]
    assert p12.layout_problems(promise_dir) == [] and p12.promise12_root() == promise_dir
    (promise_dir / "Case01_segmentation.raw").unlink()
    assert any("missing" in p for p in p12.layout_problems(promise_dir))
    (promise_dir / "Case00_segmentation.mhd").unlink()
    assert any("Case00.mhd has no" in p for p in p12.layout_problems(promise_dir))
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("SOFTNODULE_PROMISE12_DIR", str(empty))
    assert p12.promise12_root() is None
    with pytest.raises(p12.Promise12Missing, match="promise12.grand-challenge.org"):
        p12.promise12_dataset(0, folds=3, val_cases=1)


def test_case_level_folds():
    cases = [f"Case{i:02d}" for i in range(50)]
    plan = p12.promise12_folds(cases, folds=4, val_cases=5, seed=0)
    assert sorted(c for f in plan for c in f["test"]) == cases
    for f in plan:
        assert len(f["val"]) == 5 and not set(f["train"]) & set(f["val"])
        assert not (set(f["train"]) | set(f["val"])) & set(f["test"])
    with pytest.raises(ValueError):
        p12.promise12_folds(cases[:2], folds=4)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


def test_dataset(promise_dir):
    ds = p12.promise12_dataset(0, size=32, folds=3, val_cases=1, progress=False)
    cases = ds.manifest["cases"]
    assert sorted(c for members in cases.values() for c in members) == ["Case00", "Case01", "Case02"]
    owners = {}
    for name in ("train", "val", "test"):
        a = ds.split(name)
        assert a.image.shape == a.soft.shape == a.binary.shape == (len(a), 1, 32, 32)
        assert len(a) == 5  # the slice without prostate is left out
        assert -1.0 <= a.image.min() and a.image.max() <= 1.0
        assert 0.0 <= a.soft.min() and a.soft.max() <= 1.0
        for i in a.ids:
            owners.setdefault(i.split("/")[1], set()).add(name)
        assert {i.split("/")[1] for i in a.ids} == set(cases[name])
        assert _dice(a.soft >= 0.5, a.binary > 0.5) > 0.8
    assert all(len(s) == 1 for s in owners.values())  # never one case in two splits
    assert ds.manifest["slices_without_prostate_excluded"] == 3
    assert ds.manifest["spacing_xyz"]["Case00"] == pytest.approx(SPACING)
    other = p12.promise12_dataset(1, size=32, folds=3, val_cases=1, progress=False)  # from the cache
    assert other.manifest["key"] != ds.manifest["key"]
    assert sorted(other.manifest["cases"]["test"]) != sorted(cases["test"])
