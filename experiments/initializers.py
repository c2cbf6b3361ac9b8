"""HW3 experiment: does the initial scale of the weights matter?

Question: a network with two hidden ReLU layers of 64 units learns the 8x8 digits with plain SGD
(lr=0.05, mini-batches of 32) for 20 epochs, starting from He-normal weights (std sqrt(2/fan_in),
made for ReLU), Glorot-uniform (made for tanh/sigmoid), small normal (std 0.01 whatever the layer
size) or all zeros. How far does each get?

Hypothesis: He and Glorot keep the signal's scale roughly constant from layer to layer, so both
train well. Std 0.01 shrinks the signal at every layer (and the gradient on the way back), so
training sits on a plateau before it takes off (if it does within 20 epochs). All zeros never
trains: every unit of a layer computes the same output and gets the same gradient (with ReLU,
exactly zero), so the units can never become different: the symmetry is never broken. Only the
output biases learn; accuracy stays at chance (10%) and the loss at ln(10) = 2.30.

In TensorBoard:
- `epoch_loss`: he_normal and glorot_uniform fall fast; normal stays flat at 2.30 for a dozen
  epochs, then takes off; zeros stays flat at 2.30.
- `gradient_norm/dense_1` and `gradient_norm/dense_2`: exactly 0 for zeros at every epoch
  (only the output layer, dense_3, gets a gradient); for normal they start tiny, dense_1 (0.006)
  smaller than dense_2 (0.01), smaller than dense_3 (0.16): vanishing layer by layer, and they grow
  as it leaves the plateau.
- Histograms, `weights/dense_1/kernel`: a single spike at 0 that never moves for zeros; a narrow bump
  (std 0.01) for normal, which widens as it learns; a wide bell for he_normal and a flat box for
  glorot_uniform, whose edges spread as the network learns.
- Graphs: the network itself (the same for all four runs; only the starting numbers differ).
"""

from flowlab import Experiment
from flowlab.script import print_results, script_parser


def main(argv=None):
    args = script_parser("HW3: sweep the weight initializer of a 2-hidden-layer ReLU net.",
                         "--logdir", "--epochs", "--workers", "--quick", epochs=20).parse_args(argv)
    exp = Experiment("initializers", logdir=args.logdir, workers=args.workers, progress=True, epochs=args.epochs,
                     dataset="digits", hidden=[64, 64], activation="relu", optimizer="sgd", learning_rate=0.05,
                     batch_size=32)
    return print_results(exp.sweep(init=["he_normal", "glorot_uniform", "normal", "zeros"]))


if __name__ == "__main__":
    main()
