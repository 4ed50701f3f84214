"""CasGAN's published numbers (the CasGAN paper): Tables 1, 3 and 4, quoted once.

The paper prints fractions (``0.831``); cells here are PERCENT, the printed value x 100 exactly
(``(83.1, None)``: no std is given anywhere), in the :data:`~.paper_numbers.Cell` form the table engine
uses. Keys are our table-variant names (``softnodule.experiments.engine.table_runs.VARIANTS``); rows we do not
re-run (other groups' LIDC methods in Table 3) have their own keys and a label in :data:`TABLE3_LITERATURE`.
CasGAN Table 2 (doctors) is quoted in :mod:`.paper_numbers` (``CASGAN_TABLE2_DOCTORS``).

Which variant is which row (the subscript "soft" means two things in the paper):

* Table 1: ``CasGANsoft`` = full CasGAN (SRGAN + Soft Mask target) -> ``casgan``; ``CasGANbin`` = "CasGAN
  without soft mask" (binary target, with SR) -> ``casgan_bin``; ``CasGANwithoutSR`` -> ``casgan_no_sr``.
* Tables 3 and 4: ``CasGANsoft`` = "softening binary mask as ground truth", max(binary, Soft Mask)
  (Eq. 6) -> ``casgan_soft``; ``CasGAN++`` = binary target + a trained CasGAN's soft prior ->
  ``casgan_pp``; ``CE-net++`` -> ``cenet_pp``.

Defects of the source, stated where the tables are printed (:data:`DEFECTS`).
"""

from __future__ import annotations

from ..dsnet.paper_numbers import Cell

#: CasGAN Table 1 (LNSM, 1000 train / 500 test, soft masks binarised at 128): Dice / IoU / ACC, in the
#: paper's column order (sorted by Dice, CasGAN variants interleaved with the baselines).
TABLE1: dict[str, dict[str, Cell]] = {
    "unet": {"dice": (83.1, None), "iou": (75.3, None), "acc": (99.0, None)},
    "segnet": {"dice": (83.2, None), "iou": (74.8, None), "acc": (98.9, None)},
    "deeplabv3p": {"dice": (85.4, None), "iou": (76.4, None), "acc": (98.9, None)},
    "unetpp": {"dice": (89.3, None), "iou": (82.4, None), "acc": (99.3, None)},
    "casgan_bin": {"dice": (91.1, None), "iou": (85.2, None), "acc": (99.3, None)},
    "cenet": {"dice": (91.3, None), "iou": (85.8, None), "acc": (99.5, None)},
    "casgan_no_sr": {"dice": (91.6, None), "iou": (84.3, None), "acc": (99.3, None)},
    "casgan": {"dice": (91.9, None), "iou": (86.4, None), "acc": (99.4, None)},
}

#: CasGAN Table 3 (LIDC, Dice only): the literature values "claimed by these methods" (their own data and
#: splits) and CasGAN's variants on the authors' 119 selected lesions (60 % train / 40 % test).
TABLE3: dict[str, dict[str, Cell]] = {
    "gc": {"dice": (68.9, None)},
    "unet": {"dice": (79.5, None)},
    "mukherjee": {"dice": (69.0, None)},
    "cfcnn": {"dice": (82.2, None)},
    "roy": {"dice": (93.0, None)},
    "casgan_bin": {"dice": (92.5, None)},
    "casgan_pp": {"dice": (92.5, None)},
    "casgan_soft": {"dice": (93.1, None)},
}
#: Table 3 rows that exist only as published numbers (not re-implemented here).
TABLE3_LITERATURE: dict[str, str] = {
    "gc": "GC [4] (graph cut)",
    "mukherjee": "Mukherjee et al. [27] (graph cut + deep-learning probability map)",
    "roy": "Roy et al. [32] (deep learning + shape-driven level sets)",
}

#: CasGAN Table 4: ISBI 2012 (left) and PROMISE 2012 (right), Dice / IoU / ACC.
TABLE4: dict[str, dict[str, dict[str, Cell]]] = {
    "isbi": {
        "casgan_bin": {"dice": (95.9, None), "iou": (92.1, None), "acc": (92.7, None)},
        "casgan_soft": {"dice": (95.9, None), "iou": (92.2, None), "acc": (93.3, None)},
        "cenet": {"dice": (96.6, None), "iou": (93.5, None), "acc": (94.4, None)},
        "cenet_pp": {"dice": (97.4, None), "iou": (94.9, None), "acc": (95.7, None)},
        "casgan_pp": {"dice": (98.1, None), "iou": (96.3, None), "acc": (96.7, None)},
    },
    "promise12": {
        "casgan_bin": {"dice": (86.8, None), "iou": (77.3, None), "acc": (99.1, None)},
        "casgan_soft": {"dice": (88.9, None), "iou": (80.8, None), "acc": (99.2, None)},
        "cenet": {"dice": (92.4, None), "iou": (86.2, None), "acc": (99.5, None)},
        "cenet_pp": {"dice": (97.6, None), "iou": (95.3, None), "acc": (99.8, None)},
        "casgan_pp": {"dice": (92.1, None), "iou": (86.0, None), "acc": (99.5, None)},
    },
}

#: What is wrong with or ambiguous in the published tables (printed beside them in notebook 12).
DEFECTS: dict[str, str] = {
    "table1_claim": "The text says CasGAN 'achieved the highest index on the evaluation metrics including Dice, "
                    "IoU and ACC', but CE-net's ACC (0.995) beats CasGAN_soft's (0.994).",
    "table1_iou": "CasGAN_withoutSR: Dice 0.916 with IoU 0.843. IoU = D / (2 - D) is convex, so a mean per-image "
                  "IoU is at least f(mean Dice) = 0.845 (0.844 even for Dice 0.9155); pooled scores give exactly "
                  "0.845. The printed pair is impossible under either reading (rounding cannot explain it). It also "
                  "ranks this row below CasGAN_bin and CE-net in IoU while above them in Dice.",
    "table1_sr": "The paper's own reading of Table 1: the Soft Mask gains 0.8 Dice points over the binary target, "
                 "SRGAN only 0.3 ('SRGAN is not so significant').",
    "table3_sources": "Table 3 compares CasGAN on 119 hand-selected LIDC lesions (60/40 split) with Dice values "
                      "'claimed by these methods' on their own data and splits: the literature rows are not a "
                      "controlled comparison. CasGAN++ equals CasGAN_bin (0.925); the text explains the prior helps "
                      "only on low-quality labels.",
    "table4_layout": "Table 4's text is garbled: each method has one 'ISBI PROMISE' pair per metric line. The "
                     "assignment (first value ISBI, second PROMISE) follows the caption ('ISBI 2012 (left) and "
                     "PROMISE 2012 (right)') and is consistent with IoU ~ D / (2 - D) on every ISBI cell.",
    "table4_protocol": "ISBI: the paper 'augmented the ISBI dataset to obtain 300 images' and split 240 / 60 after "
                       "augmenting, so augmented copies of a slice can sit in both train and test (leakage). The text "
                       "says the prior was given to CasGAN and CE-net 'respectively' on ISBI and PROMISE, yet both "
                       "rows have values on both datasets.",
}
