"""The LIDC-nodule sources as one object: which nodules a source can show, and the case of one.

``phantom``, ``lidc-crops`` and ``lidc-dicom`` all describe nodules of the LIDC nodule index, so
the dataset builder, Table VI and the notebooks ask them the same two questions through
`open_nodule_source`: `NoduleSource.available` (ids whose case can be built here) and
`NoduleSource.case` (the `NoduleCase`). DeepLesion lesions are not LIDC nodules; they have their
own reader (`sources.deeplesion`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..case import NoduleCase, NoduleRecord
from ..lidc.index import NoduleIndex
from . import check_source_name, require_source

#: Sources whose unit is a nodule of the LIDC index.
NODULE_SOURCES = ("phantom", "lidc-crops", "lidc-dicom")


@dataclass
class NoduleSource:
    """One LIDC-nodule image source, opened (its data loaded once)."""

    name: str
    index: NoduleIndex
    data: Any = None  # LidcCrops for lidc-crops
    notes: list[str] = field(default_factory=list)

    def available(self, records: list[NoduleRecord] | None = None) -> list[NoduleRecord]:
        """The records (all of the index by default) whose case this source can build."""
        records = self.index.records if records is None else records
        if self.name == "phantom":
            return list(records)
        if self.name == "lidc-crops":
            return [r for r in records if self.data.has(r.nodule_id)]
        from .lidc_dicom import has_key_slice

        return [r for r in records if has_key_slice(r)]

    def case(self, record: NoduleRecord, *, size: int = 64, seed: int = 0, appearance: str = "lnsm") -> NoduleCase:
        """The case of one nodule (``seed`` and ``appearance`` only matter to the phantom)."""
        if self.name == "phantom":
            from .phantom import APPEARANCES, render_case

            return render_case(record, size=size, seed=seed, appearance=APPEARANCES[appearance])
        if self.name == "lidc-crops":
            return self.data.case(record, size=size)
        from .lidc_dicom import dicom_case

        return dicom_case(record, size=size)

    def recist_reader(self, case: NoduleCase) -> int | None:
        """The ONE reader whose outline gives RECIST for strategy (3) on real images, as DeepLesion has one
        radiologist per lesion: the crop's own reader for lidc-crops, the reader with the largest mask on the
        slice for lidc-dicom; None for the phantom (its RECIST is measured on the consensus shape)."""
        if self.name == "phantom":
            return None
        if self.name == "lidc-crops":
            return int(case.meta["crop_reader"])
        return int(case.readers.reshape(case.readers.shape[0], -1).sum(axis=1).argmax())

    def info(self) -> dict[str, Any]:
        """What the source holds (for manifests and ``data info``)."""
        if self.name == "lidc-crops":
            return self.data.counts
        return {}


def open_nodule_source(name: str, index: NoduleIndex, *, progress: bool = True) -> NoduleSource:
    """Open one LIDC-nodule source (raises `SourceUnavailableError` when it has no data here)."""
    check_source_name(name)
    if name not in NODULE_SOURCES:
        raise ValueError(f"{name!r} is not a source of LIDC nodules; these are {', '.join(NODULE_SOURCES)}")
    require_source(name)
    if name == "lidc-crops":
        from .lidc_crops import load_lidc_crops

        return NoduleSource(name, index, load_lidc_crops(progress=progress, index=index))
    return NoduleSource(name, index)
