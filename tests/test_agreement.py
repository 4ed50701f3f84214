"""Agreement matrix, consensus and leave-one-out consensus on small hand-made reader masks."""

import numpy as np
import pytest

from softnodule.agreement import (
    CONSENSUS,
    agreement,
    consensus_mask,
    leave_one_out_consensus,
    matrix_rows,
    order_free,
    summarize_order_free,
)


def square(r0, r1, c0, c1, size=10):
    m = np.zeros((size, size), bool)
    m[r0:r1, c0:c1] = True
    return m


@pytest.fixture()
def readers():
    # four readers: two identical 4x4 squares, one shifted by a column, one 2x2 inside
    return np.stack([square(2, 6, 2, 6), square(2, 6, 2, 6), square(2, 6, 3, 7), square(3, 5, 3, 5)])


def test_consensus_is_at_least_half_of_the_readers(readers):
    cons = consensus_mask(readers)
    votes = readers.sum(axis=0)
    assert np.array_equal(cons, votes >= 2)
    assert consensus_mask(readers[:3]).sum() == (readers[:3].sum(axis=0) >= 2).sum()  # 3 readers: 1.5 -> 2


def test_leave_one_out_removes_exactly_one_reader(readers):
    loo = leave_one_out_consensus(readers)
    assert loo.shape == readers.shape
    for i in range(4):
        others = np.delete(readers, i, axis=0)
        assert np.array_equal(loo[i], others.sum(axis=0) >= 2)  # 2 of the other 3
    with pytest.raises(ValueError, match="at least 2 readers"):
        leave_one_out_consensus(readers[:1])


def test_matrix_known_values(readers):
    a = agreement(readers, {"model": readers[0]})
    assert a.names == ["D1", "D2", "D3", "D4", CONSENSUS, "model"]
    m = a.matrix
    assert np.allclose(m, m.T, equal_nan=True) and np.isnan(np.diag(m)).all()
    assert m[0, 1] == 1.0  # identical readers
    assert m[0, 2] == pytest.approx(2 * 12 / 32)  # 4x4 squares sharing 3 columns
    assert m[0, 3] == pytest.approx(2 * 4 / 20)  # 2x2 inside a 4x4
    assert m[0, 5] == 1.0  # the model copies D1
    # reader 1's leave-one-out consensus (D2, D3, D4 with >= 2 votes) is D2 ∩ D3 = 4 rows x 3 cols
    assert a.reader_vs_loo[0] == pytest.approx(2 * 12 / (16 + 12))
    assert np.allclose(a.extra_vs_loo["model"][0], a.reader_vs_loo[0])


def test_self_inclusion_bias_is_visible(readers):
    f = order_free(agreement(readers))
    assert f["reader_vs_consensus"] > f["reader_vs_loo"]  # a consensus that contains the reader flatters them
    assert f["pairwise"] == pytest.approx(np.mean([1.0, 0.75, 0.4, 0.75, 0.4, 2 * 4 / 20]))


def test_order_free_numbers_do_not_depend_on_reader_order(readers):
    model = square(2, 6, 2, 7)
    a = order_free(agreement(readers, {"m": model}))
    b = order_free(agreement(readers[[3, 1, 0, 2]], {"m": model}))
    assert a == pytest.approx(b)


def test_empty_reader_and_3d_masks():
    vol = np.zeros((4, 6, 6, 3), bool)
    vol[:3, 1:4, 1:4, :2] = True  # reader 4 drew nothing
    a = agreement(vol)
    assert a.matrix[0, 3] == 0.0 and a.matrix[0, 1] == 1.0
    assert order_free(a)["pairwise"] == pytest.approx(0.5)  # 3 pairs of 1.0, 3 pairs of 0.0


def test_shapes_are_checked(readers):
    with pytest.raises(ValueError, match="shape"):
        agreement(readers, {"m": np.zeros((5, 5), bool)})


def test_matrix_rows_and_summary(readers):
    mats = np.stack([agreement(readers).matrix, agreement(readers[[1, 0, 3, 2]]).matrix])
    names = agreement(readers).names
    rows = matrix_rows(names, mats, {"D1": {"D2": 70.65}})
    assert rows[0][""] == "D1" and rows[0]["D1"] == "-" and rows[0]["D2 (paper)"] == 70.65
    assert rows[0]["D2"].startswith("100.00")
    s = summarize_order_free([order_free(agreement(readers))] * 3)
    assert s["n"] == 3 and s["pairwise_std"] == 0.0
