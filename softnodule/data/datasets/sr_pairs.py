"""Self-supervised super-resolution pairs: high-resolution CT patches and their down-sampled inputs.

DSNet (III-B3) trains SRGAN on DeepLesion slices down-sampled 512 -> 128 and uses the result as a
frozen teacher. The high-resolution images here follow the datasets' image source:

* real datasets (``lidc-crops``, ``lidc-dicom``, ``deeplesion``): their own real TRAINING crops
  (validation crops held out for PSNR/SSIM), capped at the profile's ``sr_images``;
* phantom datasets: phantom renderings (`phantom.render_case`) of the training nodules of both
  datasets, at the scan's real pixel spacing and ``hr_size`` pixels wide (offline, nothing to download);
* real LIDC-IDRI slices, cut into ``hr_size`` patches of chest (not air), when the user's DICOM folder
  is configured (``SOFTNODULE_LIDC_DIR``), from the TRAINING-split patients only (the SR model is a
  frozen teacher of the segmentation models: it must not have seen their test patients). The last of
  those patients is held out for evaluation.

DeepLesion key slices distributed as 8-bit JPEGs are not used: JPEG blocking would be learnt as
"detail". Low-resolution inputs are area averages (the partial-volume rule);
inference: the paper does not say how it down-samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ...matting.window import hu_to_unit
from ..case import NoduleRecord
from .splits import stable_seed


def to_model_range(image_hu: np.ndarray) -> np.ndarray:
    """HU -> float32 in [-1, 1] through the lung window (the models' input convention)."""
    return (hu_to_unit(np.asarray(image_hu, dtype=np.float64)) * 2.0 - 1.0).astype(np.float32)


@dataclass
class SRImageSet:
    """High-resolution patches (N, 1, S, S) in [-1, 1] and where each came from."""

    hr: np.ndarray
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.hr.shape[0])

    def counts(self) -> dict[str, int]:
        """Patches per source kind (``phantom`` / ``lidc-dicom``)."""
        kinds = [s.split(":")[0] for s in self.sources]
        return {k: kinds.count(k) for k in sorted(set(kinds))}

    @staticmethod
    def concat(sets: Sequence[SRImageSet], size: int) -> SRImageSet:
        """Join several sets (an empty list gives an empty set of side ``size``)."""
        sets = [s for s in sets if len(s)]
        if not sets:
            return SRImageSet(np.zeros((0, 1, size, size), np.float32), [])
        return SRImageSet(np.concatenate([s.hr for s in sets]), [x for s in sets for x in s.sources])


def phantom_hr_images(records: Sequence[NoduleRecord], n: int, size: int, *, seed: int = 0,
                      appearances: Sequence[str] = ("lnsm", "lidc"), progress: bool = False) -> SRImageSet:
    """Render ``n`` phantom crops of ``size`` pixels around ``records`` (cycled, new seed per cycle).

    Records whose contours cannot be rasterised are skipped (the same rule as the dataset builder).
    """
    from tqdm.auto import tqdm

    from ..sources.phantom import APPEARANCES, render_case

    if not records:
        raise ValueError("phantom_hr_images: no records to render")
    images, sources = [], []
    bar = tqdm(total=n, desc="SR phantoms", disable=not progress, leave=False)
    k = 0
    while len(images) < n and k < 4 * n + len(records):
        rec = records[k % len(records)]
        cycle = k // len(records)
        look = appearances[k % len(appearances)]
        k += 1
        try:
            case = render_case(rec, size=size, seed=seed + cycle, appearance=APPEARANCES[look])
        except ValueError:
            continue
        images.append(to_model_range(case.image)[None])
        sources.append(f"phantom:{rec.nodule_id}@{look}#{cycle}")
        bar.update(1)
    bar.close()
    return SRImageSet(np.stack(images).astype(np.float32), sources)


#: Default cap on real patches: 256 slices at 8 patches each, so a full download is never read whole.
MAX_REAL_PATCHES = 2048
#: Default cap on slices read per series (evenly spaced in z); a small sample's slabs are read whole.
MAX_REAL_SLICES_PER_SERIES = 32


