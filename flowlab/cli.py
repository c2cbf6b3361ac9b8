# Size: over 450 lines (507): one subject, the command line: its flags (built from the settings tables),
# the way it speaks (one-line errors naming flags as typed, warnings, why runs failed) and its exits;
# what it runs is Experiment's, in experiment.py.
"""The `flowlab` command: sweep, train and datasets. Parses arguments and calls Experiment; nothing else."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from pathlib import Path

__all__ = ["main", "build_parser"]

#: The default sweep: the HW3 question, "how do learning rate, activation and optimizer interact?"
DEFAULT_SWEEP = {"learning_rate": ["0.001", "0.01", "0.1"], "activation": ["sigmoid", "tanh", "relu"],
                 "optimizer": ["sgd", "momentum", "adam"]}


def _add_config_flags(parser, many):
    nargs = "+" if many else None
    one_or_many = "one or more values (several make a sweep axis)" if many else "one value"
    parser.add_argument("--name", default=None, help="sweep name; the directory is <logdir>/<name>-<time>")
    parser.add_argument("--dataset", nargs=nargs, default=None, help=f"dataset, {one_or_many} (default digits; "
                        "see `flowlab datasets`)")
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST / Fashion-MNIST IDX files")
    parser.add_argument("--hidden", nargs=nargs, default=None,
                        help="hidden layer widths, comma-separated: 64 or 64,32 (default 64)")
    parser.add_argument("--epochs", nargs=nargs, type=_whole, default=None, help="epochs (default 20)")
    parser.add_argument("--batch-size", nargs=nargs, default=None,
                        help="examples per step: n, 1 (stochastic) or full (default 32)")
    parser.add_argument("--lr", "--learning-rate", dest="learning_rate", nargs=nargs, default=None,
                        help="learning rate (default: the optimizer's own)")
    parser.add_argument("--activation", nargs=nargs, default=None, help="sigmoid, tanh, relu, leaky_relu")
    parser.add_argument("--optimizer", nargs=nargs, default=None,
                        help="sgd, momentum, nesterov, adam, rmsprop, adagrad, adadelta, adamax, nadam")
    parser.add_argument("--init", nargs=nargs, default=None, help="weight init (default: follows the activation)")
    _add_training_flags(parser, many)
    parser.add_argument("--seed", nargs=nargs, type=_whole, default=None, help="random seed (default 0)")
    parser.add_argument("--dtype", nargs=nargs, default=None, help="float32 or float64 (default: float32 for MNIST-size inputs, float64 for the small sets)")
    parser.add_argument("--noise", nargs=nargs, type=_number, default=None,
                        help="noise of a generated dataset (spiral, moons, circles, xor, blobs; default: its own)")
    parser.add_argument("--samples", dest="n_samples", nargs=nargs, type=_whole, default=None, metavar="N",
                        help="examples: points to generate, or a seeded subset of a bundled/MNIST training set")
    parser.add_argument("--val-fraction", nargs=nargs, type=_number, default=None,
                        help="fraction held out for validation (default 0.2; MNIST uses its test files)")
    parser.add_argument("--standardize", nargs=nargs, choices=("on", "off"), default=None,
                        help="scale features with training statistics: on (default) or off")
    parser.add_argument("--logdir", default=None, help="TensorBoard log directory (default tensorboard-logs)")
    parser.add_argument("--workers", type=_whole, default=None, help="worker processes (default: one per core; "
                        "1 runs in this process)")
    parser.add_argument("--executor", default=None,
                        help="local (default), a Dask scheduler tcp://host:port, or a scheduler file .json "
                        "(default: $DASK_SCHEDULER_ADDRESS if set)")
    parser.add_argument("--scheduler-file", default=None, metavar="FILE",
                        help="the Dask scheduler file (as `dask scheduler --scheduler-file FILE` writes)")
    parser.add_argument("--shared-logdir", action="store_true",
                        help="Dask workers write straight into --logdir (a filesystem they share, same path), "
                        "so TensorBoard updates while runs train; default: runs send their files back")
    parser.add_argument("--resume", default=None, metavar="DIR", help="finish an earlier sweep directory: alone, "
                        "it runs the rest of the sweep's own grid")
    parser.add_argument("--redo-changed", action="store_true",
                        help="with --resume and flags that change the sweep's settings: redo the changed runs")
    parser.add_argument("--no-histograms", action="store_true", help="skip weight and gradient histograms")
    parser.add_argument("--stack", choices=("auto", "on", "off"), default="auto",
                        help="train runs that differ only in learning rate or optimizer as one stacked "
                        "computation, each run's numbers and files as if alone: auto (default: small "
                        "networks and batches, where it was measured faster), on, off")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


#: Flags of flowlab.settings' fields: flag -> (field, what a value is). Switches take on/off.
SETTING_FLAGS = {"--schedule": ("schedule", "a schedule: constant, step:10:0.5, exponential:0.95, cosine, warmup:5, "
                                "plateau:5:0.5 (default constant)"),
                 "--momentum": ("momentum", "momentum factor of momentum, nesterov, rmsprop"),
                 "--beta1": ("beta1", "Adam's (adamax's, nadam's) first beta, default 0.9"),
                 "--beta2": ("beta2", "Adam's (adamax's, nadam's) second beta, default 0.999"),
                 "--eps": ("eps", "the optimizer's eps (added to its denominator)"),
                 "--weight-decay": ("weight_decay", "torch's weight decay: wd*p added to the gradient (default 0)"),
                 "--nesterov": ("nesterov", "Nesterov momentum on/off for --optimizer momentum"),
                 "--l1": ("l1", "L1 penalty factor on the kernels, in the minimized loss (default 0)"),
                 "--l2": ("l2", "L2 penalty factor on the kernels, in the minimized loss (default 0)"),
                 "--dropout": ("dropout", "dropout rate after each hidden activation (default 0)"),
                 "--batchnorm": ("batchnorm", "batch normalization in each hidden layer on/off (default off)")}
SWITCHES = ("nesterov", "batchnorm")
NUMBERS = ("momentum", "beta1", "beta2", "eps", "weight_decay", "l1", "l2", "dropout")


def _add_training_flags(parser, many):
    for flag, (field, text) in SETTING_FLAGS.items():
        if field in SWITCHES:  # a bare --batchnorm means on
            parser.add_argument(flag, dest=field, nargs="*" if many else "?", const=None if many else "on",
                                default=None, metavar="on|off", help=text)
        else:
            parser.add_argument(flag, dest=field, nargs="+" if many else None, default=None, help=text)
    parser.add_argument("--betas", default=None, metavar="B1,B2", help="both of Adam's betas, e.g. 0.9,0.99")


def _unknown_arguments(parser, args, unknown):
    """Exits 2 naming the arguments the command does not take, as the command's own parser (its name in front)."""
    sub = parser._subcommands.get(args.command, parser)
    hint = f"see `flowlab {args.command} --help`" if args.command else "see `flowlab --help`"
    if args.command == "train" and not any(u.startswith("-") for u in unknown):
        hint = "`flowlab train` takes one value per flag; `flowlab sweep` takes several, as sweep axes"
    sub.error(f"unrecognized arguments: {' '.join(unknown)} ({hint})")


