"""SR pairs: ranges, down-sampling, phantom and real sources, held-out separation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from softnodule.data.datasets.sr_pairs import (SRImageSet, bicubic_upsample, downsample, phantom_hr_images, real_ct_patches,
                                     to_model_range)


def test_model_range_is_the_lung_window():
    out = to_model_range(np.array([[-2000.0, -1350.0, -600.0, 150.0, 3000.0]]))
    np.testing.assert_allclose(out, [[-1.0, -1.0, 0.0, 1.0, 1.0]], atol=1e-6)
    assert out.dtype == np.float32


def test_downsample_is_the_area_mean_and_bicubic_restores_shape():
    hr = torch.arange(16.0).reshape(1, 1, 4, 4) / 16
    lr = downsample(hr, 2)
    assert lr.shape == (1, 1, 2, 2)
    assert float(lr[0, 0, 0, 0]) == pytest.approx((0 + 1 + 4 + 5) / 64)
    up = bicubic_upsample(lr, 2)
    assert up.shape == hr.shape and float(up.abs().max()) <= 1.0
    flat = torch.full((1, 1, 8, 8), 0.3)
    assert torch.allclose(bicubic_upsample(downsample(flat, 4), 4), flat, atol=1e-6)
    with pytest.raises(ValueError, match="multiple"):
        downsample(torch.zeros(1, 1, 6, 6), 4)


def test_concat_and_counts():
    a = SRImageSet(np.zeros((2, 1, 8, 8), np.float32), ["phantom:a", "phantom:b"])
    b = SRImageSet(np.ones((1, 1, 8, 8), np.float32), ["lidc-dicom:p:z1"])
    joined = SRImageSet.concat([a, b], 8)
    assert len(joined) == 3 and joined.counts() == {"lidc-dicom": 1, "phantom": 2}
    assert len(SRImageSet.concat([], 8)) == 0


def test_phantom_images_are_deterministic_and_in_range(nodule_index):
    records = [r for r in nodule_index.records if r.n_readers == 4][:3]
    a = phantom_hr_images(records, 5, 32, seed=3)
    b = phantom_hr_images(records, 5, 32, seed=3)
    assert a.hr.shape == (5, 1, 32, 32) and np.array_equal(a.hr, b.hr)
    assert a.hr.min() >= -1 and a.hr.max() <= 1 and a.counts() == {"phantom": 5}
    assert "#1" in a.sources[3]  # records are cycled with a new seed
    with pytest.raises(ValueError, match="no records"):
        phantom_hr_images([], 2, 32)


def test_real_patches_hold_out_by_patient(lidc_slabs):
    real = real_ct_patches(64, per_slice=2, seed=0, patients={"LIDC-IDRI-0001", "LIDC-IDRI-0002"})
    assert set(real) == {"LIDC-IDRI-0001", "LIDC-IDRI-0002"}
    for patient, images in real.items():
        assert images.hr.shape[1:] == (1, 64, 64) and all(patient in s for s in images.sources)
        assert np.mean(images.hr > -1.0) > 0.3  # not empty air


def test_real_patches_refuse_without_a_patient_set(lidc_slabs):
    with pytest.raises(ValueError, match="training-split patients"):
        real_ct_patches(32, per_slice=1)
    anyone = real_ct_patches(32, per_slice=1, allow_any_patient=True, max_patches=3)
    assert sum(len(v) for v in anyone.values()) == 3  # the cap holds


def test_real_patches_only_from_allowed_patients(lidc_slabs):
    real = real_ct_patches(32, per_slice=1, patients={"LIDC-IDRI-0002", "LIDC-IDRI-9999"})
    assert list(real) == ["LIDC-IDRI-0002"]
    assert all(s.startswith("lidc-dicom:LIDC-IDRI-0002:") for s in real["LIDC-IDRI-0002"].sources)
    assert real_ct_patches(32, per_slice=1, patients=set()) == {}
    capped = real_ct_patches(32, per_slice=2, patients={"LIDC-IDRI-0001"}, max_patches=5, max_slices_per_series=2)
    assert len(capped["LIDC-IDRI-0001"]) == 4  # 2 slices x 2 patches, under the patch cap
    assert len({s for s in capped["LIDC-IDRI-0001"].sources}) == 2  # two distinct slices


def test_training_sets_use_only_training_patients_real_ct(lidc_slabs, nodule_index):
    """sr_training_sets passes the TRAINING patients: a validation patient's scan is never cut into patches."""
    from softnodule.data.datasets.sr_pairs import sr_training_sets

    class _Split:
        def __init__(self, ids):
            self.ids = {"train": ids[0], "val": ids[1]}

        def subset(self, split):
            return {"nodule_id": np.array(self.ids[split])}

    train_ids = [r.nodule_id for r in nodule_index.for_patient("LIDC-IDRI-0001")][:1]
    val_ids = [r.nodule_id for r in nodule_index.for_patient("LIDC-IDRI-0002")][:1]
    train, held = sr_training_sets([_Split((train_ids, val_ids))], nodule_index, n_phantom=2, size=32)
    real = [s for s in train.sources if s.startswith("lidc-dicom:")]
    assert real and all(s.startswith("lidc-dicom:LIDC-IDRI-0001:") for s in real)
    assert not any("LIDC-IDRI-0002" in s and s.startswith("lidc-dicom:") for s in train.sources + held.sources)
