"""The sweep as hand-written numpy with nothing written: the PyTorch peer's training loop, on numpy.

Run by ``benchmarks/e2e_vs_peers.py`` (not a test, not part of flowlab). Each run is the loop of
``torch_sweep.py`` in numpy: ``benchmarks.numpy_reference.NumpyMLP`` (the same math as flowlab's MLP
and optimizers, written by hand as one would: no graph, no checks) from flowlab's initial weights,
the features in ``--dtype``, a new shuffle every epoch, each batch gathered from it, the training
loss and accuracy summed per batch, and the validation set evaluated after the epoch. Around the
loop it differs from the PyTorch peer, each time in its own favour: the arrays are loaded once,
before a ``fork`` pool of one process per usable core (so the workers share them and load nothing),
each worker has one BLAS thread, and the longest runs go first. It writes no TensorBoard file,
histogram or model and keeps no history: what one plain numpy implementation takes for the training
flowlab does while it also writes all of those. It is not a lower bound (that is
``benchmarks/mnist_floor.py``'s): numpy code could be faster than it. Prints one JSON line per run.
"""

import argparse
import json
import os
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))  # the repository: benchmarks, flowlab

from benchmarks.numpy_reference import NumpyMLP  # noqa: E402 (imported before the fork: workers start at once)
from flowlab.models import MLP  # noqa: E402 (only to start from flowlab's initial weights)

#: Longest first, so the pool ends together (flowlab's pool orders its jobs so too).
COST = {"adam": 0, "momentum": 1, "sgd": 2}

DATA = {}  # the arrays, loaded by the parent; forked workers read them


def _init_worker():
    from threadpoolctl import threadpool_limits

    global _LIMITS
    _LIMITS = threadpool_limits(limits=1, user_api="blas")


def train(job):
    config, args = job
    x_train, y_train, x_val, y_val = (DATA[k] for k in ("x_train", "y_train", "x_val", "y_val"))
    sizes = [x_train.shape[1], *args["hidden"], int(y_train.max()) + 1]
    model = MLP(sizes, activation=config["activation"], seed=args["seed"], dtype=args["dtype"])
    net = NumpyMLP([(layer.kernel.value, layer.bias.value) for layer in model.layers],
                   activation=config["activation"], optimizer=config["optimizer"], lr=config["learning_rate"])
    rng = np.random.default_rng(args["seed"])
    batch, n = args["batch"], len(y_train)
    start = time.perf_counter()
    for _ in range(args["epochs"]):
        order = rng.permutation(n)
        total, correct = 0.0, 0
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            xb, yb = x_train.take(idx, axis=0), y_train.take(idx)
            total += float(net.step(xb, yb)) * len(yb)
            correct += int(np.count_nonzero(net.logits.argmax(axis=1) == yb))
        z = net.forward(x_val)
        shifted = z - z.max(axis=1, keepdims=True)
        val_loss = float(np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(y_val)), y_val]))
        val_acc = float(np.mean(z.argmax(axis=1) == y_val))
    name = ",".join(f"{k}={v}" for k, v in config.items())
    return {"run": name, "val_accuracy": val_acc, "val_loss": val_loss, "train_loss": total / n,
            "train_accuracy": correct / n, "seconds": time.perf_counter() - start}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--grid", required=True, help="JSON list of configs")
    parser.add_argument("--logdir", required=True, help="accepted as the other peers do; nothing is written")
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--seed", type=int, default=0)
    args = vars(parser.parse_args())
    grid = json.loads(args.pop("grid"))
    args.pop("logdir")
    with np.load(args["data"]) as data:  # features in --dtype, as the PyTorch peer converts them
        DATA.update({k: data[k].astype(args["dtype"]) for k in ("x_train", "x_val")})
        DATA.update({k: data[k].astype(np.int64) for k in ("y_train", "y_val")})
    with get_context("fork").Pool(len(os.sched_getaffinity(0)), initializer=_init_worker) as pool:
        jobs = sorted(grid, key=lambda c: COST.get(c["optimizer"], 0))
        for result in pool.imap_unordered(train, [(config, args) for config in jobs]):
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
