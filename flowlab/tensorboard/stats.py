"""Histograms and layer statistics of parameter snapshots: pure functions over rows of arrays.

A snapshot is one epoch's parameters and their last gradients copied into one vector (``snapshot``);
pending epochs' snapshots are rows of one block, summarised together (``add_statistics``), with
numpy reductions over the segments ``_Layout`` marks out.
"""

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


def snapshot(params, out=None):
    """Every parameter's value, then every parameter's last gradient, copied into one float64 vector
    (``out``, a float64 vector of that size, when given).

    A missing gradient (or one of another shape) reads as NaN: no histogram, no norm.
    """
    arrays = [p.value for p in params]
    for p in params:
        g = _gradient(p)
        arrays.append(g if g is not None and np.shape(g) == np.shape(p.value) else np.full(np.shape(p.value), np.nan))
    arrays = [np.reshape(a, -1) for a in arrays]
    if out is None:
        return np.concatenate(arrays, dtype=np.float64)
    return np.concatenate(arrays, out=out)


def starting_weights(params, layout):
    """``(weights, their squared norm per parameter)`` of the weights an epoch starts from, the
    ``before`` that ``add_statistics`` measures the first row's update against."""
    weights = np.concatenate([p.value.reshape(-1) for p in params], dtype=np.float64)
    return weights, _segment_sums(weights * weights, layout.starts[:len(params)])


def add_statistics(rows, targets, layout, tags, layers, layer_stats=True, before=None):
    """Adds histograms and layer statistics of the snapshot rows (one per epoch) to their summaries.

    ``rows`` are ``snapshot`` vectors laid out by ``layout`` (the parameters tagged ``tags``, then
    their gradients); ``targets`` holds, per row, whether the epoch gets histograms and the summary
    to add to. Histograms are tagged ``weights/<tag>`` and ``gradients/<tag>``. With
    ``layer_stats``, every layer of ``layers`` (``[(name, [parameter indices])]``) gets
    ``gradient_norm/<layer>``, the norm of the epoch's last batch's gradient, and
    ``update_ratio/<layer>``, the whole epoch's ``||w_end - w_begin|| / ||w_begin||`` over the
    layer's parameters, ``w_begin`` being what the previous row ended with (for the first row,
    ``before``: ``starting_weights``, or None for no ratio).

    Every statistic is a numpy reduction over the segments of all rows at once. Returns the
    ``before`` of the rows that follow these: the last row's weights and their squared norms
    (``before`` itself without ``layer_stats``).
    """
    n = len(tags)
    starts = layout.starts
    sumsq = np.add.reduceat(rows * rows, starts, axis=1)
    picked = [k for k, (histograms, _) in enumerate(targets) if histograms]
    if picked:
        # Their own Time Series groups, which sort after the epoch_* curves.
        names = [f"weights/{t}" for t in tags] + [f"gradients/{t}" for t in tags]
        every = len(picked) == len(rows)
        _add_histograms([targets[k][1] for k in picked], names, rows if every else rows[picked], layout,
                        sumsq if every else sumsq[picked])
    if not layer_stats:
        return before
    weights = rows[:, :starts[n]]
    weight_sq = sumsq[:, :n].tolist()
    grad_sq = sumsq[:, n:].tolist()
    change_sq = [None] * len(rows)
    if len(rows) > 1:
        change = weights[1:] - weights[:-1]
        change_sq[1:] = np.add.reduceat(change * change, starts[:n], axis=1).tolist()
    previous_sq = [None] + weight_sq[:-1]
    if before is not None:
        change = weights[0] - before[0]
        change_sq[0] = _segment_sums(change * change, starts[:n])
        previous_sq[0] = before[1]
    for k, (_, summary) in enumerate(targets):
        add = summary.value.add
        for layer, members in layers:
            norm = math.sqrt(sum(grad_sq[k][i] for i in members))
            if not math.isnan(norm):
                add(tag=f"gradient_norm/{layer}", simple_value=norm)
            if change_sq[k] is not None:
                weight = math.sqrt(sum(previous_sq[k][i] for i in members))
                if weight > 0:
                    ratio = math.sqrt(sum(change_sq[k][i] for i in members)) / weight
                    add(tag=f"update_ratio/{layer}", simple_value=ratio)
    return weights[-1], weight_sq[-1]  # a view of rows: the caller does not write them again


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
