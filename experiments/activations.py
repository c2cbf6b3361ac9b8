"""HW3 experiment: which activation function lets a deeper network learn?

Question: a network with three hidden layers of 64 units learns the 8x8 digits with plain SGD
(learning rate 0.05, mini-batches of 32) for 20 epochs. Does it matter whether the hidden layers use
sigmoid, tanh, ReLU or leaky ReLU?

Hypothesis: sigmoid's derivative is at most 0.25, so the gradient shrinks by a factor at every layer
on its way back to the input: the first layers hardly learn and the network trains slowly (vanishing
gradients). tanh (derivative up to 1, zero-centred) does much better; ReLU and leaky ReLU pass the
gradient through unchanged wherever a unit is active, so every layer learns at a similar pace.

In TensorBoard:
- Custom Scalars, `gradient_norm: every layer`: the four layers' gradient norms on one chart (filter
  the runs to one activation, e.g. `activation=sigmoid`, and turn on the chart's log scale). For
  sigmoid the first layer's gradient is 15x to 25x smaller than the last layer's at every epoch
  (dense_1 about 0.03, dense_4 about 0.8 in epoch 0); for relu the four lie close together (1.1 to
  1.3 in epoch 0).
  The same curves, one card per layer, are in Time Series under `gradient_norm`.
- `epoch_loss` and `epoch_accuracy`: sigmoid lags far behind the others (training loss still 2.1
  after 20 epochs, against 0.01 to 0.04).
- Histograms, `gradients/dense_1/kernel`: a narrow spike around 0 for sigmoid (within +-0.004 at
  every epoch); for relu 50x wider in the first epoch (+-0.17), narrowing as it converges.
- `update_ratio/dense_1`: sigmoid's first layer changes by under 1% per epoch from the start;
  relu's by 10% in the first epoch. Histograms, `weights/dense_1/kernel`: sigmoid's barely moves.
"""

from flowlab import Experiment
from flowlab.script import print_results, script_parser


def main(argv=None):
    args = script_parser("HW3: sweep the activation function of a 3-hidden-layer net.",
                         "--logdir", "--epochs", "--workers", "--quick", epochs=20).parse_args(argv)
    # init is left to follow the activation (He for the ReLUs, Glorot otherwise), as Keras users expect
    exp = Experiment("activations", logdir=args.logdir, workers=args.workers, progress=True, epochs=args.epochs,
                     dataset="digits", hidden=[64, 64, 64], optimizer="sgd", learning_rate=0.05, batch_size=32)
    return print_results(exp.sweep(activation=["sigmoid", "tanh", "relu", "leaky_relu"]))


if __name__ == "__main__":
    main()
