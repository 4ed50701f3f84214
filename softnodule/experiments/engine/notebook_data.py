"""One call gives a nodule notebook its profile, image source, nodule index and datasets.

Every nodule notebook has the papermill parameters ``profile`` and ``source`` and starts with
``data = notebook_data(profile, source)``: the source is resolved once (`sources.default_source`:
``SOFTNODULE_SOURCE``, then the parameter, then ``lidc-crops`` when a copy is found, else the
phantom), a banner says which one every number below comes from, and the datasets are built (or
loaded from the cache) from that source only. Sources are never mixed silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ...config import Profile, get_profile
from ...data.datasets.builder import SoftMaskDataset, lidc_spec, lnsm_spec, load_or_build
from ...data.lidc.index import NoduleIndex, load_nodule_index
from ...data.sources import REAL_SOURCES, default_source

_DESCRIPTIONS = {
    "phantom": "rendered CT-like crops around the real LIDC reader contours (the phantom; true alpha known)",
    "lidc-crops": "REAL LIDC-IDRI CT: the public max-slice crops (mtzig/LIDC_GDRO), real reader contours",
    "lidc-dicom": "REAL LIDC-IDRI CT from your DICOM download (SOFTNODULE_LIDC_DIR)",
    "deeplesion": "REAL DeepLesion CT (SOFTNODULE_DEEPLESION_DIR), lung lesions, one radiologist's RECIST",
}


def source_banner(source: str) -> str:
    """One line naming the image source of every number in a notebook."""
    kind = "real CT" if source in REAL_SOURCES else "NOT real CT"
    return f"IMAGE SOURCE: {source} ({kind}) - {_DESCRIPTIONS[source]}"


@dataclass
class NotebookData:
    """A notebook's profile, image source, index and (lazily built) datasets."""

    profile: Profile
    source: str
    progress: bool = True
    _extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def index(self) -> NoduleIndex:
        return load_nodule_index(progress=self.progress)

    @cached_property
    def lnsm(self) -> SoftMaskDataset:
        """The LNSM-style set (strategy 3) from this notebook's source."""
        return load_or_build(lnsm_spec(self.profile, source=self.source), progress=self.progress)

    @cached_property
    def lidc(self) -> SoftMaskDataset:
        """The LIDC-style set (strategy 2) from this notebook's source (LIDC sources only)."""
        return load_or_build(lidc_spec(self.profile, source=self.source), progress=self.progress)

    def describe(self, ds: SoftMaskDataset) -> str:
        """Provenance words for one dataset: source, name, cache key and test size."""
        m = ds.manifest
        return f"{self.source} {m['spec']['name']} set {m['key']} (test n={ds.counts['test']})"


def notebook_data(profile: str | Profile, source: str | None = "auto", *, progress: bool = True,
                  quiet: bool = False) -> NotebookData:
    """Resolve the profile and the image source of a notebook and print the source banner."""
    p = profile if isinstance(profile, Profile) else get_profile(profile)
    chosen = default_source(source)
    if not quiet:
        print(source_banner(chosen))
    return NotebookData(p, chosen, progress)
