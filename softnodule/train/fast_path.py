"""The fast CPU path of segmentation training: channels-last tensors and the frozen teacher run once.

Measured on this project's 2-core AVX512-BF16 CPU (``softnodule bench train``, DSNet at the quick
profile's sizes, batch 4), not assumed:

* **channels-last** (NHWC) lets oneDNN skip its layout reorders around every convolution (DSNet family
  only, `use_channels_last`);
* **the SR teacher's outputs cached**: the teacher is frozen, so its ``(sr, feats)`` for a split are
  computed once, before the first epoch, instead of on every batch of every epoch (a third of DSNet's
  step). Flips are then applied to the image, the teacher outputs and the targets together, i.e. the
  segmenter sees ``flip(teacher(x))`` where the reference path gives ``teacher(flip(x))``: the same
  augmentation up to the teacher's (small) lack of flip equivariance. ``SegConfig.fast=False`` is the
  reference path;
* **bfloat16 autocast was measured and rejected**: with torch 2.13's CPU kernels a DSNet step ran ~5x
  slower under ``torch.autocast("cpu", torch.bfloat16)`` than in float32 (dtype conversions around
  small convolutions; see ``softnodule bench train --json``, key ``bf16_ms_per_iter``).

Teacher outputs are held in memory only while their size stays under `CACHE_LIMIT_BYTES` (2 MiB per
64x64 crop at x2 with 32 feature channels); a larger split (e.g. 256x256 ISBI slices) falls back to
running the teacher per batch, and the result records which path ran.
"""

from __future__ import annotations

import numpy as np
import torch

#: Models trained channels-last on the fast path: the DSNet family, where it was measured to pay (1.3-1.4x),
#: at widths of at least `CHANNELS_LAST_MIN_WIDTH`. Not the others: U-Net gains nothing (0.96x), and with
#: torch 2.13's oneDNN, CE-Net, CE-Net++ and DeepLabV3+ at small widths (4) corrupt the heap
#: ("free(): invalid next size") when trained channels-last; they did not at width 16. The smoke
#: profile (width 4) therefore never trains channels-last.
CHANNELS_LAST_PREFIXES = ("dsnet",)
CHANNELS_LAST_MIN_WIDTH = 16


def use_channels_last(model: str, width: int = CHANNELS_LAST_MIN_WIDTH) -> bool:
    """Whether ``model`` at base ``width`` trains channels-last on the fast path (see above)."""
    return model.startswith(CHANNELS_LAST_PREFIXES) and width >= CHANNELS_LAST_MIN_WIDTH


#: Largest teacher-output cache (all splits of one run together) held in memory.
CACHE_LIMIT_BYTES = 4 * 1024**3


def channels_last(t: torch.Tensor) -> torch.Tensor:
    """A 4-D tensor in channels-last memory format (other tensors unchanged)."""
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


def teacher_cache_bytes(teacher, n_images: int, side: int) -> int:
    """Bytes of the cached ``(sr, feats)`` of ``n_images`` crops of ``side`` pixels (float32)."""
    f = teacher.factor
    return int(n_images) * (1 + teacher.feat_channels) * (side * f) ** 2 * 4


@torch.no_grad()
def teacher_arrays(pipeline, images: np.ndarray, *, device: str, fast: bool = True, batch: int = 32
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The frozen teacher's ``(sr, feats)`` for every image of a split, as float32 arrays (N, C, fH, fW)."""
    teacher = pipeline.teacher.eval()
    srs, feats = [], []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch])).to(device)
        sr, f = teacher.forward_features(channels_last(x) if fast else x)
        srs.append(sr.float().cpu().numpy())
        feats.append(f.float().cpu().numpy())
    return np.concatenate(srs), np.concatenate(feats)


def to_model(a: np.ndarray, device: str, fast: bool) -> torch.Tensor:
    """A numpy batch on ``device``, channels-last on the fast path."""
    t = torch.from_numpy(np.ascontiguousarray(a)).to(device)
    return channels_last(t) if fast else t
