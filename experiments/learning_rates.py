"""HW3 experiment: how does the learning rate change what plain SGD learns?

Question: a 64-unit ReLU network learns the 8x8 digits with plain SGD (mini-batches of 32) for
20 epochs. Which learning rate, from 1e-4 to 10 in steps of 10x, trains best, and what goes wrong
at either end?

Hypothesis: too small a rate barely moves the weights (the loss creeps down, accuracy stays near
chance, 10%); too large a rate overshoots and blows up (the run stops early, marked `diverged`);
the best rate sits in between, where the loss falls fast and then flattens.

In TensorBoard:
- Scalars, `epoch_loss` and `epoch_accuracy` (train and validation): lr=0.0001 is an almost flat
  line, each 10x step up gives a steeper drop, and lr=10 ends after a few epochs (the trainer stops
  a run whose loss is no longer finite). Use a log-scale y axis for the loss.
- Scalars, `update_ratio/*`: how much each layer's weights changed over an epoch, relative to their
  size: about 10x more for each 10x in learning rate, and absurd (1e30 and up) for lr=10.
- HParams, Parallel Coordinates view: learning_rate against the final validation accuracy, the
  rise-and-fall as one picture; the `status` column shows which run diverged.
"""

import argparse

from flowlab import Experiment


def main(argv=None):
    parser = argparse.ArgumentParser(description="HW3: sweep the learning rate of plain SGD on digits.")
    parser.add_argument("--logdir", default="tensorboard-logs", help="TensorBoard log directory")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per run (default 20)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    parser.add_argument("--quick", action="store_true", help="1 epoch per run: a smoke test, not an experiment")
    args = parser.parse_args(argv)

    exp = Experiment("learning-rates", logdir=args.logdir, workers=args.workers, progress=True,
                     dataset="digits", hidden=[64], activation="relu", optimizer="sgd", batch_size=32,
                     epochs=1 if args.quick else args.epochs)
    results = exp.sweep(learning_rate=[1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0])

    print(results.table())
    print(f"\nnext: tensorboard --logdir {results.sweep_dir}")


if __name__ == "__main__":
    main()
