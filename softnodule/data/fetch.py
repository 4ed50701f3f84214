"""Downloads: ``softnodule data fetch isbi2012|lidc-crops|promise12``.

Every download here follows one recipe (`_fetch_verified`): each file has a SHA-256 digest known in
advance, is verified before anything is written, and is written atomically (temp file, then
rename). Files already present with a good digest are skipped, so an interrupted fetch resumes,
and a bad download never leaves a file behind that a later run (or a cheap presence check) could
mistake for a good one.

ISBI 2012: the 60 training PNGs (30 slices of ``train-volume.tif`` and their labels) as published
in ``zhixuhao/unet`` (``data/membrane/train``), verified against SHA-256 digests computed from the
team's reference copy, written into ``cache_dir()/downloads/isbi2012/train/{image,label}/{i}.png``.

LIDC crops: the data files of GitHub repository ``mtzig/LIDC_GDRO`` at one pinned commit
(`LIDC_GDRO_COMMIT`): ``data/LIDC(MaxSlices)_Nodules/<id>.txt`` (the max-slice crop of every
nodule, real LIDC-IDRI pixel values), the two CSVs next to them and the repository's ``LICENSE``.
The digests ship with the package (``manifests/lidc_gdro_4c2ed18.sha256``, `sha256sum` format, see
`lidc_crops_manifest`); the files go to ``cache_dir()/downloads/lidc-crops`` in the repository's
own layout (``<dir>/data/...``), downloaded by a small thread pool (2,683 small files).

PROMISE12: no anonymous download exists (registration at promise12.grand-challenge.org), so
`promise12_instructions` only explains what to do and checks a configured folder's layout.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import cache_dir
from ..io import atomic_write_bytes

#: ``opener(url, timeout=seconds)`` returning a response usable as a context manager with
#: ``.read()``: `urllib.request.urlopen` (the default) or ``OpenerDirector.open`` or a test fake.
Opener = Callable[..., Any]

#: Where the ISBI 2012 training PNGs are published (``{kind}/{i}.png`` is appended).
ISBI_BASE_URL = "https://raw.githubusercontent.com/zhixuhao/unet/master/data/membrane/train"

#: SHA-256 of every ISBI 2012 training file, ``"image/0.png": digest`` (from the reference copy).
ISBI_SHA256: dict[str, str] = {
    "image/0.png": "12c0ed6f42fc09f512abf6b354f217c950e4c8223b57a0315449b62a14556523",
    "image/1.png": "2cfc7ee635a6f85d5faf5c82a71d3a37bf5af4784b554964e3e07193e3ee2166",
    "image/2.png": "fe60d8d4f93102666a23a18d718b4b59fab8e616987d11c5072f4a87fac7301f",
    "image/3.png": "636d16cbb02f99dda4c9fb6db98dfba066142afa981ffdcfaf54453982e8250c",
    "image/4.png": "991fb3a8e4abc73da1d6159ca28fa4397f0a8351f30a8ba3669c86414d2ce239",
    "image/5.png": "7e9d9fb787664336d6f2cd68b23986f04527e7f8f494410983b4d70c6de1de3b",
    "image/6.png": "7c0a87933ffc72f4ff02f5996d9c3f69fe9a0b5277507415743ad8afb5e5d308",
    "image/7.png": "19f2c25716107d41008c83ba8a814ae47a090e00dea766dde38dce1f00899270",
    "image/8.png": "a8979e4abd1a10af9ca75e614d97875659adbd8ee3a68eba483bf556cfe3023d",
    "image/9.png": "730ebf435ab0f6e625d342552ad03736799fd660d0c6af744674c61a46aa082a",
    "image/10.png": "7c3717bcd48c4b7e5c878d7f0b809b8687a4e6fac471f3863de320a82ee72b8a",
    "image/11.png": "dd7857b25ca1417f87c282750e22c50947f75e81fa032d4e0c96b902c9dc9757",
    "image/12.png": "9f8eff9239bb764d51524a998387a7babcff9f62161804651b030b81aabd5ab8",
    "image/13.png": "377e5cdbcd7f0ac7336f482fc7ead7446887863f26769b3841fe98aadca77dad",
    "image/14.png": "f50d2d77acd2df564c5f0f40b1b24cd929f5944460aa4cd90c422cb5cef33a59",
    "image/15.png": "3e13fdea09accc14f46fb2f3ffa1e882cdd9c53b28a6842c4c10229692c7d1a4",
    "image/16.png": "ffc951c12450f94129582c16fd0d4b165c4a31469b0c42d966f07c183d3132e2",
    "image/17.png": "0f4f7e8e0619e4c7d517ac68d3789a3b6248253747717eac418bb7d32bef4de3",
    "image/18.png": "1bb1edd50595861743d14e1955dfa5d3c9395fb87563eca6dc81433bf9df49de",
    "image/19.png": "999b55633f8d7082add72082656e9532c5c3d97203b376eb317f09ba88a5a5b7",
    "image/20.png": "9153d14bfd15955fab576ea23281c4f23104b45dceed6e03e0b254607f50a1b2",
    "image/21.png": "9ad07cf4f67984f17a08aa63e6d92d395ce55f5132e6ff4fa6d95d6890ea7f97",
    "image/22.png": "6278609b4c42a7cb43212de0e2e2ceded758bafe0856fb56214ce658a61668e4",
    "image/23.png": "9ef4e9fbc838b9791af83a36918d729a0ea2e90ebc71c4a3c4554059f9379756",
    "image/24.png": "f0f917b9c3e9c96d16ea287aff9b05ecf4de88bc61d478e4aefcb64932fba70c",
    "image/25.png": "e0154737e76392e8bf94fb2c0dfa5ddad4b53aeec942a0a8cdd8ba63443e6072",
    "image/26.png": "d0ff11e09b0ee0c817334946e746a38ab621161d5f9c46af95c68b851f8d9a1a",
    "image/27.png": "eed8e8bee1db8fe7af39b5b43ecf14282c5c33eca0959726eea06f662027eacc",
    "image/28.png": "974df4b51e8905bdaabe61e80496cbf331f5c9aa9ddc2cb94113f58c2b7d2837",
    "image/29.png": "d9ae868509c610a69acbf3d69cde4f36a8e344cbbc444f93c917bf7b9f3e784f",
    "label/0.png": "13b67edd7607a1f284c09170c96a27d38422b0ffaf88024ea5b689acb5e1b4b0",
    "label/1.png": "cff60a00de2901e67165c91d7708d784e4c5bcc9d1c8c677922c905d63bbc3d1",
    "label/2.png": "a578af998c017f56763b81941c4dc612dde5731809b2cea0e8ebc37aecb84dbb",
    "label/3.png": "c8ae3b843fed02e09411a24c10850160922c331041b17c2674025f05a99b8834",
    "label/4.png": "a2f19c01b5d982a97923a0d29e64127a05e3f496731480ac9d9d302b5427f7ff",
    "label/5.png": "2dd5779118f6f4d87f88ec112f1cea20663b50acb8c748b0db1f23eda82b5118",
    "label/6.png": "2b0984e9f31fb41d4c5f4a754a3e080036b7321a0cbd9591a62010d20a574ce7",
    "label/7.png": "2ebc8c835999589bfd7d80d81f83d24e5c41138362b0faafef0f009e1ce82144",
    "label/8.png": "db979010ca4fbdb38c8b32d455aed0da90d598153f2a0046b63d02a6efa32b9e",
    "label/9.png": "8ee6c79adbb740595c4d61776e065e7164c00d52c7dd7562b5279041e7f3567b",
    "label/10.png": "b0156cc8186b0ee521927ac95645b406a42d27564607a6fea3a59c34add78f7c",
    "label/11.png": "e47b3aa0cfb3106476af1666e631d45bd16dbf2aff88260ee65d16e4134332db",
    "label/12.png": "85a7a899c0b72b81633ad122887ba5161d650385d7775a5b3074eb00131b3620",
    "label/13.png": "88549c22fd647312d6b37e17d33e90800d347d60ccb1156a8dde5e67394f9f3d",
    "label/14.png": "bcd775017eb4fdbdfe7ad6cc6420b2f16aa9d0576894d08370edcf564b46680a",
    "label/15.png": "59a854887b504ff00a5b4b93b2299bbc0bf0cbe54dea58d2b31969229b28b369",
    "label/16.png": "b34eb88cdc3313a6f4190f5753465df7f69d8f3c243a5c25427b1b99ecfe2499",
    "label/17.png": "4fa076cbeb744803d987dc46cf308dc3026408e7a5188838e30e25fe3ea67dbe",
    "label/18.png": "bd009dda57f204804732f592ed1d41ba18961d83c492413fe71548efa4a288d9",
    "label/19.png": "bf38407c55b6033c1677230228ecb100a11294aa74a7b92e5edfdc4abadcfef9",
    "label/20.png": "7af7296f2e892866669d4e4f9c0d4178987e6ec6e7d0751ec238d1bbe2da9c55",
    "label/21.png": "772c722acb2eac01769b53fa5037a3d62745e53102398bf9b2202df605cadda4",
    "label/22.png": "b19f5533ec24077a2395a085fe53af75dd350ef03798c4ff40ba9ebecb2ee0ad",
    "label/23.png": "2d8f1df5c9ee83e59eb2d709eb153b0570f12e726690f586154b01b0a88bb540",
    "label/24.png": "6ab02d922b5c937ecfe2a479be87a5d3e5ef950dc48da09d31f37b47d899ca9c",
    "label/25.png": "c5ea59aca7789dd507ac31c4a82bbd4c172f9e3544f8e040442c20d1dfa9e16d",
    "label/26.png": "b056fae9f358111b6c9e2494bdba645f206be581959b8d3763e97d62a65dd961",
    "label/27.png": "5be3823a57c82b632cead6eb09f438c6010a244dc0975f2a3e466f45d2c06840",
    "label/28.png": "c0b0e2a2b7aad46919d1afc980f7d5e39101fb07948ce65d9cac802d8b47682e",
    "label/29.png": "1e8839a97178914171defd6a97158f06fcac1fc3f0d45f2acdff9c49ab3fced9",
}


class FetchError(RuntimeError):
    """A download failed (offline, HTTP error) or a file did not match its checksum."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks (no whole-file copy in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, timeout: float, opener: Opener | None = None) -> bytes:
    """The bytes at ``url``.

    ``opener`` defaults to `urllib.request.urlopen`, looked up at call time so that tests can
    monkeypatch it to go offline.
    """
    open_url = urllib.request.urlopen if opener is None else opener
    with open_url(url, timeout=timeout) as response:
        return response.read()


