"""Table I (LNSM): every comparison method and DSNet, same data and budget, paper values beside ours.

Rows in the TNNLS order (UNet, CF-CNN, DB-ResNet, UNet++, INFNet, INFNet†, MedT, MedT†, DSNet) followed
by the conference Table 1's extra baselines (DeepLabV3+, Attention UNet, CE-Net, UNet3+). † = the net
reads the SR teacher's image instead of the crop. No method uses ImageNet-pretrained weights (none can
be downloaded here), whereas the papers' INFNet / DeepLabV3+ / CE-Net presumably did: a handicap for
those rows that the table notes carry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..engine.claims import Claim
from ..engine.table_runs import VARIANTS, metric_rows
from .comparison import claim_variants, comparison_claims, extra_claim_variants  # noqa: F401 (table API)
from .paper_numbers import TABLE1_CONFERENCE, TABLE1_TNNLS

VARIANT_NAMES: tuple[str, ...] = ("unet", "cfcnn", "dbresnet", "unetpp", "infnet", "infnet_sr", "medt", "medt_sr",
                                  "dsnet", "deeplabv3p", "attention_unet", "cenet", "unet3p")
PAPER = {**TABLE1_TNNLS, **TABLE1_CONFERENCE}
SOURCES = {**{n: "TNNLS Table I" for n in TABLE1_TNNLS}, **{n: "conference Table 1" for n in TABLE1_CONFERENCE}}
NOTES = ("No ImageNet-pretrained weights anywhere (no download possible); CF-CNN, DB-ResNet, INFNet, MedT, "
         "DeepLabV3+, CE-Net and UNet3+ are compact re-implementations (see softnodule.models.baselines); "
         "UNet++ and Attention UNet are MONAI's. Data: the LNSM-style set of the notebook's image source (see the provenance), not DeepLesion.")


CSV = "dsnet_table1"


def claims(column: str = "lnsm", runs: Mapping[str, list] | None = None) -> list[Claim]:
    """DSNet vs U-Net and vs the validation-chosen best baseline (TNNLS Table I)."""
    return comparison_claims("dsnet.table1.lnsm", "TNNLS Table I (LNSM)", PAPER, runs or {},
                             {n: v.label for n, v in VARIANTS.items()})


def table_rows(runs: Mapping[str, list], evaluations: Mapping[str, list], column: str = "lnsm",
               image_source: str = "") -> list[dict[str, Any]]:
    """Table I rows: DICE / SEN / PPV as numbers, ours beside the paper, and the authors' protocol."""
    return metric_rows(runs, evaluations, PAPER, paper_source=SOURCES, image_source=image_source)


def ranking_sentence(rows: Sequence[Mapping[str, Any]]) -> str:
    """Where DSNet ranks among the methods, ours vs the paper (by mean Dice; trivial rows excluded)."""
    methods = [r for r in rows if not r.get("trivial")]
    ours = sorted(methods, key=lambda r: -r["mean"])
    names = [r["variant"] for r in ours]
    rank = names.index("dsnet") + 1 if "dsnet" in names else None
    best = ours[0]
    return (f"DSNet ranks {rank} of {len(methods)} by mean test Dice here (best: {best['method']} "
            f"{best['mean']:.2f}); the paper ranks it 1 of {len(TABLE1_TNNLS)} (TNNLS) with a "
            f"{93.77 - 91.02:.2f}-point lead. The claims table says which gaps are outside seed and image noise.")


def protocol_sentence(rows: Sequence[Mapping[str, Any]]) -> str:
    """How much selecting epoch and threshold on the TEST split would have added to DSNet's number."""
    ds = next((r for r in rows if r["variant"] == "dsnet"), None)
    if ds is None or ds.get("author_dice") is None:
        return "The authors' protocol was not recorded for these runs."
    return (f"DSNet: {ds['mean']:.2f} with validation selection; the authors' protocol (best epoch and threshold "
            f"on TEST) would report {ds['author_dice']:.2f} ({ds['author_inflation']:+.2f} points).")
