"""The `flowlab` command: sweep, train and datasets. Parses arguments and calls Experiment; nothing else."""

from __future__ import annotations

import argparse
import signal
import sys

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
    parser.add_argument("--epochs", nargs=nargs, type=int, default=None, help="epochs (default 20)")
    parser.add_argument("--batch-size", nargs=nargs, default=None,
                        help="examples per step: n, 1 (stochastic) or full (default 32)")
    parser.add_argument("--lr", "--learning-rate", dest="learning_rate", nargs=nargs, default=None,
                        help="learning rate (default: the optimizer's own)")
    parser.add_argument("--activation", nargs=nargs, default=None, help="sigmoid, tanh, relu, leaky_relu")
    parser.add_argument("--optimizer", nargs=nargs, default=None,
                        help="sgd, momentum, nesterov, adam, rmsprop, adagrad, adadelta, adamax, nadam")
    parser.add_argument("--init", nargs=nargs, default=None, help="weight init (default: follows the activation)")
    parser.add_argument("--seed", nargs=nargs, type=int, default=None, help="random seed (default 0)")
    parser.add_argument("--dtype", nargs=nargs, default=None, help="float32 or float64 (default: float32 for MNIST-size inputs, float64 for the small sets)")
    parser.add_argument("--noise", nargs=nargs, type=float, default=None,
                        help="noise of a generated dataset (spiral, moons, circles, xor, blobs; default: its own)")
    parser.add_argument("--samples", dest="n_samples", nargs=nargs, type=int, default=None, metavar="N",
                        help="examples: points to generate, or a seeded subset of a bundled/MNIST training set")
    parser.add_argument("--val-fraction", nargs=nargs, type=float, default=None,
                        help="fraction held out for validation (default 0.2; MNIST uses its test files)")
    parser.add_argument("--standardize", nargs=nargs, choices=("on", "off"), default=None,
                        help="scale features with training statistics: on (default) or off")
    parser.add_argument("--logdir", default="tensorboard-logs", help="TensorBoard log directory")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core; "
                        "1 runs in this process)")
    parser.add_argument("--executor", default=None,
                        help="local (default), a Dask scheduler tcp://host:port, or a scheduler file .json "
                        "(default: $DASK_SCHEDULER_ADDRESS if set)")
    parser.add_argument("--scheduler-file", default=None, metavar="FILE",
                        help="the Dask scheduler file (as `dask scheduler --scheduler-file FILE` writes)")
    parser.add_argument("--shared-logdir", action="store_true",
                        help="Dask workers write straight into --logdir (a filesystem they share, same path), "
                        "so TensorBoard updates while runs train; default: runs send their files back")
    parser.add_argument("--resume", default=None, metavar="DIR", help="finish an earlier sweep directory")
    parser.add_argument("--no-histograms", action="store_true", help="skip weight and gradient histograms")
    parser.add_argument("--stack", choices=("auto", "on", "off"), default="auto",
                        help="train runs that differ only in learning rate or optimizer as one stacked "
                        "computation, each run's numbers and files as if alone: auto (default: small "
                        "networks and batches, where it was measured faster), on, off")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser():
    parser = argparse.ArgumentParser(
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
    if key == "batch_size":
        if text.lower() == "full":
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"--batch-size must be a whole number or 'full', got {text!r}") from None
    return text


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


def _shared_logdir_executor(executor):
    import os

    from .executors import DaskExecutor

    executor = executor or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if not executor or executor == "local":
        raise ValueError("--shared-logdir is for a Dask cluster (--executor tcp://host:port or --scheduler-file); "
                         "local runs always write straight into the logdir")
    return DaskExecutor(executor, shared_logdir=True)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    """Runs the `flowlab` command; returns the exit status (0 ok, 1 no run finished, 2 bad arguments, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
    if many and not any(k in axes for k in DEFAULT_SWEEP):
        axes.update({k: [_convert(k, v) for v in vs] for k, vs in DEFAULT_SWEEP.items()})
    name = args.name or ("sweep" if many else "train")

    from .download import DownloadError
    from .executors import ClusterError, WorkerStartError
    from .experiment import Experiment, SweepInterrupted

    if args.scheduler_file and args.executor:
        print(f"flowlab {args.command}: error: give --executor or --scheduler-file, not both", file=sys.stderr)
        return 2
    executor = args.scheduler_file or args.executor
    try:
        exp = Experiment(name, logdir=args.logdir, workers=args.workers, executor=executor,
                         histograms=not args.no_histograms, progress=not args.no_progress,
                         stack={"on": True, "off": False}.get(args.stack, "auto"))
        exp.grid(**axes)  # validate everything before anything is written
        if args.shared_logdir:
            exp.executor = _shared_logdir_executor(executor)
    except (ValueError, ImportError) as exc:
        print(f"flowlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ClusterError as exc:
        print(f"flowlab {args.command}: error: {exc}", file=sys.stderr)
        return 1

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    interrupted = False
    try:
        results = exp.sweep(resume=args.resume, **axes)
    except SweepInterrupted as exc:
        results, interrupted = exc.results, True
    except ValueError as exc:
        print(f"flowlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ClusterError, WorkerStartError, DownloadError) as exc:
        print(f"flowlab {args.command}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)

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
    print(f"next:    tensorboard --logdir {results.sweep_dir}")
    if interrupted:
        print("interrupted: finished runs are kept; finish the rest with "
              f"`flowlab {args.command} ... --resume {results.sweep_dir}`", file=sys.stderr)
        return 130
    return 0 if any(r.status in ("completed", "early_stopped", "diverged") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
