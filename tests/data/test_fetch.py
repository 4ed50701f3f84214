"""``softnodule data fetch``: offline errors, checksum verification, resume, PROMISE12 help.

ISBI 2012 is exercised through file:// URLs; the LIDC crops through a fake opener that serves the real
bytes of a few files of the shared ``mtzig/LIDC_GDRO`` tarball. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from softnodule.cli import main
from softnodule.data import fetch

#: The team's real-data folder, next to the repository (tests only: the package never names it).
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LIDC_TARBALL = SHARED_DATA / "lidc-maxslice" / "LIDC_GDRO-4c2ed18-data.tar.gz"


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
    if not (SHARED_DATA / "isbi2012" / "train").is_dir():
        pytest.skip(f"{SHARED_DATA / 'isbi2012'} (the team's reference copy) is not present")
    dest = fetch.fetch_isbi(tmp_path / "isbi", base_url=(SHARED_DATA / "isbi2012" / "train").as_uri(),
                            progress=False)
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


# ----------------------------------------------------------------------------------------------------
# LIDC crops (mtzig/LIDC_GDRO at a pinned commit)
# ----------------------------------------------------------------------------------------------------

def _need_tarball() -> Path:
    if not LIDC_TARBALL.is_file():
        pytest.skip(f"{LIDC_TARBALL} (the team's copy of the LIDC_GDRO data files) is not present")
    return LIDC_TARBALL


@pytest.fixture(scope="module")
def lidc_sample() -> dict[str, bytes]:
    """The real bytes of the first three crop files of the shared tarball (read in-process, ~instant)."""
    sample: dict[str, bytes] = {}
    with tarfile.open(_need_tarball()) as tf:
        for member in tf:
            if member.isfile() and member.name.startswith("data/LIDC(MaxSlices)_Nodules/"):
                sample[member.name] = tf.extractfile(member).read()
                if len(sample) == 3:
                    break
    return sample


@pytest.fixture()
def lidc_subset(monkeypatch, lidc_sample) -> dict[str, str]:
    """Shrink the shipped manifest to the three sampled files (their real, shipped digests)."""
    full = fetch.lidc_crops_manifest()
    subset = {path: full[path] for path in lidc_sample}
    monkeypatch.setattr(fetch, "lidc_crops_manifest", lambda: dict(subset))
    return subset


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SOFTNODULE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


class FakeOpener:
    """Serves ``{repository path: bytes}`` at the pinned raw URLs and records every request."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requested: list[str] = []

    def __call__(self, url: str, timeout: float | None = None) -> io.BytesIO:
        self.requested.append(url)
        assert url.startswith(fetch.LIDC_GDRO_BASE_URL), url
        path = urllib.parse.unquote(url[len(fetch.LIDC_GDRO_BASE_URL):])
        if path not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)  # type: ignore[arg-type]
        return io.BytesIO(self.files[path])


def _no_network(*args, **kwargs):
    raise AssertionError("a download was attempted")


def test_lidc_manifest_shape():
    manifest = fetch.lidc_crops_manifest()
    assert len(manifest) == 2683
    crops = [p for p in manifest if p.startswith("data/LIDC(MaxSlices)_Nodules/")]
    assert len(crops) == 2680 and all(p.endswith(".txt") for p in crops)
    assert {"LICENSE", "data/LIDC-IDRI_MetaData.csv",
            "data/LIDC_20130817_AllFeatures2D_MaxSlicePerNodule_inLineRatings.csv"} <= set(manifest)
    assert all(len(d) == 64 for d in manifest.values())
    # the shipped file is sorted, in sha256sum format, and travels with the package
    text = (Path(fetch.__file__).parent / "manifests" / fetch.LIDC_CROPS_MANIFEST).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert text.endswith("\n") and lines == sorted(lines, key=lambda line: line[66:])
    assert all(line[64:66] == "  " for line in lines)
    assert fetch.LIDC_GDRO_COMMIT[:7] in fetch.LIDC_CROPS_MANIFEST


def test_lidc_manifest_matches_shared_tarball():
    digests = {}
    with tarfile.open(_need_tarball()) as tf:
        for member in tf:
            if member.isfile():
                digests[member.name] = hashlib.sha256(tf.extractfile(member).read()).hexdigest()
    assert digests == fetch.lidc_crops_manifest()


def test_parse_sha256sum_rejects_damage():
    good = "a" * 64
    assert fetch.parse_sha256sum(f"{good}  x/y (1).txt\n{good.upper()} *z\n\n") == {"x/y (1).txt": good, "z": good}
    with pytest.raises(ValueError, match="line 1"):
        fetch.parse_sha256sum("deadbeef  x\n")
    with pytest.raises(ValueError, match="listed twice"):
        fetch.parse_sha256sum(f"{good}  x\n{good}  x\n")


def test_lidc_urls_are_pinned_and_quoted():
    url = fetch.lidc_crops_url("data/LIDC(MaxSlices)_Nodules/1.txt")
    assert url == ("https://raw.githubusercontent.com/mtzig/LIDC_GDRO/4c2ed18caa93a75b18fab4631b76d5397e3c0531/"
                   "data/LIDC%28MaxSlices%29_Nodules/1.txt")


def test_lidc_fetch_dir_is_in_the_cache(cache):
    assert fetch.lidc_crops_fetch_dir() == cache / "downloads" / "lidc-crops"


