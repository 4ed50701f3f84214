"""DeepLesion source on REAL 16-bit DeepLesion slices, with DL_info rows that the TEST WRITES.

The real sample ``deeplesion-samples/Images_png/000001_01_01/{103..115}.png`` has no DL_info row
(its lesion is not a lung lesion), so the test writes its own ``DL_info.csv`` with DeepLesion's exact
18-column header: lung rows pointing at slice 109 (a chest slice: lungs, trachea, aorta) with
plausible RECIST endpoints, plus broken and non-lung rows, next to a symlink (or copy) of the real
series folder. The real ``DL_info_subset.csv`` (158 real rows, no images) is parsed as is.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from softnodule.data.sources import deeplesion as dl
from softnodule.data.sources import source_status

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
SAMPLES = SHARED / "deeplesion-samples"
SERIES = "000001_01_01"
SPACING = 0.703125
LUNG_LEFT = "337, 235, 353, 235, 345, 229, 345, 241"  # long 16 px (x), short 12 px (y), centre (235, 345)
LUNG_RIGHT = "104, 146, 116, 154, 106, 156, 114, 144"  # a second lesion on the same slice


def _require_samples() -> Path:
    if not (SAMPLES / "Images_png" / SERIES / "109.png").is_file() or not (SAMPLES / "DL_info_subset.csv").is_file():
        pytest.skip(f"real DeepLesion samples not present at {SAMPLES} (shared/data/deeplesion-samples)")
    return SAMPLES


def _header() -> list[str]:
    with open(_require_samples() / "DL_info_subset.csv", newline="") as fh:
        return next(csv.reader(fh))


def _row(file_name: str, coords: str, *, lesion_type: str = "5", spacing: str = f"{SPACING}, {SPACING}, 5",
         split: str = "1") -> dict[str, str]:
    p, s, se, k = file_name[:-4].split("_")
    return {
        "File_name": file_name, "Patient_index": str(int(p)), "Study_index": str(int(s)), "Series_ID": str(int(se)),
        "Key_slice_index": str(int(k)), "Measurement_coordinates": coords, "Bounding_boxes": "0, 0, 1, 1",
        "Lesion_diameters_Pixel_": "16, 12", "Normalized_lesion_location": "0.5, 0.5, 0.5",
        "Coarse_lesion_type": lesion_type, "Possibly_noisy": "0", "Slice_range": "103, 115",
        "Spacing_mm_px_": spacing, "Image_size": "512, 512", "DICOM_windows": "-1500, 500",
        "Patient_gender": "M", "Patient_age": "50", "Train_Val_Test": split,
    }


def _write_info(path: Path, rows: list[dict[str, str]]) -> Path:
    header = _header()
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


K = f"{SERIES}_109.png"
ROWS = [
    _row(K, LUNG_LEFT),                                          # kept: DL-000001_01_01_109-l0
    _row(K, LUNG_RIGHT),                                         # kept: ...-l1 (same slice)
    _row(K, LUNG_LEFT, lesion_type="4"),                          # liver: non-lung
    _row(K, LUNG_LEFT, lesion_type="-1"),                         # unlabelled
    _row(K, "337, 235, 353, 235, 345, 229, 345"),                 # 7 numbers
    _row(K, "337, 235, 353, 235, 345, 229, nan, 241"),            # not finite
    _row(K, "345, 235, 345, 235, 345, 229, 345, 241"),            # zero-length long axis
    _row(K, LUNG_LEFT, spacing="abc"),                            # broken spacing
    _row(K, LUNG_LEFT, split="4"),                                # bad split
    _row(K, "250, 20, 262, 20, 256, 15, 256, 25"),                # kept by the parser, too close to the border
    _row(K, "300, 235, 360, 235, 330, 225, 330, 245"),            # kept by the parser, 60 px > 0.85 * 64
    _row("000002_01_01_050.png", LUNG_LEFT, split="3"),           # kept by the parser, PNG missing
    _row("000003_01_01_050.png", LUNG_LEFT, split="2"),           # kept by the parser, 8-bit PNG
]
CSV_SKIPS = {dl.NON_LUNG: 1, dl.UNKNOWN_TYPE: 1, dl.BAD_COORDS: 3, dl.BAD_SPACING: 1, dl.BAD_SPLIT: 1}


@pytest.fixture
def dl_root(tmp_path) -> Path:
    """A DeepLesion folder: written DL_info.csv, the real series folder linked in, one 8-bit PNG."""
    samples = _require_samples()
    root = tmp_path / "DeepLesion"
    images = root / "Images_png"
    images.mkdir(parents=True)
    try:
        (images / SERIES).symlink_to(samples / "Images_png" / SERIES, target_is_directory=True)
    except OSError:
        shutil.copytree(samples / "Images_png" / SERIES, images / SERIES)
    (images / "000003_01_01").mkdir()
    cv2.imwrite(str(images / "000003_01_01" / "050.png"), np.full((512, 512), 128, np.uint8))
    _write_info(root / "DL_info.csv", ROWS)
    return root


def _raw109() -> np.ndarray:
    raw = cv2.imread(str(_require_samples() / "Images_png" / SERIES / "109.png"), cv2.IMREAD_UNCHANGED)
    assert raw is not None and raw.dtype == np.uint16
    return raw


def test_real_slice_reads_as_plausible_ct_hu():
    hu = dl.read_hu_png(_require_samples() / "Images_png" / SERIES / "109.png")
    assert hu.dtype == np.float32 and hu.shape == (512, 512)
    np.testing.assert_array_equal(hu, _raw109().astype(np.float32) - 32768)
    assert -1050 < np.median(hu[228:238, 230:242]) < -900  # trachea lumen: air
    assert 0 < np.median(hu[170:190, 240:270]) < 400  # aorta: blood / soft tissue
    lung = (hu > -950) & (hu < -700)
    assert lung.mean() > 0.1  # aerated lung
    assert hu.min() >= -3024 and hu.max() < 3100  # -3024 = outside the field of view


def test_rows_kept_and_skipped_by_reason(dl_root):
    rows, skipped = dl.read_dl_info(dl_root / "DL_info.csv")
    assert len(rows) + skipped.total == len(ROWS)  # nothing lost
    assert skipped.as_dict() == CSV_SKIPS
    assert [r.lesion_id for r in rows[:2]] == ["DL-000001_01_01_109-l0", "DL-000001_01_01_109-l1"]
    assert len({r.lesion_id for r in rows}) == len(rows)
    r = rows[0]
    assert (r.patient, r.study, r.series, r.key_slice, r.split_name) == (1, 1, 1, 109, "train")
    assert r.spacing_mm == SPACING and r.slice_interval_mm == 5 and r.window == (-1500, 500)
    assert r.slice_path(dl_root) == dl_root / "Images_png" / SERIES / "109.png"
    np.testing.assert_array_equal(r.long_axis, [[235, 337], [235, 353]])  # (x, y) -> (row, col)
    # every skipped entry names its lesion and says what was wrong
    whats = {w for w, _, _ in skipped.entries}
    assert {"DL-000001_01_01_109-l2", "DL-000001_01_01_109-l4"} <= whats
    assert any("zero-length" in d for _, _, d in skipped.entries)


def test_crop_is_the_png_pixels_and_recist_in_mm(dl_root):
    rows, _ = dl.read_dl_info(dl_root / "DL_info.csv")
    case = dl.deeplesion_case(rows[0], dl_root, size=64)
    r0, c0 = 235 - 32, 345 - 32  # centre of the four written endpoints minus half the crop
    assert case.meta["origin_rc"] == (r0, c0)
    expected = _raw109()[r0 : r0 + 64, c0 : c0 + 64].astype(np.float32) - 32768
    np.testing.assert_array_equal(case.image, expected)
    assert case.image.dtype == np.float32 and case.spacing_mm == SPACING
    assert case.recist.long_mm == pytest.approx(16 * SPACING) and case.recist.short_mm == pytest.approx(12 * SPACING)
    np.testing.assert_allclose(case.recist.long_axis, [[32, 24], [32, 40]])
    np.testing.assert_allclose(case.recist.as_deeplesion() + [c0, r0] * 4,
                               [float(v) for v in LUNG_LEFT.split(",")])
    assert case.readers.shape == (0, 64, 64) and case.readers.dtype == bool
    assert case.consensus is None and case.true_alpha is None
    assert (case.source, case.patient_id) == ("deeplesion", "DL-000001")
    assert case.case_id == "DL-000001_01_01_109-l0@deeplesion"
    assert case.meta["file_name"] == K and case.meta["key_slice"] == 109 and case.meta["split"] == "train"
    assert case.meta["window"] == (-1500, 500) and case.meta["long_mm"] == pytest.approx(16 * SPACING)


def test_border_and_oversized_lesions_raise_naming_the_lesion(dl_root):
    rows, _ = dl.read_dl_info(dl_root / "DL_info.csv")
    by_coords = {tuple(r.long_axis.ravel()): r for r in rows}
    border = by_coords[(20.0, 250.0, 20.0, 262.0)]
    big = by_coords[(235.0, 300.0, 235.0, 360.0)]
    with pytest.raises(ValueError, match=rf"{border.lesion_id}.*too close to the border"):
        dl.deeplesion_case(border, dl_root, size=64)
    with pytest.raises(ValueError, match=rf"{big.lesion_id}.*long axis 60.0 px"):
        dl.deeplesion_case(big, dl_root, size=64)
    assert dl.deeplesion_case(big, dl_root, size=96).recist.long_mm == pytest.approx(60 * SPACING)


def test_eight_bit_and_broken_png_give_clear_errors(tmp_path, dl_root):
    eight = dl_root / "Images_png" / "000003_01_01" / "050.png"
    message = r"8-bit PNG where DeepLesion's 16-bit HU\+32768 PNG is expected.*050\.png.*official download"
    with pytest.raises(dl.DeepLesionImageError, match=message):
        dl.read_hu_png(eight)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(dl.DeepLesionImageError, match=r"cannot decode .*broken\.png"):
        dl.read_hu_png(broken)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        dl.read_hu_png(tmp_path / "nope.png")


def test_batch_counts_every_failure_and_never_raises(dl_root):
    cases, skipped = dl.deeplesion_cases(dl_root, 64, progress=False)
    assert [c.meta["lesion_id"] for c in cases] == ["DL-000001_01_01_109-l0", "DL-000001_01_01_109-l1"]
    assert skipped.as_dict() == {**CSV_SKIPS, dl.AT_BORDER: 1, dl.TOO_LARGE: 1, dl.MISSING_PNG: 1, dl.BAD_PNG: 1}
    assert len(cases) + skipped.total == len(ROWS)
    assert ("DL-000002_01_01_050-l0", dl.MISSING_PNG) in {(w, r) for w, r, _ in skipped.entries}
    limited, _ = dl.deeplesion_cases(dl_root, 64, limit=1, progress=False)
    assert len(limited) == 1


def test_split_is_deeplesions_own_and_patient_level(dl_root, tmp_path):
    rows, _ = dl.read_dl_info(dl_root / "DL_info.csv")
    split = dl.deeplesion_split(rows)
    assert set(split) == {"train", "val", "test"}
    assert split["test"] == ["DL-000002_01_01_050-l0"] and split["val"] == ["DL-000003_01_01_050-l0"]
    assert "DL-000001_01_01_109-l0" in split["train"]
    patients = {s: {lid.split("_")[0] for lid in ids} for s, ids in split.items()}
    assert not (patients["train"] & patients["val"]) and not (patients["train"] & patients["test"])
    bad = _write_info(tmp_path / "DL_info_bad.csv", [_row(K, LUNG_LEFT, split="1"), _row(K, LUNG_RIGHT, split="3")])
    bad_rows, _ = dl.read_dl_info(bad)
    with pytest.raises(ValueError, match=r"patient DL-000001 appears in more than one DeepLesion split"):
        dl.deeplesion_split(bad_rows)


def test_status_not_usable_without_the_folder_usable_with_it(dl_root, tmp_path, monkeypatch):
    monkeypatch.delenv(dl.ENV_VAR, raising=False)
    st = dl.deeplesion_status()
    assert not st.usable and st.location is None and "set SOFTNODULE_DEEPLESION_DIR" in st.detail
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(dl.ENV_VAR, str(empty))
    st = dl.deeplesion_status()
    assert not st.usable and "missing DL_info.csv and Images_png/" in st.detail
    monkeypatch.setenv(dl.ENV_VAR, str(dl_root))
    st = source_status("deeplesion")
    assert st.usable and st.location == str(dl_root) and st.detail.startswith("6 lung lesions")
    assert dl.deeplesion_root() == dl_root


def test_not_a_dl_info_file_is_named(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"other\.csv is not a DeepLesion DL_info\.csv: missing column"):
        dl.read_dl_info(other)


def test_real_dl_info_subset_every_row_accounted_for():
    """The 158 real rows: each is kept (lung) or counted by reason, none lost.

    The shared README says this subset has no lung rows, but the file does hold 5 rows with
    ``Coarse_lesion_type`` 5 (patients 97 and 98): the expectation below is computed from the file.
    """
    path = _require_samples() / "DL_info_subset.csv"
    with open(path, newline="") as fh:
        raw = list(csv.DictReader(fh))
    assert len(raw) == 158
    n_lung = sum(r["Coarse_lesion_type"] == "5" for r in raw)
    n_unknown = sum(r["Coarse_lesion_type"] == "-1" for r in raw)
    rows, skipped = dl.read_dl_info(path)
    assert len(rows) + skipped.total == 158
    assert len(rows) == n_lung
    assert skipped.as_dict() == {dl.UNKNOWN_TYPE: n_unknown, dl.NON_LUNG: 158 - n_lung - n_unknown}
    assert all(r.lesion_type == 5 and r.recist.long_mm > 0 for r in rows)
    split = dl.deeplesion_split(rows)  # DeepLesion's real split is patient-level
    assert sum(len(v) for v in split.values()) == n_lung
