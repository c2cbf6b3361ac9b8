"""HW3 experiment: can a learning-rate schedule rescue a learning rate that is too high?

Question: plain SGD at lr=1.5 is too fast for a 64-unit ReLU network on the 8x8 digits (mini-batches
of 32, 30 epochs): at that constant rate the loss blows up. Does lowering the rate as training goes
on (step decay, exponential decay, cosine annealing, reduce-on-plateau) save the run, and does a
linear warmup at the start (which ends at the same 1.5) do the same?

Hypothesis: the early epochs at a high rate are wild whatever the schedule, but every schedule
that brings the rate down lets the network settle into a minimum: its training loss ends near 0
and its validation accuracy well above the constant run's. Warmup only changes the first 5 epochs,
so from then on it trains like the constant run and can blow up in the same way.

What we measured (seed 0, OpenBLAS' Haswell kernel): the constant run ends with a training loss of
about 1e10 and 0.91 validation accuracy; step, exponential, cosine and plateau end below 0.01
training loss and at 0.955-0.97 validation accuracy; warmup ends with a training loss in the
thousands. Other seeds give the same picture (the constant run's numbers vary widely: it is
chaotic). So does another BLAS kernel, though every number moves, because at this rate the last bit
of a product changes where training goes: with SkylakeX (which OpenBLAS picks on AVX-512 machines)
the constant run ends at about 1e6 and 0.93, the four decaying schedules below 0.01 training loss at
0.947-0.967, and warmup at 1.7e5 and 0.86.

In TensorBoard:
- Scalars, `learning_rate` (train; Keras calls it `epoch_learning_rate`): each schedule's curve:
  the staircase of step:10:0.5, the smooth fall of exponential:0.9, the half cosine down to almost
  0, warmup's ramp from 0.5 up to 1.5, and the plateau run's cuts by half whenever the validation
  loss stopped improving for 3 epochs.
- Scalars, `epoch_loss` (train): use a log-scale y axis. The constant and warmup runs climb to huge
  values; the others drop back as their rate falls.
- Scalars, `epoch_loss` (validation): stays high for every schedule (the wild early epochs leave
  confidently wrong predictions behind); exponential ends lowest, the constant run highest.
- HParams, Table View: sort by validation accuracy; the `schedule` column says which run is which.
"""

from flowlab import Experiment
from flowlab.script import print_results, script_parser

SCHEDULES = ["constant", "step:10:0.5", "exponential:0.9", "cosine", "warmup:5", "plateau:3:0.5"]


def main(argv=None):
    args = script_parser("HW3: learning-rate schedules for SGD at a too-high rate.",
                         "--logdir", "--epochs", "--workers", "--quick", epochs=30).parse_args(argv)
    exp = Experiment("schedules", logdir=args.logdir, workers=args.workers, progress=True, epochs=args.epochs,
                     dataset="digits", hidden=[64], activation="relu", optimizer="sgd", learning_rate=1.5,
                     batch_size=32)
    return print_results(exp.sweep(schedule=SCHEDULES))


if __name__ == "__main__":
    main()