def _fetch_verified(url: str, target: Path, expected: str, *, name: str, timeout: float,
                    opener: Opener | None, by_hand: str) -> bool:
    """Make ``target`` hold the file at ``url`` whose SHA-256 is ``expected``.

    A ``target`` that already has the right digest is kept (this is what makes a fetch resume). A
    wrong local copy is removed before downloading, so a failed download never leaves a file that
    looks fetched. The download is verified in memory and written atomically only when it matches.

    Parameters
    ----------
    url : str
        Where the file is published.
    target : Path
        Where it goes.
    expected : str
        Its SHA-256 (hex).
    name : str
        How error messages name the file (e.g. its path in the repository).
    timeout : float
        Seconds for the request.
    opener : callable or None
        See `_download`.
    by_hand : str
        Sentence(s) appended to network errors: how to get the files without this command.

    Returns
    -------
    bool
        True when the file was downloaded, False when a good copy was already there.

    Raises
    ------
    FetchError
        No network, an HTTP error, or a checksum mismatch; each names the file, and nothing is
        written for it.
    """
    expected = expected.lower()
    if target.is_file():
        if _file_sha256(target) == expected:
            return False
        target.unlink()  # corrupt or stale copy: fetch it again
    try:
        data = _download(url, timeout, opener)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"download failed for {name}: {url}: HTTP {exc.code} {exc.reason}. "
                         f"{by_hand}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"no internet access: could not download {url} ({reason}). {by_hand}") from exc
    got = _sha256(data)
    if got != expected:
        raise FetchError(f"checksum mismatch for {name} ({url}): expected sha256 {expected}, got {got}; "
                         f"nothing was written to {target}. Run the fetch again; if it persists, the "
                         "published file changed and the shipped digests need a look")
    atomic_write_bytes(target, data)
    return True


