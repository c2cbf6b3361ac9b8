"""flowlab.tensorboard.stats: the histograms of parameter snapshots, checked against np.histogram."""

import numpy as np
import pytest
from tensorboard.compat.proto.summary_pb2 import Summary

from flowlab.tensorboard.stats import _add_histograms, _Layout


def histograms(rows, sizes, bins=30):
    layout = _Layout(sizes, bins)
    rows = np.asarray(rows, dtype=np.float64)
    sumsq = np.add.reduceat(rows * rows, layout.starts, axis=1)
    summaries = [Summary() for _ in rows]
    with np.errstate(all="ignore"):  # as the logger calls it: NaN and infinity are expected input
        _add_histograms(summaries, [f"t{i}" for i in range(len(sizes))], rows, layout, sumsq)
    return summaries


@pytest.mark.parametrize("bins", [1, 7, 30])
def test_buckets_are_numpys_histogram_of_each_segment_of_each_row(bins):
    rng = np.random.default_rng(0)
    sizes = [50, 3, 200]
    rows = rng.standard_normal((3, sum(sizes))) * [[1.0], [1e-3], [40.0]]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for row, summary in zip(rows, histograms(rows, sizes, bins)):
        assert [v.tag for v in summary.value] == ["t0", "t1", "t2"]
        for value, start, size in zip(summary.value, starts, sizes):
            segment, h = row[start:start + size], value.histo
            counts, edges = np.histogram(segment, bins=bins)
            np.testing.assert_array_equal(h.bucket, counts)
            np.testing.assert_allclose(h.bucket_limit, edges[1:], rtol=1e-12)
            assert (h.min, h.max, h.num) == (segment.min(), segment.max(), size)
            assert h.sum == pytest.approx(segment.sum()) and h.sum_squares == pytest.approx(np.dot(segment, segment))


def test_a_constant_segment_is_one_bucket_and_non_finite_values_are_left_out():
    rows = np.array([[2.0, 2.0, 2.0, 1.0, np.nan, 3.0, np.inf]])
    const, mixed = histograms(rows, [3, 4], bins=4)[0].value
    assert list(const.histo.bucket) == [3.0] and list(const.histo.bucket_limit) == [2.0]
    counts, edges = np.histogram([1.0, 3.0], bins=4)
    assert mixed.histo.num == 2 and list(mixed.histo.bucket) == counts.tolist()
    np.testing.assert_allclose(mixed.histo.bucket_limit, edges[1:])
