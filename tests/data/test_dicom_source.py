"""Real-pixel source: DICOM written by the test (pydicom), plus the shared real slabs when present."""

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from softnodule.data import dicom_source as ds

SERIES = "1.2.826.0.1.3680043.8.498.1"


def _write_slice(path: Path, z: float, pixels: np.ndarray, series_uid: str = SERIES) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    f = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    f.SeriesInstanceUID = series_uid
    f.ImagePositionPatient = [0, 0, z]
    f.Rows, f.Columns = pixels.shape
    f.BitsAllocated, f.BitsStored, f.HighBit = 16, 16, 15
    f.PixelRepresentation, f.SamplesPerPixel = 1, 1
    f.PhotometricInterpretation = "MONOCHROME2"
    f.RescaleSlope, f.RescaleIntercept = 1, -1024
    f.PixelData = pixels.astype(np.int16).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    f.save_as(path, enforce_file_format=True)


@pytest.fixture
def tiny_root(tmp_path):
    series = tmp_path / "LIDC-IDRI-0042" / "study-x" / "series-named-by-tcia"
    for i, z in enumerate((-10.0, -7.5, -5.0)):
        _write_slice(series / f"{i:03d}.dcm", z, np.full((32, 32), 1000 + i, np.int16))
    ds.find_series_dir.cache_clear()
    ds._slice_positions.cache_clear()
    return tmp_path, series


def test_series_found_by_uid_tag_and_slice_by_z(tiny_root):
    root, series = tiny_root
    assert ds.find_series_dir(root, "LIDC-IDRI-0042", SERIES) == series
    hu, z = ds.read_slice_hu(series, -7.5)
    assert z == -7.5 and hu.dtype == np.float32 and np.all(hu == 1001 - 1024)


def test_missing_root_and_patient_are_actionable(tmp_path):
    with pytest.raises(ds.DicomNotFoundError, match="SOFTNODULE_LIDC_DIR"):
        ds.find_series_dir(tmp_path / "nope", "LIDC-IDRI-0001", SERIES)
    with pytest.raises(ds.DicomNotFoundError, match=r"expected patient folder .*LIDC-IDRI-0001"):
        ds.find_series_dir(tmp_path, "LIDC-IDRI-0001", SERIES)


def test_wrong_series_and_missing_slice(tiny_root):
    root, series = tiny_root
    with pytest.raises(ds.DicomNotFoundError, match="no DICOM series 9.9"):
        ds.find_series_dir(root, "LIDC-IDRI-0042", "9.9")
    with pytest.raises(ValueError, match=r"z=-30.00 mm is not in .* partial series"):
        ds.read_slice_hu(series, -30.0)


def test_corrupt_file_names_the_file(tmp_path):
    series = tmp_path / "LIDC-IDRI-0007" / "s" / "t"
    series.mkdir(parents=True)
    (series / "broken.dcm").write_bytes(b"not a dicom file at all")
    ds._slice_positions.cache_clear()
    with pytest.raises(ValueError, match="broken.dcm"):
        ds.read_slice_hu(series, 0.0)


def test_real_slab_builds_the_four_reader_case(lidc_slabs, nodule_index, monkeypatch):
    monkeypatch.delenv("SOFTNODULE_LIDC_DIR", raising=False)
    rec = max(nodule_index.for_patient("LIDC-IDRI-0001"), key=lambda r: r.n_readers)
    assert ds.has_key_slice(rec)
    case = ds.dicom_case(rec, size=64)
    assert case.source == "dicom" and case.true_alpha is None
    assert case.image.shape == (64, 64) and case.readers.shape == (4, 64, 64)
    inside = case.image[case.consensus].mean()
    outside = case.image[~case.consensus].mean()
    assert inside > -300 and inside > outside + 200  # a solid nodule in aerated lung, real HU
    assert 20 < case.recist.long_mm < 45  # the ~32 mm nodule


def test_partial_slab_missing_key_slice_is_reported(lidc_slabs, nodule_index):
    rec = nodule_index.for_patient("LIDC-IDRI-0002")[0]
    if ds.has_key_slice(rec):
        pytest.skip("this nodule's key slice happens to be inside the slab")
    with pytest.raises(ValueError, match="partial series"):
        ds.dicom_case(rec)
