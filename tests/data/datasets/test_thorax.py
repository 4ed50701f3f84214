"""Thorax phantom: determinism, anatomy in the right HU ranges, the lung-mask convention, variety."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from softnodule.data.datasets.thorax import FOV_MM, thorax_parameters, thorax_slice


def test_deterministic_by_seed_and_different_across_seeds():
    a_img, a_mask = thorax_slice(3, 96)
    b_img, b_mask = thorax_slice(3, 96)
    c_img, _ = thorax_slice(4, 96)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_mask, b_mask)
    assert not np.array_equal(a_img, c_img)
    assert a_img.dtype == np.float32 and a_img.shape == (96, 96)
    assert a_mask.dtype == bool and a_mask.shape == (96, 96)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_anatomy_hu_and_two_lungs(seed):
    img, mask, info = thorax_slice(seed, 224, return_info=True)
    assert info["pixel_mm"] == pytest.approx(FOV_MM / 224)
    corner = img[:20, :20]
    assert abs(float(corner.mean()) + 1000.0) < 15.0  # air outside the body
    eroded = ndi.binary_erosion(mask, iterations=2)
    lung_hu = float(np.median(img[eroded]))
    assert -900.0 < lung_hu < -750.0  # parenchyma (vessels and nodules pull the mean up a little)
    body_tissue = img[(img > -300) & ~mask]
    assert 0.0 < float(np.median(body_tissue)) < 100.0  # soft tissue
    assert img.max() > 300.0  # bone
    _, n = ndi.label(mask)
    assert n == 2  # the mediastinum separates the lungs
    assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def test_mask_includes_nodules_and_excludes_the_trachea():
    found_nodule = found_trachea = False
    for seed in range(30):
        img, mask, info = thorax_slice(seed, 128, return_info=True)
        for nod in info["nodules"]:
            assert mask[int(round(nod["row"])), int(round(nod["col"]))], f"seed {seed}: nodule centre not in the mask"
            found_nodule = True
        if info["trachea_rc"] is not None:
            r, c = (int(round(x)) for x in info["trachea_rc"])
            assert not mask[r, c] and img[r, c] < -700.0  # air, but not lung
            found_trachea = True
    assert found_nodule and found_trachea


def test_juxtapleural_nodules_exist_and_touch_the_pleura():
    depths = []
    for seed in range(40):
        _, mask, info = thorax_slice(seed, 128, return_info=True)
        dist = ndi.distance_transform_edt(mask)
        depths += [dist[int(round(n["row"])), int(round(n["col"]))] / n["radius_px"]
                   for n in info["nodules"] if n["juxtapleural"]]
    assert len(depths) >= 4
    assert np.median(depths) < 1.0  # the centre lies closer to the pleura than one radius


def test_shape_variety_by_level():
    areas: dict[str, list[float]] = {"mid": [], "apex": [], "diaphragm": []}
    for seed in range(40):
        level = thorax_parameters(seed)["level"]
        areas[level].append(float(thorax_slice(seed, 64)[1].mean()))
    assert all(len(v) >= 3 for v in areas.values()), {k: len(v) for k, v in areas.items()}
    assert np.mean(areas["apex"]) < 0.6 * np.mean(areas["mid"])
    assert np.mean(areas["diaphragm"]) < 0.8 * np.mean(areas["mid"])
    assert np.std(areas["mid"]) > 0.005  # sizes vary within a level too


def test_bad_size():
    with pytest.raises(ValueError, match="size"):
        thorax_slice(0, 16)


def test_phantom_dataset_splits_and_cache(tmp_cache):
    from softnodule.data.datasets.lung_slices import lgan_sizes, phantom_lung_slices

    ds = phantom_lung_slices(3, 2, 2, size=48, progress=False)
    assert ds.counts == {"train": 3, "val": 2, "test": 2}
    ids = [i for s in ("train", "val", "test") for i in ds.split(s).ids]
    assert len(set(ids)) == 7  # disjoint seed ranges
    tr = ds.split("train")
    assert tr.image.shape == (3, 1, 48, 48) and tr.image.dtype == np.float32
    assert tr.image.min() >= -1.0 and tr.image.max() <= 1.0
    assert set(np.unique(tr.binary)) <= {0.0, 1.0} and np.array_equal(tr.soft, tr.binary)
    img, mask = thorax_slice(int(tr.ids[1].split(":")[1]), 48)
    assert np.array_equal(tr.binary[1, 0], mask.astype(np.float32))
    again = phantom_lung_slices(3, 2, 2, size=48, progress=False)
    assert again.manifest["key"] == ds.manifest["key"] and np.array_equal(again.split("test").image,
                                                                          ds.split("test").image)
    assert phantom_lung_slices(3, 2, 2, size=48, seed=1, progress=False).manifest["key"] != ds.manifest["key"]
    assert lgan_sizes("quick") == {"train": 160, "val": 20, "test": 40, "size": 224}
    with pytest.raises(ValueError, match="profile"):
        lgan_sizes("huge")
    with pytest.raises(ValueError, match="slices"):
        phantom_lung_slices(0, 1, 1, size=48, progress=False)
