"""Histograms and layer statistics of parameter snapshots: pure functions over rows of arrays."""

import math

import numpy as np


def _gradient(p):
    grads = getattr(p, "gradients", None)
    return grads.get(p) if isinstance(grads, dict) else None


class _Layout:
    """Where each array sits in the vector of all of them, worked out once per run."""

    def __init__(self, sizes, bins):
        self.sizes = np.array(sizes, dtype=np.intp)
        self.starts = np.zeros(len(sizes), dtype=np.intp)
        np.cumsum(self.sizes[:-1], out=self.starts[1:])
        self.total = int(self.sizes.sum())
        self.bins = bins
        self.edges = np.arange(1, bins + 1) / bins


def _segment_sums(values, starts):
    return np.add.reduceat(values, starts).tolist()


def _add_histograms(summaries, tags, rows, layout, sumsq):
    """Adds to each ``summaries[r]`` one histogram per segment of ``rows[r]`` (tagged ``tags``):
    ``layout.bins`` equal-width buckets from the segment's min to its max.

    Each segment is done for every row at once, as a 2-D block: the numpy calls are per segment,
    not per segment and row.
    """
    bins, starts, sizes = layout.bins, layout.starts.tolist(), layout.sizes.tolist()
    k = len(rows)
    spare = k * bins  # where NaN and infinity go (their segments are done one by one below)
    base = np.arange(0, spare, bins) + 1e-6
    sumsq = sumsq.tolist()
    adds = [summary.value.add for summary in summaries]
    for s, tag in enumerate(tags):
        block = rows[:, starts[s]:starts[s] + sizes[s]]
        lo, hi = block.min(axis=1), block.max(axis=1)
        width = hi - lo
        # Bucket of x in row r: floor(x * scale + offset), offset by r * bins so that one bincount
        # counts every row, and squeezed by 1e-6 of a bucket so that x = max lands in the last
        # bucket and x = min in the first despite rounding. Rows holding NaN or infinity, a single
        # value, or values too close together for that rounding (spread < 1e-9 of their size) are
        # done one by one below.
        regular = np.isfinite(width) & (width > 0)
        scale = (bins - 2e-6) / np.where(regular, width, 1.0)
        regular &= np.maximum(np.abs(lo), np.abs(hi)) * scale < 1e9
        every = bool(regular.all())
        if every:
            offset = base - lo * scale
        else:
            scale = np.where(regular, scale, 0.0)
            offset = base - np.where(regular, lo * scale, 0.0)
        position = block * scale[:, None]
        position += offset[:, None]
        if not every:
            np.nan_to_num(position, copy=False, nan=spare, posinf=spare, neginf=spare)
        # As floats: the bucket field is a double, and protobuf converts a list of ints 5x slower.
        counts = np.bincount(position.astype(np.intp).ravel(), minlength=spare + 1)[:spare]
        counts = counts.astype(np.float64).reshape(k, bins).tolist()
        # layout.edges are k / bins for k = 1..bins: the right edges as fractions of the range.
        limits = lo[:, None] + np.where(regular, width, 0.0)[:, None] * layout.edges
        limits[:, -1] = hi
        limits, totals = limits.tolist(), block.sum(axis=1).tolist()
        lo, hi, regular = lo.tolist(), hi.tolist(), regular.tolist()
        for r in range(k):
            if regular[r]:
                _fill_histogram(adds[r](tag=tag).histo, lo[r], hi[r], sizes[s], totals[r], sumsq[r][s],
                                limits[r], counts[r])
                continue
            v = block[r][np.isfinite(block[r])]
            if not v.size:
                continue
            low, high = float(v.min()), float(v.max())
            limit, count = [high], [float(v.size)]  # one value: one bucket
            if low < high:
                try:
                    count, edges = np.histogram(v, bins=bins, range=(low, high))
                    limit, count = edges[1:].tolist(), count.astype(np.float64).tolist()
                except ValueError:  # values too close together for numpy to make finite buckets
                    pass
            _fill_histogram(adds[r](tag=tag).histo, low, high, v.size, float(v.sum()), float(np.dot(v, v)),
                            limit, count)


def _fill_histogram(histo, lo, hi, num, total, sumsq, limits, counts):
    # HistogramProto semantics: bucket k spans (limits[k-1], limits[k]], the first one from min.
    histo.min, histo.max, histo.num = lo, hi, num
    histo.sum, histo.sum_squares = total, sumsq
    histo.bucket_limit.extend(limits)
    histo.bucket.extend(counts)
