"""HW3 experiment: how does the learning rate change what plain SGD learns?

Question: a 64-unit ReLU network learns the 8x8 digits with plain SGD (mini-batches of 32) for
20 epochs. Which learning rate, from 1e-4 to 10 in steps of 10x, trains best, and what goes wrong
at either end?

Hypothesis: too small a rate barely moves the weights (the loss creeps down, accuracy stays near
chance, 10%); too large a rate overshoots and blows up (the run stops early, marked `diverged`);
the best rate sits in between, where the loss falls fast and then flattens.

In TensorBoard: (Time Series opens on epoch_accuracy and epoch_loss, train and validation curves)
- `epoch_loss` and `epoch_accuracy`: lr=0.0001 is an almost flat line (accuracy near chance), each
  10x step up falls faster, and here the largest rate that trains, lr=1, ends best (validation
  accuracy about 0.97). lr=10 diverges inside its first epoch: its `epoch_loss` is a single point
  at step 0, about 3e36 (the mean loss of the batches before the explosion; the trainer stops a run
  whose loss is no longer finite). Turn on the log-scale y axis.
- `epoch_loss/per_batch` (the first epoch, batch by batch): lr=10's loss climbs from 2.9 to about
  1e38 within some 25 batches, where the others fall; this is the explosion itself.
- Scalars, `update_ratio/*`: how much each layer's weights changed over an epoch, relative to their
  size: about 10x more for each 10x in learning rate at the small rates (dense_1 in epoch 0: 0.0005
  at lr=0.0001, 0.005, 0.04, 0.2, 0.8 at lr=1). lr=10 has none: it never finished an epoch.
- HParams, Parallel Coordinates view: learning_rate (evenly spaced values) against the final
  validation accuracy, the rise and the fall as one picture; lr=10 is there too, status
  `diverged`, with its exploded losses (validation loss shown as 3.4e38, float32's largest value).
"""

from flowlab import Experiment
from flowlab.script import print_results, script_parser


def main(argv=None):
    args = script_parser("HW3: sweep the learning rate of plain SGD on digits.",
                         "--logdir", "--epochs", "--workers", "--quick", epochs=20).parse_args(argv)
    exp = Experiment("learning-rates", logdir=args.logdir, workers=args.workers, progress=True, epochs=args.epochs,
                     dataset="digits", hidden=[64], activation="relu", optimizer="sgd", batch_size=32)
    return print_results(exp.sweep(learning_rate=[1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]))


if __name__ == "__main__":
    main()