def real_ct_patches(size: int, per_slice: int = 8, *, seed: int = 0, min_body_fraction: float = 0.5,
                    patients: set[str] | frozenset[str] | None = None, allow_any_patient: bool = False,
                    max_patches: int | None = MAX_REAL_PATCHES,
                    max_slices_per_series: int | None = MAX_REAL_SLICES_PER_SERIES) -> dict[str, SRImageSet]:
    """Patches of chest CT from the DICOM root (``SOFTNODULE_LIDC_DIR``), per patient, allowed patients only.

    Parameters
    ----------
    size : int
        Patch side in pixels.
    per_slice : int
        Patches drawn per slice (seeded per series).
    seed : int
        Sampling seed.
    min_body_fraction : float
        A patch is kept when at least this fraction of it is not outside-body air (HU > -950), so the
        SR model sees parenchyma, vessels and walls rather than empty air.
    patients : set of str
        The patients whose scans may be used: the caller passes its TRAINING-split patients, so the
        SR teacher never sees a validation or test patient. Patients absent from the root are
        ignored.
    allow_any_patient : bool
        Must be True to pass ``patients=None`` (every patient under the root): an explicit opt-in,
        for uses where no segmentation split is at stake.
    max_patches : int or None
        Stop once this many patches are collected (None: no cap). Series are visited in sorted
        patient order, so a cap keeps the first patients.
    max_slices_per_series : int or None
        Slices read per series, evenly spaced in z (None: all).

    Returns
    -------
    dict
        ``{patient: SRImageSet}`` sorted by patient; ``{}`` when no DICOM root is configured or none of
        the allowed patients is under it. Sources are ``"lidc-dicom:<patient>:z<z>"``.

    Raises
    ------
    ValueError
        When ``patients`` is None and ``allow_any_patient`` is not set.
    """
    from ..lidc.index import lidc_dicom_root
    from ..sources.lidc_dicom import _slice_positions, ct_series_dirs, evenly_spaced, read_slice_hu

    if patients is None and not allow_any_patient:
        raise ValueError(
            "real_ct_patches: pass patients= (the training-split patients) so that no validation or test "
            "patient's CT reaches the SR teacher; pass allow_any_patient=True to use every patient on purpose")
    allowed = None if patients is None else frozenset(patients)
    if allowed is not None and not allowed:
        return {}
    root = lidc_dicom_root()
    if root is None or not root.is_dir():
        return {}
    out: dict[str, list[tuple[np.ndarray, str]]] = {}
    total = 0
    for patient, series in ct_series_dirs(root, patients=allowed):
        rng = np.random.default_rng(stable_seed(f"sr-real:{series.name}", seed))
        positions = _slice_positions(series)
        for i in evenly_spaced(len(positions), max_slices_per_series):
            if max_patches is not None and total >= max_patches:
                break
            z = positions[i][0]
            hu, _ = read_slice_hu(series, z)
            kept, tries = 0, 0
            while kept < per_slice and tries < 40 * per_slice:
                if max_patches is not None and total >= max_patches:
                    break
                tries += 1
                r, c = rng.integers(0, hu.shape[0] - size), rng.integers(0, hu.shape[1] - size)
                crop = hu[r : r + size, c : c + size]
                if np.mean(crop > -950) >= min_body_fraction:
                    out.setdefault(patient, []).append((to_model_range(crop)[None], f"lidc-dicom:{patient}:z{z:g}"))
                    kept += 1
                    total += 1
        if max_patches is not None and total >= max_patches:
            break
    return {p: SRImageSet(np.stack([a for a, _ in v]), [s for _, s in v]) for p, v in sorted(out.items())}


def downsample(hr, factor: int):
    """Area down-sampling by ``factor`` (torch tensor (B, 1, H, W) -> (B, 1, H/f, W/f))."""
    import torch.nn.functional as F

    if hr.shape[-1] % factor or hr.shape[-2] % factor:
        raise ValueError(f"image side {tuple(hr.shape[-2:])} is not a multiple of the SR factor {factor}")
    return F.avg_pool2d(hr, factor)


