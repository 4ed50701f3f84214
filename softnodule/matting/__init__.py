"""Soft Mask labelling (DSNet §III-A): trimaps, GrabCut from RECIST, closed-form matting, baselines.

Typical use::

    from softnodule.matting import soft_mask_from_readers
    res = soft_mask_from_readers(case.image, case.readers)   # LIDC: DSNet strategy (2)
    res.alpha, res.binary, res.notes, res.timings_ms

Modules: `trimap` (the three trimap strategies, degenerate handling), `grabcut` (RECIST ->
mask), `closed_form` (own one-channel closed-form matting solver, pymatting-compatible ``eps``),
`pipeline` (prior -> trimap -> alpha -> binary with timings), `soft_labels` (Table IV soft-label
baselines and CasGAN softening), `window` (HU windows).
"""

from softnodule.matting.closed_form import closed_form_alpha, soft_mask
from softnodule.matting.grabcut import (
    GrabCutResult,
    grabcut_from_recist,
    grabcut_from_recist_detailed,
    recist_init_mask,
    recist_prior,
)
from softnodule.matting.pipeline import (
    STRATEGIES,
    SoftMaskResult,
    soft_mask_from_case,
    soft_mask_from_mask,
    soft_mask_from_readers,
    soft_mask_from_recist,
)
from softnodule.matting.soft_labels import gros_soft_label, kats_soft_label, max_soften
from softnodule.matting.trimap import (
    BG,
    FG,
    UNKNOWN,
    EmptyMaskError,
    TrimapResult,
    disk,
    trimap_from_binary,
    trimap_from_readers,
    trimap_from_recist,
)
from softnodule.matting.window import LUNG_WINDOW, hu_to_uint8, hu_to_unit, lung_window

__all__ = [
    "BG",
    "FG",
    "LUNG_WINDOW",
    "STRATEGIES",
    "UNKNOWN",
    "EmptyMaskError",
    "GrabCutResult",
    "SoftMaskResult",
    "TrimapResult",
    "closed_form_alpha",
    "disk",
    "grabcut_from_recist",
    "grabcut_from_recist_detailed",
    "gros_soft_label",
    "hu_to_uint8",
    "hu_to_unit",
    "kats_soft_label",
    "lung_window",
    "max_soften",
    "recist_init_mask",
    "recist_prior",
    "soft_mask",
    "soft_mask_from_case",
    "soft_mask_from_mask",
    "soft_mask_from_readers",
    "soft_mask_from_recist",
    "trimap_from_binary",
    "trimap_from_readers",
    "trimap_from_recist",
]
