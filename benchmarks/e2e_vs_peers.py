"""End to end from the shell: the default sweep and an MNIST-size sweep in flowlab, PyTorch and Keras.

Run from the repository root, with the peers' interpreters if they live in other environments:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.e2e_vs_peers \\
        --torch-python /path/to/venv-torch/bin/python --keras-python /path/to/venv-keras/bin/python

Each side is one shell command, timed from start to exit (interpreter start, imports, data,
training, TensorBoard files):

- ``flowlab``: ``python -m flowlab sweep ...`` with the dataset cache warm (an untimed first run
  fills a cache folder of the benchmark's own; the user's ~/.cache is never touched);
- ``flowlab, no cache``: the same with ``FLOWLAB_CACHE_DIR=off`` (what the cache saves);
- ``numpy by hand, nothing written``: ``benchmarks/peers/numpy_sweep.py``, the PyTorch peer's loop
  in numpy (``benchmarks.numpy_reference.NumpyMLP``: flowlab's math without its graph or checks)
  on a fork pool that shares the arrays loaded once, with no TensorBoard file, model or history:
  what plain numpy code takes for the training flowlab does while it also writes all of those;
- ``flowlab, torch installed``: the same command run by the torch environment's interpreter, as on
  Colab (a library that imports torch on the way costs its import here);
- ``pytorch``: ``benchmarks/peers/torch_sweep.py``, a Pool of one process per core, one thread each,
  SummaryWriter scalars and weight+gradient histograms every epoch;
- ``keras``: ``benchmarks/peers/keras_sweep.py``, model.fit with TensorBoard(histogram_freq=1).

The peers read the prepared arrays (flowlab's split and standardization, written to an .npz before
timing), so all see the same numbers, and their data loading costs them a millisecond; flowlab
loads its data itself inside its time. Same network, initializer family, optimizers (torch's
update rules and defaults; Keras' Adam with eps=1e-8) and per-epoch logging. Rounds are interleaved
(the order reversed every other round); reported: each side's median seconds, the ratio of each
median to flowlab's, and the mean and best final validation accuracy of the runs (a side that
trained differently would show it there). A peer whose interpreter cannot import it is skipped
with a message. The MNIST-shaped data are synthetic IDX files (gzipped, 60000 + 10000 images of
28x28, ten noisy class prototypes) made once in a temporary folder.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import gzip
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from flowlab.bench import blas_info, environment

ROOT = Path(__file__).resolve().parent.parent

SWEEPS = {
    "default": {"title": "default sweep: digits, 64-64-10, batch 32, 20 epochs, 27 runs",
                "dataset": "digits", "hidden": [64], "batch": 32, "epochs": 20,
                "axes": {"learning_rate": [0.001, 0.01, 0.1], "activation": ["sigmoid", "tanh", "relu"],
                         "optimizer": ["sgd", "momentum", "adam"]}},
    "mnist": {"title": "MNIST-size: 784-256-10, batch 128, 5 epochs, 6 runs, float32",
              "dataset": "mnist", "hidden": [256], "batch": 128, "epochs": 5,
              "axes": {"learning_rate": [0.01], "activation": ["relu", "tanh"],
                       "optimizer": ["sgd", "momentum", "adam"]}},
}


def write_synthetic_mnist(folder, n_train=60000, n_val=10000, seed=0):
    """Four gzipped IDX files shaped as MNIST's: ten class prototypes under heavy pixel noise (learnable, not trivial)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(28, 28))
    patterns = rng.choice([-1.0, 1.0], size=(10, 28, 28))
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_val)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = np.clip(base + 10 * patterns[labels] + rng.normal(0, 80, size=(n, 28, 28)), 0, 255).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            (folder / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes(), 1))
    return folder


def grid(axes):
    import itertools

    keys = list(axes)
    return [dict(zip(keys, values)) for values in itertools.product(*axes.values())]