def _order(name: str) -> tuple[str, int]:
    kind, _, file = name.partition("/")
    stem = Path(file).stem
    return (kind, int(stem) if stem.isdigit() else -1)


def fetch_isbi(dest: Path | str | None = None, *, base_url: str = ISBI_BASE_URL,
               checksums: Mapping[str, str] = ISBI_SHA256, timeout: float = 30.0,
               progress: bool = True) -> Path:
    """Download and verify the ISBI 2012 training PNGs.

    Parameters
    ----------
    dest : path, optional
        Target folder (default ``cache_dir()/downloads/isbi2012``); files go to ``dest/train/<name>``.
    base_url : str
        URL prefix; ``<base_url>/<name>`` is fetched for every name of ``checksums`` (``file://``
        URLs work, which is how the tests exercise verification offline).
    checksums : mapping
        ``{"image/0.png": sha256 hex, ...}``.
    timeout : float
        Seconds per request.
    progress : bool
        tqdm bar over files.

    Returns
    -------
    Path
        ``dest`` (use it as ``SOFTNODULE_ISBI_DIR``; `softnodule.data.datasets.isbi.isbi_root` finds the default).

    Raises
    ------
    FetchError
        No network or an HTTP error (with what to do instead), or a checksum mismatch (nothing is
        written for the bad file).
    """
    from tqdm.auto import tqdm

    from .datasets.isbi import fetch_target

    dest = Path(dest) if dest is not None else fetch_target()
    names = sorted(checksums, key=_order)
    by_hand = ("Copy an ISBI 2012 training folder (train/image/{0..29}.png and train/label/{0..29}.png) "
               f"yourself and set SOFTNODULE_ISBI_DIR to it, or put it at {dest}.")
    for name in tqdm(names, desc="ISBI 2012", unit="file", disable=not progress):
        _fetch_verified(f"{base_url.rstrip('/')}/{name}", dest / "train" / name, checksums[name], name=name,
                        timeout=timeout, opener=None, by_hand=by_hand)
    return dest


