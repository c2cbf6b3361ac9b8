"""What the experiment scripts share: their standard flags, the leaderboard they print, TensorSlow's loop.

An experiment script (``experiments/*.py``) is its docstring (question, hypothesis, where to look in
TensorBoard) plus the sweep; this module holds the rest, so that a copy of a script runs wherever
flowlab is installed (a student's folder, Colab), from any working directory:

    >>> from flowlab import Experiment                                                   # doctest: +SKIP
    >>> from flowlab.script import print_results, script_parser
    >>> def main(argv=None):
    ...     args = script_parser("HW3: ...", "--logdir", "--epochs", "--workers", "--quick", epochs=20).parse_args(argv)
    ...     exp = Experiment("learning-rates", logdir=args.logdir, workers=args.workers, progress=True,
    ...                      dataset="digits", epochs=args.epochs)
    ...     return print_results(exp.sweep(learning_rate=[0.01, 0.1]))
"""

from __future__ import annotations

import argparse
import math
import os

import numpy as np

from .tensorboard import EventFile

__all__ = ["STANDARD_FLAGS", "ScriptParser", "positive_number", "print_next", "print_results", "script_parser",
           "tensorslow_parser", "train_tensorslow", "whole_number"]

#: The flags `script_parser` knows, in the order they are listed by ``--help``.
STANDARD_FLAGS = ("--logdir", "--epochs", "--workers", "--quick")


def whole_number(minimum):
    """An argparse ``type`` for an int >= ``minimum``: ``add_argument("--hidden", type=whole_number(1))``.

    A bad value is a usage error naming the flag and the value, not a traceback from deep inside.
    """
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got {text!r}")
        return value
    return parse


def positive_number(text):
    """An argparse ``type``: a finite number > 0 (a learning rate)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


class ScriptParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose ``--quick`` replaces ``--epochs``: ``args.epochs`` is what to train for."""

    def __init__(self, *args, quick_epochs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.quick_epochs = quick_epochs

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if getattr(namespace, "quick", False) and self.quick_epochs is not None:
            namespace.epochs = self.quick_epochs
        return namespace, extras


def script_parser(description, *flags, epochs=None, quick=1) -> ScriptParser:
    """The parser of an experiment script, holding the standard flags it names.

    Args:
        description: the one line ``--help`` shows under the usage.
        *flags: any of `STANDARD_FLAGS`: ``"--logdir"`` (default ``tensorboard-logs``), ``"--epochs"``
            (per run), ``"--workers"`` (worker processes; default one per core) and ``"--quick"`` (a
            smoke test: train for ``quick`` epochs whatever ``--epochs`` says).
        epochs: the default of ``--epochs``.
        quick: epochs per run under ``--quick``.

    Returns:
        A `ScriptParser`; add the script's own flags to it, then call ``parse_args(argv)``.
    """
    unknown = [flag for flag in flags if flag not in STANDARD_FLAGS]
    if unknown:
        raise ValueError(f"script_parser: unknown flag {unknown[0]!r}; choose from {', '.join(STANDARD_FLAGS)}")
    if "--epochs" in flags and epochs is None:
        raise ValueError("script_parser: --epochs needs its default, e.g. epochs=20")
    parser = ScriptParser(description=description, quick_epochs=quick if "--quick" in flags else None)
    smoke = f"{quick} epoch{'' if quick == 1 else 's'} per run: a smoke test, not an experiment"
    options = {
        "--logdir": dict(default="tensorboard-logs", help="TensorBoard log directory"),
        "--epochs": dict(type=whole_number(1), default=epochs, help=f"epochs per run (default {epochs})"),
        "--workers": dict(type=whole_number(1), default=None, help="worker processes (default: one per core)"),
        "--quick": dict(action="store_true", help=smoke),
    }
    for flag in STANDARD_FLAGS:
        if flag in flags:
            parser.add_argument(flag, **options[flag])
    return parser


def print_next(logdir) -> None:
    """Print the command that opens ``logdir`` in TensorBoard, after a blank line."""
    import shlex

    print(f"\nnext: tensorboard --logdir {shlex.quote(str(logdir))}")


def print_results(results, *, metric=None, logdir=None):
    """Print a sweep's leaderboard and how to open it in TensorBoard; return the results.

    Args:
        results: what ``Experiment.sweep`` returned.
        metric: the ranking column, as for ``Results.table`` (None: validation accuracy, or
            validation loss for a regression).
        logdir: the folder to open (default: the sweep's own, ``results.sweep_dir``); a whole
            log directory shows this sweep beside earlier ones.
    """
    print(results.table(metric=metric))
    print_next(results.sweep_dir if logdir is None else logdir)
    return results


# ---------------------------------------------------------------------------------------------
# The TensorSlow series' examples: one training loop, as the series writes it.

def tensorslow_parser(description, *, steps, learning_rate, print_every) -> argparse.ArgumentParser:
    """A TensorSlow example's flags: ``--steps``, ``--learning-rate``, ``--seed``, ``--print-every``, ``--logdir``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=whole_number(0), default=steps)
    parser.add_argument("--learning-rate", type=positive_number, default=learning_rate)
    parser.add_argument("--seed", type=whole_number(0), default=0)
    parser.add_argument("--print-every", type=whole_number(1), default=print_every)
    parser.add_argument("--logdir", help="write the loss of every step for TensorBoard (tag tensorslow/loss) "
                        "under LOGDIR/train")
    return parser


def train_tensorslow(session, loss, minimize, feed_dict, prediction, labels, *, steps, print_every,
                     logdir=None) -> float:
    """Run the series' loop: ``steps`` steps of ``minimize``, the loss printed every ``print_every`` steps.

    With ``logdir``, the loss of every step is written to ``LOGDIR/train`` as ``tensorslow/loss``
    (steps, not epochs: a tag of its own keeps these points off the HW3 sweeps' ``epoch_loss``).
    Prints the final loss and the accuracy of ``prediction`` (one row of class scores per example)
    against the one-hot ``labels`` fed in ``feed_dict``.

    Returns:
        The accuracy.
    """
    writer = EventFile(os.path.join(logdir, "train")) if logdir else None
    try:
        for step in range(steps):
            loss_value = session.run(loss, feed_dict)
            if writer:
                writer.add_scalar("tensorslow/loss", float(loss_value), step)
            if step % print_every == 0:
                print("Step:", step, " Loss:", loss_value)
            session.run(minimize, feed_dict)
    finally:
        if writer:
            writer.close()
    predicted = session.run(prediction, feed_dict).argmax(axis=1)
    accuracy = np.mean(predicted == np.argmax(feed_dict[labels], axis=1))
    print("Final loss:", session.run(loss, feed_dict), " accuracy:", accuracy)
    return accuracy
