"""The dataset builder on every image source: real LIDC crops, DeepLesion, and the refusals.

Real data: the public LIDC crops (``SOFTNODULE_LIDC_CROPS``, set by the conftest) and the real 16-bit
DeepLesion slices of ``deeplesion-samples`` with DL_info rows that the TEST WRITES (the sample has
no lung row; the rows point at the real chest slice 109, reusing the DeepLesion source's test rows).
"""

from __future__ import annotations

import numpy as np
import pytest

from softnodule.config import PROFILES
from softnodule.data.datasets import builder
from softnodule.data.recist import measure_recist
from softnodule.data.sources import SourceUnavailableError, source_status
from softnodule.data.sources.nodule_sources import open_nodule_source


@pytest.fixture
def private_datasets(tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "cache_dir", lambda: tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def crops_source(nodule_index):
    if not source_status("lidc-crops").usable:
        pytest.skip("no copy of the LIDC max-slice crops (set SOFTNODULE_LIDC_CROPS)")
    return open_nodule_source("lidc-crops", nodule_index, progress=False)


def test_source_is_part_of_the_key_and_folder():
    a, b = builder.lidc_spec("smoke"), builder.lidc_spec("smoke", source="lidc-crops")
    assert a.key() != b.key() and "lidc-crops" in str(builder.dataset_dir(b))
    with pytest.raises(ValueError, match="unknown image source"):
        builder.lidc_spec("smoke", source="pixels")


def test_lidc_style_on_real_crops(private_datasets, nodule_index, crops_source):
    spec = builder.lidc_spec("smoke", split=(4, 2, 4), source="lidc-crops")
    ds = builder.build_dataset(spec, index=nodule_index, workers=1, progress=False)
    assert ds.manifest["source"] == "lidc-crops" and ds.manifest["spec"]["source"] == "lidc-crops"
    assert "true_alpha" not in ds.arrays  # nobody knows the true alpha of real CT
    np.testing.assert_array_equal(ds["binary"], ds["consensus"])
    assert (ds["n_readers"] >= 2).all() and ds["image"].min() < -700  # real lung HU around the nodules
    for i, nid in enumerate(ds.ids):
        np.testing.assert_array_equal(ds["image"][i], crops_source.data.hu_window(nid))
    assert ds.manifest["source_info"]["usable"] >= 2400
    assert isinstance(ds.manifest["skipped_by_reason"], dict)


def test_lnsm_style_recist_comes_from_the_crops_own_reader(private_datasets, nodule_index, crops_source):
    spec = builder.lnsm_spec("smoke", split=(3, 1, 2), source="lidc-crops")
    ds = builder.build_dataset(spec, index=nodule_index, workers=1, progress=False)
    np.testing.assert_array_equal(ds["binary"], (ds["soft"] >= 0.5).astype(np.uint8))
    for i, nid in enumerate(ds.ids):
        case = crops_source.case(nodule_index[nid])
        one = measure_recist(case.readers[case.meta["crop_reader"]], case.spacing_mm)
        np.testing.assert_allclose(ds["recist"][i], one.as_deeplesion(), atol=1e-4)


def test_paper_splits_on_real_crops_are_patient_disjoint(nodule_index, crops_source):
    paper = PROFILES["paper"]  # the object, not the name: SOFTNODULE_PROFILE=smoke would win over a name
    lidc = builder.select_split(builder.lidc_spec(paper, source="lidc-crops"), nodule_index, crops_source)
    lnsm = builder.select_split(builder.lnsm_spec(paper, source="lidc-crops"), nodule_index, crops_source)
    assert lidc.counts == {"train": 387, "val": 55, "test": 544}
    assert sum(lnsm.counts.values()) >= 1400  # what the pool holds is reported; the paper asks 1500
    lidc.check_disjoint(), lnsm.check_disjoint()
    every = lambda s: {p for ps in s.patients.values() for p in ps}  # noqa: E731
    assert not every(lidc) & every(lnsm)  # the two sets come from disjoint patient pools
    assert all(crops_source.data.has(n) for ids in lidc.nodules.values() for n in ids)


def test_unusable_source_is_refused_not_replaced(private_datasets, nodule_index, monkeypatch, tmp_path):
    monkeypatch.delenv("SOFTNODULE_LIDC_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.pylidcrc either
    with pytest.raises(SourceUnavailableError, match="lidc-dicom.*SOFTNODULE_LIDC_DIR"):
        builder.build_dataset(builder.lidc_spec("smoke", source="lidc-dicom"), index=nodule_index, workers=1,
                              progress=False)


def _dl_row(header, file_name, coords, *, lesion_type="5", split="1"):
    p, s, se, k = file_name[:-4].split("_")
    values = {"File_name": file_name, "Patient_index": str(int(p)), "Study_index": str(int(s)),
              "Series_ID": str(int(se)), "Key_slice_index": str(int(k)), "Measurement_coordinates": coords,
              "Bounding_boxes": "0, 0, 1, 1", "Lesion_diameters_Pixel_": "16, 12",
              "Normalized_lesion_location": "0.5, 0.5, 0.5", "Coarse_lesion_type": lesion_type,
              "Possibly_noisy": "0", "Slice_range": "103, 115", "Spacing_mm_px_": "0.703125, 0.703125, 5",
              "Image_size": "512, 512", "DICOM_windows": "-1500, 500", "Patient_gender": "M", "Patient_age": "50",
              "Train_Val_Test": split}
    return [values[h] for h in header]


def test_deeplesion_lnsm_set_from_written_rows(private_datasets, monkeypatch, tmp_path, deeplesion_samples):
    """DeepLesion's own patient-level split; non-lung rows and uncroppable lesions are counted by reason."""
    import csv

    root = tmp_path / "DeepLesion"
    (root / "Images_png").mkdir(parents=True)
    (root / "Images_png" / "000001_01_01").symlink_to(deeplesion_samples / "Images_png" / "000001_01_01")
    with open(deeplesion_samples / "DL_info_subset.csv", newline="") as fh:
        header = next(csv.reader(fh))
    key = "000001_01_01_109.png"
    rows = [_dl_row(header, key, "337, 235, 353, 235, 345, 229, 345, 241"),  # a lung lesion (left lung)
            _dl_row(header, key, "104, 146, 116, 154, 106, 156, 114, 144"),  # another on the same slice
            _dl_row(header, key, "337, 235, 353, 235, 345, 229, 345, 241", lesion_type="4"),  # liver: not lung
            _dl_row(header, key, "250, 20, 262, 20, 256, 15, 256, 25")]  # too close to the border to crop
    with open(root / "DL_info.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    monkeypatch.setenv("SOFTNODULE_DEEPLESION_DIR", str(root))
    with pytest.raises(ValueError, match=r"only strategy \(3\)"):
        builder.build_dataset(builder.lidc_spec("smoke", source="deeplesion"), workers=1, progress=False)
    ds = builder.build_dataset(builder.lnsm_spec("smoke", split=(8, 4, 4), source="deeplesion"), workers=1,
                               progress=False)
    assert ds.manifest["source"] == "deeplesion" and "true_alpha" not in ds.arrays
    assert ds.counts == {"train": 2, "val": 0, "test": 0} and set(ds["patient_id"]) == {"DL-000001"}
    assert sum(ds.manifest["source_info"]["dl_info_skipped"].values()) == 1  # the liver row
    assert sum(ds.manifest["skipped_by_reason"].values()) == 1  # the border lesion
    assert ds["image"].min() < -800  # real HU: lung and air around the lesions


def test_sr_images_of_a_real_set_are_its_own_training_crops(private_datasets, nodule_index, crops_source,
                                                            monkeypatch):
    """No leak: the SR teacher sees real crops of training patients only (validation crops are held out)."""
    from softnodule.data.datasets.sr_pairs import sr_training_sets

    monkeypatch.delenv("SOFTNODULE_LIDC_DIR", raising=False)  # crops only
    ds = builder.build_dataset(builder.lnsm_spec("smoke", split=(4, 2, 2), source="lidc-crops"),
                               index=nodule_index, workers=1, progress=False)
    train, held = sr_training_sets([ds], nodule_index, n_phantom=3, size=32)
    train_ids, val_ids = set(ds.subset("train")["nodule_id"]), set(ds.subset("val")["nodule_id"])
    assert len(train) == 3 and train.hr.shape[1:] == (1, 32, 32)
    assert all(s.startswith("lidc-crops:") and s.split(":", 1)[1] in train_ids for s in train.sources)
    assert held.sources and all(s.split(":", 1)[1] in val_ids for s in held.sources)
