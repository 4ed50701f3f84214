"""Tensors for training: one split of a built Soft Mask dataset, and deterministic batches.

Batches are drawn from a permutation seeded by ``(seed, epoch)``, not from a running random state:
an interrupted run that resumes at epoch ``e`` sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .builder import SoftMaskDataset
from .sr_pairs import to_model_range


@dataclass
class SegmentationArrays:
    """One split, model-ready: image in [-1, 1], Soft Mask in [0, 1], binary in {0, 1}; all (N, 1, S, S)."""

    image: np.ndarray
    soft: np.ndarray
    binary: np.ndarray
    ids: list[str]

    def __len__(self) -> int:
        return int(self.image.shape[0])

    def take(self, idx: np.ndarray) -> SegmentationArrays:
        """Rows ``idx`` (e.g. a batch or a preview subset)."""
        return SegmentationArrays(self.image[idx], self.soft[idx], self.binary[idx], [self.ids[i] for i in idx])


def segmentation_arrays(ds: SoftMaskDataset, split: str) -> SegmentationArrays:
    """The ``split`` rows of a built dataset, converted to the models' conventions."""
    sub = ds.subset(split)
    if len(sub["image"]) == 0:
        raise ValueError(f"{ds.manifest['spec']['name']}: the {split!r} split is empty")
    image = np.stack([to_model_range(x) for x in sub["image"]])[:, None]
    return SegmentationArrays(image=image, soft=sub["soft"][:, None].astype(np.float32),
                              binary=sub["binary"][:, None].astype(np.float32),
                              ids=[str(x) for x in sub["nodule_id"]])


def epoch_batches(n: int, batch_size: int, *, seed: int, epoch: int, shuffle: bool = True) -> list[np.ndarray]:
    """Index batches for one epoch; the last incomplete batch is dropped when shuffling.

    Dropping it keeps every training batch the same size (batch-norm and the fusion's FC+BN need more
    than one sample).
    """
    if n < 1 or batch_size < 1:
        raise ValueError(f"need n >= 1 and batch_size >= 1, got n={n}, batch_size={batch_size}")
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    stop = (n // batch_size) * batch_size if shuffle and n >= batch_size else n
    return [order[i : i + batch_size] for i in range(0, stop, batch_size)]


def flip_augment(arrays: list[np.ndarray], *, seed: int, epoch: int, step: int) -> list[np.ndarray]:
    """Random horizontal / vertical flips, the same for every array of a batch (seeded per step).

    Inference: the papers do not mention augmentation; flips are label-preserving for CT crops.
    """
    rng = np.random.default_rng([seed, epoch, step, 7])
    out = arrays
    if rng.random() < 0.5:
        out = [a[..., ::-1] for a in out]
    if rng.random() < 0.5:
        out = [a[..., ::-1, :] for a in out]
    return [np.ascontiguousarray(a) for a in out]


class ArraySplits:
    """A dataset given directly as model-ready splits (ISBI folds, alternative soft targets, ...).

    It quacks like :class:`SoftMaskDataset` where training needs it: ``manifest["key"]`` (part of the
    training cache key), ``manifest["spec"]["name"]`` and :func:`dataset_arrays`.

    Parameters
    ----------
    name : str
        Dataset name (names the training run folders).
    key : str
        Content key: must change whenever any array changes.
    splits : dict
        ``{"train": SegmentationArrays, "val": ..., "test": ...}``.
    notes : dict, optional
        Extra manifest entries (provenance).
    """

    def __init__(self, name: str, key: str, splits: dict[str, SegmentationArrays],
                 notes: dict[str, object] | None = None) -> None:
        self.splits = splits
        self.manifest = {"key": key, "spec": {"name": name}, **(notes or {})}

    @property
    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.splits.items()}

    def split(self, name: str) -> SegmentationArrays:
        """One split; ValueError naming the available ones if absent or empty."""
        arrays = self.splits.get(name)
        if arrays is None or len(arrays) == 0:
            raise ValueError(f"{self.manifest['spec']['name']}: the {name!r} split is missing or empty "
                             f"(have {sorted(self.splits)})")
        return arrays


def dataset_arrays(ds: SoftMaskDataset | ArraySplits, split: str) -> SegmentationArrays:
    """Model-ready arrays of one split of either kind of dataset."""
    if isinstance(ds, ArraySplits):
        return ds.split(split)
    return segmentation_arrays(ds, split)
