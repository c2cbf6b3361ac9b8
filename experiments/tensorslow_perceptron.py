"""The series' softmax perceptron on two clusters, in flowlab.tensorslow: python experiments/tensorslow_perceptron.py."""

import numpy as np

from flowlab import tensorslow as ts
from flowlab.script import print_next, tensorslow_parser, train_tensorslow


def main(argv=None):
    args = tensorslow_parser(__doc__, steps=100, learning_rate=0.01, print_every=10).parse_args(argv)

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
    train_tensorslow(session, J, minimization_op, feed_dict, p, c, steps=args.steps, print_every=args.print_every,
                     logdir=args.logdir)
    print("Weight matrix:\n", session.run(W))
    print("Bias:\n", session.run(b))
    print(f"{len(graph.operations)} operations, {len(graph.variables)} variables")
    if args.logdir:
        print_next(args.logdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
