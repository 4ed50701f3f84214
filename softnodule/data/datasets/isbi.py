"""ISBI 2012 EM membrane segmentation as a Soft Mask dataset (DSNet §IV-D, Table VII, left column).

The 30 training slices of the ISBI 2012 challenge (512x512 uint8 serial-section EM, labels 255 =
cell interior, 0 = membrane) are the only labelled ISBI data (the test labels were never released),
so Table VII's ISBI column is re-run as a 4-fold cross-validation BY SLICE: one slice's tiles never
land in two splits. Pipeline per slice: area-downsample 512 -> ``size`` (image: mean; label: mean
then >= 0.5), Soft Mask by strategy (1) on the WHOLE downsampled slice (foreground = cell interior,
``window=(0, 255)``, erosion / dilation 1 px), then non-overlapping ``tile`` x ``tile`` tiles.

Why 1 px: membranes (20 % of the pixels) are 2-6 px wide at 512, 1-3 px at 256, so the band
(erosion + dilation) must stay narrower than a membrane. Measured on the 30 slices at 256: 1 px
leaves 4-13 % sure background (membrane cores) and 20-26 % unknown; 2 px leaves 0.6-6 % background
and 34-44 % unknown, i.e. the dilation swallows most membranes from both sides and matting would
have almost no membrane sample to learn the background colour from. (At 128: 1-7 % with 1 px.)

Where the data is: ``SOFTNODULE_ISBI_DIR``, else ``cache_dir()/downloads/isbi2012`` (where
``softnodule data fetch isbi2012`` puts it). Nowhere else: a copy elsewhere is used by pointing
``SOFTNODULE_ISBI_DIR`` at it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ...config import cache_dir
from ...io import atomic_write_bytes
from .torch_data import ArraySplits, SegmentationArrays

#: Bump when downsampling or labelling changes, so cached Soft Masks are rebuilt.
ISBI_CODE_VERSION = 1
N_TRAIN = 30
FULL_SIZE = 512
ERODE_PX = 1
DILATE_PX = 1
EPS = 1e-5


class IsbiMissing(FileNotFoundError):
    """The ISBI 2012 training slices were found nowhere (the message says where we looked)."""


def fetch_target() -> Path:
    """Folder ``softnodule data fetch isbi2012`` downloads into."""
    return cache_dir() / "downloads" / "isbi2012"


def _problem(root: Path) -> str | None:
    """Why ``root`` is not a complete ISBI training folder, or None when it is."""
    if not root.is_dir():
        return "no such folder"
    missing = [f"{k}/{i}.png" for k in ("image", "label") for i in range(N_TRAIN)
               if not (root / "train" / k / f"{i}.png").is_file()]
    if missing:
        return f"{len(missing)} of {2 * N_TRAIN} files missing under train/ (first: {missing[0]})"
    return None


def _candidates() -> list[tuple[str, Path]]:
    """``(label, folder)`` looked at, in priority order: ``SOFTNODULE_ISBI_DIR`` when set, the fetch target."""
    out = []
    env = os.environ.get("SOFTNODULE_ISBI_DIR")
    if env:
        out.append(("SOFTNODULE_ISBI_DIR", Path(env).expanduser()))
    out.append(("fetch target", fetch_target()))
    return out


def isbi_root() -> Path | None:
    """The first complete ISBI folder among ``SOFTNODULE_ISBI_DIR`` and the fetch target, or None."""
    for _, path in _candidates():
        if _problem(path) is None:
            return path
    return None


def require_isbi_root() -> Path:
    """`isbi_root`, or `IsbiMissing` listing every place looked at and how to get the data."""
    root = isbi_root()
    if root is not None:
        return root
    looked = "; ".join(f"{label} {path} ({_problem(path)})" for label, path in _candidates())
    raise IsbiMissing(
        f"ISBI 2012 training data not found. Looked at: {looked}. Get it with "
        "`softnodule data fetch isbi2012`, or copy a folder holding train/image/{0..29}.png and "
        "train/label/{0..29}.png and set SOFTNODULE_ISBI_DIR to it.")


def _read_png(path: Path) -> np.ndarray:
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ValueError(f"{path}: not a readable PNG")
    if arr.ndim != 2 or arr.dtype != np.uint8 or arr.shape != (FULL_SIZE, FULL_SIZE):
        raise ValueError(f"{path}: expected a uint8 {FULL_SIZE}x{FULL_SIZE} grey image, got "
                         f"{arr.dtype} {arr.shape}")
    return arr


def load_isbi_train(root: Path | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 30 training slices and their labels.

    Parameters
    ----------
    root : path, optional
        Folder holding ``train/image`` and ``train/label`` (default: `require_isbi_root`).

    Returns
    -------
    images : ndarray, uint8, (30, 512, 512)
    labels : ndarray, bool, (30, 512, 512)
        True = cell interior (the foreground), False = membrane. Label pixels are thresholded at
        128 (the released PNGs hold only 0 and 255).
    """
    root = Path(root) if root is not None else require_isbi_root()
    problem = _problem(root)
    if problem is not None:
        raise IsbiMissing(f"{root} is not an ISBI 2012 training folder: {problem}")
    images = np.stack([_read_png(root / "train" / "image" / f"{i}.png") for i in range(N_TRAIN)])
    labels = np.stack([_read_png(root / "train" / "label" / f"{i}.png") for i in range(N_TRAIN)]) >= 128
    return images, labels


