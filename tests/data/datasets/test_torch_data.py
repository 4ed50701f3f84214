"""Training tensors and deterministic batches."""

from __future__ import annotations

import numpy as np
import pytest

from softnodule.data.datasets.torch_data import epoch_batches, flip_augment, segmentation_arrays


def test_batches_are_seeded_per_epoch_and_drop_the_remainder():
    a = epoch_batches(10, 4, seed=0, epoch=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, epoch_batches(10, 4, seed=0, epoch=3)))
    assert [len(b) for b in a] == [4, 4]
    assert len(set(np.concatenate(a))) == 8
    b = epoch_batches(10, 4, seed=0, epoch=4)
    assert not all(np.array_equal(x, y) for x, y in zip(a, b))
    plain = epoch_batches(10, 4, seed=0, epoch=0, shuffle=False)
    assert [list(x) for x in plain] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(ValueError):
        epoch_batches(0, 4, seed=0, epoch=0)


def test_flips_are_shared_by_every_array_of_a_batch():
    img = np.arange(16.0).reshape(1, 1, 4, 4)
    outs = {tuple(flip_augment([img, img * 2], seed=0, epoch=0, step=s)[0].ravel()) for s in range(20)}
    assert len(outs) == 4  # identity, h, v, both
    x, y = flip_augment([img, img * 2], seed=1, epoch=2, step=3)
    np.testing.assert_array_equal(y, x * 2)
    assert x.flags["C_CONTIGUOUS"]


def test_segmentation_arrays_follow_the_model_conventions(disc_dataset):
    tr = segmentation_arrays(disc_dataset, "train")
    assert tr.image.shape == (12, 1, 32, 32) and len(tr) == 12 and tr.ids[0] == "disc-000"
    assert tr.image.min() >= -1 and tr.image.max() <= 1
    assert set(np.unique(tr.binary)) <= {0.0, 1.0} and tr.soft.max() <= 1
    np.testing.assert_array_equal(tr.binary, (tr.soft >= 0.5).astype(np.float32))
    assert len(tr.take(np.array([1, 2]))) == 2
