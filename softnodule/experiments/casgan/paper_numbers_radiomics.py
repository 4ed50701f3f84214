"""CasGAN Table 5 (radiomics of Soft Mask vs binary ROI), quoted exactly, and the study setup it states.

Source: the CasGAN paper, section 4.3 (2) and Table 5. The table
gives ACC and AUC of three classifiers (decision tree, KNN, SVM) for smooth vs spiculated ("burr")
nodules, with the features extracted from the binary-mask ROI or from the soft-mask ROI.

What the paper states: 200 LNSM and 60 LIDC nodule images selected by doctors, smooth : spiculated =
1 : 1 in each; 93 pyradiomics features (the default non-shape classes: 18 first-order + 24 GLCM +
16 GLRLM + 16 GLSZM + 14 GLDM + 5 NGTDM = 93), no shape features; LNSM binary mask = Soft Mask
thresholded at 128 (of 255), LIDC binary mask = the 50 % consensus of the readers. Not stated: the
evaluation protocol (split, folds or repeats), classifier settings, feature selection or scaling,
how a soft mask was turned into a pyradiomics ROI, and any spread of the numbers.

An inference, not a statement: every LIDC accuracy is a multiple of 1/60 (0.683 = 41/60, 0.65 = 39/60,
0.72 ~ 43/60 = 0.717, 0.83 ~ 50/60 = 0.833), as if predictions were pooled over all 60 nodules (e.g.
cross-validated predictions) rather than averaged over folds or scored on a held-out part.
"""

from __future__ import annotations

#: Our keys for the classifiers, in the paper's row order, and their labels.
CLASSIFIER_LABELS: dict[str, str] = {"decision_tree": "Decision tree", "knn": "KNN", "svm": "SVM"}

#: CasGAN Table 5: dataset -> classifier -> ROI ("binary" / "soft") -> {"acc", "auc"}.
TABLE5_RADIOMICS: dict[str, dict[str, dict[str, dict[str, float]]]] = {
    "lnsm": {
        "decision_tree": {"binary": {"acc": 0.81, "auc": 0.81}, "soft": {"acc": 0.83, "auc": 0.81}},
        "knn": {"binary": {"acc": 0.77, "auc": 0.87}, "soft": {"acc": 0.87, "auc": 0.94}},
        "svm": {"binary": {"acc": 0.84, "auc": 0.90}, "soft": {"acc": 0.88, "auc": 0.91}},
    },
    "lidc": {
        "decision_tree": {"binary": {"acc": 0.683, "auc": 0.63}, "soft": {"acc": 0.83, "auc": 0.88}},
        "knn": {"binary": {"acc": 0.65, "auc": 0.75}, "soft": {"acc": 0.83, "auc": 0.92}},
        "svm": {"binary": {"acc": 0.72, "auc": 0.76}, "soft": {"acc": 0.83, "auc": 0.92}},
    },
}

#: Nodules per class the paper used (1 : 1), per dataset.
PAPER_PER_CLASS: dict[str, int] = {"lnsm": 100, "lidc": 30}

#: Number of pyradiomics features the paper extracted (no shape class).
PAPER_N_FEATURES = 93

#: Our dataset names -> the paper's dataset keys.
DATASET_KEYS: dict[str, str] = {"lnsm_style": "lnsm", "lidc_style": "lidc"}


def paper_cell(dataset: str, classifier: str, roi: str) -> dict[str, float] | None:
    """The paper's ``{"acc", "auc"}`` for one cell, or None where the table has no such cell.

    ``dataset`` may be ours (``lnsm_style``) or the paper's key (``lnsm``); every soft-ROI reading
    (``soft``, ``soft_support``) is compared with the paper's single "Soft mask" column.
    """
    key = DATASET_KEYS.get(dataset, dataset)
    col = "soft" if roi.startswith("soft") else roi
    return TABLE5_RADIOMICS.get(key, {}).get(classifier, {}).get(col)