def isbi_folds(n_slices: int = N_TRAIN, folds: int = 4, val_per_fold: int = 3,
               seed: int = 0) -> list[dict[str, list[int]]]:
    """K-fold cross-validation by slice.

    Test sets are contiguous blocks of z (8/8/7/7 for 30 slices and 4 folds): neighbouring serial
    sections are nearly alike, so a block keeps most test slices away from training neighbours.
    ``val_per_fold`` validation slices are drawn (seeded by ``(seed, fold)``) from the rest; the
    remainder is the training set. Every slice is a test slice exactly once.
    """
    if folds < 2 or n_slices < folds:
        raise ValueError(f"need 2 <= folds <= n_slices, got folds={folds}, n_slices={n_slices}")
    blocks = np.array_split(np.arange(n_slices), folds)
    out = []
    for k, test in enumerate(blocks):
        rest = np.setdiff1d(np.arange(n_slices), test)
        if not 0 <= val_per_fold < len(rest):
            raise ValueError(f"val_per_fold={val_per_fold} leaves no training slice in fold {k}")
        val = np.sort(np.random.default_rng([seed, k]).choice(rest, size=val_per_fold, replace=False))
        train = np.setdiff1d(rest, val)
        out.append({"train": train.tolist(), "val": val.tolist(), "test": test.tolist()})
    return out


