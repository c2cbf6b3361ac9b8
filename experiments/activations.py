"""HW3 experiment: which activation function lets a deeper network learn?

Question: a network with three hidden layers of 64 units learns the 8x8 digits with plain SGD
(learning rate 0.05, mini-batches of 32) for 20 epochs. Does it matter whether the hidden layers use
sigmoid, tanh, ReLU or leaky ReLU?

Hypothesis: sigmoid's derivative is at most 0.25, so the gradient shrinks by a factor at every layer
on its way back to the input: the first layers hardly learn and the network trains slowly (vanishing
gradients). tanh (derivative up to 1, zero-centred) does much better; ReLU and leaky ReLU pass the
gradient through unchanged wherever a unit is active, so every layer learns at a similar pace.

In TensorBoard:
- Scalars, `gradient_norm/dense_1` ... `gradient_norm/dense_4`: for sigmoid the first layer's
  gradient is many times smaller than the last layer's (dense_1 << dense_4); for relu the four curves
  lie close together. Compare one run at a time (run filter regex, e.g. `activation=sigmoid`).
- Scalars, `epoch_loss` and `epoch_accuracy`: sigmoid lags far behind the others.
- Histograms, `dense_1/kernel/gradient`: a narrow spike around 0 for sigmoid, wider for relu.
- Scalars, `update_ratio/dense_1`: sigmoid's first layer changes by under 1% per epoch from the
  start; relu's by 10% in the first epoch. Histograms, `dense_1/kernel`: sigmoid's barely moves.
"""

import argparse

from flowlab import Experiment


def main(argv=None):
    parser = argparse.ArgumentParser(description="HW3: sweep the activation function of a 3-hidden-layer net.")
    parser.add_argument("--logdir", default="tensorboard-logs", help="TensorBoard log directory")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per run (default 20)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    parser.add_argument("--quick", action="store_true", help="1 epoch per run: a smoke test, not an experiment")
    args = parser.parse_args(argv)

    # init is left to follow the activation (He for the ReLUs, Glorot otherwise), as Keras users expect
    exp = Experiment("activations", logdir=args.logdir, workers=args.workers, progress=True,
                     dataset="digits", hidden=[64, 64, 64], optimizer="sgd", learning_rate=0.05, batch_size=32,
                     epochs=1 if args.quick else args.epochs)
    results = exp.sweep(activation=["sigmoid", "tanh", "relu", "leaky_relu"])

    print(results.table())
    print(f"\nnext: tensorboard --logdir {results.sweep_dir}")


if __name__ == "__main__":
    main()