def bicubic_upsample(lr, factor: int):
    """The classical baseline: bicubic up-sampling, clipped to [-1, 1]."""
    import torch.nn.functional as F

    return F.interpolate(lr, scale_factor=factor, mode="bicubic", align_corners=False).clamp(-1.0, 1.0)


def dataset_hr_images(datasets: Sequence, split: str, n: int, size: int, *, seed: int = 0) -> SRImageSet:
    """Up to ``n`` real crops of one split of ``datasets`` as SR images (centre ``size`` window), seeded.

    Used when the datasets come from a real image source: the SR teacher then learns real CT detail
    from the same patients' training crops, never from validation or test patients (``split``).
    """
    images, sources = [], []
    for ds in datasets:
        sub = ds.subset(split)
        src = ds.manifest.get("source", "phantom")
        for img, nid in zip(sub["image"], sub["nodule_id"]):
            o = (img.shape[-1] - size) // 2
            images.append(to_model_range(img[o : o + size, o : o + size])[None])
            sources.append(f"{src}:{nid}")
    if not images:
        return SRImageSet(np.zeros((0, 1, size, size), np.float32), [])
    keep = np.sort(np.random.default_rng(stable_seed("sr-crops", split, seed)).permutation(len(images))[:n])
    return SRImageSet(np.stack([images[i] for i in keep]).astype(np.float32), [sources[i] for i in keep])


def sr_training_sets(datasets: Sequence, index, *, n_phantom: int, size: int, seed: int = 0,
                     use_real: bool = True, progress: bool = False) -> tuple[SRImageSet, SRImageSet]:
    """Training and held-out SR images for a profile.

    Phantom datasets: renderings of their training nodules (train), of their validation nodules (held
    out; one eighth of ``n_phantom``, at least 8). Real-image datasets (``lidc-crops``, ...): their own
    real training crops (at most ``n_phantom``) and validation crops (held out), at most 64 px wide (the
    crops' side; ``size`` is reduced to it). Real CT slices (when a DICOM root is configured and
    ``use_real``): patches of the training-split patients' scans only, capped, every such patient but
    the last for training, the last held out. Test (and validation) patients' scans and nodules are
    never used here.
    """
    sources = {getattr(ds, "manifest", {}).get("source", "phantom") for ds in datasets}
    if len(sources) > 1:
        raise ValueError(f"sr_training_sets: datasets from different image sources {sorted(sources)}; "
                         "build them from one source")
    source = sources.pop() if sources else "phantom"

    def _records(split: str) -> list[NoduleRecord]:
        ids = [i for ds in datasets for i in ds.subset(split)["nodule_id"]]
        return [index[str(i)] for i in ids]

    if source == "deeplesion":
        train_patients = {str(p) for ds in datasets for p in ds.subset("train")["patient_id"]}
    else:
        train_patients = {r.patient_id for r in _records("train")}
    if source == "phantom":
        train = [phantom_hr_images(_records("train"), n_phantom, size, seed=seed, progress=progress)]
        held = [phantom_hr_images(_records("val"), max(n_phantom // 8, 8), size, seed=seed + 1000)]
    else:
        size = min(size, min(int(ds["image"].shape[-1]) for ds in datasets))
        train = [dataset_hr_images(datasets, "train", n_phantom, size, seed=seed)]
        held = [dataset_hr_images(datasets, "val", max(n_phantom // 8, 8), size, seed=seed + 1000)]
    real = real_ct_patches(size, seed=seed, patients=train_patients) if use_real else {}
    patients = list(real)
    if len(patients) >= 2:
        train += [real[p] for p in patients[:-1]]
        held.append(real[patients[-1]])
    elif patients:
        train.append(real[patients[0]])
    return SRImageSet.concat(train, size), SRImageSet.concat(held, size)
