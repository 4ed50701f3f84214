"""Dataset builder: small real builds from the index (phantom source), splits, cache, bad cases."""

import numpy as np
import pytest

from softnodule.config import PROFILES
from softnodule.data.datasets import builder as lnsm


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(lnsm, "cache_dir", lambda: tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def tiny_specs():
    return (lnsm.lnsm_spec("smoke", split=(6, 2, 4)), lnsm.lidc_spec("smoke", split=(4, 2, 4)))


def test_build_and_reload(tmp_cache, tiny_specs, nodule_index):
    spec = tiny_specs[0]
    ds = lnsm.build_dataset(spec, index=nodule_index, workers=1, progress=False)
    assert ds.counts == {"train": 6, "val": 2, "test": 4} or ds.manifest["skipped"]
    n = len(ds)
    assert ds["image"].shape == (n, 64, 64) and ds["image"].dtype == np.float32
    assert ds["soft"].min() >= 0 and ds["soft"].max() <= 1
    np.testing.assert_array_equal(ds["binary"], (ds["soft"] >= 0.5).astype(np.uint8))  # LNSM: binarised Soft Mask
    assert (lnsm.dataset_dir(spec) / "manifest.json").exists() and (lnsm.dataset_dir(spec) / "split.json").exists()
    again = lnsm.load_or_build(spec, progress=False)
    np.testing.assert_array_equal(again["soft"], ds["soft"])
    # no patient in two splits
    pats = {s: set(ds.subset(s)["patient_id"]) for s in ("train", "val", "test")}
    assert not (pats["train"] & pats["val"] or pats["train"] & pats["test"] or pats["val"] & pats["test"])


def test_lidc_style_uses_readers_and_consensus(tmp_cache, tiny_specs, nodule_index):
    ds = lnsm.build_dataset(tiny_specs[1], index=nodule_index, workers=1, progress=False)
    np.testing.assert_array_equal(ds["binary"], ds["consensus"])  # LIDC: GT = 50 % consensus
    assert (ds["n_readers"] >= 2).all()
    # strategy 2: the reader intersection is certain foreground, so the Soft Mask is 1 there
    inter = ds["readers"].sum(1) == ds["n_readers"][:, None, None]
    assert np.all(ds["soft"][inter] > 0.999)


def test_two_sets_are_disjoint_patients_and_look_different(tiny_specs, nodule_index):
    a = lnsm.select_split(tiny_specs[0], nodule_index)
    b = lnsm.select_split(tiny_specs[1], nodule_index)
    pa = {p for v in a.patients.values() for p in v}
    pb = {p for v in b.patients.values() for p in v}
    assert not pa & pb
    from softnodule.data.sources.phantom import APPEARANCES

    assert APPEARANCES["lnsm"] != APPEARANCES["lidc"]


def test_bad_case_is_skipped_and_reported(tiny_specs, nodule_index):
    spec = tiny_specs[0]
    good = lnsm.select_split(spec, nodule_index).nodules["train"][:2]
    rows, skipped = lnsm.build_rows(good + ["LIDC-IDRI-9999/s0000/n01"], spec, workers=1, progress=False,
                                    index=nodule_index)
    assert set(rows) == set(good)
    assert skipped and skipped[0][0] == "LIDC-IDRI-9999/s0000/n01" and "KeyError" in skipped[0][1]


def test_spec_hash_changes_with_any_parameter():
    a = lnsm.lnsm_spec("smoke")
    assert a.key() == lnsm.lnsm_spec("smoke").key()
    assert a.key() != lnsm.lnsm_spec("smoke", eps=1e-6).key()
    assert a.key() != lnsm.lnsm_spec(PROFILES["paper"]).key()


def test_a_build_on_dask_workers_equals_the_local_builds_bit_for_bit(tmp_cache, tiny_specs, nodule_index):
    from softnodule.runs.executors import dask_client

    spec = tiny_specs[1]
    here = lnsm.build_dataset(spec, index=nodule_index, workers=1, progress=False)
    with dask_client(workers=2, echo=lambda line: None) as client:
        dask = lnsm.build_dataset(spec, index=nodule_index, progress=False, client=client)
    assert set(dask.arrays) == set(here.arrays) and len(here) > 0
    for k, a in here.arrays.items():
        np.testing.assert_array_equal(dask.arrays[k], a, err_msg=f"dask: {k}")
    assert dask.manifest["key"] == here.manifest["key"] and dask.manifest["counts"] == here.manifest["counts"]
