"""Deciding, per scan, how raw stored CT values become Hounsfield units.

The public max-slice crops hold the RAW stored DICOM pixel values, and the rescale intercept is not
stored with them. LIDC-IDRI scans come in two kinds:

* most (GE, Siemens, Philips) store ``value = HU + 1024`` (``RescaleIntercept = -1024``): air and
  lung lie at 0..300;
* the Toshiba scans (and a few others) store values that are already HU (intercept 0): air and lung
  lie at -1000..-700.

The two ranges do not overlap, so the decision is made from the data, per scan, on the darkest
pixels of all of that scan's crops (every crop is centred on a lung nodule, so lung parenchyma is
in nearly every window): the 1st percentile of the non-padding values must fall clearly in one of
the two ranges. A crop whose own darkest pixels disagree with its scan's decision is reported; a
scan whose values fall in neither range is undecidable and its crops are skipped with that reason.
The rule was checked bit-exact against the real DICOM (RescaleIntercept -1024) of the LIDC-IDRI
slabs that the tests read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Stored-value ranges of the 1st percentile (lung/air) that decide each convention.
STORED_PLUS_1024 = (-50.0, 500.0)  # value = HU + 1024: lung/air at 0..~300
STORED_AS_HU = (-1100.0, -500.0)  # value = HU: lung/air at about -1000..-700
PERCENTILE = 1.0


@dataclass(frozen=True)
class HuDecision:
    """How one scan's stored values become HU: ``hu = stored + offset``."""

    offset: int | None  # -1024, 0, or None when undecidable
    evidence: float  # the 1st percentile of the non-padding stored values
    n_pixels: int
    reason: str

    @property
    def decided(self) -> bool:
        return self.offset is not None


def _classify(p: float) -> int | None:
    if STORED_PLUS_1024[0] <= p <= STORED_PLUS_1024[1]:
        return -1024
    if STORED_AS_HU[0] <= p <= STORED_AS_HU[1]:
        return 0
    return None


def decide_offset(values: np.ndarray, padding: int = -2000) -> HuDecision:
    """The HU offset of one scan from all of its crops' stored values (padding excluded).

    Returns an undecided `HuDecision` (``offset=None``) with the reason when there are no usable
    pixels or the darkest pixels fall in neither range.
    """
    v = np.asarray(values).ravel()
    v = v[v != padding]
    if v.size == 0:
        return HuDecision(None, float("nan"), 0, "no pixel inside the field of view")
    p = float(np.percentile(v, PERCENTILE))
    offset = _classify(p)
    if offset is None:
        return HuDecision(None, p, int(v.size), f"1st percentile of the stored values is {p:.0f}: neither "
                          f"HU+1024 (lung at {STORED_PLUS_1024}) nor HU (lung at {STORED_AS_HU}); no lung in view?")
    kind = "stored = HU + 1024" if offset == -1024 else "stored = HU"
    return HuDecision(offset, p, int(v.size), f"{kind} (1st percentile {p:.0f})")


def crop_disagrees(crop: np.ndarray, offset: int, padding: int = -2000) -> bool:
    """True when one crop's own darkest pixels clearly point to the other convention."""
    own = decide_offset(crop, padding)
    return own.decided and own.offset != offset
