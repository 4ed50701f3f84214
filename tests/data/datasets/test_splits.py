"""Patient pools and patient-level splits: nobody is in two places."""

import numpy as np
import pytest

from softnodule.data.case import NoduleRecord
from softnodule.data.datasets.splits import Split, make_patient_pools, patient_level_split


def _record(pid: str, n: int, readers: int = 4, radius: float = 5.0) -> NoduleRecord:
    t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    poly = np.stack([100 + radius * np.sin(t), 100 + radius * np.cos(t)], 1)
    return NoduleRecord(f"{pid}/s0001/n{n:02d}", pid, 1, "st", "se", 0.7, 2.5, tuple(range(readers)),
                        tuple({"texture": 5} for _ in range(readers)), 0.0, 0, tuple((poly,) for _ in range(readers)),
                        tuple((True,) for _ in range(readers)), tuple(7.0 for _ in range(readers)), 80, (100.0, 100.0), 3)


@pytest.fixture
def records():
    rng = np.random.default_rng(0)
    out = []
    for p in range(60):
        for n in range(int(rng.integers(1, 5))):
            out.append(_record(f"P{p:03d}", n + 1, readers=int(rng.integers(1, 5))))
    return out


def test_split_is_patient_disjoint_and_sized(records):
    split = patient_level_split(records, (40, 10, 20), name="t", seed=0)
    split.check_disjoint()
    pats = [set(v) for v in split.patients.values()]
    assert not (pats[0] & pats[1] or pats[0] & pats[2] or pats[1] & pats[2])
    assert split.counts == {"train": 40, "val": 10, "test": 20}


def test_split_is_seeded(records):
    a = patient_level_split(records, (40, 10, 20), name="t", seed=0)
    b = patient_level_split(records, (40, 10, 20), name="t", seed=0)
    c = patient_level_split(records, (40, 10, 20), name="t", seed=1)
    assert a.nodules == b.nodules and a.nodules != c.nodules


def test_too_few_nodules_scales_down_and_says_so(records):
    split = patient_level_split(records, (1000, 100, 400), name="t")
    assert sum(split.counts.values()) <= len(records)
    assert split.notes and "scaled" in split.notes[0]


def test_split_file_round_trip(records, tmp_path):
    split = patient_level_split(records, (40, 10, 20), name="t")
    path = split.save(tmp_path / "split.json")
    assert Split.load(path).nodules == split.nodules


def test_pools_are_disjoint(records):
    pools = make_patient_pools(records, 30, min_readers=2)
    assert not set(pools.lnsm) & set(pools.lidc)
    assert set(pools.lnsm) | set(pools.lidc) == {r.patient_id for r in records}


def test_real_pools_and_splits_hold_the_paper_counts(nodule_index):
    from softnodule.data.datasets.builder import lidc_spec, lnsm_spec, select_split

    from softnodule.config import PROFILES

    lnsm = select_split(lnsm_spec(PROFILES["paper"]), nodule_index)
    lidc = select_split(lidc_spec(PROFILES["paper"]), nodule_index)
    for s in (lnsm, lidc):
        s.check_disjoint()
    assert lnsm.counts == {"train": 1000, "val": 100, "test": 400}
    assert lidc.counts == {"train": 387, "val": 55, "test": 544}
    lnsm_patients = {p for v in lnsm.patients.values() for p in v}
    lidc_patients = {p for v in lidc.patients.values() for p in v}
    assert not lnsm_patients & lidc_patients, "the two datasets must come from disjoint patient pools"
