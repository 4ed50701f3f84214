"""Is the phantom CT-like? The same measurements on rendered crops and on real LIDC-IDRI crops.

Real pixels come from the user's LIDC-IDRI DICOM folder (``SOFTNODULE_LIDC_DIR``, full download or
a few slabs). Parenchyma statistics use lung crops sampled from every real slice found; nodule HU and
edge width use the real nodules whose key slice is present (a two-patient sample of slabs holds one
4-reader solid nodule), so by-texture comparisons on real data are limited to what exists and say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...data.case import NoduleCase
from ...data.sources.lidc_dicom import _slice_positions, dicom_roots, read_slice_hu
from ...data.realism import edge_width_mm, nodule_hu, parenchyma_stats
from ...data.datasets.splits import stable_seed

TEXTURE_GROUPS = {"ground-glass (1-2)": (1, 2.5), "part-solid (3)": (2.5, 3.5), "solid (4-5)": (3.5, 5.1)}


def texture_group(rating: float) -> str:
    """Name of the texture group of a median LIDC texture rating."""
    for name, (lo, hi) in TEXTURE_GROUPS.items():
        if lo <= rating < hi:
            return name
    raise ValueError(f"texture rating {rating} outside 1..5")


def real_lung_crops(n: int = 40, size: int = 64, seed: int = 0, min_lung_fraction: float = 0.8) -> list[dict[str, Any]]:
    """Up to ``n`` crops of aerated lung from every real DICOM slice under ``SOFTNODULE_LIDC_DIR``."""
    series_dirs = []
    for root in dicom_roots():
        series_dirs += sorted({p.parent for p in root.rglob("*.dcm")})
    rng = np.random.default_rng(stable_seed("lung-crops", seed))
    crops = []
    slices = [(s, z) for s in series_dirs for z, _ in _slice_positions(s)]
    for i in rng.permutation(len(slices)):
        if len(crops) >= n:
            break
        series, z = slices[i]
        hu, _ = read_slice_hu(series, z)
        for _ in range(30):
            r, c = rng.integers(0, hu.shape[0] - size, 2)
            crop = hu[r : r + size, c : c + size]
            if np.mean((crop > -1000) & (crop < -500)) >= min_lung_fraction:
                crops.append({"image": crop, "series": series.name[-12:], "z": z})
                break
    return crops


def _summ(values: Sequence[float]) -> str:
    v = np.array([x for x in values if np.isfinite(x)], dtype=float)
    if len(v) == 0:
        return "n/a"
    return f"{v.mean():.1f} ± {v.std():.1f} (n={len(v)})"


def realism_rows(phantom: dict[str, Sequence[NoduleCase]], real_cases: Sequence[NoduleCase],
                 lung_crops: Sequence[dict[str, Any]],
                 crop_cases: Sequence[NoduleCase] = ()) -> list[dict[str, Any]]:
    """One row per source: parenchyma HU and noise, nodule HU per texture group, edge width (mm).

    ``crop_cases`` (the ``lidc-crops`` source: real nodules of every texture) get their own row.
    """
    rows = []

    def _row(source: str, cases: Sequence[NoduleCase], lungs: Sequence[np.ndarray]) -> dict[str, Any]:
        par = [parenchyma_stats(c.image, c.consensus) for c in cases] + [parenchyma_stats(x, None) for x in lungs]
        row: dict[str, Any] = {
            "source": source,
            "parenchyma_hu": _summ([p[0] for p in par]),
            "parenchyma_noise_hu": _summ([p[1] for p in par]),
        }
        for group in TEXTURE_GROUPS:
            sel = [c for c in cases if texture_group(c.ratings["texture"]) == group]
            row[f"nodule_hu {group}"] = _summ([nodule_hu(c.image, c.consensus) for c in sel])
        row["edge_width_10_90_mm"] = _summ([edge_width_mm(c.image, c.consensus, c.spacing_mm) for c in cases])
        return row

    for name, cases in phantom.items():
        rows.append(_row(f"phantom ({name} appearance)", cases, []))
    if real_cases or lung_crops:
        rows.append(_row("real LIDC-IDRI DICOM", real_cases, [c["image"] for c in lung_crops]))
    if crop_cases:
        rows.append(_row("real LIDC-IDRI (lidc-crops)", crop_cases, []))
    return rows


def real_nodule_cases(index, size: int = 64) -> list[NoduleCase]:
    """Real-pixel cases for every nodule whose key slice is present under ``SOFTNODULE_LIDC_DIR``.

    Scans every patient folder found under the root (cheap for a few slabs; on a full LIDC-IDRI
    download this visits every patient, so notebooks pass a sample there).
    """
    from ...data.sources.lidc_dicom import dicom_case, has_key_slice

    patients = sorted({p.name for root in dicom_roots() for p in root.glob("LIDC-IDRI-*") if p.is_dir()})
    out = []
    for pid in patients:
        for rec in index.for_patient(pid):
            if rec.n_readers <= 4 and has_key_slice(rec):
                try:
                    out.append(dicom_case(rec, size=size))
                except ValueError:
                    continue  # empty consensus on the key slice: no case to show
    return out


def realism_figure(phantom: dict[str, Sequence[NoduleCase]], real_cases: Sequence[NoduleCase], n: int = 6,
                   crop_cases: Sequence[NoduleCase] = ()):
    """Rows: phantom crops per appearance, then the real DICOM and real lidc-crops cases, one lung window."""
    import matplotlib.pyplot as plt

    from ...matting.window import hu_to_unit

    rows = [(f"phantom\n{name}", list(cases)[:n]) for name, cases in phantom.items()]
    if real_cases:
        rows.append(("real\nLIDC-IDRI", list(real_cases)[:n]))
    if crop_cases:
        rows.append(("real\nlidc-crops", list(crop_cases)[:n]))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.8 * n, 1.9 * len(rows)), squeeze=False)
    for ax_row, (label, cases) in zip(axes, rows):
        for j, ax in enumerate(ax_row):
            ax.axis("off")
            if j < len(cases):
                c = cases[j]
                ax.imshow(hu_to_unit(c.image, (-1350.0, 150.0)), cmap="gray", vmin=0, vmax=1)
                ax.set_title(f"{c.case_id.split('/')[0][-4:]} tex {c.ratings.get('texture', 0):.0f}", fontsize=7)
        ax_row[0].text(-0.1, 0.5, label, transform=ax_row[0].transAxes, ha="right", va="center", fontsize=8)
    fig.suptitle("lung window (level -600, width 1500); scale: real pixel spacing", fontsize=8)
    fig.tight_layout()
    return fig
