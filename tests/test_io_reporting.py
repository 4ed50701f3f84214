import json

import pytest

from softnodule import reporting
from softnodule.io import atomic_write_bytes


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "t.bin"
    atomic_write_bytes(target, b"old")

    with pytest.raises(TypeError):
        atomic_write_bytes(target, object())  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.bin"]


def test_write_table_writes_csv_and_provenance(tmp_path, monkeypatch):
    monkeypatch.setattr(reporting, "results_dir", lambda profile: tmp_path / profile)
    (tmp_path / "smoke").mkdir()
    prov = reporting.provenance("smoke", {"a": 1}, data_source="phantom")
    path = reporting.write_table([{"method": "x", "ours": 0.5}, {"method": "y", "paper": 0.9}], "demo", "smoke", prov)
    rows = reporting.read_table(path)
    assert rows[0] == {"method": "x", "ours": "0.5", "paper": ""}
    meta = json.loads(path.with_suffix(".provenance.json").read_text())
    assert meta["profile"] == "smoke" and meta["data_source"] == "phantom" and "packages" in meta


def test_empty_table_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no rows"):
        reporting.write_table([], "x", "smoke", {})


def test_markdown_table():
    md = reporting.markdown_table([{"a": 1, "b": 0.123456}])
    assert md.splitlines()[0] == "| a | b |" and "0.1235" in md
