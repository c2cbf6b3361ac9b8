"""HW3 experiment: does regularization close the gap between training and validation loss?

Question: a network much bigger than its task (two hidden layers of 128 ReLU units, about 17,000
weights) learns the three-arm spiral from only 150 training points (val_fraction=0.5), with Adam at
lr=0.01 for 300 epochs. Without regularization it can memorize the training points. How much of the
train/validation gap do an L2 penalty (l2=0.001 and 0.01), dropout (rate 0.5 after each hidden
layer) and batch normalization close, alone and together?

Hypothesis: the unregularized network drives its training loss to almost 0 while its validation
loss stays far above it (overfitting: the gap). Each regularizer keeps the network from fitting the
noise, so the training loss ends higher and the validation loss closer to it. Too strong a penalty
(l2=0.01) underfits: both losses end high together.

What we measured (seed 0): the unregularized run ends at a training loss of 0.001 (every training
point right) and a validation loss of 0.39, the widest gap of the 12 runs (its validation loss was
lowest, 0.09, around epoch 20, and climbed from there); every other run's gap is below 0.08.
l2=0.001 alone closes it completely (training 0.053, validation 0.046): the lowest validation loss
of all and the best validation accuracy, 0.987 (tied with l2=0.001 plus dropout). Dropout alone
leaves a gap of 0.07, batchnorm alone 0.04. With l2=0.01 the training loss stays above 0.15 in every
combination: it underfits.

Which loss is which: `epoch_loss` is the data (cross-entropy) loss, so training and validation
compare directly; the L2/L1 penalty that training also minimizes is logged beside it as
`epoch_regularization_loss` (Keras logs the sum as its loss instead). The training loss and accuracy
are measured during the epoch, with dropout on (as Keras does), so with dropout the training loss
can end above the validation loss; validation always runs without dropout and with batchnorm's
running statistics.

In TensorBoard:
- Scalars, `epoch_loss`, with the train and validation curves of one run side by side (filter the
  runs with a regex such as `l2=0,dropout=0,bn=False`): the unregularized run's training loss falls
  towards 0 while its validation loss bottoms out early and then climbs; for l2=0.001 the two
  curves end together.
- Scalars, `epoch_regularization_loss` (the l2 runs): the penalty falls as the weights shrink.
- Histograms, `dense_2/kernel`: the l2 runs' weights sit in a narrower range than the l2=0 runs'.
- HParams, Table View: sort by validation loss; the Parallel Coordinates view shows l2, dropout and
  batchnorm against the final losses.
"""

from flowlab import Experiment
from flowlab.script import print_results, script_parser

#: Everything but the regularization: the same for every run.
SETTINGS = dict(dataset="spiral", val_fraction=0.5, hidden=[128, 128], activation="relu", optimizer="adam",
                learning_rate=0.01, batch_size=32)
AXES = dict(l2=[0.0, 0.001, 0.01], dropout=[0.0, 0.5], batchnorm=[False, True])


def main(argv=None):
    args = script_parser("HW3: L2, dropout and batchnorm against overfitting on the spiral.",
                         "--logdir", "--epochs", "--workers", "--quick", epochs=300).parse_args(argv)
    exp = Experiment("regularization", logdir=args.logdir, workers=args.workers, progress=True, epochs=args.epochs,
                     **SETTINGS)
    return print_results(exp.sweep(**AXES), metric="val_loss")


if __name__ == "__main__":
    main()