#: The GitHub repository that publishes the LIDC max-slice crops, and the commit the digests pin.
LIDC_GDRO_REPO = "mtzig/LIDC_GDRO"
LIDC_GDRO_COMMIT = "4c2ed18caa93a75b18fab4631b76d5397e3c0531"

#: Raw-file URL prefix at that commit; a URL-quoted repository path is appended
#: (``data/LIDC(MaxSlices)_Nodules/1.txt`` has parentheses).
LIDC_GDRO_BASE_URL = f"https://raw.githubusercontent.com/{LIDC_GDRO_REPO}/{LIDC_GDRO_COMMIT}/"

#: The shipped manifest (in this package's ``data/manifests`` folder), `sha256sum` format.
LIDC_CROPS_MANIFEST = "lidc_gdro_4c2ed18.sha256"

#: The environment variable that points the ``lidc-crops`` source at a copy made by hand.
LIDC_CROPS_ENV = "SOFTNODULE_LIDC_CROPS"


def parse_sha256sum(text: str, *, source: str = "manifest") -> dict[str, str]:
    """Parse `sha256sum` output (``<hex digest>  <path>`` per line) into ``{path: digest}``.

    The binary-mode marker (``<hex> *<path>``) is accepted too; blank lines are ignored.

    Parameters
    ----------
    text : str
        The manifest's contents.
    source : str
        How errors name the manifest.

    Raises
    ------
    ValueError
        A malformed line or a path listed twice (naming the line), so a damaged manifest can never
        silently verify fewer files.
    """
    table: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, path = line.partition(" ")
        path = path[1:] if path[:1] in (" ", "*") else path
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest) or not path:
            raise ValueError(f"{source}, line {number}: expected '<64 hex digits>  <path>', got {line!r}")
        if path in table:
            raise ValueError(f"{source}, line {number}: {path!r} is listed twice")
        table[path] = digest.lower()
    return table


