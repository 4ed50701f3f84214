"""Self-supervised super-resolution pairs: high-resolution CT patches and their down-sampled inputs.

DSNet (III-B3) trains SRGAN on DeepLesion slices down-sampled 512 -> 128 and uses the result as a
frozen teacher. DeepLesion is not reachable offline, so the high-resolution images here are

* phantom renderings (`phantom.render_case`) of the training nodules of both datasets, at the scan's
  real pixel spacing and ``hr_size`` pixels wide (always available: the embedded default);
* real LIDC-IDRI slices, cut into ``hr_size`` patches of chest (not air), when DICOM is present (the
  user's LIDC folder or ``../shared/data/lidc-idri``). The last patient is held out for evaluation.

The DeepLesion samples in ``../shared/data`` are 8-bit JPEGs: JPEG blocking would be learnt as
"detail", so they are not used. Low-resolution inputs are area averages (the partial-volume rule);
inference: the paper does not say how it down-samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..matting.window import hu_to_unit
from .case import NoduleRecord
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

    from .phantom import APPEARANCES, render_case

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


def real_ct_patches(size: int, per_slice: int = 8, *, seed: int = 0, min_body_fraction: float = 0.5
                    ) -> dict[str, SRImageSet]:
    """Patches of chest CT from every real DICOM slice under the DICOM roots, per patient.

    A patch is kept when at least ``min_body_fraction`` of it is not outside-body air (HU > -950), so
    the SR model sees parenchyma, vessels and walls rather than empty air. Returns ``{}`` when no DICOM
    is present.
    """
    from .dicom_source import _slice_positions, dicom_roots, read_slice_hu

    series_dirs = sorted({p.parent for root in dicom_roots() for p in root.rglob("*.dcm")})
    out: dict[str, list[tuple[np.ndarray, str]]] = {}
    for series in series_dirs:
        patient = next((part for part in series.parts if part.startswith("LIDC-IDRI-")), series.name)
        rng = np.random.default_rng(stable_seed(f"sr-real:{series.name}", seed))
        for z, _ in _slice_positions(series):
            hu, _ = read_slice_hu(series, z)
            kept, tries = 0, 0
            while kept < per_slice and tries < 40 * per_slice:
                tries += 1
                r, c = rng.integers(0, hu.shape[0] - size), rng.integers(0, hu.shape[1] - size)
                crop = hu[r : r + size, c : c + size]
                if np.mean(crop > -950) >= min_body_fraction:
                    out.setdefault(patient, []).append((to_model_range(crop)[None], f"lidc-dicom:{patient}:z{z:g}"))
                    kept += 1
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


def sr_training_sets(datasets: Sequence, index, *, n_phantom: int, size: int, seed: int = 0,
                     use_real: bool = True, progress: bool = False) -> tuple[SRImageSet, SRImageSet]:
    """Training and held-out SR images for a profile.

    Phantoms: the training nodules of ``datasets`` (train), their validation nodules (held out; one
    eighth of ``n_phantom``, at least 8). Real CT (when present and ``use_real``): every patient but the
    last for training, the last held out. Test nodules are never rendered here.
    """
    def _records(split: str) -> list[NoduleRecord]:
        ids = [i for ds in datasets for i in ds.subset(split)["nodule_id"]]
        return [index[str(i)] for i in ids]

    train = [phantom_hr_images(_records("train"), n_phantom, size, seed=seed, progress=progress)]
    held = [phantom_hr_images(_records("val"), max(n_phantom // 8, 8), size, seed=seed + 1000)]
    real = real_ct_patches(size, seed=seed) if use_real else {}
    patients = list(real)
    if len(patients) >= 2:
        train += [real[p] for p in patients[:-1]]
        held.append(real[patients[-1]])
    elif patients:
        train.append(real[patients[0]])
    return SRImageSet.concat(train, size), SRImageSet.concat(held, size)
