"""The inspector page's widgets: a case picker over one source and the matting sliders.

The figure is `softnodule.widgets.show_matte`, the pure function notebook 01 and the tests call; this
module only wires controls to it. Every control has a DOM class ``softnodule-<name>`` so a browser
test (and a reader's stylesheet) can find it.
"""

from __future__ import annotations

import os

from ..data.case import NoduleCase
from ..data.sources import REAL_SOURCES
from ..widgets import display_figure, matte_controls, show_matte_controls
from .catalog import CaseCatalog, open_catalog

__all__ = ["ENV_ID", "ENV_SOURCE", "case_caption", "inspector", "inspector_from_env"]

#: Variables through which ``softnodule inspect`` hands its arguments to the page's kernel.
ENV_SOURCE = "SOFTNODULE_INSPECT_SOURCE"
ENV_ID = "SOFTNODULE_INSPECT_ID"


def case_caption(case: NoduleCase) -> str:
    """One line naming the case, its image source (real or rendered), readers and pixel spacing."""
    kind = "real CT" if case.source in REAL_SOURCES else "rendered phantom, true alpha known"
    return (f"{case.case_id} | source {case.source} ({kind}) | patient {case.patient_id} | "
            f"{len(case.readers)} readers | {case.spacing_mm:.2f} mm/px | {case.size}x{case.size} px")


def inspector(catalog: CaseCatalog, nodule_id: str | None = None):
    """The inspector for every nodule of ``catalog``, opened on ``nodule_id`` (the first id when None).

    Returns the top-level ``VBox``; displaying it (the last line of a cell) shows the page.
    """
    import ipywidgets as w

    picker = w.Dropdown(options=catalog.ids, value=catalog.resolve(nodule_id), description="nodule")
    controls = {"nodule_id": picker, **matte_controls()}
    for name, control in controls.items():
        control.add_class(f"softnodule-{name.replace('_', '-')}")

    def _show(nodule_id: str, **values) -> None:
        try:
            case = catalog.case(nodule_id)
        except (KeyError, ValueError) as err:  # a case its source cannot build: say so, keep the page
            print(f"{nodule_id}: cannot be shown: {err}")
            return
        print(case_caption(case))
        display_figure(show_matte_controls(case, **values))

    out = w.interactive_output(_show, controls)
    out.add_class("softnodule-figure")
    c = controls
    header = w.HTML(f"<b>Soft Mask inspector</b>: {len(catalog.ids)} nodules of image source "
                    f"<code>{catalog.name}</code>. Sliders redraw when released.")
    return w.VBox([header, w.HBox([picker, c["readers"]]), w.HBox([c["erode"], c["dilate"], c["radius"]]),
                   w.HBox([c["log_eps"], c["threshold"]]), out])


def inspector_from_env():
    """The inspector for the source and nodule named by ``softnodule inspect`` (`ENV_SOURCE`, `ENV_ID`)."""
    catalog = open_catalog(os.environ.get(ENV_SOURCE) or "auto")
    return inspector(catalog, os.environ.get(ENV_ID) or None)
