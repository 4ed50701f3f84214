"""The papers' published numbers, quoted once so every table prints "paper" beside "ours".

Values are percent, ``(mean, std)`` where the paper gives a std, ``(value, None)`` where it gives one
number, ``None`` where the cell does not exist. Sources: the TNNLS DSNet paper
(Wang, Xu et al., IEEE TNNLS) and its conference version (EDRFM / SDRFM modules).

Known defects of the sources, handled here and said in the notebooks:

* TNNLS Table VII lost its SEN row in the text we have (only MedT's "90.7 89.0" survives, equal to the
  conference Table 5); SEN is therefore quoted from the conference Table 5, whose DICE/PPV differ
  slightly from TNNLS (DSNet ISBI DICE 95.8 vs 95.9, UNet3+ 96.3 vs 94.3).
* Table I's extra baselines (DeepLabV3+, Attention U-Net, CE-Net, UNet3+) exist only in the conference
  Table 1 (whose DSNet row, 91.90 ± 1.5, predates the TNNLS model).
"""

from __future__ import annotations

Cell = tuple[float, float | None] | None

#: TNNLS Table I (LNSM): DICE / SEN / PPV. Keys are our registry names.
TABLE1_TNNLS: dict[str, dict[str, Cell]] = {
    "unet": {"dice": (87.88, 1.1), "sen": (86.62, 3.2), "ppv": (89.04, 5.7)},
    "cfcnn": {"dice": (88.98, 2.5), "sen": (87.20, 3.2), "ppv": (89.60, 2.3)},
    "dbresnet": {"dice": (89.21, 2.2), "sen": (88.22, 1.6), "ppv": (90.04, 1.8)},
    "unetpp": {"dice": (88.57, 2.7), "sen": (89.24, 0.5), "ppv": (91.86, 3.7)},
    "infnet": {"dice": (90.05, 1.8), "sen": (88.17, 2.3), "ppv": (93.41, 3.7)},
    "infnet_sr": {"dice": (90.53, 1.7), "sen": (89.21, 1.3), "ppv": (94.04, 2.5)},
    "medt": {"dice": (90.13, 2.6), "sen": (89.56, 3.1), "ppv": (92.41, 1.2)},
    "medt_sr": {"dice": (91.02, 2.4), "sen": (90.10, 1.5), "ppv": (93.12, 2.7)},
    "dsnet": {"dice": (93.77, 3.1), "sen": (91.76, 0.9), "ppv": (95.88, 2.5)},
}

#: Conference Table 1 (LNSM) rows that TNNLS dropped.
TABLE1_CONFERENCE: dict[str, dict[str, Cell]] = {
    "deeplabv3p": {"dice": (87.64, 2.4), "sen": (85.21, 3.1), "ppv": (88.60, 2.4)},
    "attention_unet": {"dice": (87.64, 2.4), "sen": (85.21, 1.7), "ppv": (88.60, 2.2)},
    "cenet": {"dice": (89.24, 2.2), "sen": (89.82, 1.4), "ppv": (91.33, 1.6)},
    "unet3p": {"dice": (90.55, 1.5), "sen": (89.70, 2.7), "ppv": (93.65, 1.2)},
}

#: TNNLS Table III (DICE; LNSM and LIDC columns).
TABLE3: dict[str, dict[str, Cell]] = {
    "unet": {"lnsm": (87.88, 1.1), "lidc": (77.84, 21.7)},
    "dsnet_backbone": {"lnsm": (89.57, 1.3), "lidc": (79.3, 25.3)},
    "dsnet_sr_input": {"lnsm": (90.15, 2.1), "lidc": (81.69, 15.7)},
    "dsnet_drtm": {"lnsm": (91.83, 1.7), "lidc": (83.88, 8.5)},
    "dsnet_soft": {"lnsm": (93.26, 2.0), "lidc": (84.21, 10.3)},
    "dsnet": {"lnsm": (93.77, 3.1), "lidc": (84.89, 7.2)},
}

