"""``softnodule data build|info|export`` and ``doctor`` with image sources (real crops via the conftest)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from softnodule import cli
from softnodule.data.sources import source_status


@pytest.fixture(scope="module")
def crops_usable():
    if not source_status("lidc-crops").usable:
        pytest.skip("no copy of the LIDC max-slice crops (set SOFTNODULE_LIDC_CROPS)")


def test_data_build_json_reports_source_counts_and_skips(crops_usable, capsys):
    assert cli.main(["data", "build", "lidc", "--source", "lidc-crops", "--profile", "smoke", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["source"] == "lidc-crops"
    for key in ("n_train", "n_val", "n_test", "n_patients", "skipped"):
        assert key in out
    assert (out["n_train"], out["n_val"], out["n_test"]) == (12, 4, 12) and isinstance(out["skipped"], dict)


def test_data_info_json_has_the_crop_counts(crops_usable, capsys):
    assert cli.main(["data", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    block = info["lidc_crops"]
    for key in ("crops", "matched", "nodules", "nodules_by_readers", "on_key_slice"):
        assert key in block
    assert block["crops"] == 2680 and sum(block["nodules_by_readers"].values()) == block["nodules"]


def test_data_export_writes_one_case(crops_usable, tmp_path, capsys):
    out = tmp_path / "case.npz"
    assert cli.main(["data", "export", "LIDC-IDRI-0001/s0012/n01", "--source", "lidc-crops", "--out", str(out)]) == 0
    with np.load(out) as z:
        assert {"image_hu", "readers", "consensus", "soft_mask", "recist"} <= set(z.files)
        assert z["readers"].shape == (4, 64, 64) and z["image_hu"].min() < -800
        meta = json.loads(str(z["meta"]))
    assert meta["source"] == "lidc-crops" and meta["strategy"] == 2 and "true_alpha" not in meta


def test_export_of_an_unknown_nodule_exits_2(crops_usable, tmp_path, capsys):
    assert cli.main(["data", "export", "LIDC-IDRI-9999/s0001/n01", "--source", "lidc-crops",
                     "--out", str(tmp_path / "x.npz")]) == 2
    assert "no nodule" in capsys.readouterr().err and not (tmp_path / "x.npz").exists()


def test_doctor_lists_every_source(capsys):
    assert cli.main(["doctor"]) == 0
    text = capsys.readouterr().out
    for name in ("phantom", "lidc-crops", "lidc-dicom", "deeplesion"):
        assert name in text
    assert "notebooks use:" in text


def test_unknown_source_is_rejected(capsys):
    with pytest.raises(SystemExit) as err:
        cli.main(["data", "build", "lidc", "--source", "pixels"])
    assert err.value.code == 2
