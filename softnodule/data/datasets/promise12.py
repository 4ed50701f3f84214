"""PROMISE12 prostate MRI as a Soft Mask dataset (DSNet §IV-D, Table VII, right column).

The challenge's 50 training cases come as MetaImage pairs ``CaseNN.mhd/.raw`` (T2-weighted volume)
and ``CaseNN_segmentation.mhd/.raw`` (prostate mask), NN = 00..49. They are not downloadable
without registering at https://promise12.grand-challenge.org, so nothing here fetches them: point
``SOFTNODULE_PROMISE12_DIR`` at the folder (or put it at ``cache_dir()/downloads/promise12``).

Pipeline per case: read with SimpleITK, normalise intensities per case (1st-99th percentile ->
[-1, 1], clipped), keep the axial slices that contain prostate (slices without prostate are left
out and counted in ``notes``: strategy (1) needs a mask to build a trimap around), resize each to
``size`` x ``size`` (``skimage.transform.resize``, anti-aliased; label: same resize of the 0/1 mask,
then >= 0.5), Soft Mask by strategy (1) with ``window=(-1, 1)``. Folds split by CASE.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ...config import cache_dir
from ...io import atomic_write_bytes
from .torch_data import ArraySplits, SegmentationArrays

REGISTRATION_URL = "https://promise12.grand-challenge.org"
PROMISE12_CODE_VERSION = 1
_CASE_RE = re.compile(r"^Case(\d{2})\.mhd$")


class Promise12Missing(FileNotFoundError):
    """No PROMISE12 training folder is configured (the message says how to get one)."""


def read_metaimage(path: str | os.PathLike[str]) -> tuple[np.ndarray, tuple[float, ...]]:
    """Read a MetaImage (``.mhd`` + its data file) with SimpleITK.

    Returns
    -------
    array : ndarray, (z, y, x)
        The voxels in the file's own dtype (SimpleITK's numpy order).
    spacing : tuple of float, (x, y, z)
        Voxel spacing in mm, ITK order.
    """
    import SimpleITK as sitk

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such MetaImage header")
    img = sitk.ReadImage(str(path))
    return sitk.GetArrayFromImage(img), tuple(float(s) for s in img.GetSpacing())


def fetch_target() -> Path:
    """Default folder looked at when ``SOFTNODULE_PROMISE12_DIR`` is unset."""
    return cache_dir() / "downloads" / "promise12"


def list_cases(root: Path | str) -> list[str]:
    """Case names (``Case00`` ...) that have both the volume and the segmentation header."""
    root = Path(root)
    if not root.is_dir():
        return []
    names = sorted(f"Case{m.group(1)}" for p in root.iterdir() if (m := _CASE_RE.match(p.name)))
    return [n for n in names if (root / f"{n}_segmentation.mhd").is_file()]


def layout_problems(root: Path | str) -> list[str]:
    """What is wrong with a PROMISE12 training folder (empty list = usable)."""
    root = Path(root)
    if not root.is_dir():
        return [f"{root}: no such folder"]
    problems = []
    vols = sorted(p.name for p in root.glob("Case*.mhd") if _CASE_RE.match(p.name))
    if not vols:
        problems.append(f"{root}: no CaseNN.mhd files")
    for v in vols:
        seg = v.replace(".mhd", "_segmentation.mhd")
        if not (root / seg).is_file():
            problems.append(f"{v} has no {seg}")
        for header in (v, seg):
            data = _data_file(root / header)
            if data is not None and not (root / data).is_file():
                problems.append(f"{header} points at {data}, which is missing")
    return problems


def _data_file(header: Path) -> str | None:
    """The ``ElementDataFile`` a MetaImage header names (None: unreadable header or LOCAL data)."""
    try:
        for line in header.read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "ElementDataFile":
                value = value.strip()
                return None if value.upper() == "LOCAL" else value
    except OSError:
        return None
    return None


def promise12_root() -> Path | None:
    """``SOFTNODULE_PROMISE12_DIR`` or the default folder, when it holds at least one case."""
    env = os.environ.get("SOFTNODULE_PROMISE12_DIR")
    path = Path(env).expanduser() if env else fetch_target()
    return path if list_cases(path) else None


def missing_message() -> str:
    """How to get PROMISE12 and where to put it."""
    env = os.environ.get("SOFTNODULE_PROMISE12_DIR")
    where = f"SOFTNODULE_PROMISE12_DIR={env}" if env else f"{fetch_target()} (SOFTNODULE_PROMISE12_DIR unset)"
    return (f"PROMISE12 training data not found at {where}. It cannot be downloaded anonymously: "
            f"register at {REGISTRATION_URL}, download the training data, unpack CaseNN.mhd/.raw and "
            "CaseNN_segmentation.mhd/.raw (NN = 00..49) into one folder and set "
            "SOFTNODULE_PROMISE12_DIR to it.")


def require_promise12_root() -> Path:
    """`promise12_root` or `Promise12Missing`."""
    root = promise12_root()
    if root is None:
        raise Promise12Missing(missing_message())
    return root


def normalise(volume: np.ndarray) -> np.ndarray:
    """Per-case 1st-99th percentile -> [-1, 1], clipped (float32): scanners differ in scale."""
    v = volume.astype(np.float64)
    lo, hi = np.percentile(v, [1.0, 99.0])
    if hi <= lo:
        hi = lo + 1.0
    return (np.clip((v - lo) / (hi - lo), 0.0, 1.0) * 2.0 - 1.0).astype(np.float32)


def case_rows(root: Path, case: str, size: int, erode_px: int, dilate_px: int, eps: float
              ) -> dict[str, Any]:
    """Image / label / soft (k, size, size) of one case's prostate slices, plus counts and notes."""
    from skimage.transform import resize

    from ...matting.pipeline import soft_mask_from_mask

    vol, spacing = read_metaimage(root / f"{case}.mhd")
    seg, _ = read_metaimage(root / f"{case}_segmentation.mhd")
    if vol.shape != seg.shape:
        raise ValueError(f"{case}: volume {vol.shape} and segmentation {seg.shape} differ in shape")
    norm = normalise(vol)
    images, labels, softs, notes, kept, dropped = [], [], [], [], [], 0
    with_prostate = [z for z in range(seg.shape[0]) if (seg[z] > 0).any()]
    for z in with_prostate:
        img = resize(norm[z], (size, size), order=1, anti_aliasing=True, preserve_range=True)
        lab = resize((seg[z] > 0).astype(np.float32), (size, size), order=1, anti_aliasing=True) >= 0.5
        if not lab.any() or lab.all():
            dropped += 1
            continue
        sm = soft_mask_from_mask(np.clip(img, -1.0, 1.0), lab, window=(-1.0, 1.0), erode_px=erode_px,
                                 dilate_px=dilate_px, eps=eps)
        images.append(np.clip(img, -1.0, 1.0).astype(np.float32))
        labels.append(lab)
        softs.append(sm.alpha)
        kept.append(z)
        notes += [f"{case} z{z}: {n}" for n in sm.notes]
    empty = np.zeros((0, size, size), np.float32)
    return {"image": np.stack(images) if images else empty, "label": np.stack(labels) if labels else empty,
            "soft": np.stack(softs) if softs else empty, "slices": kept,
            "n_slices": int(seg.shape[0]), "n_prostate": len(with_prostate), "dropped_small": dropped,
            "spacing": spacing, "shape": list(vol.shape), "notes": notes}


