"""Every reader contour on any slice: parsing, the table, and agreement with the nodule index."""

from __future__ import annotations

import numpy as np
import pytest

from softnodule.data.lidc.contours import ContourTable, parse_xy


@pytest.fixture(scope="module")
def table():
    return ContourTable.load()


def test_parse_both_formats():
    assert parse_xy("364,172\n364,171\n") == ((364, 172), (364, 171))
    assert parse_xy("308;340|307;341|", ";", "|") == ((308, 340), (307, 341))


def test_table_holds_every_contour(table):
    assert len(table) == 41406


def test_key_slice_view_equals_the_index(table, nodule_index):
    """`record_at_slice` on a nodule's own key slice gives back the index's key-slice polygons."""
    for record in nodule_index.records[::97]:
        again = table.record_at_slice(record, record.key_z)
        assert [len(p) for p in again.key_polygons] == [len(p) for p in record.key_polygons]
        for mine, theirs in zip(again.key_polygons, record.key_polygons):
            got = sorted(map(tuple, np.concatenate(mine).tolist())) if mine else []
            want = sorted(map(tuple, np.concatenate(theirs).tolist())) if theirs else []
            assert got == want
        assert again.key_inclusion == record.key_inclusion


def test_match_is_exact_and_slice_bound(table, nodule_index):
    record = nodule_index["LIDC-IDRI-0001/s0012/n01"]
    poly = record.key_polygons[0][0]
    points = tuple((int(c), int(r)) for r, c in poly)  # back to (x, y)
    hits = table.match(record.series_uid, record.key_z, points)
    assert {h.annotation_id for h in hits} == {record.annotation_ids[0]}
    assert table.match(record.series_uid, record.key_z + 5.0, points) == []  # another slice
    once = next(i for i, pt in enumerate(points) if points.count(pt) == 1)
    short = points[:once] + points[once + 1 :]
    assert table.match(record.series_uid, record.key_z, short) == []  # one vertex short
