"""The ``lidc-dicom`` source: DICOM written by the test (pydicom), plus the team's real slabs when present."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from softnodule.data.sources import lidc_dicom as ds

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


def test_status_unusable_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("SOFTNODULE_LIDC_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.pylidcrc
    status = ds.dicom_status()
    assert status.name == "lidc-dicom" and not status.usable and status.location is None
    assert "SOFTNODULE_LIDC_DIR" in status.detail
    monkeypatch.setenv("SOFTNODULE_LIDC_DIR", str(tmp_path / "missing"))
    status = ds.dicom_status()
    assert not status.usable and "does not exist" in status.detail and "SOFTNODULE_LIDC_DIR" in status.detail
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("SOFTNODULE_LIDC_DIR", str(tmp_path / "empty"))
    status = ds.dicom_status()
    assert not status.usable and "no LIDC-IDRI-* patient folder" in status.detail


def test_status_usable_counts_patient_folders(tiny_root, monkeypatch):
    root, _ = tiny_root
    (root / "LIDC-IDRI-0043").mkdir()
    (root / "not-a-patient").mkdir()
    monkeypatch.setenv("SOFTNODULE_LIDC_DIR", str(root))
    status = ds.dicom_status()
    assert status.usable and status.location == str(root)
    assert status.detail.startswith("2 patient folder(s)")
    assert ds.dicom_roots() == [root]


def test_ct_series_listing_skips_radiographs_and_filters_patients(tiny_root):
    root, series = tiny_root
    xray = root / "LIDC-IDRI-0042" / "study-y" / "cr"
    _write_slice(xray / "0.dcm", 0.0, np.zeros((8, 8), np.int16), series_uid="1.2.3")
    import pydicom

    f = pydicom.dcmread(xray / "0.dcm")
    f.Modality = "CR"
    f.save_as(xray / "0.dcm")
    other = root / "LIDC-IDRI-0050" / "s" / "t"
    _write_slice(other / "0.dcm", 0.0, np.zeros((8, 8), np.int16), series_uid="1.2.4")
    assert ds.ct_series_dirs(root) == [("LIDC-IDRI-0042", series), ("LIDC-IDRI-0050", other)]
    assert ds.ct_series_dirs(root, patients={"LIDC-IDRI-0050", "LIDC-IDRI-9999"}) == [("LIDC-IDRI-0050", other)]
    assert ds.ct_series_dirs(root, max_series=1) == [("LIDC-IDRI-0042", series)]
    assert ds.evenly_spaced(5, None) == [0, 1, 2, 3, 4] and ds.evenly_spaced(9, 3) == [0, 4, 8]


def _hand_read(slabs: Path, patient: str, z: float) -> np.ndarray:
    """The slice at ``z`` read with pydicom alone: HU = stored * slope + intercept."""
    import pydicom

    for f in sorted((slabs / patient).rglob("*.dcm")):
        d = pydicom.dcmread(f)
        if abs(float(d.ImagePositionPatient[2]) - z) <= 0.2:
            return d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept)
    raise AssertionError(f"no slice at z={z} under {slabs / patient}")


def test_origin_rc_reads_exactly_that_window(lidc_slabs, nodule_index):
    rec = max(nodule_index.for_patient("LIDC-IDRI-0001"), key=lambda r: r.n_readers)
    default = ds.dicom_case(rec, size=64)
    r0, c0 = default.meta["origin_rc"]
    origin = (r0 + 5, c0 - 3)  # the same nodule, another window
    case = ds.dicom_case(rec, size=64, origin_rc=origin)
    hand = _hand_read(lidc_slabs, rec.patient_id, rec.key_z)
    np.testing.assert_array_equal(case.image, hand[origin[0] : origin[0] + 64, origin[1] : origin[1] + 64])
    assert case.meta["origin_rc"] == origin and case.meta["origin_given"]
    np.testing.assert_array_equal(case.image[:-5, 3:], default.image[5:, :-3])  # shifted, not re-centred
    np.testing.assert_array_equal(case.consensus[:-5, 3:], default.consensus[5:, :-3])
    assert case.case_id == f"{rec.nodule_id}@lidc-dicom" and case.source == "lidc-dicom"


def test_origin_rc_on_another_slice(lidc_slabs, nodule_index):
    """A record whose key_z / key_polygons describe another slice gives the case on that slice."""
    rec = max(nodule_index.for_patient("LIDC-IDRI-0001"), key=lambda r: r.n_readers)
    zs = sorted(z for z, _ in ds._slice_positions(ds.locate_series(rec)))
    other_z = min((z for z in zs if abs(z - rec.key_z) > 1.0), key=lambda z: abs(z - rec.key_z))
    moved = replace(rec, key_z=other_z)  # same contours, another slice: pixels must follow key_z
    origin = ds.dicom_case(rec, size=32).meta["origin_rc"]
    case = ds.dicom_case(moved, size=32, origin_rc=origin)
    hand = _hand_read(lidc_slabs, rec.patient_id, other_z)
    np.testing.assert_array_equal(case.image, hand[origin[0] : origin[0] + 32, origin[1] : origin[1] + 32])
    assert case.meta["z_mm"] == pytest.approx(other_z)


def test_origin_outside_the_slice_is_an_error_naming_the_nodule(lidc_slabs, nodule_index):
    rec = max(nodule_index.for_patient("LIDC-IDRI-0001"), key=lambda r: r.n_readers)
    for origin in ((-1, 100), (100, 512 - 63), (500, 0)):
        with pytest.raises(ValueError, match=rf"{rec.nodule_id}: origin_rc .* partly outside the 512x512 slice"):
            ds.dicom_case(rec, size=64, origin_rc=origin)
    with pytest.raises(ValueError, match="whole pixels"):
        ds.dicom_case(rec, size=64, origin_rc=(100.5, 100))


def test_missing_scan_names_the_nodule_and_what_to_set(nodule_index, tmp_path, monkeypatch):
    rec = nodule_index.for_patient("LIDC-IDRI-0001")[0]
    monkeypatch.setenv("SOFTNODULE_LIDC_DIR", str(tmp_path))
    with pytest.raises(ds.DicomNotFoundError, match=rf"{rec.nodule_id}: scan .* not found under DICOM root: {tmp_path}"):
        ds.dicom_case(rec)
    monkeypatch.delenv("SOFTNODULE_LIDC_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ds.DicomNotFoundError, match="SOFTNODULE_LIDC_DIR"):
        ds.dicom_case(rec)


def test_real_slab_builds_the_four_reader_case(lidc_slabs, nodule_index):
    rec = max(nodule_index.for_patient("LIDC-IDRI-0001"), key=lambda r: r.n_readers)
    assert ds.has_key_slice(rec)
    case = ds.dicom_case(rec, size=64)
    assert case.source == "lidc-dicom" and case.true_alpha is None
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
