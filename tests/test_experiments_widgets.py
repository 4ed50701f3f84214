"""Soft Mask accuracy scoring, timing rows and the show_* figures, on phantom cases."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from softnodule.experiments.dsnet import soft_mask_accuracy as sma  # noqa: E402


@pytest.fixture(scope="module")
def cases(nodule_index):
    from softnodule.data.sources.phantom import render_case

    return [render_case(r, seed=0) for r in sma.sample_records(nodule_index.records, 6, seed=1)]


def test_dice_known_values():
    a = np.zeros((4, 4), bool)
    assert sma.dice(a, a) == 1.0  # both empty
    b = a.copy()
    b[0, :2] = True
    assert sma.dice(a, b) == 0.0
    c = b.copy()
    c[0, 2:] = True
    assert sma.dice(b, c) == pytest.approx(2 * 2 / 6)


def test_truth_scores_perfectly(cases):
    case = cases[0]
    sc = sma.score_case(case, {"truth": case.true_alpha, "zeros": np.zeros_like(case.true_alpha)})
    assert sc["truth"]["mae"] == 0 and sc["truth"]["mae_edge"] == 0
    assert sc["zeros"]["mae"] == pytest.approx(case.true_alpha.mean(), rel=1e-6)


def test_accuracy_table_rows(cases):
    rows, raw = sma.accuracy_table(cases)
    assert [r["label"] for r in rows] == list(sma.LABELS)
    assert all(r["n"] == len(cases) for r in rows)
    by = {r["label"]: r for r in rows}
    assert by["binary_consensus"]["dice_consensus_mean"] == 1.0
    assert "BEATS" in sma.verdict(rows) or "does NOT beat" in sma.verdict(rows)


def test_sample_is_seeded(nodule_index):
    a = sma.sample_records(nodule_index.records, 5, seed=3)
    b = sma.sample_records(nodule_index.records, 5, seed=3)
    assert [r.nodule_id for r in a] == [r.nodule_id for r in b]


def test_timing_rows_have_paper_numbers(cases):
    rows = sma.timing_rows(cases[:2])
    assert rows[2]["paper_ms"] == 20.0 and all(r["ours_ms"] > 0 for r in rows)


def test_show_functions_return_figures(cases):
    from softnodule import widgets

    for fig in (widgets.show_trimap(cases[0], 1, 3), widgets.show_matte(cases[0], eps=1e-4, threshold=0.3),
                widgets.show_pipeline(cases[:2])):
        assert isinstance(fig, matplotlib.figure.Figure) and fig.axes
        matplotlib.pyplot.close(fig)
    fig = widgets.show_matte(cases[0])
    assert any("true alpha" in ax.get_title() for ax in fig.axes)
