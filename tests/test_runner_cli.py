"""The notebook runner and the CLI (without executing notebooks: nbval does that)."""

import json

import pytest

from softnodule import cli
from softnodule.runner import list_notebooks


def test_notebooks_are_numbered_and_ordered():
    books = list_notebooks()
    names = [b.name for b in books]
    assert names == sorted(names) and names[:2] == ["00_environment_and_data.ipynb", "01_soft_mask_pipeline.ipynb"]
    assert [b.name for b in list_notebooks(start="01")][0].startswith("01")


def test_from_unknown_number_is_clear():
    with pytest.raises(ValueError, match="no notebook starts with '77'"):
        list_notebooks(start="77")


def test_every_notebook_has_a_literal_parameters_cell():
    import nbformat

    for book in list_notebooks():
        nb = nbformat.read(book, as_version=4)
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, book.name
        assert 'profile = "' in params[0].source


def test_data_info_json(capsys, nodule_index):
    assert cli.main(["data", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["lidc_scans"] == 1018 and info["lidc_annotations"] == 6859
    assert set(info["lidc_nodules_by_readers"]) == {"1", "2", "3", "4"}


def test_doctor_prints_locations(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "nodule index" in out and "lidc-dicom" in out and "image sources" in out and "torch" in out


def test_bad_profile_is_rejected():
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "--profile", "fast"])


def test_run_source_fetches_once_and_falls_back_to_the_phantom(monkeypatch, capsys, tmp_path):
    """Offline and with no copy: one fetch attempt, then the whole run is on the phantom, and says so."""
    from softnodule import runner
    from softnodule.data import fetch

    monkeypatch.delenv("SOFTNODULE_SOURCE", raising=False)
    monkeypatch.delenv("SOFTNODULE_LIDC_CROPS", raising=False)
    monkeypatch.setenv("SOFTNODULE_CACHE", str(tmp_path))
    calls = []

    def offline(*args, **kwargs):
        calls.append(1)
        raise fetch.FetchError("network unreachable")

    monkeypatch.setattr(fetch, "fetch_lidc_crops", offline)
    assert runner.resolve_run_source("auto", fetch_missing=True) == "phantom"
    assert calls == [1] and "PHANTOM" in capsys.readouterr().out
    assert runner.resolve_run_source("auto", fetch_missing=False) == "phantom" and calls == [1]


def test_run_source_env_wins(monkeypatch):
    from softnodule import runner

    monkeypatch.setenv("SOFTNODULE_SOURCE", "phantom")
    assert runner.resolve_run_source("lidc-crops") == "phantom"
    monkeypatch.setenv("SOFTNODULE_SOURCE", "deeplesion")
    monkeypatch.delenv("SOFTNODULE_DEEPLESION_DIR", raising=False)
    with pytest.raises(RuntimeError, match="deeplesion"):
        runner.resolve_run_source("auto")


def test_only_selects_notebooks():
    books = list_notebooks(only=["00", "10"])
    assert [b.name[:2] for b in books] == ["00", "10"]
    with pytest.raises(ValueError, match="--only 77"):
        list_notebooks(only=["77"])
