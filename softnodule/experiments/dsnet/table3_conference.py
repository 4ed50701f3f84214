"""Conference Table 3 (``001_*.txt``): the ablation with EDRFM and SDRFM, on LNSM and LIDC.

U-Net → backbone → + SR input → + EDRFM → + SDRFM, then + Soft Mask loss → + GAN loss. The conference
model's last two rows sit on SDRFM; TNNLS replaced SDRFM by the DRTM, and our ``dsnet_soft`` / ``dsnet``
rows are the TNNLS ones (DRTM), so the last step here compares DRTM + Soft Mask loss with SDRFM. The
paper's own claim: "SDRFM achieves better results than EDRFM".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..engine.claims import Claim
from .ablation import ablation_claims, ablation_rows
from .paper_numbers import CONFERENCE_TABLE3

CSV = "dsnet_conference_table3"
VARIANT_NAMES: tuple[str, ...] = ("unet", "dsnet_backbone", "dsnet_sr_input", "dsnet_edrfm", "dsnet_sdrfm",
                                  "dsnet_soft", "dsnet")
NOTES = ("Conference Table 3; the + Soft Mask loss and + GAN loss rows are the TNNLS models (DRTM, not SDRFM).")


def claim_variants(column: str = "lnsm") -> set[str]:
    return set(VARIANT_NAMES)


def claims(column: str = "lnsm", runs: Mapping[str, list] | None = None) -> list[Claim]:
    """Each addition vs the row above it."""
    return ablation_claims("dsnet.conf_table3", "conference Table 3", CONFERENCE_TABLE3, VARIANT_NAMES, column)


def table_rows(runs: Mapping[str, list], evaluations: Mapping[str, list], column: str = "lnsm",
               image_source: str = "") -> list[dict[str, Any]]:
    return ablation_rows(runs, evaluations, CONFERENCE_TABLE3, VARIANT_NAMES, "conference Table 3", column,
                         image_source)
