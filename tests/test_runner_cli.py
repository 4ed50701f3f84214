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
    assert "nodule index" in out and "LIDC DICOM" in out and "torch" in out


def test_bad_profile_is_rejected():
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "--profile", "fast"])