def promise12_folds(cases: list[str], folds: int = 4, val_cases: int = 5, seed: int = 0
                    ) -> list[dict[str, list[str]]]:
    """Case-level K-fold: a seeded permutation cut into ``folds`` test blocks; ``val_cases`` seeded
    validation cases from the rest; the remainder trains. Every case is tested exactly once."""
    n = len(cases)
    if folds < 2 or n < folds:
        raise ValueError(f"need 2 <= folds <= cases, got folds={folds} with {n} case(s)")
    order = np.random.default_rng(seed).permutation(n)
    out = []
    for k, test in enumerate(np.array_split(order, folds)):
        rest = np.setdiff1d(np.arange(n), test)
        if not 0 <= val_cases < len(rest):
            raise ValueError(f"val_cases={val_cases} leaves no training case in fold {k} ({len(rest)} left)")
        val = np.random.default_rng([seed, k]).choice(rest, size=val_cases, replace=False)
        train = np.setdiff1d(rest, val)
        out.append({s: sorted(cases[i] for i in idx) for s, idx in (("train", train), ("val", val), ("test", test))})
    return out


def _case_fingerprint(root: Path, case: str) -> str:
    """Sizes and mtimes of a case's four files (cache invalidation when the data changes)."""
    parts = []
    for p in sorted(root.glob(f"{case}.*")) + sorted(root.glob(f"{case}_segmentation.*")):
        st = p.stat()
        parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _cached_case(root: Path, case: str, spec: dict[str, Any]) -> dict[str, Any]:
    """`case_rows` through a per-case cache ``cache_dir()/datasets/promise12-<size>/<case>-<key>.npz``.

    The key hashes the spec, the code version and the case files' sizes and mtimes, so edited data or
    code is rebuilt; stale entries are simply never read again.
    """
    key = hashlib.sha256(json.dumps({**spec, "code": PROMISE12_CODE_VERSION,
                                     "case": _case_fingerprint(root, case)}, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir() / "datasets" / f"promise12-{spec['size']}" / f"{case}-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return {"image": z["image"], "label": z["label"], "soft": z["soft"], **meta, "key": key}
    rows = case_rows(root, case, **spec)
    meta = {k: v for k, v in rows.items() if k not in ("image", "label", "soft")}
    buf = io.BytesIO()
    np.savez_compressed(buf, image=rows["image"], label=rows["label"], soft=rows["soft"], meta=json.dumps(meta))
    atomic_write_bytes(path, buf.getvalue())
    return {**rows, "key": key}


def promise12_dataset(fold: int, *, size: int = 64, folds: int = 4, val_cases: int = 5, seed: int = 0,
                      erode_px: int = 2, dilate_px: int = 2, eps: float = 1e-5, progress: bool = True,
                      root: Path | str | None = None) -> ArraySplits:
    """One case-level fold of PROMISE12 as model-ready slices.

    Parameters
    ----------
    fold : int
        Test block (0 .. folds-1).
    size : int
        Side of the resized axial slices.
    folds, val_cases, seed
        As in `promise12_folds` (5 validation cases of ~13 prostate slices echo the paper's 65).
    erode_px, dilate_px, eps
        Strategy (1) trimap radii and matting regularisation.
    progress : bool
        tqdm bar over cases.
    root : path, optional
        Data folder (default: `require_promise12_root`).

    Returns
    -------
    ArraySplits
        Named ``promise12-f{fold}``; image in [-1, 1], soft in [0, 1], binary = the resized
        segmentation, all (N, 1, size, size) float32; ids ``promise12/CaseNN/zKK``.
    """
    from tqdm.auto import tqdm

    root = Path(root) if root is not None else require_promise12_root()
    cases = list_cases(root)
    if not cases:
        raise Promise12Missing(missing_message())
    plan = promise12_folds(cases, folds, val_cases, seed)
    if not 0 <= fold < folds:
        raise ValueError(f"fold must lie in [0, {folds - 1}], got {fold}")
    spec = {"size": size, "erode_px": erode_px, "dilate_px": dilate_px, "eps": eps}
    rows = {c: _cached_case(root, c, spec) for c in tqdm(cases, desc="PROMISE12 cases", disable=not progress)}
    splits = {}
    for name, members in plan[fold].items():
        parts = [rows[c] for c in members]
        ids = [f"promise12/{c}/z{z:02d}" for c in members for z in rows[c]["slices"]]
        splits[name] = SegmentationArrays(
            image=np.concatenate([p["image"] for p in parts])[:, None].astype(np.float32),
            soft=np.concatenate([p["soft"] for p in parts])[:, None].astype(np.float32),
            binary=np.concatenate([p["label"] for p in parts])[:, None].astype(np.float32), ids=ids)
    key = hashlib.sha256(json.dumps([spec, fold, folds, val_cases, seed, PROMISE12_CODE_VERSION,
                                     [rows[c]["key"] for c in cases]]).encode()).hexdigest()[:12]
    notes = {
        "source": str(root), "size": size, "fold": fold, "folds": folds, "seed": seed, "cases": plan[fold],
        "strategy": f"(1) erode {erode_px} px / dilate {dilate_px} px, window (-1, 1), eps {eps}",
        "slices_without_prostate_excluded": sum(r["n_slices"] - r["n_prostate"] for r in rows.values()),
        "slices_dropped_after_resize": sum(r["dropped_small"] for r in rows.values()),
        "spacing_xyz": {c: r["spacing"] for c, r in rows.items()},
        "trimap_notes": [n for r in rows.values() for n in r["notes"]],
    }
    return ArraySplits(f"promise12-f{fold}", key, splits, notes)
