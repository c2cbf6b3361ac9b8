"""The limit of a numpy implementation: a hand-written MLP step, and flowlab's graph measured against it.

``NumpyMLP`` does the same math as ``flowlab.models.MLP`` + ``flowlab.optim`` (Linear layers,
relu/sigmoid/tanh, softmax cross-entropy from the logits, SGD or Adam with torch's rules) as one
would write it by hand: no graph, no node objects, no gradient dicts, parameters updated in place.

Run: ``python -m benchmarks.numpy_reference [--rounds 15] [--steps 100] [--dtype float32]``. It
alternates flowlab and the hand-written step in one process (interleaved rounds, the order flipped
every round) and prints one line per configuration with both medians and the ratio
flowlab / hand-written (target: at most 1.10).
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import CONFIGS, environment, flowlab_step, interleave, print_table


class NumpyMLP:
    """A hand-written MLP classifier step: forward, backward and the optimizer update in plain numpy.

    Args:
        weights: [(kernel, bias), ...] initial parameters (copied), kernel of shape (fan_in, fan_out).
        activation: "relu", "sigmoid" or "tanh" on the hidden layers.
        optimizer: "sgd", "momentum" (SGD with momentum 0.9) or "adam" (torch.optim's update rules,
            as flowlab.optim).
        lr: learning rate.

    After a step, ``logits`` holds the batch's output.
    """

    def __init__(self, weights, activation="relu", optimizer="adam", lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 momentum=0.9):
        self.params = [(np.array(k), np.array(b)) for k, b in weights]
        self.activation, self.optimizer, self.lr = activation, optimizer, lr
        self.beta1, self.beta2, self.eps, self.momentum = betas[0], betas[1], eps, momentum
        self.t = 0
        flat = [p for pair in self.params for p in pair]
        self.m = [np.zeros_like(p) for p in flat]
        self.v = [np.zeros_like(p) for p in flat]
        self.scratch = [np.empty_like(p) for p in flat]

    def _act(self, h):
        if self.activation == "relu":
            return np.maximum(h, 0)
        if self.activation == "sigmoid":
            if h.dtype == np.float32:
                return 0.5 + 0.5 * np.tanh(0.5 * h)  # numpy's float32 tanh beats exp
            with np.errstate(over="ignore"):
                return 1 / (1 + np.exp(-h))
        return np.tanh(h)

    def _act_grad(self, g, h, a):
        if self.activation == "relu":
            return g * (h > 0)
        if self.activation == "sigmoid":
            return g * a * (1 - a)
        return g * (1 - a * a)

    def forward(self, x):
        """The logits for a batch (evaluation: no gradients)."""
        last = len(self.params) - 1
        for i, (kernel, bias) in enumerate(self.params):
            x = x @ kernel
            x += bias
            if i < last:
                x = self._act(x)
        return x

    def step(self, x, y):
        """One training step on a batch (x of shape (m, n), y class ids of shape (m,)). Returns the loss."""
        hs, acts = [], [x]
        last = len(self.params) - 1
        for i, (kernel, bias) in enumerate(self.params):
            h = acts[-1] @ kernel
            h += bias
            hs.append(h)
            if i < last:
                acts.append(self._act(h))
        z = self.logits = hs[-1]
        m = z.shape[0]
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        rows = np.arange(m)
        loss = np.mean(np.log(total[:, 0]) - shifted[rows, y])
        g = e / total
        g[rows, y] -= 1
        g *= 1 / m  # the batch mean

        grads = []
        for i in range(last, -1, -1):
            kernel, _ = self.params[i]
            a = acts[i]
            if m == 1:
                gk = np.multiply(a.T, g)  # an outer product: matmul is slow on (n, 1) @ (1, k)
            else:
                gk = a.T @ g
            grads.append((gk, g.sum(axis=0)))
            if i:
                g = self._act_grad(g @ kernel.T, hs[i - 1], acts[i])
        grads.reverse()

        self.t += 1
        flat = [p for pair in self.params for p in pair]
        flat_grads = [g for pair in grads for g in pair]
        if self.optimizer == "sgd":
            for p, g, s in zip(flat, flat_grads, self.scratch):
                np.multiply(g, self.lr, out=s)
                p -= s
        elif self.optimizer == "momentum":  # buf <- momentum * buf + g (g itself at the first step); p -= lr * buf
            for p, g, buf, s in zip(flat, flat_grads, self.m, self.scratch):
                if self.t > 1:
                    buf *= self.momentum
                buf += g
                np.multiply(buf, self.lr, out=s)
                p -= s
        else:
            b1, b2 = self.beta1, self.beta2
            step_size = self.lr / (1 - b1 ** self.t)
            bc2_sqrt = (1 - b2 ** self.t) ** 0.5
            for p, g, m1, m2, s in zip(flat, flat_grads, self.m, self.v, self.scratch):
                m1 *= b1
                np.multiply(g, 1 - b1, out=s)
                m1 += s
                m2 *= b2
                np.multiply(g, g, out=s)
                s *= 1 - b2
                m2 += s
                np.sqrt(m2, out=s)
                s /= bc2_sqrt
                s += self.eps
                np.divide(m1, s, out=s)
                s *= step_size
                p -= s
        return loss


def numpy_step(sizes, batch, activation, optimizer, dtype, seed=0, batches=8):
    """A zero-argument callable running one hand-written step, cycling over pregenerated batches."""
    from flowlab.models import MLP  # only to start from the very same weights as flowlab

    model = MLP(sizes, activation=activation, seed=seed, dtype=dtype)
    lr = 1e-3 if optimizer == "adam" else 1e-2
    net = NumpyMLP([(layer.kernel.value, layer.bias.value) for layer in model.layers],
                   activation=activation, optimizer=optimizer, lr=lr)
    data = _batches(sizes, batch, dtype, seed, batches)
    state = {"i": 0}

    def step():
        i = state["i"] = (state["i"] + 1) % len(data)
        x, y = data[i]
        net.step(x, y)

    return step


def _batches(sizes, batch, dtype, seed, count):
    rng = np.random.default_rng(seed + 1)
    return [(rng.standard_normal((batch, sizes[0])).astype(dtype), rng.integers(0, sizes[-1], size=batch))
            for _ in range(count)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per configuration")
    parser.add_argument("--steps", type=int, default=100, help="timed steps per round and side")
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    parser.add_argument("--activation", nargs="+", default=["relu", "sigmoid"])
    parser.add_argument("--optimizer", nargs="+", default=["sgd", "adam"])
    parser.add_argument("--config", nargs="+", default=None, help="names from CONFIGS, e.g. 64-64-10/b32")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    print(environment(args.threads))
    rows = []
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for name, sizes, batch in CONFIGS:
            if args.config and name not in args.config:
                continue
            steps = args.steps if batch > 1 else args.steps * 4
            for dtype in args.dtype:
                for activation in args.activation:
                    for optimizer in args.optimizer:
                        sides = {
                            "flowlab": flowlab_step(sizes, batch, activation, optimizer, dtype),
                            "numpy": numpy_step(sizes, batch, activation, optimizer, dtype),
                        }
                        medians = interleave(sides, args.rounds, steps)
                        rows.append((name, activation, optimizer, dtype, medians["flowlab"], medians["numpy"],
                                     medians["flowlab"] / medians["numpy"]))
                        print_table(rows[-1:], ("flowlab us", "numpy us", "flowlab/numpy"), header=len(rows) == 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
