"""The engine's numbers do not move when its code is reorganised.

tests/data/engine_baseline.json holds, for a grid of MLP configurations, a sha256 of the final
weights (exact bytes) and of the per-epoch losses, recorded on the engine before its restructuring
(commit e07dd06). Any change in the order of floating-point operations changes a digest.
Re-record only on purpose: ``python tests/test_engine_equivalence.py --record``.
"""

import hashlib
import json
import pathlib
import sys

import numpy as np
import pytest

from flowlab import MLP, Trainer

BASELINE = pathlib.Path(__file__).parent / "data" / "engine_baseline.json"

CONFIGS = [
    dict(sizes=[8, 16, 3], activation=act, optimizer=opt, dtype=dtype, extra=extra)
    for act, opt, dtype, extra in [
        ("relu", "sgd", "float64", {}),
        ("tanh", "momentum", "float64", {}),
        ("sigmoid", "nesterov", "float32", {}),
        ("relu", "adam", "float32", {}),
        ("leaky_relu", "adam", "float64", {"weight_decay": 0.01}),
        ("relu", "adamax", "float64", {}),
        ("tanh", "nadam", "float32", {}),
        ("relu", "adadelta", "float64", {}),
        ("relu", "rmsprop", "float64", {}),
        ("tanh", "adagrad", "float32", {}),
        ("relu", "sgd", "float64", {"weight_decay": 0.001}),
        ("relu", "adam", "float64", {"l1": 1e-3, "l2": 1e-3}),
        ("relu", "adam", "float64", {"dropout": 0.2}),
        ("relu", "sgd", "float32", {"batchnorm": True}),
    ]
] + [dict(sizes=[8, 32, 32, 3], activation="relu", optimizer="adam", dtype="float64", extra={})]

MODEL_KEYS = ("l1", "l2", "dropout", "batchnorm")


def _run(config):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(96, 8))
    y = rng.integers(0, 3, size=96)
    extra = dict(config["extra"])
    model_kw = {k: extra.pop(k) for k in MODEL_KEYS if k in extra}
    model = MLP(config["sizes"], activation=config["activation"], seed=3, dtype=np.dtype(config["dtype"]), **model_kw)
    history = Trainer(model, optimizer=config["optimizer"], lr=0.05, seed=1, **extra).fit(
        x, y, validation_data=(x[:32], y[:32]), epochs=3, batch_size=16)
    digest = hashlib.sha256()
    for name, array in sorted(model.get_weights().items()):
        array = np.ascontiguousarray(array)
        digest.update(f"{name} {array.dtype} {array.shape}".encode() + array.tobytes())
    weights = digest.hexdigest()
    # Everything the history records except wall-clock time.
    losses = {k: v for k, v in sorted(getattr(history, "history", history).items()) if k != "seconds"}
    return {"weights": weights, "history": hashlib.sha256(repr(losses).encode()).hexdigest()}


def _key(config):
    return json.dumps(config, sort_keys=True)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c['optimizer']}-{c['activation']}-{c['dtype']}-{len(c['extra'])}")
def test_final_weights_and_losses_are_bit_identical_to_the_baseline(config):
    baseline = json.loads(BASELINE.read_text())
    assert _run(config) == baseline[_key(config)]


if __name__ == "__main__" and "--record" in sys.argv:
    BASELINE.write_text(json.dumps({_key(c): _run(c) for c in CONFIGS}, indent=1, sort_keys=True) + "\n")
