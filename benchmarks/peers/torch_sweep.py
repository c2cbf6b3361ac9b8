"""The sweep as a competent PyTorch user writes it: one process per core, SummaryWriter, the usual loop.

Run by ``benchmarks/e2e_vs_peers.py`` (not a test, not part of flowlab). It reads the prepared
arrays (flowlab's split and standardization, so every implementation sees the same numbers) from
``--data``, trains every config of ``--grid`` (a JSON list of {learning_rate, activation,
optimizer}) with a ``multiprocessing.Pool`` of one process per core and one torch thread each, and
writes per-epoch loss/accuracy scalars (train and validation writers, as Keras lays them out) and a
weight and a gradient histogram per parameter per epoch. Prints one JSON line per run.
"""

import argparse
import json
import os
import time
from multiprocessing import Pool

import numpy as np
import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def _init_worker():
    torch.set_num_threads(1)


def _optimizer(name, params, lr):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")


def _model(sizes, activation, seed, dtype):
    torch.manual_seed(seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(fan_in, fan_out)
        if activation == "relu" and i < len(sizes) - 2:
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        else:
            nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers).to(dtype)


def train(job):
    config, args = job
    data = np.load(args["data"])
    dtype = getattr(torch, args["dtype"])
    x_train, x_val = (torch.from_numpy(data[k]).to(dtype) for k in ("x_train", "x_val"))
    y_train, y_val = (torch.from_numpy(data[k]).long() for k in ("y_train", "y_val"))
    sizes = [x_train.shape[1], *args["hidden"], int(y_train.max()) + 1]
    model = _model(sizes, config["activation"], args["seed"], dtype)
    opt = _optimizer(config["optimizer"], model.parameters(), config["learning_rate"])
    loss_fn = nn.CrossEntropyLoss()
    name = ",".join(f"{k}={v}" for k, v in config.items())
    train_writer = SummaryWriter(os.path.join(args["logdir"], name, "train"))
    val_writer = SummaryWriter(os.path.join(args["logdir"], name, "validation"))
    generator = torch.Generator().manual_seed(args["seed"])
    batch, n = args["batch"], len(y_train)
    start = time.perf_counter()
    for epoch in range(args["epochs"]):
        model.train()
        order = torch.randperm(n, generator=generator)
        total, correct = 0.0, 0
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            xb, yb = x_train[idx], y_train[idx]
            opt.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
        model.eval()
        with torch.no_grad():
            val_logits = model(x_val)
            val_loss = loss_fn(val_logits, y_val).item()
            val_acc = (val_logits.argmax(1) == y_val).float().mean().item()
        train_writer.add_scalar("epoch_loss", total / n, epoch)
        train_writer.add_scalar("epoch_accuracy", correct / n, epoch)
        val_writer.add_scalar("epoch_loss", val_loss, epoch)
        val_writer.add_scalar("epoch_accuracy", val_acc, epoch)
        for pname, p in model.named_parameters():
            train_writer.add_histogram(pname, p, epoch)
            train_writer.add_histogram(f"{pname}/gradient", p.grad, epoch)
    train_writer.close()
    val_writer.close()
    return {"run": name, "val_accuracy": val_acc, "val_loss": val_loss, "seconds": time.perf_counter() - start}


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
    args = vars(parser.parse_args())
    grid = json.loads(args.pop("grid"))
    with Pool(os.cpu_count(), initializer=_init_worker) as pool:
        for result in pool.imap(train, [(config, args) for config in grid]):
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
