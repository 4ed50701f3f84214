"""Figures for inspecting trimaps and mattes: pure ``show_*`` functions plus thin ipywidgets wrappers.

Each ``show_*`` function takes a `NoduleCase` and parameters and returns a matplotlib figure (unit
tested); the ``*_inspector`` wrappers only wire sliders to them with ``interactive_output`` and
``continuous_update=False``, so a rendered notebook shows the static figure without a kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from .data.case import NoduleCase
from .matting.pipeline import soft_mask_from_mask, soft_mask_from_recist
from .matting.trimap import trimap_from_binary
from .matting.window import hu_to_unit

_WINDOW = (-1350.0, 150.0)  # lung window (level -600, width 1500)


def _ct(ax, case: NoduleCase, title: str) -> None:
    ax.imshow(hu_to_unit(case.image, _WINDOW), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def _outline(ax, mask: np.ndarray, color: str, lw: float = 1.0) -> None:
    if mask.any() and not mask.all():
        ax.contour(mask.astype(float), levels=[0.5], colors=color, linewidths=lw)


def draw_recist(ax, case: NoduleCase) -> None:
    """RECIST long axis in red, short axis in blue (as in DSNet Fig. 2)."""
    for axis, color in ((case.recist.long_axis, "red"), (case.recist.short_axis, "deepskyblue")):
        ax.plot(axis[:, 1], axis[:, 0], color=color, lw=1.5)


def show_trimap(case: NoduleCase, erode: int = 2, dilate: int = 2):
    """CT with the consensus outline, and the strategy-(1) trimap for these radii."""
    res = trimap_from_binary(case.consensus, erode, dilate)
    fig, axes = plt.subplots(1, 2, figsize=(6, 3.2))
    _ct(axes[0], case, f"{case.case_id}\nconsensus outline")
    _outline(axes[0], case.consensus, "yellow")
    axes[1].imshow(res.trimap, cmap="gray", vmin=0, vmax=255)
    unknown = int((res.trimap == 128).sum())
    axes[1].set_title(f"trimap: erode {erode}, dilate {dilate}\n{unknown} unknown px", fontsize=9)
    axes[1].axis("off")
    if res.notes:
        fig.text(0.5, 0.0, "; ".join(res.notes), ha="center", fontsize=7, color="darkred", wrap=True)
    fig.tight_layout()
    return fig


#: One outline colour per reader (LIDC has at most four).
READER_COLORS = ("cyan", "lime", "orange", "magenta")


def show_matte(case: NoduleCase, eps: float = 1e-5, radius: int = 1, threshold: float = 0.5, erode: int = 2,
               dilate: int = 2, readers: bool = False):
    """Trimap -> Soft Mask -> binarised, next to the true alpha when the phantom knows it.

    ``readers=True`` outlines every reader's mask on the CT panel (one colour per reader), so the Soft
    Mask's uncertain band can be set against the readers' disagreement.
    """
    res = soft_mask_from_mask(case.image, case.consensus, erode_px=erode, dilate_px=dilate, eps=eps, radius=radius,
                              threshold=threshold)
    ncols = 5 if case.true_alpha is not None else 4
    fig, axes = plt.subplots(1, ncols, figsize=(2.4 * ncols, 2.8))
    _ct(axes[0], case, f"CT ({case.source})" + (f"\n{len(case.readers)} readers" if readers else ""))
    if readers:
        for mask, color in zip(case.readers, READER_COLORS):
            _outline(axes[0], mask, color, 0.8)
    axes[1].imshow(res.trimap, cmap="gray", vmin=0, vmax=255)
    axes[1].set_title("trimap", fontsize=9)
    axes[2].imshow(res.alpha, cmap="magma", vmin=0, vmax=1)
    axes[2].set_title(f"Soft Mask (eps {eps:.0e}, r {radius})\n{res.timings_ms.get('total', 0):.1f} ms", fontsize=9)
    axes[3].imshow(res.binary, cmap="gray")
    _outline(axes[3], case.consensus, "yellow")
    axes[3].set_title(f"binarised at {threshold:.2f}\n(yellow: consensus)", fontsize=9)
    if case.true_alpha is not None:
        axes[4].imshow(case.true_alpha, cmap="magma", vmin=0, vmax=1)
        mae = float(np.abs(res.alpha - case.true_alpha).mean())
        axes[4].set_title(f"true alpha\nMAE {mae:.4f}", fontsize=9)
    for ax in axes[1:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def show_pipeline(cases: Sequence[NoduleCase], seed: int = 0):
    """DSNet Fig. 2 / Fig. 8: image + RECIST -> GrabCut -> trimap -> Soft Mask -> binarised (one row per case)."""
    cols = ["CT + RECIST", "GrabCut", "trimap", "Soft Mask", "binarised", "true alpha / readers"]
    fig, axes = plt.subplots(len(cases), len(cols), figsize=(2.1 * len(cols), 2.2 * len(cases)), squeeze=False)
    for row, case in zip(axes, cases):
        res = soft_mask_from_recist(case.image, case.recist, seed=seed)
        from .matting.grabcut import grabcut_from_recist

        grab = grabcut_from_recist(case.image, case.recist, seed=seed)
        _ct(row[0], case, f"{case.case_id.split('@')[0]}\n{case.source}")
        draw_recist(row[0], case)
        row[1].imshow(grab, cmap="gray")
        row[2].imshow(res.trimap, cmap="gray", vmin=0, vmax=255)
        row[3].imshow(res.alpha, cmap="magma", vmin=0, vmax=1)
        row[4].imshow(res.binary, cmap="gray")
        if case.true_alpha is not None:
            row[5].imshow(case.true_alpha, cmap="magma", vmin=0, vmax=1)
        else:
            _ct(row[5], case, "")
            for mask, color in zip(case.readers, READER_COLORS):
                _outline(row[5], mask, color, 0.8)
        for ax, title in zip(row, cols):
            if ax is not row[0]:
                ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    return fig


def matte_controls() -> dict:
    """The matting sliders (erosion, dilation, log10 eps, window radius, threshold) and the readers toggle.

    Keys are `show_matte`'s arguments (``log_eps`` is log10 of ``eps``); every control has
    ``continuous_update=False``, so a figure is drawn when a slider is released, not while it moves.
    """
    import ipywidgets as w

    style = {"continuous_update": False}
    return {
        "erode": w.IntSlider(value=2, min=0, max=6, description="erosion px", **style),
        "dilate": w.IntSlider(value=2, min=0, max=6, description="dilation px", **style),
        "log_eps": w.FloatSlider(value=-5.0, min=-7.0, max=-1.0, step=0.5, description="log10 eps", **style),
        "radius": w.IntSlider(value=1, min=1, max=3, description="window r", **style),
        "threshold": w.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05, description="threshold", **style),
        "readers": w.Checkbox(value=True, description="readers' outlines"),
    }


def display_figure(fig) -> None:
    """Show ``fig`` as a cell (or widget) output and close it, whatever matplotlib backend is active."""
    from IPython.display import display

    display(fig)
    plt.close(fig)


def show_matte_controls(case: NoduleCase, erode: int, dilate: int, log_eps: float, radius: int, threshold: float,
                        readers: bool):
    """`show_matte` called with the values of `matte_controls` (eps given as its log10)."""
    return show_matte(case, eps=10.0 ** log_eps, radius=radius, threshold=threshold, erode=erode, dilate=dilate,
                      readers=readers)


def matte_inspector(cases: Sequence[NoduleCase]):
    """Sliders (case, erosion, dilation, eps, window radius, threshold, readers) over `show_matte`.

    For a whole data source with a case picker, as a web page: ``softnodule inspect`` (`softnodule.inspector`).
    """
    import ipywidgets as w
    from IPython.display import display

    controls = {"i": w.IntSlider(value=0, min=0, max=len(cases) - 1, description="case", continuous_update=False),
                **matte_controls()}

    def _show(i, **values):
        display_figure(show_matte_controls(cases[i], **values))

    out = w.interactive_output(_show, controls)
    box = w.VBox([w.HBox(list(controls.values())[:3]), w.HBox(list(controls.values())[3:]), out])
    display(box)
    return box
