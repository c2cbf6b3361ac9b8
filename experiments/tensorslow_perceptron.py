"""The series' softmax perceptron on two clusters, in flowlab.tensorslow: python experiments/tensorslow_perceptron.py."""

import argparse
import os

import numpy as np

from flowlab import tensorslow as ts
from flowlab.tensorboard import EventFile


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--print-every", type=int, default=10)
    parser.add_argument("--logdir", help="write the loss of every step for TensorBoard (tag tensorslow/loss) "
                        "under LOGDIR/train")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    red_points = rng.normal(size=(50, 2)) - 2 * np.ones((50, 2))  # centered at (-2, -2)
    blue_points = rng.normal(size=(50, 2)) + 2 * np.ones((50, 2))  # centered at (2, 2)

    graph = ts.Graph().as_default()
    X = ts.placeholder(name="X")
    c = ts.placeholder(name="c")
    W = ts.Variable(rng.normal(size=(2, 2)), name="W")
    b = ts.Variable(rng.normal(size=2), name="b")
    p = ts.softmax(ts.add(ts.matmul(X, W), b))
    J = ts.negative(ts.reduce_sum(ts.reduce_sum(ts.multiply(c, ts.log(p)), axis=1)))
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

    predicted = session.run(p, feed_dict).argmax(axis=1)
    accuracy = np.mean(predicted == np.argmax(feed_dict[c], axis=1))
    print("Final loss:", session.run(J, feed_dict), " accuracy:", accuracy)
    print("Weight matrix:\n", session.run(W))
    print("Bias:\n", session.run(b))
    print(f"{len(graph.operations)} operations, {len(graph.variables)} variables")
    if args.logdir:
        print(f"\nnext: tensorboard --logdir {args.logdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
