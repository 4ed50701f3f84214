"""LGAN's published numbers (Tan et al., CMIG), quoted exactly.

IoU is a fraction (not percent); Hausdorff is the symmetric Hausdorff distance, whose unit the paper
does not state (pixels, presumably of the 224x224 network input). Mean and median are per slice.
Keys are our structure names (`models.lgan.LGAN_STRUCTURES`); "Baseline" is the U-Net generator alone.
"""

from __future__ import annotations

#: Row labels as printed in the paper's tables.
PAPER_LABELS: dict[str, str] = {
    "unet": "Baseline", "basic": "LGAN_Basic", "product": "LGAN_Product", "early_fusion": "LGAN_EF",
    "late_fusion": "LGAN_LF", "regression": "LGAN_Regression",
}

#: Table 2: "Performance comparison of different LGAN structures on LIDC-IDRI dataset."
TABLE2_LIDC: dict[str, dict[str, float]] = {
    "unet": {"iou_mean": 0.625, "hd_mean": 6.106, "iou_median": 0.758, "hd_median": 5.831},
    "basic": {"iou_mean": 0.902, "hd_mean": 3.367, "iou_median": 0.966, "hd_median": 3.162},
    "product": {"iou_mean": 0.886, "hd_mean": 3.410, "iou_median": 0.964, "hd_median": 3.317},
    "early_fusion": {"iou_mean": 0.902, "hd_mean": 3.284, "iou_median": 0.966, "hd_median": 3.162},
    "late_fusion": {"iou_mean": 0.791, "hd_mean": 3.532, "iou_median": 0.944, "hd_median": 3.0},
    "regression": {"iou_mean": 0.923, "hd_mean": 3.380, "iou_median": 0.972, "hd_median": 3.162},
}

#: Table 3: "Performance comparison of different LGAN structures on QIN dataset." (not reproduced:
#: QIN Lung CT is not available offline; quoted for completeness.)
TABLE3_QIN: dict[str, dict[str, float]] = {
    "unet": {"iou_mean": 0.893, "hd_mean": 2.787, "iou_median": 0.976, "hd_median": 2.449},
    "basic": {"iou_mean": 0.917, "hd_mean": 2.758, "iou_median": 0.976, "hd_median": 2.236},
    "product": {"iou_mean": 0.919, "hd_mean": 2.714, "iou_median": 0.977, "hd_median": 2.449},
    "early_fusion": {"iou_mean": 0.913, "hd_mean": 2.679, "iou_median": 0.978, "hd_median": 2.236},
    "late_fusion": {"iou_mean": 0.920, "hd_mean": 2.687, "iou_median": 0.978, "hd_median": 2.459},
    "regression": {"iou_mean": 0.938, "hd_mean": 2.812, "iou_median": 0.978, "hd_median": 2.449},
}

#: Table 4: 3-D Dice on LIDC-IDRI vs the state of the art (mean ± std where given, median); None = "-".
TABLE4_DICE3D: dict[str, dict[str, tuple[float, float | None] | float | None]] = {
    "Morph [10]": {"mean": (0.862, 2.93), "median": None},
    "U-net [21]": {"mean": (0.970, 0.59), "median": 0.9845},
    "Fusion gNet [13]": {"mean": (0.983, 0.05), "median": None},
    "Tiramisu [38]": {"mean": None, "median": 0.9841},
    "SegCaps [12]": {"mean": None, "median": 0.9847},
    "LGAN_Regression": {"mean": (0.985, 0.03), "median": 0.9864},
}

#: Training settings stated in §4.2 (the rest, e.g. epochs and Lipschitz control, are not stated).
TRAINING: dict[str, object] = {
    "optimizer": "Adam", "lr": 1e-5, "momentum": 0.9, "weight_decay": 5e-4, "init": "Gaussian",
    "input_size": 224, "lidc_patients": (180, 40), "qin_patients": (35, 12),
}