def _whole(text):
    """argparse's type for a count: the message says what would work (argparse's own: "invalid int value")."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def _number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line (the usage it would print first is what ``--help`` shows)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser():
    parser = _Parser(
        prog="flowlab",
        description="Train small neural networks under a grid of settings and watch them learn in TensorBoard.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sweep = sub.add_parser("sweep", help="run a grid of trainings (default: learning rate x activation x optimizer "
                           "on digits)", description="Run every combination of the values given; a flag given "
                           "several values is a sweep axis.")
    _add_config_flags(sweep, many=True)
    train = sub.add_parser("train", help="run one training", description="Run one training with one value per flag.")
    _add_config_flags(train, many=False)
    datasets = sub.add_parser("datasets", help="list the datasets; --download fetches MNIST / Fashion-MNIST",
                              description="List the datasets, or download MNIST / Fashion-MNIST into the cache "
                              "(they are otherwise downloaded on first use).")
    datasets.add_argument("--download", nargs="+", metavar="NAME", help="mnist and/or fashion-mnist")
    datasets.add_argument("--download-dir", default=None, metavar="DIR",
                          help="where downloads go (default: $FLOWLAB_DOWNLOAD_DIR, else ~/.cache/flowlab)")
    parser._subcommands = {"sweep": sweep, "train": train, "datasets": datasets}
    return parser


def _config(args, many):
    fields = ["dataset", "hidden", "epochs", "batch_size", "learning_rate", "activation", "optimizer", "init", "seed",
              "dtype", "noise", "n_samples", "val_fraction", "standardize"]
    axes = {}
    for key in fields:
        value = getattr(args, key)
        if value is None:
            continue
        values = value if many else [value]
        axes[key] = [_convert(key, v) for v in values]
    for field in (f for f, _ in SETTING_FLAGS.values()):
        value = getattr(args, field)
        if value is None:
            continue
        values = (value or ["on"]) if many else [value]
        axes[field] = [_convert(field, v) for v in values]
    if args.betas is not None:
        parts = args.betas.replace(" ", "").split(",")
        if len(parts) != 2 or "beta1" in axes or "beta2" in axes:
            raise ValueError(f"--betas takes one pair B1,B2 such as 0.9,0.999 (to sweep, use --beta1 / --beta2), "
                             f"got {args.betas!r}")
        axes["beta1"], axes["beta2"] = [_convert("beta1", parts[0])], [_convert("beta2", parts[1])]
    if args.data_dir:
        axes["data_dir"] = [args.data_dir]
    return axes


def _convert(key, text):
    if not isinstance(text, str):
        return text
    if key == "standardize":
        return text == "on"
    if key == "learning_rate":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"--lr must be a number, got {text!r}") from None
    if key in NUMBERS:
        try:
            return float(text)
        except ValueError:
            flag = "--" + key.replace("_", "-")
            raise ValueError(f"{flag} must be a number, got {text!r}") from None
    if key in SWITCHES:
        from .settings import parse_switch

        return parse_switch("--" + key, text)
    if key == "batch_size":
        if text.lower() == "full":
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"--batch-size must be a whole number or 'full', got {text!r}") from None
    return text


#: The flag a user types for each config field (messages from the library name the fields).
FLAGS = {"learning_rate": "--lr", "batch_size": "--batch-size", "data_dir": "--data-dir", "hidden": "--hidden",
         "epochs": "--epochs", "seed": "--seed", "dtype": "--dtype", "activation": "--activation",
         "optimizer": "--optimizer", "init": "--init", "dataset": "--dataset", "workers": "--workers",
         "redo_changed=True": "--redo-changed", "name": "--name", "n_samples": "--samples",
         "val_fraction": "--val-fraction", "noise": "--noise", "standardize": "--standardize",
         **{field: flag for flag, (field, _) in SETTING_FLAGS.items()}}


def _as_typed(message, paths=()):
    """``message`` with config field names as the flags the user typed: "--lr must be ..., got --lr 0".
    The ``paths`` the user gave (and the absolute forms of them) are left exactly as they are."""
    import re

    # Only a path that a rewrite could reach (one with "=", "," or "/" in it) is set aside, as a whole
    # token, under a mark no path holds (Unicode's private use area), and put back at the end.
    kept = sorted({str(p) for path in paths if path for p in (path, Path(path).absolute(), Path(path).resolve())
                   if any(c in str(p) for c in "=,/")}, key=len, reverse=True)
    if kept:
        tokens = re.compile(r"(?<![^\s'\"(])(?:" + "|".join(map(re.escape, kept)) + r")(?![^\s'\"),;:])")
        message = tokens.sub(lambda m: f"\ue000{chr(0xE100 + kept.index(m.group()))}\ue001", message)
    message = re.sub(r" \((?:Python: )?redo_changed=True\)| \(sweep\(resume=DIR\)\)", "", message)
    for field, flag in FLAGS.items():
        # Not inside a quoted run name or a path ('lr=0.1', .../epochs=3/...): those stay as they are.
        message = re.sub(rf"(?<![\w'/=,-]){re.escape(field)}=(?=\S)", f"{flag} ", message)
        message = re.sub(rf"(^|: |, )(?:Experiment: )?{re.escape(field)}(?= must| is |: | applies)", rf"\g<1>{flag}",
                         message)
        message = re.sub(rf"(?<![\w-]){re.escape(field)}(?=(?:, \w+)* (?:was|were) not varied)", flag, message)
        message = re.sub(rf"\b(more|another|other) {re.escape(field)}\b", rf"\g<1> {flag}", message)
    for i, path in enumerate(kept):
        message = message.replace(f"\ue000{chr(0xE100 + i)}\ue001", path)
    return message


def _why_failed(command, results):
    """One line on stderr per reason runs failed for (the reason's first line; the whole of it is in run.json)."""
    from .status import RunStatus

    reasons = {}
    for r in results:
        if r.status == RunStatus.FAILED and r.error:
            reasons.setdefault(r.error.strip().splitlines()[-1 if r.error.startswith("Traceback") else 0], []).append(r.name)
    for reason, names in reasons.items():
        which = names[0] if len(names) == 1 else f"{len(names)} runs ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
        print(f"{command}: {which} failed: {reason}", file=sys.stderr)


def _given_paths(args):
    """The paths on the command line (a message naming one must show it as typed)."""
    paths = []
    for name in ("resume", "logdir", "data_dir", "download_dir"):
        value = getattr(args, name, None)
        paths += value if isinstance(value, list) else [value]
    return [p for p in paths if isinstance(p, str) and p]


def _warning_line(command, show):
    """``warnings.showwarning`` for the command line: flowlab's warnings as one plain line,
    ``flowlab sweep: warning: ...``; others (numpy's, say) as Python shows them."""
    def showwarning(message, category, filename, lineno, file=None, line=None):
        if category is UserWarning and filename.startswith(os.path.dirname(__file__) + os.sep):
            print(f"{command}: warning: {message}", file=sys.stderr if file is None else file)  # names runs: as is
        else:
            show(message, category, filename, lineno, file, line)
    return showwarning


def _quoted(path):
    """A path as the shell reads it back (a printed command the user pastes must work with spaces in it)."""
    import shlex

    return shlex.quote(str(path))


def _download(names, directory):
    from .data import dataset_info
    from .download import CHECKSUMS, DownloadError, download_dir, download

    try:
        names = [dataset_info(n).name for n in names]
    except (ValueError, TypeError) as exc:
        print(f"flowlab datasets: error: --download: {exc}", file=sys.stderr)
        return 2
    for name in names:
        if name not in CHECKSUMS:
            print(f"flowlab datasets: error: --download {name}: {name} needs no download (it is built in); "
                  f"downloadable: {', '.join(CHECKSUMS)}", file=sys.stderr)
            return 2
    base = download_dir(directory)
    blocking = next((p for p in (base, *base.parents) if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        where = f"--download-dir {directory}" if directory is not None else f"the download folder {base}"
        print(f"flowlab datasets: error: {where}: {blocking} is a file, not a folder; give a folder "
              "(flowlab makes it if it is missing)", file=sys.stderr)
        return 2
    for name in names:
        try:
            folder = download(name, directory, progress=True)
        except (DownloadError, ValueError) as exc:
            print(f"flowlab datasets: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"flowlab datasets: interrupted; no half-written file was left in {download_dir(directory) / name}; "
                  "run the same command again to finish", file=sys.stderr)
            return 130
        print(f"{name}: {', '.join(sorted(CHECKSUMS[name]))} in {folder} (SHA-256 checked)")
    return 0


def _datasets():
    from .data import list_datasets

    # MNIST-style sets are local files that flowlab downloads itself: say so where a student looks.
    rows = [(d.name, "download" if d.source == "local files" else d.source, str(d.num_features or "?"),
             (str(d.num_classes) if d.num_classes else "regression"), d.description) for d in list_datasets()]
    widths = [max(len(r[i]) for r in rows + [("name", "source", "features", "classes", "")]) for i in range(4)]
    print("  ".join(h.ljust(w) for h, w in zip(("name", "source", "features", "classes"), widths)) + "  description")
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4])
    return 0


def _executor(args):
    """The executor the flags ask for, not connected yet (the sweep checks its grid first)."""
    from .executors import DaskExecutor, make_executor

    if args.scheduler_file and args.executor:
        raise ValueError("give --executor or --scheduler-file, not both")
    executor = args.scheduler_file or args.executor
    if not args.shared_logdir:
        return make_executor(executor, args.workers, connect=False)
    executor = executor or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if not executor or executor == "local":
        raise ValueError("--shared-logdir is for a Dask cluster (--executor tcp://host:port or --scheduler-file); "
                         "local runs always write straight into the logdir")
    return DaskExecutor(executor, shared_logdir=True, connect=False)


def _keep_cwd_off_sys_path():
    """Drops the working directory from ``sys.path`` (``python -m`` puts it first), so a folder there named
    like a library (``torch``, which tensorboardX tries to import) cannot stand in for it, here or in
    the worker processes, which copy this ``sys.path``. The command imports no code of the user's."""
    cwd = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.abspath(p) != cwd]