def downsample(image: np.ndarray, label: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Area-downsample one slice: image -> float32 mean, label -> mean >= 0.5."""
    img = cv2.resize(image.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    lab = cv2.resize(label.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA) >= 0.5
    return img, lab


def soft_cache_key(size: int, source_digest: str) -> str:
    """Key of the per-slice Soft Mask cache (size, trimap radii, eps, code, source pixels)."""
    payload = json.dumps({"size": size, "erode_px": ERODE_PX, "dilate_px": DILATE_PX, "eps": EPS,
                          "code": ISBI_CODE_VERSION, "source": source_digest}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def soft_slice(image: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Soft Mask of one downsampled slice by strategy (1); degenerate slices get a note.

    A slice without foreground gets alpha = 0, one without membrane alpha = 1 (no trimap can be
    built around nothing); both are reported, never silent.
    """
    from ...matting.pipeline import soft_mask_from_mask

    if not label.any():
        return np.zeros(label.shape, np.float32), ["degenerate: no cell interior; soft = 0"]
    if label.all():
        return np.ones(label.shape, np.float32), ["degenerate: no membrane; soft = 1"]
    sm = soft_mask_from_mask(image, label, window=(0, 255), erode_px=ERODE_PX, dilate_px=DILATE_PX, eps=EPS)
    return sm.alpha.astype(np.float32), list(sm.notes)


def isbi_soft_masks(size: int = 256, *, root: Path | str | None = None, progress: bool = True
                    ) -> dict[str, Any]:
    """Downsampled images, labels and Soft Masks of all 30 slices, cached per slice.

    Returns ``{"image", "label", "soft"}`` arrays (30, size, size) plus ``notes`` (per-slice
    adjustment notes), ``key``, ``root`` and ``seconds`` (time spent matting in this call).
    Each slice's Soft Mask is one ``slice_NN.npz`` under ``cache_dir()/datasets/isbi2012-<key>/``,
    written atomically, so an interrupted build resumes where it stopped.
    """
    from tqdm.auto import tqdm

    if not 8 <= size <= FULL_SIZE:
        raise ValueError(f"size must lie in [8, {FULL_SIZE}], got {size}")
    root = Path(root) if root is not None else require_isbi_root()
    images, labels = load_isbi_train(root)
    digest = hashlib.sha256(images.tobytes() + np.packbits(labels).tobytes()).hexdigest()
    key = soft_cache_key(size, digest)
    folder = cache_dir() / "datasets" / f"isbi2012-{key}"
    small = [downsample(images[i], labels[i], size) for i in range(N_TRAIN)]
    soft = np.zeros((N_TRAIN, size, size), np.float32)
    notes: dict[int, list[str]] = {}
    todo = []
    for i in range(N_TRAIN):
        path = folder / f"slice_{i:02d}.npz"
        if path.exists():
            with np.load(path, allow_pickle=False) as z:
                soft[i] = z["soft"]
                notes[i] = [str(n) for n in z["notes"]]
        else:
            todo.append(i)
    t0 = time.perf_counter()
    for i in tqdm(todo, desc=f"ISBI Soft Masks {size}px", unit="slice", disable=not progress or not todo):
        soft[i], notes[i] = soft_slice(*small[i])
        buf = io.BytesIO()
        np.savez_compressed(buf, soft=soft[i], notes=np.array(notes[i], dtype=str))
        atomic_write_bytes(folder / f"slice_{i:02d}.npz", buf.getvalue())
    return {"image": np.stack([s[0] for s in small]), "label": np.stack([s[1] for s in small]), "soft": soft,
            "notes": notes, "key": key, "root": str(root), "seconds": round(time.perf_counter() - t0, 2)}


def tiles(arr: np.ndarray, tile: int) -> np.ndarray:
    """(N, S, S) -> (N * (S/tile)^2, tile, tile), row-major tiles of each slice in turn."""
    n, s, _ = arr.shape
    g = s // tile
    return arr.reshape(n, g, tile, g, tile).transpose(0, 1, 3, 2, 4).reshape(n * g * g, tile, tile)


def isbi_dataset(fold: int, *, size: int = 256, tile: int = 64, folds: int = 4, val_per_fold: int = 3,
                 seed: int = 0, progress: bool = True, root: Path | str | None = None) -> ArraySplits:
    """One cross-validation fold of ISBI 2012 as model-ready tiles.

    Parameters
    ----------
    fold : int
        Which fold's test block (0 .. folds-1).
    size : int
        Side after area-downsampling 512 -> ``size`` (256 as the paper's inputs; 128 for tests).
    tile : int
        Side of the non-overlapping tiles cut from each slice (must divide ``size``).
    folds, val_per_fold, seed
        As in `isbi_folds`.
    progress : bool
        tqdm bar while Soft Masks are computed (~0.2-0.3 s per 256x256 slice on 2 cores).
    root : path, optional
        Data folder (default: `require_isbi_root`).

    Returns
    -------
    ArraySplits
        ``train`` / ``val`` / ``test`` with image (x/255)*2-1, soft in [0, 1] and binary = the
        dataset's label (cell interior), all (N, 1, tile, tile) float32; ids ``isbi/sNN/tMM``.
    """
    if tile < 1 or size % tile:
        raise ValueError(f"tile must divide size, got size={size}, tile={tile}")
    plan = isbi_folds(N_TRAIN, folds, val_per_fold, seed)
    if not 0 <= fold < folds:
        raise ValueError(f"fold must lie in [0, {folds - 1}], got {fold}")
    data = isbi_soft_masks(size, root=root, progress=progress)
    per = (size // tile) ** 2
    splits = {}
    for name, idx in plan[fold].items():
        sl = np.asarray(idx, dtype=int)
        image = tiles(data["image"][sl] / 255.0 * 2.0 - 1.0, tile)
        splits[name] = SegmentationArrays(
            image=image[:, None].astype(np.float32), soft=tiles(data["soft"][sl], tile)[:, None].astype(np.float32),
            binary=tiles(data["label"][sl].astype(np.float32), tile)[:, None],
            ids=[f"isbi/s{s:02d}/t{t:02d}" for s in idx for t in range(per)])
    degenerate = {i: n for i, n in data["notes"].items() if any(x.startswith("degenerate") for x in n)}
    adjusted = {i: n for i, n in data["notes"].items() if n and i not in degenerate}
    key = hashlib.sha256(json.dumps([data["key"], fold, folds, val_per_fold, seed, tile]).encode()).hexdigest()[:12]
    notes = {
        "source": data["root"], "soft_cache_key": data["key"], "size": size, "tile": tile,
        "fold": fold, "folds": folds, "seed": seed, "slices": plan[fold],
        "strategy": f"(1) erode {ERODE_PX} px / dilate {DILATE_PX} px, window (0, 255), eps {EPS}",
        "degenerate_slices": len(degenerate), "degenerate_notes": {str(k): v for k, v in degenerate.items()},
        "trimap_adjusted_slices": {str(k): v for k, v in adjusted.items()},
        "soft_seconds": data["seconds"],
    }
    return ArraySplits(f"isbi2012-f{fold}", key, splits, notes)