def lidc_crops_manifest() -> dict[str, str]:
    """The files of ``mtzig/LIDC_GDRO`` at `LIDC_GDRO_COMMIT` that the LIDC crops need, with digests.

    Read from the manifest shipped inside the package (via `importlib.resources`, so it works from
    an installed wheel too). 2,683 entries: ``data/LIDC(MaxSlices)_Nodules/<id>.txt`` (2,680),
    ``data/LIDC-IDRI_MetaData.csv``, ``data/LIDC_20130817_AllFeatures2D_MaxSlicePerNodule_inLineRatings.csv``
    and ``LICENSE`` (MIT: it travels with the data).

    Returns
    -------
    dict
        ``{repository path: sha256 hex}``, a fresh dict (callers may modify it).
    """
    resource = resources.files("softnodule.data").joinpath("manifests", LIDC_CROPS_MANIFEST)
    return parse_sha256sum(resource.read_text(encoding="utf-8"), source=f"manifest {LIDC_CROPS_MANIFEST}")


def lidc_crops_fetch_dir() -> Path:
    """Where `fetch_lidc_crops` puts the files: ``cache_dir()/downloads/lidc-crops`` (holds ``data/``)."""
    return cache_dir() / "downloads" / "lidc-crops"


def lidc_crops_url(path: str) -> str:
    """The raw-file URL of one repository ``path`` at `LIDC_GDRO_COMMIT` (URL-quoted)."""
    return LIDC_GDRO_BASE_URL + urllib.parse.quote(path)


def lidc_crops_by_hand() -> str:
    """How to get the LIDC crops without ``softnodule data fetch lidc-crops`` (for error messages)."""
    return (f"To get the files by hand, download the repository at commit {LIDC_GDRO_COMMIT}: "
            f"https://github.com/{LIDC_GDRO_REPO}/archive/{LIDC_GDRO_COMMIT}.tar.gz "
            f"(or: git clone https://github.com/{LIDC_GDRO_REPO}.git && "
            f"git -C LIDC_GDRO checkout {LIDC_GDRO_COMMIT}), then set {LIDC_CROPS_ENV} to the folder that "
            "contains data/ (or to a .tar.gz of it). Running this fetch again later resumes where it stopped.")


def fetch_lidc_crops(dest: Path | str | None = None, *, progress: bool = True, opener: Opener | None = None,
                     workers: int = 8, timeout: float = 30.0) -> Path:
    """Download and verify the LIDC max-slice crops of ``mtzig/LIDC_GDRO`` (pinned commit).

    Only the files of `lidc_crops_manifest` are fetched, each from its raw URL at
    `LIDC_GDRO_COMMIT` (so a later push to the repository cannot change what is downloaded), each
    checked against its shipped SHA-256 before it is written atomically. Files already present with
    the right digest are skipped: an interrupted fetch resumes, a completed one downloads nothing.

    Parameters
    ----------
    dest : path, optional
        Target folder (default `lidc_crops_fetch_dir`); files keep the repository layout, e.g.
        ``dest/data/LIDC(MaxSlices)_Nodules/1.txt``.
    progress : bool
        tqdm bar over files.
    opener : callable, optional
        ``opener(url, timeout=...)`` returning a readable response context manager; defaults to
        `urllib.request.urlopen` (tests pass a fake to serve bytes or to go offline).
    workers : int
        Concurrent downloads (the files are small, so latency, not bandwidth, dominates).
    timeout : float
        Seconds per request.

    Returns
    -------
    Path
        ``dest`` (the folder that contains ``data/``; the ``lidc-crops`` source finds the default
        location by itself, or set ``SOFTNODULE_LIDC_CROPS`` to it).

    Raises
    ------
    FetchError
        No network or an HTTP error (the message says how to get the files by hand), or a checksum
        mismatch naming the file, the expected and the received digest (nothing is written for that
        file). On the first error the downloads not yet started are cancelled; files already
        verified and written stay, so the next run resumes.
    """
    from tqdm.auto import tqdm

    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    dest = Path(dest) if dest is not None else lidc_crops_fetch_dir()
    manifest = lidc_crops_manifest()
    by_hand = lidc_crops_by_hand()

    def one(path: str) -> bool:
        return _fetch_verified(lidc_crops_url(path), dest / path, manifest[path], name=path, timeout=timeout,
                               opener=opener, by_hand=by_hand)

    downloaded = 0
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lidc-fetch")
    try:
        with tqdm(total=len(manifest), desc="LIDC crops", unit="file", disable=not progress) as bar:
            futures = [pool.submit(one, path) for path in sorted(manifest)]
            for future in as_completed(futures):
                downloaded += future.result()  # re-raises the first FetchError
                bar.update(1)
                bar.set_postfix(downloaded=downloaded, refresh=False)
    finally:
        # on an error or Ctrl-C: drop what has not started, let the few running downloads finish
        pool.shutdown(wait=True, cancel_futures=True)
    return dest