def _local_pool(args):
    """Whether this command's runs will go to local worker processes (and so want the forkserver)."""
    if args.command not in ("sweep", "train") or getattr(args, "scheduler_file", None) \
            or getattr(args, "shared_logdir", False) or getattr(args, "workers", None) == 1:
        return False
    return (args.executor or os.environ.get("DASK_SCHEDULER_ADDRESS") or "local") == "local"


def _caused_by_interrupt(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    """Runs the `flowlab` command; returns the exit status (0 ok, 1 no run finished, the disk filled up, the
    sweep is busy or the cluster failed; 2 bad arguments; 130 interrupted)."""
    _keep_cwd_off_sys_path()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    command = "flowlab"
    try:
        parser = build_parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            _unknown_arguments(parser, args, unknown)
        command = f"flowlab {args.command}" if args.command else command
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line(command, warnings.showwarning)
            return _main(parser, args)
    except KeyboardInterrupt:  # before the sweep started, or while its table printed
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except ImportError as exc:  # a signal inside a C extension's import comes back as its ImportError
        if not _caused_by_interrupt(exc):
            raise
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if "flowlab.forkserver" in sys.modules:  # the driver's BLAS choice: given back to the environment
            sys.modules["flowlab.forkserver"].restore_driver_blas()


def _main(parser, args):
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "datasets":
        return _download(args.download, args.download_dir) if args.download else _datasets()

    many = args.command == "sweep"
    try:
        axes = _config(args, many)
    except ValueError as exc:
        print(f"flowlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    if args.resume is not None and not args.resume.strip():
        print(f"flowlab {args.command}: error: --resume must name a sweep directory (<logdir>/<name>-<time>), "
              f"got {args.resume!r}", file=sys.stderr)
        return 2
    if args.redo_changed and not args.resume:
        print(f"flowlab {args.command}: error: --redo-changed goes with --resume DIR", file=sys.stderr)
        return 2
    if args.logdir is not None and not args.logdir.strip():
        print(f"flowlab {args.command}: error: --logdir must name a folder, got {args.logdir!r}", file=sys.stderr)
        return 2
    if _local_pool(args):  # its interpreter and imports take the other core while this one imports and checks
        from . import forkserver

        forkserver.quiet_driver_blas()  # the runs train in workers: this process' BLAS needs no threads
        forkserver.start()
    if many and not args.resume and not any(k in axes for k in DEFAULT_SWEEP):
        axes.update({k: [_convert(k, v) for v in vs] for k, vs in DEFAULT_SWEEP.items()})
    name = args.name or ("sweep" if many else "train")
    if args.optimizer is None and any(k in axes for k in ("momentum", "beta1", "beta2", "eps", "nesterov")):
        axes.pop("optimizer", None)  # such a setting belongs to one optimizer: the default sweep's axis goes

    from .download import DownloadError
    from .executors import ClusterError, WorkerStartError
    from .experiment import DiskFullError, Experiment, SweepInterrupted
    from .status import FINISHED
    from .sweepdir import SweepLocked

    try:
        exp = Experiment(name, logdir=args.logdir or "tensorboard-logs", workers=args.workers, executor=_executor(args),
                         histograms=not args.no_histograms, progress=not args.no_progress,
                         stack={"on": True, "off": False}.get(args.stack, "auto"))
        plan = exp.plan(resume=args.resume, redo_changed=args.redo_changed, **axes)  # nothing written yet
    except (ValueError, ImportError) as exc:
        print(f"flowlab {args.command}: error: {_as_typed(str(exc), _given_paths(args))}", file=sys.stderr)
        return 2
    if args.resume and (args.logdir is not None or args.name is not None):  # after plan: a folder that is no
        flag = "--logdir" if args.logdir is not None else "--name"              # sweep is named as such first
        print(f"flowlab {args.command}: error: {flag} does not go with --resume: a resumed sweep stays in its own "
              f"folder ({args.resume}) under its own name; give --resume DIR without it, or start a new sweep",
              file=sys.stderr)
        return 2

    interrupted = full = None
    try:
        results = exp.run(plan)
    except SweepInterrupted as exc:
        results, interrupted = exc.results, True
    except DiskFullError as exc:
        results, full = exc.results, exc
    except ValueError as exc:
        print(f"flowlab {args.command}: error: {_as_typed(str(exc), _given_paths(args))}", file=sys.stderr)
        return 2
    except (ClusterError, WorkerStartError, DownloadError, SweepLocked) as exc:
        print(f"flowlab {args.command}: error: {exc}", file=sys.stderr)
        return 1

    print()
    print(results.table())
    print()
    counts = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    print("runs: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    best = results.best()
    if best is not None:
        metric = results.default_metric()
        print(f"best: {best.name}  {metric}={best.metrics[metric]:.4f}")
    print(f"results: {results.sweep_dir / 'results.csv'}")
    print(f"next:    tensorboard --logdir {_quoted(results.sweep_dir)}")
    if not full:  # a full disk is its own line, below
        _why_failed(command=f"flowlab {args.command}", results=results)
    left = results.remaining
    if full:
        kept = sum(r.status in FINISHED for r in results)
        print(f"flowlab {args.command}: error: the disk is full ({full.reason.splitlines()[0]}); {kept} finished "
              f"run(s) are in {results.sweep_dir / 'results.csv'}, the runs that could not be written are failed; "
              f"free some space, then `flowlab {args.command} --resume {_quoted(results.sweep_dir)}`", file=sys.stderr)
        return 1
    if interrupted:
        print(f"interrupted: finished runs are kept; `flowlab {args.command} --resume {_quoted(results.sweep_dir)}` "
              f"runs the remaining {left} run(s) of this sweep", file=sys.stderr)
        return 130
    return 0 if any(r.status in FINISHED for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