def can_import(python, module):
    if not python:
        return False
    try:
        return subprocess.run([python, "-c", f"import {module}"], capture_output=True, timeout=300).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Side:
    """One implementation of one sweep: a command, how to read its accuracies, and its timings."""

    def __init__(self, name, command, env=None, reader=None):
        self.name, self.command, self.env, self.reader = name, command, env, reader
        self.times, self.accuracies = [], None

    def run(self, logdir):
        if logdir.exists():
            shutil.rmtree(logdir)
        logdir.mkdir(parents=True)
        command = [str(c).replace("{logdir}", str(logdir)) for c in self.command]
        env = {**os.environ, **(self.env or {})}
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{self.name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        self.accuracies = self.reader(done.stdout, logdir)
        return seconds


def flowlab_accuracies(stdout, logdir):
    (results,) = logdir.glob("*/results.csv")
    with open(results) as f:
        rows = list(csv.DictReader(f))
    return {(float(r["learning_rate"]), r["activation"], r["optimizer"]): float(r["val_accuracy"]) for r in rows}


def peer_accuracies(stdout, logdir):
    out = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            config = dict(part.split("=") for part in r["run"].split(","))
            out[(float(config["learning_rate"]), config["activation"], config["optimizer"])] = r["val_accuracy"]
    return out


def sides_for(sweep, work, args, have_torch, have_keras):
    spec = SWEEPS[sweep]
    axes = spec["axes"]
    flags = ["--hidden", *map(str, spec["hidden"]), "--batch-size", str(spec["batch"]), "--epochs", str(spec["epochs"]),
             "--lr", *map(str, axes["learning_rate"]), "--activation", *axes["activation"],
             "--optimizer", *axes["optimizer"], "--logdir", "{logdir}", "--no-progress", "--name", sweep]
    data_flags = []
    if spec["dataset"] != "digits":
        data_flags = ["--dataset", spec["dataset"], "--data-dir", str(work / "mnist")]
    flowlab = ["-m", "flowlab", "sweep", *data_flags, *flags]
    cache = {"FLOWLAB_CACHE_DIR": str(work / "cache"), "PYTHONPATH": str(ROOT)}
    sides = [Side("flowlab", [sys.executable, *flowlab], cache, flowlab_accuracies),
             Side("flowlab, no cache", [sys.executable, *flowlab], {**cache, "FLOWLAB_CACHE_DIR": "off"},
                  flowlab_accuracies)]
    peer_args = ["--data", str(work / f"{sweep}.npz"), "--grid", json.dumps(grid(axes)), "--logdir", "{logdir}",
                 "--hidden", *map(str, spec["hidden"]), "--epochs", str(spec["epochs"]), "--batch", str(spec["batch"]),
                 "--dtype", "float32"]
    # The same loop by hand in numpy, no TensorBoard output (needs nothing beyond flowlab's own).
    sides.append(Side("numpy by hand, nothing written",
                      [sys.executable, str(ROOT / "benchmarks/peers/numpy_sweep.py"), *peer_args], None, peer_accuracies))
    if have_torch:
        sides.append(Side("flowlab, torch installed", [args.torch_python, *flowlab], cache, flowlab_accuracies))
        sides.append(Side("pytorch", [args.torch_python, str(ROOT / "benchmarks/peers/torch_sweep.py"), *peer_args],
                          {"OMP_NUM_THREADS": "1"}, peer_accuracies))
    if have_keras:
        sides.append(Side("keras", [args.keras_python, str(ROOT / "benchmarks/peers/keras_sweep.py"), *peer_args],
                          None, peer_accuracies))
    return sides


def prepare(sweep, work):
    """The peers' copy of the data: flowlab's prepared arrays (same split, same standardization)."""
    from flowlab.data import load_dataset

    spec = SWEEPS[sweep]
    data_dir = work / "mnist" if spec["dataset"] != "digits" else None
    saved = os.environ.get("FLOWLAB_CACHE_DIR")
    os.environ["FLOWLAB_CACHE_DIR"] = "off"  # the user's cache is not touched, the timed one stays cold
    try:
        d = load_dataset(spec["dataset"], data_dir=data_dir)
    finally:
        if saved is None:
            del os.environ["FLOWLAB_CACHE_DIR"]
        else:
            os.environ["FLOWLAB_CACHE_DIR"] = saved
    np.savez(work / f"{sweep}.npz", x_train=d.x_train, y_train=d.y_train, x_val=d.x_val, y_val=d.y_val)


def report(sweep, sides, rounds):
    base = statistics.median(sides[0].times)
    print(f"\n### {SWEEPS[sweep]['title']} ({rounds} rounds, interleaved)\n")
    print("| side | runs | median s | min s | max s | x flowlab | mean val acc | best val acc |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in sides:
        acc = list(s.accuracies.values())
        med = statistics.median(s.times)
        print(f"| {s.name} | {len(s.times)} | {med:.2f} | {min(s.times):.2f} | {max(s.times):.2f} | {med / base:.2f} | "
              f"{statistics.mean(acc):.4f} | {max(acc):.4f} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sweeps", nargs="+", choices=sorted(SWEEPS), default=["default", "mnist"])
    parser.add_argument("--torch-python", default=sys.executable, help="an interpreter that can import torch")
    parser.add_argument("--keras-python", default=sys.executable, help="an interpreter that can import keras")
    parser.add_argument("--keras-rounds", type=int, default=None,
                        help="run Keras in only the first N rounds (it takes minutes a round; default: all)")
    parser.add_argument("--json", default=None, help="also write every timing to this file")
    args = parser.parse_args(argv)

    have_torch = can_import(args.torch_python, "torch")
    have_keras = can_import(args.keras_python, "keras")
    if not have_torch:
        print(f"# PyTorch: not importable by {args.torch_python}; skipped (pass --torch-python)", flush=True)
    if not have_keras:
        print(f"# Keras: not importable by {args.keras_python}; skipped (pass --keras-python)", flush=True)
    print("# " + json.dumps({**environment(), **blas_info(),
                             "openblas_l2_size": os.environ.get("OPENBLAS_L2_SIZE")}), flush=True)
    # As an install does (pip compiles a wheel's modules; an editable install writes them on first
    # import): with PYTHONDONTWRITEBYTECODE set, every start would compile flowlab's changed modules
    # from source, 20-40 ms a process that an installed flowlab does not pay (PyTorch's are compiled).
    compileall.compile_dir(str(ROOT / "flowlab"), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="flowlab-e2e-"))
    raw = {}
    try:
        if "mnist" in args.sweeps:
            write_synthetic_mnist(work / "mnist")
        for sweep in args.sweeps:
            prepare(sweep, work)
            sides = sides_for(sweep, work, args, have_torch, have_keras)
            sides[0].run(work / "logs")  # untimed: fills the dataset cache, warms the page cache
            for r in range(args.rounds):
                for s in (sides if r % 2 == 0 else sides[::-1]):
                    if s.name == "keras" and args.keras_rounds is not None and r >= args.keras_rounds:
                        continue
                    s.times.append(s.run(work / "logs"))
                    print(f"# {sweep} round {r}: {s.name} {s.times[-1]:.2f} s", file=sys.stderr, flush=True)
            report(sweep, sides, args.rounds)
            raw[sweep] = {s.name: {"seconds": s.times, "val_accuracy": {str(k): v for k, v in s.accuracies.items()}}
                          for s in sides}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
