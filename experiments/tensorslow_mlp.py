"""The series' multi-layer perceptron on four XOR-like clusters, in flowlab.tensorslow: python experiments/tensorslow_mlp.py."""

import numpy as np

from flowlab import tensorslow as ts
from flowlab.script import print_next, tensorslow_parser, train_tensorslow


def main(argv=None):
    args = tensorslow_parser(__doc__, steps=1000, learning_rate=0.03, print_every=100).parse_args(argv)

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
    train_tensorslow(session, J, minimization_op, feed_dict, p_output, c, steps=args.steps,
                     print_every=args.print_every, logdir=args.logdir)
    for variable in (W_hidden, b_hidden, W_output, b_output):
        print(f"{variable.name}:\n", session.run(variable))
    if args.logdir:
        print_next(args.logdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
