"""HW3 experiment: batch vs stochastic vs mini-batch gradient descent.

Question: the same 64-unit ReLU network learns the 8x8 digits with plain SGD at lr=0.01 for 20
epochs, computing each gradient from all 1438 training examples at once (batch_size=full: one update
per epoch), from one example at a time (batch_size=1, stochastic: 1438 updates per epoch) or from 32
(mini-batch: 45 updates per epoch). What does each buy, per epoch and per second?

Hypothesis: per epoch, more updates means faster progress: stochastic is ahead, full batch is far
behind (20 updates in all). But one-example gradients are noisy, so stochastic training is jumpy,
and it is by far the slowest in wall-clock time (Python and numpy overhead per update). Mini-batches
get most of the progress per epoch at a small fraction of the time.

In TensorBoard:
- `epoch_loss`, horizontal axis STEP (= epoch): batch=1 drops fastest, batch=full slowest.
- The same charts with horizontal axis RELATIVE (seconds since the run started; Time Series
  settings, or Scalars' Horizontal Axis): each batch=1 epoch takes about 5x as long as a batch=32
  epoch, so per second the race is much closer than per epoch: batch=32 reaches a training loss of
  0.21 after its 20 epochs, in about 0.4 s; batch=1 gets below that in its second epoch, at about
  0.8 s. batch=full's 20 updates take under 0.1 s and barely move the loss.
- `epoch_loss/per_batch`: the first epoch update by update: 1438 noisy points for batch=1, 45 for
  batch=32, one for batch=full.
- Validation `epoch_loss` (set Smoothing to 0): batch=1 is the bumpiest curve (up from 0.18 to 0.28
  in epoch 2); it bottoms out near 0.17 and creeps back up while its training loss keeps falling.
- `gradient_norm/*`: the norm of each epoch's last gradient. From one example it jumps by more
  than 10x from epoch to epoch (use a log y axis); from the full batch it is a smooth line.
"""

from flowlab import Experiment
from flowlab.script import print_results, script_parser


def main(argv=None):
    args = script_parser("HW3: full-batch vs stochastic vs mini-batch SGD on digits.",
                         "--logdir", "--epochs", "--workers", "--quick", epochs=20).parse_args(argv)
    exp = Experiment("batch-sizes", logdir=args.logdir, workers=args.workers, progress=True, epochs=args.epochs,
                     dataset="digits", hidden=[64], activation="relu", optimizer="sgd", learning_rate=0.01)
    return print_results(exp.sweep(batch_size=[None, 1, 32]))  # None: the full training set in every step


if __name__ == "__main__":
    main()