#: Conference Table 3 (``001_*.txt``, DICE; LNSM and LIDC): the ablation with its two fusion modules,
#: EDRFM (one conv over image, SR image and SR features) and SDRFM (selective fusion). Its last two
#: rows (+ Soft Mask loss, + GAN loss) sit on SDRFM; ours on the TNNLS DRTM (``dsnet_soft``, ``dsnet``).
CONFERENCE_TABLE3: dict[str, dict[str, Cell]] = {
    "unet": {"lnsm": (87.88, 1.1), "lidc": (77.84, 21.74)},
    "dsnet_backbone": {"lnsm": (89.57, 1.3), "lidc": (79.32, 25.34)},
    "dsnet_sr_input": {"lnsm": (90.15, 2.1), "lidc": (80.69, 15.67)},
    "dsnet_edrfm": {"lnsm": (90.37, 1.9), "lidc": (81.99, 17.91)},
    "dsnet_sdrfm": {"lnsm": (91.03, 1.7), "lidc": (82.83, 8.15)},
    "dsnet_soft": {"lnsm": (91.56, 2.4), "lidc": (83.11, 11.45)},
    "dsnet": {"lnsm": (91.90, 1.5), "lidc": (83.35, 7.85)},
}

#: TNNLS Table IV (DICE): soft-label supervision of DSNet.
TABLE4: dict[str, dict[str, Cell]] = {
    "dsnet_binary_target": {"lnsm": (91.23, 1.7), "lidc": (82.88, 8.5)},
    "dsnet_kats": {"lnsm": (91.92, 2.5), "lidc": (83.11, 8.6)},
    "dsnet_gros": {"lnsm": (92.66, 1.4), "lidc": (83.95, 10.3)},
    "dsnet": {"lnsm": (93.77, 3.1), "lidc": (84.89, 7.2)},
}

#: TNNLS Table V (DICE): DRTM ablation.
TABLE5: dict[str, dict[str, Cell]] = {
    "dsnet_drtm_neither": {"lnsm": (92.62, 1.5), "lidc": (83.64, 8.4)},
    "dsnet_drtm_dtm_only": {"lnsm": (93.41, 1.2), "lidc": (84.26, 7.5)},
    "dsnet": {"lnsm": (93.77, 3.1), "lidc": (84.89, 7.2)},
}

#: Table VII, ISBI and PROMISE (no std given). DICE/PPV from TNNLS, SEN from the conference Table 5.
TABLE7: dict[str, dict[str, dict[str, Cell]]] = {
    "isbi": {
        "unet": {"dice": (93.5, None), "sen": (91.4, None), "ppv": (91.3, None)},
        "unet3p": {"dice": (94.3, None), "sen": (89.9, None), "ppv": (94.1, None)},
        "infnet": {"dice": (94.5, None), "sen": (92.1, None), "ppv": (94.3, None)},
        "medt": {"dice": (93.7, None), "sen": (90.7, None), "ppv": (94.4, None)},
        "dsnet": {"dice": (95.9, None), "sen": (91.3, None), "ppv": (94.8, None)},
    },
    "promise12": {
        "unet": {"dice": (87.9, None), "sen": (88.7, None), "ppv": (90.4, None)},
        "unet3p": {"dice": (91.5, None), "sen": (87.8, None), "ppv": (93.3, None)},
        "infnet": {"dice": (90.0, None), "sen": (88.6, None), "ppv": (92.3, None)},
        "medt": {"dice": (91.4, None), "sen": (89.0, None), "ppv": (93.1, None)},
        "dsnet": {"dice": (92.3, None), "sen": (88.7, None), "ppv": (93.5, None)},
    },
}

