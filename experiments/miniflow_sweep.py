"""HW3 experiment: the MiniFlow lesson's network swept by the Experiment runner with a custom builder.

Question: the lesson's regression network (Linear -> Sigmoid -> Linear -> MSE, SGD, diabetes)
has one hidden layer of 10 units and a learning rate of 0.01. Do more units or a larger rate
help, and where does it start to overfit?

Hypothesis: the learning rate matters more than the width: 0.1 reaches in 20 epochs what 0.01
reaches in 100, while 2 units underfit and 50 units fit the training set better without a
better validation loss (the gap between train and validation `epoch_loss` grows with width).

In TensorBoard:
- HParams: one row per run with `width` (a user-defined axis) and `learning_rate`, ranked by
  validation loss; the Parallel Coordinates view shows width against `validation.epoch_loss`.
- Scalars, `epoch_loss` and `epoch_mae` (train and validation), runs named `width=...,lr=...`;
  with the same logdir, `experiments/miniflow_sgd.py`'s hand-written loop shows as
  `miniflow-sgd/width=10,lr=0.01,batch=11-<time>` and lies on top of the `width=10,lr=0.01` run.
- Histograms `W1`, `b1`, `W2`, `b2` and Graphs, as for the loop.
"""

from flowlab import Experiment, Model
from flowlab.script import print_results, script_parser
from miniflow_sgd import lesson_network


def build(config, shape):
    """The lesson's network for one run: ``width`` hidden units, initial weights from the run's seed."""
    X, y, output, cost, trainables = lesson_network(shape.num_features, config["width"], seed=config["seed"])
    return Model(X, y, output, cost, params=trainables, name="miniflow-lesson")


def main(argv=None):
    args = script_parser("Sweep the MiniFlow lesson's network with a custom model builder.",
                         "--logdir", "--epochs", "--workers", "--quick", epochs=100, quick=2).parse_args(argv)
    exp = Experiment("miniflow-sweep", logdir=args.logdir, workers=args.workers, progress=True, epochs=args.epochs,
                     model=build, dataset="diabetes", optimizer="sgd", batch_size=11, width=10)
    # The whole logdir: miniflow_sgd.py's loop, run with the same one, shows beside the sweep's runs.
    return print_results(exp.sweep(width=[2, 10, 50], learning_rate=[0.01, 0.1]), logdir=args.logdir)


if __name__ == "__main__":
    main()