def test_lidc_offline_gives_instructions(cache, tmp_path):
    dest = tmp_path / "dest"
    with pytest.raises(fetch.FetchError) as exc:
        fetch.fetch_lidc_crops(dest, progress=False, opener=_offline, workers=2)
    msg = str(exc.value)
    assert msg.startswith("no internet access") and fetch.LIDC_GDRO_BASE_URL in msg
    assert "SOFTNODULE_LIDC_CROPS" in msg and "data/" in msg and ".tar.gz" in msg
    assert fetch.LIDC_GDRO_COMMIT in msg and "git clone" in msg and "checkout" in msg
    assert not dest.exists() or not [p for p in dest.rglob("*") if p.is_file()]
    assert not fetch.lidc_crops_fetched()


def test_lidc_http_error_gives_instructions(cache, tmp_path, lidc_subset):
    with pytest.raises(fetch.FetchError) as exc:
        fetch.fetch_lidc_crops(tmp_path / "dest", progress=False, opener=FakeOpener({}))
    msg = str(exc.value)
    assert "HTTP 404" in msg and "SOFTNODULE_LIDC_CROPS" in msg
    assert not [p for p in (tmp_path / "dest").rglob("*") if p.is_file()]


def test_lidc_cli_offline_exit_code(monkeypatch, capsys, cache):
    monkeypatch.setattr(urllib.request, "urlopen", _offline)  # the default opener: no network attempted
    assert main(["data", "fetch", "lidc-crops"]) == 2
    err = capsys.readouterr().err
    assert "no internet access" in err and "SOFTNODULE_LIDC_CROPS" in err
    assert not [p for p in fetch.lidc_crops_fetch_dir().rglob("*") if p.is_file()]


def test_lidc_checksum_mismatch_writes_nothing(cache, lidc_sample, lidc_subset):
    bad_path = sorted(lidc_sample)[1]
    served = dict(lidc_sample)
    served[bad_path] = served[bad_path][:-1] + b"!"  # one byte changed in transit
    dest = fetch.lidc_crops_fetch_dir()
    with pytest.raises(fetch.FetchError) as exc:
        fetch.fetch_lidc_crops(progress=False, opener=FakeOpener(served), workers=1)
    msg = str(exc.value)
    assert "checksum mismatch" in msg and bad_path in msg
    assert lidc_subset[bad_path] in msg and hashlib.sha256(served[bad_path]).hexdigest() in msg
    assert not (dest / bad_path).exists()
    assert not list(dest.rglob("*.tmp"))
    assert not fetch.lidc_crops_fetched()


def test_lidc_fetch_then_resume(cache, lidc_sample, lidc_subset):
    assert not fetch.lidc_crops_fetched()
    opener = FakeOpener(lidc_sample)
    dest = fetch.fetch_lidc_crops(progress=False, opener=opener, workers=3)
    assert dest == fetch.lidc_crops_fetch_dir()
    assert sorted(opener.requested) == sorted(fetch.lidc_crops_url(p) for p in lidc_sample)
    for path, data in lidc_sample.items():
        assert (dest / path).read_bytes() == data  # repository layout: <dest>/data/...
    assert not list(dest.rglob("*.tmp"))
    assert fetch.lidc_crops_fetched()
    assert fetch.verify_lidc_crops(dest) == []
    # a second fetch finds everything verified and downloads nothing
    fetch.fetch_lidc_crops(progress=False, opener=_no_network)
    # an interrupted fetch (one file missing) resumes with exactly that file
    gone = sorted(lidc_sample)[0]
    (dest / gone).unlink()
    assert not fetch.lidc_crops_fetched()
    again = FakeOpener(lidc_sample)
    fetch.fetch_lidc_crops(progress=False, opener=again)
    assert again.requested == [fetch.lidc_crops_url(gone)]
    assert fetch.lidc_crops_fetched()


def test_lidc_corrupt_local_copy_is_replaced(cache, lidc_sample, lidc_subset):
    path = sorted(lidc_sample)[2]
    target = fetch.lidc_crops_fetch_dir() / path
    target.parent.mkdir(parents=True)
    target.write_bytes(b"truncated")
    fetch.fetch_lidc_crops(progress=False, opener=FakeOpener(lidc_sample))
    assert target.read_bytes() == lidc_sample[path]


def test_verify_lidc_crops_reports_problems(tmp_path, lidc_sample, lidc_subset):
    folder = tmp_path / "LIDC_GDRO"
    for path, data in lidc_sample.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    assert fetch.verify_lidc_crops(folder) == []
    missing, corrupt, fine = sorted(lidc_sample)
    (folder / missing).unlink()
    (folder / corrupt).write_bytes(b"not the crop")
    problems = fetch.verify_lidc_crops(folder)
    assert len(problems) == 2
    assert any(p.startswith("missing") and missing in p for p in problems)
    assert any("wrong sha256" in p and corrupt in p and lidc_subset[corrupt] in p for p in problems)
    # presence only: the corrupt file is there, the missing one is still reported
    assert fetch.verify_lidc_crops(folder, check_digests=False) == [f"missing: {folder / missing}"]
    # common mistakes are named as such
    assert "is not a folder" in fetch.verify_lidc_crops(tmp_path / "nowhere")[0]
    assert "data/ folder itself" in fetch.verify_lidc_crops(folder / "data")[0]
