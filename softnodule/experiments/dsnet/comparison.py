"""What Tables I and II share: DSNet against U-Net and against the best baseline, chosen on validation.

The paper's claim is that DSNet beats every comparison method. We test it against the plain U-Net and
against the strongest baseline, where "strongest" is decided on the VALIDATION split (mean validation
Dice at each run's validation-chosen threshold), never on test; that baseline then trains the claim
seeds like U-Net and DSNet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..engine.claims import Claim

DSNET = "dsnet"


def best_baseline(runs: Mapping[str, Sequence[Any]], exclude: Sequence[str] = (DSNET, "unet")) -> str:
    """The non-DSNet row with the highest mean validation Dice (ties: first in table order)."""
    candidates = [n for n in runs if n not in exclude]
    if not candidates:
        raise ValueError("no baseline rows to choose from")

    def val(name: str) -> float:
        return sum(t.result["val_dice_at_threshold"] for t in runs[name]) / len(runs[name])

    return max(candidates, key=val)


def claim_variants(column: str = "") -> set[str]:
    """U-Net and DSNet train the claim seeds from the start; the best baseline once it is chosen."""
    return {"unet", DSNET}


def extra_claim_variants(runs: Mapping[str, Sequence[Any]]) -> list[str]:
    """The best baseline by VALIDATION Dice, which then trains the claim seeds too."""
    return [best_baseline(runs)]


def comparison_claims(prefix: str, source: str, paper: Mapping[str, Mapping[str, Any]],
                      runs: Mapping[str, Sequence[Any]], labels: Mapping[str, str]) -> list[Claim]:
    """DSNet vs U-Net and DSNet vs the validation-chosen best baseline (when it is not U-Net)."""
    def cell(name: str) -> float | None:
        c = paper.get(name, {}).get("dice")
        return c[0] if c else None

    out = [Claim(f"{prefix}.vs_unet", source, "DSNet beats U-Net", DSNET, "unet", cell(DSNET), cell("unet"))]
    if runs:
        best = best_baseline(runs)
        out.append(Claim(f"{prefix}.vs_best_baseline", source,
                         f"DSNet beats the best baseline on validation ({labels.get(best, best)})",
                         DSNET, best, cell(DSNET), cell(best)))
    return out
