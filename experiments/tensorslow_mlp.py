"""The series' multi-layer perceptron on four XOR-like clusters, in flowlab.tensorslow: python experiments/tensorslow_mlp.py."""

import argparse
import os

import numpy as np

from flowlab import tensorslow as ts
from flowlab.tensorboard import EventFile


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--learning-rate", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--print-every", type=int, default=100)
    parser.add_argument("--logdir", help="write the loss of every step for TensorBoard (tag tensorslow/loss) "
                        "under LOGDIR/train")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)

    def cluster(center):
        return 0.2 * rng.normal(size=(25, 2)) + np.array([center] * 25)

    red_points = np.concatenate((cluster([0, 0]), cluster([1, 1])))
    blue_points = np.concatenate((cluster([0, 1]), cluster([1, 0])))

    ts.Graph().as_default()
    X = ts.placeholder(name="X")
    c = ts.placeholder(name="c")
    W_hidden = ts.Variable(rng.normal(size=(2, 2)), name="W_hidden")
    b_hidden = ts.Variable(rng.normal(size=2), name="b_hidden")
    p_hidden = ts.sigmoid(ts.add(ts.matmul(X, W_hidden), b_hidden))
    W_output = ts.Variable(rng.normal(size=(2, 2)), name="W_output")
    b_output = ts.Variable(rng.normal(size=2), name="b_output")
    p_output = ts.softmax(ts.add(ts.matmul(p_hidden, W_output), b_output))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p_output)), axis=1)))
    minimization_op = ts.train.GradientDescentOptimizer(learning_rate=args.learning_rate).minimize(J)

    feed_dict = {X: np.concatenate((blue_points, red_points)),
                 c: [[1, 0]] * len(blue_points) + [[0, 1]] * len(red_points)}
    session = ts.Session()
    writer = EventFile(os.path.join(args.logdir, "train")) if args.logdir else None  # flowlab's event writer
    for step in range(args.steps):
        J_value = session.run(J, feed_dict)
        if writer:
            # Steps, not epochs: a tag of its own keeps these 1000 points off the HW3 sweeps' epoch_loss.
            writer.add_scalar("tensorslow/loss", float(J_value), step)
        if step % args.print_every == 0:
            print("Step:", step, " Loss:", J_value)
        session.run(minimization_op, feed_dict)
    if writer:
        writer.close()

    predicted = session.run(p_output, feed_dict).argmax(axis=1)
    accuracy = np.mean(predicted == np.argmax(feed_dict[c], axis=1))
    print("Final loss:", session.run(J, feed_dict), " accuracy:", accuracy)
    for variable in (W_hidden, b_hidden, W_output, b_output):
        print(f"{variable.name}:\n", session.run(variable))
    if args.logdir:
        print(f"\nnext: tensorboard --logdir {args.logdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
