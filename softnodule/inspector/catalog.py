"""The nodules one image source can show in the inspector, each case built when it is picked.

A source of LIDC nodules (`softnodule.data.sources.nodule_sources`) knows thousands of ids; building
every case up front would take minutes, so `CaseCatalog` lists the ids and builds a case on first
use, keeping the last few.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from ..data.case import NoduleCase
from ..data.sources import default_source
from ..data.sources.nodule_sources import NODULE_SOURCES, NoduleSource, open_nodule_source

__all__ = ["CaseCatalog", "UnknownNoduleError", "open_catalog"]


class UnknownNoduleError(KeyError):
    """A nodule id the chosen source cannot show (the message names the source and some valid ids)."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


@dataclass
class CaseCatalog:
    """The nodule ids of one opened source and their cases, built on demand.

    Parameters
    ----------
    source : NoduleSource
        An opened LIDC-nodule source (`open_nodule_source`).
    seed : int
        The phantom's rendering seed (real sources ignore it).
    keep : int
        How many built cases to keep in memory.
    """

    source: NoduleSource
    seed: int = 0
    keep: int = 16
    ids: list[str] = field(init=False)
    _cases: OrderedDict = field(init=False, default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self.ids = sorted(r.nodule_id for r in self.source.available())
        if not self.ids:
            raise RuntimeError(f"image source {self.source.name!r} has no nodule here to inspect")

    @property
    def name(self) -> str:
        """The source's name (``phantom``, ``lidc-crops`` or ``lidc-dicom``)."""
        return self.source.name

    def resolve(self, nodule_id: str | None) -> str:
        """``nodule_id`` when this source has it, the first id when None, else `UnknownNoduleError`."""
        if nodule_id is None:
            return self.ids[0]
        if nodule_id in set(self.ids):
            return nodule_id
        close = [i for i in self.ids if i.startswith(nodule_id.split("/")[0])][:5] or self.ids[:5]
        raise UnknownNoduleError(
            f"nodule {nodule_id!r} is not in image source {self.name!r} ({len(self.ids)} nodules); "
            f"e.g. {', '.join(close)}")

    def case(self, nodule_id: str) -> NoduleCase:
        """The `NoduleCase` of one nodule (built once, then kept among the last ``keep``)."""
        nodule_id = self.resolve(nodule_id)
        if nodule_id in self._cases:
            self._cases.move_to_end(nodule_id)
            return self._cases[nodule_id]
        case = self.source.case(self.source.index[nodule_id], seed=self.seed)
        self._cases[nodule_id] = case
        while len(self._cases) > self.keep:
            self._cases.popitem(last=False)
        return case


def open_catalog(source: str | None = "auto", *, seed: int = 0, progress: bool = False) -> CaseCatalog:
    """Open one LIDC-nodule source for the inspector (``"auto"``: as the notebooks pick, `default_source`).

    Raises `SourceUnavailableError` when the source has no data here, ValueError for a source whose
    unit is not an LIDC nodule (DeepLesion).
    """
    from ..data.lidc.index import load_nodule_index

    name = default_source(source)
    if name not in NODULE_SOURCES:
        raise ValueError(f"the inspector shows LIDC nodules; source {name!r} is not one of {', '.join(NODULE_SOURCES)}")
    return CaseCatalog(open_nodule_source(name, load_nodule_index(progress=progress), progress=progress), seed=seed)
