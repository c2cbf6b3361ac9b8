"""flowlab.data.batching: batch sizes, per-epoch shuffling, and batches equal to the slices of the permuted set."""

import numpy as np
import pytest

from flowlab.data import batches, check_batch_size, epoch_batches, num_batches


X = np.arange(20.0).reshape(10, 2)
Y = np.arange(10)


@pytest.mark.parametrize("batch_size, sizes", [
    (None, [10]), ("full", [10]), (1, [1] * 10), (3, [3, 3, 3, 1]), (5, [5, 5]), (64, [10]),
])
def test_batch_sizes(batch_size, sizes):
    got = list(batches(X, Y, batch_size, rng=0))
    assert [len(xb) for xb, _ in got] == [len(yb) for _, yb in got] == sizes
    assert num_batches(10, batch_size) == len(sizes)
    seen = np.concatenate([yb for _, yb in got])
    assert sorted(seen) == list(range(10))  # every sample exactly once
    for xb, yb in got:
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)  # rows stay paired


def test_full_batch_is_the_whole_set():
    (xb, yb), = batches(X, Y, None, rng=0)
    assert xb is X and yb is Y


def test_epoch_batches_reshuffle_per_epoch_deterministically():
    def order(seed, epoch):
        return np.concatenate([yb for _, yb in epoch_batches(X, Y, 4, seed, epoch)])

    np.testing.assert_array_equal(order(0, 3), order(0, 3))
    orders = [tuple(order(0, e)) for e in range(5)]
    assert len(set(orders)) == 5
    assert tuple(order(1, 0)) != orders[0]
    assert all(sorted(o) == list(range(10)) for o in orders)


def test_generator_rng_is_consumed_per_epoch():
    rng = np.random.default_rng(0)
    first = np.concatenate([yb for _, yb in batches(X, Y, 3, rng=rng)])
    second = np.concatenate([yb for _, yb in batches(X, Y, 3, rng=rng)])
    assert not np.array_equal(first, second)
    again = np.random.default_rng(0)
    np.testing.assert_array_equal(first, np.concatenate([yb for _, yb in batches(X, Y, 3, rng=again)]))


def test_no_shuffle_keeps_order_as_views():
    got = list(batches(X, Y, 4, shuffle=False))
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in got]), Y)
    assert np.shares_memory(got[0][0], X)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "32", "all", True])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match=r"batch_size=.*") as err:
        batches(X, Y, bad)
    assert repr(bad) in str(err.value) and "full" in str(err.value)
    with pytest.raises(ValueError):
        num_batches(10, bad)


def test_check_batch_size_normalizes():
    assert check_batch_size("full") is None and check_batch_size(None) is None
    assert check_batch_size(np.int64(8)) == 8


@pytest.mark.parametrize("batch_size", [1, 3, 7, 128])
def test_shuffled_batches_are_the_slices_of_the_permuted_set(tmp_path, batch_size):
    # The oracle is the plain way: permute the whole set with the same generator, then slice.
    # Memory-mapped features (as the dataset cache gives), N-d features and one-hot labels included.
    rng = np.random.default_rng(5)
    x = rng.normal(size=(301, 4, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    for y in (rng.integers(0, 10, size=301), np.eye(10)[rng.integers(0, 10, size=301)]):
        perm = np.random.default_rng(11).permutation(301)
        want = [(x[perm][s:s + batch_size], y[perm][s:s + batch_size]) for s in range(0, 301, batch_size)]
        for source in (x, mapped):
            got = list(batches(source, y, batch_size, rng=11))
            assert len(got) == len(want)
            for (xb, yb), (wx, wy) in zip(got, want):
                assert type(xb) is np.ndarray and xb.dtype == wx.dtype and xb.flags.c_contiguous
                np.testing.assert_array_equal(xb, wx)
                np.testing.assert_array_equal(yb, wy)
                assert yb.dtype == wy.dtype


def test_epoch_and_seed_errors_name_the_argument_and_a_long_value_is_cut():
    with pytest.raises(ValueError, match=r"^epoch must be an int >= 0, got epoch=-1$"):
        epoch_batches(X, Y, 4, 0, -1)
    with pytest.raises(ValueError, match=r"^seed must be an int >= 0, got seed=True$"):
        epoch_batches(X, Y, 4, True, 0)
    with pytest.raises(ValueError) as err:
        check_batch_size(list(range(1000)))
    assert "got batch_size=[0, 1, 2," in str(err.value) and len(str(err.value)) < 200