#: TNNLS Table II (LIDC, 387 / 55 / 544, GT = 50 % consensus): DICE / SEN / PPV.
TABLE2_LIDC: dict[str, dict[str, Cell]] = {
    "unet": {"dice": (77.84, 21.7), "sen": (77.98, 24.5), "ppv": (82.52, 21.5)},
    "cfcnn": {"dice": (78.55, 12.5), "sen": (86.01, 15.2), "ppv": (75.79, 14.7)},
    "dbresnet": {"dice": (82.74, 10.2), "sen": (89.05, 11.8), "ppv": (79.64, 13.5)},
    "unetpp": {"dice": (80.54, 12.9), "sen": (87.96, 17.2), "ppv": (79.18, 15.1)},
    "infnet": {"dice": (81.01, 14.1), "sen": (88.33, 13.7), "ppv": (75.58, 17.6)},
    "infnet_sr": {"dice": (81.67, 13.7), "sen": (87.25, 10.5), "ppv": (76.24, 13.3)},
    "medt": {"dice": (81.34, 7.9), "sen": (87.96, 11.4), "ppv": (80.14, 15.3)},
    "medt_sr": {"dice": (82.08, 6.5), "sen": (88.33, 11.8), "ppv": (81.01, 16.4)},
    "dsnet": {"dice": (84.89, 7.2), "sen": (90.56, 12.0), "ppv": (84.69, 13.4)},
}

#: TNNLS Table VI: Dice (%) between the four doctors, the 50 % consensus and DSNet (trained on LNSM,
#: not retrained) on LIDC. Symmetric; the paper gives no std and no nodule count.
TABLE6_DOCTORS: dict[str, dict[str, float]] = {
    "D1": {"D2": 70.65, "D3": 73.14, "D4": 62.57, "50% Consensus": 77.51, "DSNet": 77.76},
    "D2": {"D1": 70.65, "D3": 74.46, "D4": 64.91, "50% Consensus": 82.92, "DSNet": 74.30},
    "D3": {"D1": 73.14, "D2": 74.46, "D4": 76.31, "50% Consensus": 83.01, "DSNet": 80.88},
    "D4": {"D1": 62.57, "D2": 64.91, "D3": 76.31, "50% Consensus": 69.74, "DSNet": 69.71},
    "50% Consensus": {"D1": 77.51, "D2": 82.92, "D3": 83.01, "D4": 69.74, "DSNet": 86.35},
    "DSNet": {"D1": 77.76, "D2": 74.30, "D3": 80.88, "D4": 69.71, "50% Consensus": 86.35},
}

#: CasGAN Table 2 (``002_*.txt``): the same experiment with CasGAN ("Ours"), 500 LIDC nodules, Dice as a
#: fraction in the paper, percent here. Its doctor block and its model row agree with TNNLS Table VI to
#: the rounding (e.g. 0.863 vs 86.35): the two papers appear to report one measurement.
CASGAN_TABLE2_DOCTORS: dict[str, dict[str, float]] = {
    "D1": {"D2": 70.6, "D3": 73.1, "D4": 62.5, "50% Consensus": 77.5, "model": 77.7},
    "D2": {"D1": 70.6, "D3": 74.4, "D4": 64.9, "50% Consensus": 82.9, "model": 74.3},
    "D3": {"D1": 73.1, "D2": 74.4, "D4": 76.3, "50% Consensus": 83.0, "model": 80.8},
    "D4": {"D1": 62.5, "D2": 64.9, "D3": 76.3, "50% Consensus": 69.7, "model": 69.7},
    "50% Consensus": {"D1": 77.5, "D2": 82.9, "D3": 83.0, "D4": 69.7, "model": 86.3},
}

#: TNNLS Table VIII: LNSM / LIDC DICE and inference ms per 64x64 image (Titan V).
TABLE8: dict[str, dict[str, Cell]] = {
    "softgan": {"lnsm": (91.63, 3.2), "lidc": (83.21, 7.0), "ms": (5.1, None)},
    "dsnet": {"lnsm": (93.77, 3.1), "lidc": (84.89, 7.2), "ms": (6.7, None)},
}


def paper_cell(table: dict[str, dict[str, Cell]], name: str, column: str) -> Cell:
    """One cell of a quoted table, or None where the paper has no such row/column."""
    return table.get(name, {}).get(column)


def fmt_cell(cell: Cell, digits: int = 2) -> str:
    """``"93.77 ± 3.1"`` / ``"95.9"`` / ``""``."""
    if cell is None:
        return ""
    mean, std = cell
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.1f}"
