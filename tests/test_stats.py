"""flowlab.tensorboard.stats: the histograms of parameter snapshots, checked against np.histogram."""

import numpy as np
import pytest
from tensorboard.compat.proto.summary_pb2 import Summary

from flowlab.tensorboard.stats import _add_histograms, _Layout, add_statistics, snapshot, starting_weights


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


class Param:
    """What the logger reads of a parameter: its value and, once trained, its gradient."""

    def __init__(self, value, grad=None):
        self.value = np.asarray(value, dtype=np.float64)
        self.gradients = {} if grad is None else {self: np.asarray(grad, dtype=np.float64)}


def test_a_snapshot_is_every_value_then_every_gradient_and_nan_where_there_is_none():
    a, b, c = Param([[1.0, 2.0]], [[3.0, 4.0]]), Param([5.0]), Param([6.0, 7.0], [1.0, 2.0, 3.0])  # c: wrong shape
    row = snapshot([a, b, c])
    np.testing.assert_array_equal(row, [1, 2, 5, 6, 7, 3, 4, np.nan, np.nan, np.nan])
    assert row.dtype == np.float64
    weights, norms = starting_weights([a, b, c], _Layout([2, 1, 2] * 2, 30))
    np.testing.assert_array_equal(weights, [1, 2, 5, 6, 7])
    assert norms == [5.0, 25.0, 85.0]


def test_layer_statistics_are_the_norms_numpy_gives():
    rng = np.random.default_rng(1)
    shapes = [(3, 4), (4,), (4, 2), (2,)]
    layers = [("dense_1", [0, 1]), ("dense_2", [2, 3])]
    tags = ["dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias"]
    epochs = [[Param(rng.standard_normal(s), rng.standard_normal(s)) for s in shapes] for _ in range(4)]
    start = [Param(rng.standard_normal(s)) for s in shapes]
    layout = _Layout([int(np.prod(s)) for s in shapes] * 2, 30)
    rows = np.stack([snapshot(ps) for ps in epochs])
    summaries = [Summary() for _ in rows]
    before = add_statistics(rows, [(k % 2 == 0, s) for k, s in enumerate(summaries)], layout, tags, layers,
                            before=starting_weights(start, layout))
    previous = [start] + epochs[:-1]
    for k, summary in enumerate(summaries):
        values = {v.tag: v for v in summary.value}
        histos = {t for t, v in values.items() if v.HasField("histo")}
        assert histos == ({f"{kind}/{t}" for kind in ("weights", "gradients") for t in tags} if k % 2 == 0 else set())
        for layer, members in layers:
            grad = np.concatenate([epochs[k][i].gradients[epochs[k][i]].ravel() for i in members])
            now = np.concatenate([epochs[k][i].value.ravel() for i in members])
            then = np.concatenate([previous[k][i].value.ravel() for i in members])
            assert values[f"gradient_norm/{layer}"].simple_value == pytest.approx(np.linalg.norm(grad), rel=1e-6)
            assert values[f"update_ratio/{layer}"].simple_value == pytest.approx(
                np.linalg.norm(now - then) / np.linalg.norm(then), rel=1e-6)
    np.testing.assert_array_equal(before[0], rows[-1, :layout.starts[4]])
    assert before[1] == pytest.approx([float((p.value ** 2).sum()) for p in epochs[-1]])


def test_without_a_start_the_first_epoch_has_no_ratio_and_layer_stats_can_be_off():
    params = [Param([1.0, 2.0], [0.5, 0.5]), Param([3.0], None)]  # the second has no gradient: no norm
    layout = _Layout([2, 1] * 2, 4)
    rows = np.stack([snapshot(params)])
    summary = Summary()
    with np.errstate(all="ignore"):
        add_statistics(rows, [(False, summary)], layout, ["a/w", "b/w"], [("a", [0]), ("b", [1])])
    assert {v.tag: round(v.simple_value, 6) for v in summary.value} == {"gradient_norm/a": round(0.5 ** 0.5, 6)}
    off, kept = Summary(), ("w", [1.0])
    assert add_statistics(rows, [(True, off)], layout, ["a/w", "b/w"], [("a", [0])], layer_stats=False,
                          before=kept) is kept
    assert not any(v.tag.startswith(("gradient_norm", "update_ratio")) for v in off.value)
