"""flowlab vs PyTorch on CPU, side by side in one process, for the configurations of common.py.

Run with an interpreter that has torch (an optional extra: ``pip install torch==2.13.0`` in a
separate venv, see benchmarks/README.md), from the repository root:
``python -m benchmarks.vs_torch [--rounds 10] [--dtype float32 float64] [--config 64-64-10/b32]``.

For each configuration, activation, optimizer and dtype it builds the same network in flowlab
(``flowlab.models.MLP`` + ``flowlab.optim``), in PyTorch (``nn.Linear`` layers, ``F.cross_entropy``,
``torch.optim``) and by hand in numpy (benchmarks/numpy_reference.py, "the limit"), all starting
from the same weights and fed the same pregenerated batches; then it alternates them in rounds
(order flipped every round) and prints the median microseconds per step of each and the ratios of
medians flowlab/torch and flowlab/numpy. One BLAS thread for numpy (threadpoolctl) and
``torch.set_num_threads(1)``. Without torch it says so and exits 0.
"""

from __future__ import annotations

import argparse
import time

from benchmarks.common import CONFIGS, environment, flowlab_step, interleave
from benchmarks.numpy_reference import numpy_step
from flowlab.bench import make_batches, time_steps


def torch_step(sizes, batch, activation, optimizer, dtype, seed=0, batches=8):
    """A zero-argument callable running one PyTorch training step, from flowlab's initial weights."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from flowlab.models import MLP

    tdtype = {"float32": torch.float32, "float64": torch.float64}[np.dtype(dtype).name]
    act = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[activation]
    flow = MLP(sizes, activation=activation, seed=seed, dtype=dtype)
    layers = []
    for i, layer in enumerate(flow.layers):
        linear = torch.nn.Linear(*layer.kernel.value.shape, dtype=tdtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.kernel.value.T.copy()))
            linear.bias.copy_(torch.from_numpy(layer.bias.value))
        layers.append(linear)
        if i < len(flow.layers) - 1:
            layers.append(act())
    net = torch.nn.Sequential(*layers)
    lr = 1e-3 if optimizer == "adam" else 1e-2
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(net.parameters(), lr=lr)
    data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in make_batches(sizes, batch, dtype, batches, seed)]
    position = [0]

    def step():
        i = position[0] = (position[0] + 1) % len(data)
        x, y = data[i]
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds per configuration")
    parser.add_argument("--round-seconds", type=float, default=0.1, help="about how long one side runs per round")
    parser.add_argument("--dtype", nargs="+", default=["float32", "float64"])
    parser.add_argument("--activation", nargs="+", default=["relu", "sigmoid"])
    parser.add_argument("--optimizer", nargs="+", default=["sgd", "adam"])
    parser.add_argument("--config", nargs="+", default=None, help="names from CONFIGS, e.g. 64-64-10/b32")
    parser.add_argument("--no-numpy", action="store_true", help="leave out the hand-written numpy reference")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("vs_torch: PyTorch is not installed, skipping the comparison "
              "(install the optional extra in a separate venv: pip install torch==2.13.0)")
        return 0
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    print(environment(1)[:-1] + f', "torch": "{torch.__version__}", "torch_threads": {torch.get_num_threads()}}}')
    print("| config | activation | optimizer | dtype | flowlab us | torch us | numpy us | flowlab/torch "
          "| numpy/torch | flowlab/numpy |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    with threadpool_limits(limits=1, user_api="blas"):
        for name, sizes, batch in CONFIGS:
            if args.config and name not in args.config:
                continue
            for dtype in args.dtype:
                for activation in args.activation:
                    for optimizer in args.optimizer:
                        sides = {"flowlab": flowlab_step(sizes, batch, activation, optimizer, dtype),
                                 "torch": torch_step(sizes, batch, activation, optimizer, dtype)}
                        if not args.no_numpy:
                            sides["numpy"] = numpy_step(sizes, batch, activation, optimizer, dtype)
                        start = time.perf_counter()
                        time_steps(sides["flowlab"], 0, 20)
                        per_step = (time.perf_counter() - start) / 20
                        steps = max(10, int(args.round_seconds / per_step))
                        med = interleave(sides, args.rounds, steps, warmup=steps)
                        f, t, n = med["flowlab"], med["torch"], med.get("numpy", float("nan"))
                        print(f"| {name} | {activation} | {optimizer} | {dtype} | {f * 1e6:.1f} | {t * 1e6:.1f} "
                              f"| {n * 1e6:.1f} | {f / t:.2f} | {n / t:.2f} | {f / n:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
