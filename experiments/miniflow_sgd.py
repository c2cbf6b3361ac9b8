"""HW3 experiment: the MiniFlow lesson's final network, trained by its own SGD loop, in TensorBoard.

Question: the lesson ends with a regression: Linear -> Sigmoid -> Linear -> MSE, trained with
mini-batch SGD by a hand-written loop (`forward_and_backward`, `sgd_update`). How does its loss
fall on scikit-learn's diabetes data (10 measurements -> disease progression, standardized), and
what do its weights do meanwhile?

Hypothesis: the training loss falls fast for a few epochs and then slowly; the validation loss
follows it and then flattens above it (442 patients are few, so a 10-unit network starts to fit
noise). W1 spreads out from its initial normal distribution, while the sigmoid units saturate
where it grows large.

In TensorBoard:
- Scalars, `epoch_loss` (train and validation): this loop's run,
  `miniflow-sgd/width=10,lr=0.01,batch=11-<YYYYmmdd-HHMMSS>` (a new folder each time, as a sweep's),
  next to the runs of `experiments/miniflow_sweep.py`; its `width=10,lr=0.01` run has the same
  network, data, batches and initial weights, so its curves lie on top of this one.
- Histograms and Distributions, `W1`, `b1`, `W2`, `b2` (and `.../gradient`): named after the
  script's variables.
- Graphs: the lesson's graph, Input -> Linear -> Sigmoid -> Linear -> MSE.

The loop is the lesson's, with one changed import line and two logging lines (`LoopLogger(...)`
and `log.log(epoch, ...)`).
"""

from datetime import datetime
from pathlib import Path

import numpy as np

from flowlab.data import epoch_batches, load_dataset
from flowlab.loop_logger import LoopLogger
from flowlab.miniflow import *  # noqa: F403 - the lesson's names: Input, Linear, Sigmoid, MSE, ...
from flowlab.script import positive_number, script_parser, whole_number


def lesson_network(n_features, n_hidden, seed=0):
    """The lesson's graph and its trainables, initial weights from ``seed`` (standard normal, scaled)."""
    rng = np.random.default_rng(seed)
    X, y = Input(), Input()
    W1, b1 = Input(name="W1"), Input(name="b1")
    W2, b2 = Input(name="W2"), Input(name="b2")
    W1.value = rng.standard_normal((n_features, n_hidden)) / np.sqrt(n_features)
    b1.value = np.zeros(n_hidden)
    W2.value = rng.standard_normal((n_hidden, 1)) / np.sqrt(n_hidden)
    b2.value = np.zeros(1)
    l1 = Linear(X, W1, b1)
    s1 = Sigmoid(l1)
    l2 = Linear(s1, W2, b2)
    cost = MSE(y, l2)
    return X, y, l2, cost, [W1, b1, W2, b2]


def main(argv=None):
    parser = script_parser("The MiniFlow lesson's SGD network on diabetes, logged to TensorBoard.",
                           "--logdir", "--epochs", "--quick", epochs=100, quick=2)
    parser.add_argument("--hidden", type=whole_number(1), default=10, help="hidden units (the lesson's 10)")
    parser.add_argument("--lr", type=positive_number, default=0.01, help="learning rate (sgd_update's default 0.01)")
    parser.add_argument("--batch-size", type=whole_number(1), default=11, help="batch size (the lesson's 11)")
    args = parser.parse_args(argv)

    data = load_dataset("diabetes", seed=0)
    X, y, output, cost, trainables = lesson_network(data.num_features, args.hidden, seed=0)
    graph = topological_sort({X: data.x_train[:1], y: data.y_train[:1]})
    # Named after its settings and the time, as a sweep's folder: a second run never writes into the first's.
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(args.logdir) / "miniflow-sgd" / f"width={args.hidden},lr={args.lr:g},batch={args.batch_size}-{stamp}"
    run_dir, n = base, 2
    while run_dir.exists():
        run_dir, n = Path(f"{base}-{n}"), n + 1
    hparams = {"dataset": "diabetes", "optimizer": "sgd", "learning_rate": args.lr, "width": args.hidden,
               "batch_size": args.batch_size, "epochs": args.epochs, "seed": 0}
    with LoopLogger(run_dir, trainables, graph=graph, hparams=hparams, learning_rate=args.lr) as log:
        for epoch in range(args.epochs):
            total = 0.0
            batches = epoch_batches(data.x_train, data.y_train, args.batch_size, seed=0, epoch=epoch)
            for X_batch, y_batch in batches:
                X.value, y.value = X_batch, y_batch
                forward_and_backward(graph)
                sgd_update(trainables, learning_rate=args.lr)
                total += graph[-1].value * len(y_batch)
            loss = total / len(data.y_train)
            X.value, y.value = data.x_val, data.y_val
            forward_pass(graph)
            val_loss = graph[-1].value
            log.log(epoch, loss, val_loss=val_loss)
            if epoch % 10 == 0 or epoch == args.epochs - 1:
                print(f"Epoch: {epoch + 1}, Loss: {loss:.3f}, Validation loss: {val_loss:.3f}")
    print(f"\nlogged to {run_dir}\nnext: tensorboard --logdir {args.logdir}")


if __name__ == "__main__":
    main()
