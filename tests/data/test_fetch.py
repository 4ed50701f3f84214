"""``softnodule data fetch``: offline errors, checksum verification through file:// URLs, PROMISE12 help."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from softnodule.cli import main
from softnodule.config import shared_data_dir
from softnodule.data import fetch


def _offline(*args, **kwargs):
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


@pytest.fixture()
def source(tmp_path) -> tuple[str, dict[str, str]]:
    """A tiny local 'server': four files and their SHA-256 table, reachable as file:// URLs."""
    root = tmp_path / "server" / "train"
    table = {}
    rng = np.random.default_rng(0)
    for kind in ("image", "label"):
        for i in range(2):
            data = rng.integers(0, 256, 300, dtype=np.uint8).tobytes()
            path = root / kind / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            table[f"{kind}/{i}.png"] = hashlib.sha256(data).hexdigest()
    return root.as_uri(), table


def test_checksum_table_is_complete():
    assert sorted(fetch.ISBI_SHA256) == sorted(f"{k}/{i}.png" for k in ("image", "label") for i in range(30))
    assert all(len(v) == 64 for v in fetch.ISBI_SHA256.values())


def test_offline_gives_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    with pytest.raises(fetch.FetchError) as exc:
        fetch.fetch_isbi(tmp_path / "dest", progress=False)
    msg = str(exc.value)
    assert msg.startswith("no internet access") and "SOFTNODULE_ISBI_DIR" in msg
    assert not list((tmp_path / "dest").rglob("*.png"))


def test_cli_offline_exit_code(monkeypatch, capsys, tmp_cache):
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    assert main(["data", "fetch", "isbi2012"]) == 2
    err = capsys.readouterr().err
    assert "no internet access" in err and "SOFTNODULE_ISBI_DIR" in err


def test_download_verify_and_skip(source, tmp_path, monkeypatch):
    base, table = source
    dest = fetch.fetch_isbi(tmp_path / "dest", base_url=base, checksums=table, progress=False)
    for name, digest in table.items():
        assert hashlib.sha256((dest / "train" / name).read_bytes()).hexdigest() == digest
    assert not list(dest.rglob("*.tmp"))
    # second run: everything present and verified, nothing is downloaded
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    fetch.fetch_isbi(dest, base_url=base, checksums=table, progress=False)


def test_corrupt_local_copy_is_replaced(source, tmp_path):
    base, table = source
    dest = tmp_path / "dest"
    bad = dest / "train" / "label" / "1.png"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"truncated")
    fetch.fetch_isbi(dest, base_url=base, checksums=table, progress=False)
    assert hashlib.sha256(bad.read_bytes()).hexdigest() == table["label/1.png"]


def test_wrong_checksum_is_rejected_and_removed(source, tmp_path):
    base, table = source
    table = {**table, "image/1.png": "0" * 64}
    dest = tmp_path / "dest"
    with pytest.raises(fetch.FetchError, match="checksum mismatch"):
        fetch.fetch_isbi(dest, base_url=base, checksums=table, progress=False)
    assert (dest / "train" / "image" / "0.png").is_file()  # the good one before it stays
    assert not (dest / "train" / "image" / "1.png").exists()
    assert not [p for p in dest.rglob("*") if p.is_file() and p.name != "0.png"]


def test_table_matches_reference_copy(tmp_path):
    shared = shared_data_dir()
    if shared is None or not (shared / "isbi2012" / "train").is_dir():
        pytest.skip("../shared/data/isbi2012 is not present")
    dest = fetch.fetch_isbi(tmp_path / "isbi", base_url=(shared / "isbi2012" / "train").as_uri(), progress=False)
    assert len(list(Path(dest).rglob("*.png"))) == 60


def test_promise12_help(monkeypatch, capsys, tmp_path, tmp_cache):
    monkeypatch.delenv("SOFTNODULE_PROMISE12_DIR", raising=False)
    assert main(["data", "fetch", "promise12"]) == 2
    out = capsys.readouterr().out
    assert "promise12.grand-challenge.org" in out and "SOFTNODULE_PROMISE12_DIR" in out
    assert "CaseNN_segmentation.mhd" in out
    folder = tmp_path / "p12"
    folder.mkdir()
    monkeypatch.setenv("SOFTNODULE_PROMISE12_DIR", str(folder))
    assert main(["data", "fetch", "promise12"]) == 2
    assert "NOT usable" in capsys.readouterr().out
    for name in ("Case00", "Case00_segmentation"):
        (folder / f"{name}.mhd").write_text(f"NDims = 3\nElementDataFile = {name}.raw\n")
        (folder / f"{name}.raw").write_bytes(b"\0")
    assert main(["data", "fetch", "promise12"]) == 0
    assert "OK, 1 case(s)" in capsys.readouterr().out
