"""Batches: one epoch's mini-batches, shuffled reproducibly from the seed and the epoch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .._checks import is_whole, preview, whole


def check_batch_size(batch_size) -> int | None:
    """Validate a batch size; return it as an int, or None for the full set.

    Args:
        batch_size: None or "full" (batch gradient descent), 1 (stochastic), or an int n > 1
            (mini-batch).

    Returns:
        The int, or None for the full set.

    Raises:
        ValueError: any other value; the message names it and what works.
    """
    if batch_size is None or (isinstance(batch_size, str) and batch_size.strip().lower() == "full"):
        return None
    if is_whole(batch_size) and batch_size >= 1:
        return int(batch_size)
    raise ValueError(f"batch_size must be an int >= 1 (1 = stochastic, n = mini-batch) or None/'full' "
                     f"(batch gradient descent), got batch_size={preview(batch_size)}")


def num_batches(n: int, batch_size) -> int:
    """Number of batches per epoch for ``n`` examples (the last, partial batch counts).

    Args:
        n: number of examples.
        batch_size: as for `check_batch_size`.

    Returns:
        ``ceil(n / batch_size)``, or 1 for the full set (0 when n is 0).
    """
    size = check_batch_size(batch_size)
    if n <= 0:
        return 0
    return 1 if size is None else -(-n // size)


def batches(x: np.ndarray, y: np.ndarray, batch_size, *, shuffle: bool = True,
            rng: int | np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield one epoch of ``(xb, yb)`` batches covering every example exactly once.

    With ``shuffle``, the examples are permuted once and each batch is a new array of its rows
    (exactly the slices of ``x[perm]``); without, batches are slices (views) of ``x``. The last
    batch is kept even when it is smaller. When one
    batch holds everything it is ``(x, y)`` itself, unshuffled: order cannot change a mean gradient.

    Args:
        x: features, shape (n, ...).
        y: labels, shape (n, ...).
        batch_size: None or "full" (one batch), 1 (stochastic) or n (mini-batch).
        shuffle: permute the examples first.
        rng: a ``np.random.Generator`` (consumed: one permutation per call, so successive calls
            give successive epochs), an int seed, or None (fresh OS entropy).

    Yields:
        ``(xb, yb)`` pairs.
    """
    size = check_batch_size(batch_size)
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x has {n} examples but y has {len(y)}")
    return _batches(x, y, n if size is None else size, shuffle, rng)


def _batches(x, y, size, shuffle, rng):
    n = len(x)
    if n == 0:
        return
    if size >= n:
        yield x, y
        return
    if not shuffle:
        for start in range(0, n, size):
            yield x[start:start + size], y[start:start + size]
        return
    # Each batch gathers its own rows (the same rows x[perm] would give, in the same order) rather
    # than permuting the whole set first: at MNIST size that copy is 188 MB per epoch streamed
    # through the cache, while a batch's gather stays in cache for the forward pass that reads it.
    perm = np.random.default_rng(rng).permutation(n)
    x, y = np.asarray(x), np.asarray(y)
    for start in range(0, n, size):
        rows = perm[start:start + size]
        yield x.take(rows, axis=0), y.take(rows, axis=0)


def epoch_batches(x: np.ndarray, y: np.ndarray, batch_size, seed: int, epoch: int, *,
                  shuffle: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield the batches of one epoch, shuffled deterministically from ``(seed, epoch)``.

    Epoch ``e`` uses the generator of ``np.random.SeedSequence(seed).spawn(...)[e]``, so any epoch
    can be replayed on its own (resume), each epoch has its own order, and the streams differ from
    ``default_rng(seed)`` used for the split. This is what the training loop uses.

    Args:
        x: features, shape (n, ...).
        y: labels, shape (n, ...).
        batch_size: None or "full" (one batch), 1 (stochastic) or n (mini-batch).
        seed: the run's seed, an int >= 0.
        epoch: the epoch number, an int >= 0.
        shuffle: permute the examples first.

    Yields:
        ``(xb, yb)`` pairs, as `batches` does.
    """
    whole(None, "seed", seed)
    whole(None, "epoch", epoch)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(epoch),)))
    return batches(x, y, batch_size, shuffle=shuffle, rng=rng)
