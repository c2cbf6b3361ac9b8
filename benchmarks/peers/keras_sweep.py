"""The sweep as a Keras user writes it (the HW3 way): model.fit with the TensorBoard callback, run after run.

Run by ``benchmarks/e2e_vs_peers.py`` (not a test, not part of flowlab). Reads the prepared
arrays from ``--data`` (the same split and standardization as every other implementation), trains
each config of ``--grid`` in turn (TensorFlow spreads each run over the cores itself), with
``TensorBoard(histogram_freq=1)``: per-epoch scalars and weight histograms (Keras 3 writes no
gradient histograms). Prints one JSON line per run.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402


def _optimizer(name, lr):
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=lr, epsilon=1e-8)  # torch's and flowlab's eps
    raise ValueError(f"unknown optimizer {name!r}")


def train(config, data, args):
    keras.utils.set_random_seed(args.seed)
    classes = int(data["y_train"].max()) + 1
    init = "he_normal" if config["activation"] == "relu" else "glorot_uniform"
    layers = [keras.Input(shape=(data["x_train"].shape[1],))]
    layers += [keras.layers.Dense(h, activation=config["activation"], kernel_initializer=init) for h in args.hidden]
    layers.append(keras.layers.Dense(classes))
    model = keras.Sequential(layers)
    model.compile(optimizer=_optimizer(config["optimizer"], config["learning_rate"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    name = ",".join(f"{k}={v}" for k, v in config.items())
    callback = keras.callbacks.TensorBoard(log_dir=os.path.join(args.logdir, name), histogram_freq=1)
    start = time.perf_counter()
    history = model.fit(data["x_train"], data["y_train"], batch_size=args.batch, epochs=args.epochs,
                        validation_data=(data["x_val"], data["y_val"]), callbacks=[callback], verbose=0)
    return {"run": name, "val_accuracy": float(history.history["val_accuracy"][-1]),
            "val_loss": float(history.history["val_loss"][-1]), "seconds": time.perf_counter() - start}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--grid", required=True, help="JSON list of configs")
    parser.add_argument("--logdir", required=True)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with np.load(args.data) as f:
        data = {k: f[k].astype(args.dtype) if k.startswith("x") else f[k] for k in f.files}
    for config in json.loads(args.grid):
        print(json.dumps(train(config, data, args)), flush=True)


if __name__ == "__main__":
    main()