def verify_lidc_crops(folder: Path | str, *, check_digests: bool = True) -> list[str]:
    """Problems of a local copy of the LIDC crops in the repository layout (empty list: all good).

    Parameters
    ----------
    folder : path
        The folder that contains ``data/`` (a fetch folder, or a clone / unpacked tarball of
        ``mtzig/LIDC_GDRO``).
    check_digests : bool
        Also compare every file's SHA-256 with the manifest (reads ~330 MB); when False only
        presence is checked (and that files are not empty).

    Returns
    -------
    list of str
        One human-readable line per problem: the folder itself is missing or is ``data/`` rather than
        its parent, a file is missing or empty, or a file's digest is wrong (expected and found).
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return [f"{folder} is not a folder; expected the folder that contains data/ (see `softnodule data "
                "fetch lidc-crops`)"]
    if not (folder / "data").is_dir() and (folder / "LIDC(MaxSlices)_Nodules").is_dir():
        return [f"{folder} is the data/ folder itself; point at its parent {folder.parent} instead"]
    problems: list[str] = []
    for path, expected in sorted(lidc_crops_manifest().items()):
        target = folder / path
        if not target.is_file():
            problems.append(f"missing: {target}")
        elif target.stat().st_size == 0:
            problems.append(f"empty: {target}")
        elif check_digests and (got := _file_sha256(target)) != expected:
            problems.append(f"wrong sha256 for {target}: expected {expected}, got {got}")
    return problems


def lidc_crops_fetched() -> bool:
    """Whether `lidc_crops_fetch_dir` holds every manifest file (cheap: presence and non-zero size).

    Digests are not re-read: `fetch_lidc_crops` only ever writes verified files (atomically) and
    removes wrong ones, so presence in the fetch folder stands for "verified". Use
    `verify_lidc_crops` for a full check.
    """
    folder = lidc_crops_fetch_dir()
    if not (folder / "data").is_dir():
        return False
    for path in lidc_crops_manifest():
        try:
            if (folder / path).stat().st_size == 0:
                return False
        except OSError:
            return False
    return True


def promise12_instructions() -> tuple[bool, str]:
    """What to do for PROMISE12, and whether a valid folder is already configured.

    Returns
    -------
    ok : bool
        True when ``SOFTNODULE_PROMISE12_DIR`` (or the default folder) holds a valid layout.
    text : str
        Registration URL, expected layout, the env var, and the configured folder's check.
    """
    from .datasets.promise12 import REGISTRATION_URL, fetch_target, layout_problems, list_cases

    lines = [
        f"PROMISE12 has no anonymous download: register at {REGISTRATION_URL} and download the",
        "training data (50 cases). Unpack it into one folder with this layout:",
        "  CaseNN.mhd + CaseNN.raw                            (T2-weighted MRI, NN = 00..49)",
        "  CaseNN_segmentation.mhd + CaseNN_segmentation.raw  (prostate mask)",
        "then: export SOFTNODULE_PROMISE12_DIR=/path/to/that/folder",
    ]
    env = os.environ.get("SOFTNODULE_PROMISE12_DIR")
    folder = Path(env).expanduser() if env else fetch_target()
    if not env and not folder.is_dir():
        lines.append(f"SOFTNODULE_PROMISE12_DIR is not set and {folder} does not exist.")
        return False, "\n".join(lines)
    problems = layout_problems(folder)
    cases = list_cases(folder)
    label = f"SOFTNODULE_PROMISE12_DIR={folder}" if env else str(folder)
    if problems or not cases:
        lines.append(f"{label}: NOT usable:")
        lines += [f"  - {p}" for p in problems[:20]]
        if len(problems) > 20:
            lines.append(f"  ... {len(problems) - 20} more")
        return False, "\n".join(lines)
    extra = "" if len(cases) == 50 else f" (the challenge has 50; {len(cases)} found)"
    lines.append(f"{label}: OK, {len(cases)} case(s){extra}: {cases[0]} .. {cases[-1]}")
    return True, "\n".join(lines)
