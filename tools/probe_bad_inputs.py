"""Tries flowlab with bad input, as a careless user or a hostile file would, and counts the clean refusals.

A clean refusal: the command exits 2 (the Python API raises ValueError) with a one-line message that
names the flag or argument as typed, no traceback, and nothing written into the logdir.

    python tools/probe_bad_inputs.py          # prints one line per case and the totals

tests/test_bad_inputs.py runs the same cases.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

#: (label, argv after `flowlab`, text the error must contain). {tmp} is a scratch folder.
CLI_CASES = [
    ("negative width", ["sweep", "--hidden", "-3"], "--hidden"),
    ("empty width", ["sweep", "--hidden", "64,,x"], "--hidden"),
    ("width not a number", ["sweep", "--hidden", "x"], "--hidden"),
    ("fractional width", ["sweep", "--hidden", "64.7"], "--hidden"),
    ("huge width", ["train", "--hidden", "10000000"], "memory"),
    ("huge epochs", ["train", "--epochs", "1000000000"], "--epochs"),
    ("seed beyond 2**32", ["sweep", "--seed", str(2**80)], "--seed"),
    ("seed not a number", ["sweep", "--seed", "2**80"], "--seed"),
    ("lr not a number", ["sweep", "--lr", "fast"], "--lr"),
    ("lr zero", ["sweep", "--lr", "0"], "--lr"),
    ("lr negative", ["sweep", "--lr", "-0.1"], "--lr"),
    ("lr nan", ["sweep", "--lr", "nan"], "--lr"),
    ("lr inf", ["sweep", "--lr", "inf"], "--lr"),
    ("batch zero", ["sweep", "--batch-size", "0"], "--batch-size"),
    ("batch word", ["sweep", "--batch-size", "many"], "--batch-size"),
    ("epochs zero", ["sweep", "--epochs", "0"], "--epochs"),
    ("epochs word", ["sweep", "--epochs", "ten"], "--epochs"),
    ("optimizer typo", ["sweep", "--optimizer", "adm"], "did you mean 'adam'"),
    ("activation typo", ["sweep", "--activation", "sigmod"], "did you mean 'sigmoid'"),
    ("init typo", ["sweep", "--init", "he_normall"], "did you mean 'he_normal'"),
    ("dataset typo", ["sweep", "--dataset", "mnits"], "did you mean"),
    ("dtype", ["sweep", "--dtype", "float16"], "--dtype"),
    ("workers zero", ["sweep", "--workers", "0"], "--workers"),
    ("name with a slash", ["sweep", "--name", "a/b"], "--name"),
    ("name too long", ["sweep", "--name", "n" * 300], "--name"),
    ("resume a missing folder", ["sweep", "--resume", "{tmp}/nowhere"], "not a flowlab sweep"),
    ("resume a user's folder", ["train", "--resume", "{tmp}/thesis"], "not a flowlab sweep"),
    ("redo without resume", ["sweep", "--redo-changed"], "--redo-changed"),
    ("resume an empty path", ["sweep", "--resume", ""], "--resume"),
    ("plateau watching no log", ["sweep", "--dataset", "blobs", "--schedule", "plateau:monitor=bogus"], "monitor"),
    ("noise that overflows", ["sweep", "--dataset", "xor", "--noise", "1e308"], "--noise"),
    ("generated set too big for memory", ["sweep", "--dataset", "blobs", "--samples", "100000000000"], "--samples"),
    ("logdir part over 255 bytes", ["sweep", "--logdir", "{tmp}/" + "x" * 260], "at most 255"),
    ("logdir is a file", ["sweep", "--logdir", "{tmp}/thesis/thesis.tex/logs"], "is a file"),
    ("executor typo", ["sweep", "--executor", "dask"], "unknown executor"),
    ("shared logdir, no cluster", ["sweep", "--shared-logdir"], "--shared-logdir"),
    ("mnist missing", ["sweep", "--dataset", "mnist", "--data-dir", "{tmp}/nowhere"], "missing"),
    ("mnist truncated", ["sweep", "--dataset", "mnist", "--data-dir", "{tmp}/truncated"], "truncated"),
    ("mnist not IDX", ["sweep", "--dataset", "mnist", "--data-dir", "{tmp}/notidx"], "not an IDX file"),
    ("mnist counts differ", ["sweep", "--dataset", "mnist", "--data-dir", "{tmp}/mismatch"], "labels"),
    ("mnist gzip inflates past its header", ["sweep", "--dataset", "mnist", "--data-dir", "{tmp}/bomb"], "needs"),
    ("mnist header claims 2**96 bytes", ["sweep", "--dataset", "mnist", "--data-dir", "{tmp}/overflow"], "8 GiB"),
]


def _api_cases():
    from flowlab.data import Dataset
    from flowlab.experiment import Experiment
    from flowlab.models import MLP
    from flowlab.train import Trainer

    def sweep(logdir, **axes):
        return Experiment("probe", logdir=logdir, dataset="iris", epochs=1, workers=1).sweep(**axes)

    x = np.zeros((10, 3))
    y = np.arange(10) % 2
    nan = x.copy()
    nan[4, 2] = np.nan
    return [
        ("workers=True", lambda d: Experiment("p", logdir=d, workers=True), "workers"),
        ("unhashable axis value", lambda d: sweep(d, activation=[{"relu": 1}]), "activation"),
        ("list in a number axis", lambda d: sweep(d, learning_rate=[[0.1]]), "learning_rate"),
        ("hidden 64.7", lambda d: sweep(d, hidden=[64.7]), "hidden"),
        ("hidden nan", lambda d: sweep(d, hidden=[float("nan")]), "hidden"),
        ("hidden True", lambda d: sweep(d, hidden=[True]), "hidden"),
        ("epochs=True", lambda d: sweep(d, epochs=[True]), "epochs"),
        ("val_fraction a string", lambda d: sweep(d, val_fraction=["0.2"]), "val_fraction"),
        ("val_fraction leaves no validation", lambda d: sweep(d, val_fraction=[0.001]), "empty"),
        ("val_fraction 1", lambda d: sweep(d, val_fraction=[1.0]), "val_fraction"),
        ("MLP sizes 64.7", lambda d: MLP([4, 64.7, 3]), "sizes"),
        ("MLP sizes nan", lambda d: MLP([4, float("nan"), 3]), "sizes"),
        ("MLP sizes inf", lambda d: MLP([4, float("inf"), 3]), "sizes"),
        ("MLP.load arrays vs config", lambda d: MLP.load(_forged_model(d.parent)), "do not match"),
        ("NaN in a dataset", lambda d: Dataset(nan, y, x, y, "mine", 3, 2), "x[4, 2] is nan"),
        ("one-hot labels", lambda d: Dataset(x, np.eye(2)[y], x, y, "mine", 3, 2), "one-hot"),
        ("float labels", lambda d: Trainer(MLP([3, 2])).fit(x, y.astype(float)), "integer class ids"),
        ("labels of another length", lambda d: Trainer(MLP([3, 2])).fit(x, y[:5]), "10 examples but 5 labels"),
        ("empty dataset", lambda d: Trainer(MLP([3, 2])).fit(x[:0], y[:0]), "is empty"),
        ("NaN passed to fit", lambda d: Trainer(MLP([3, 2])).fit(nan, y), "x[4, 2] is nan"),
        ("sweep run names too long", lambda d: sweep(d, data_dir=["d" * 250, "e" * 250]), "too long"),
    ]


def _idx(array, magic_type=0x08):
    return bytes([0, 0, magic_type, array.ndim]) + np.array(array.shape, ">u4").tobytes() + array.tobytes()


def make_files(tmp):
    """The folders the cases point at: a user's thesis, and damaged MNIST sets."""
    tmp = Path(tmp)
    (tmp / "thesis").mkdir()
    (tmp / "thesis" / "thesis.tex").write_text("\\chapter{One}")
    images, labels = np.zeros((20, 28, 28), np.uint8), (np.arange(20) % 10).astype(np.uint8)
    good = {"images": _idx(images), "labels": _idx(labels)}

    def mnist(name, images=good["images"], labels=good["labels"], gz=False):
        folder = tmp / name
        folder.mkdir()
        for prefix in ("train", "t10k"):
            for kind, payload in (("images-idx3", images), ("labels-idx1", labels)):
                path = folder / f"{prefix}-{kind}-ubyte{'.gz' if gz else ''}"
                path.write_bytes(gzip.compress(payload) if gz else payload)

    mnist("truncated", images=good["images"][:-100])
    mnist("notidx", images=b"<html>404 Not Found</html>")
    mnist("mismatch", labels=_idx(labels[:7]))
    mnist("bomb", images=good["images"][:16] + bytes(10**7), gz=True)
    mnist("overflow", images=bytes([0, 0, 8, 3]) + np.array([2**32 - 1] * 3, ">u4").tobytes())


def _forged_model(folder):
    from flowlab.models import MLP

    path = Path(folder) / "model.npz"
    MLP([4, 8, 3]).save(path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    config = json.loads(str(arrays["__config__"]))
    arrays["__config__"] = np.array(json.dumps(dict(config, sizes=[4, 10**8, 10**4])))
    np.savez(path, **arrays)
    return path


def run_cli_case(argv, expect, tmp):
    """``(clean, why)`` for one command line: exit 2, one line naming ``expect``, nothing written."""
    from flowlab.cli import main

    logdir = Path(tmp) / "logs"
    argv = [a.replace("{tmp}", str(tmp)) for a in argv]
    if "--logdir" not in argv:
        argv += ["--logdir", str(logdir)]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([*argv, "--no-progress"])
        except SystemExit as exc:  # argparse's own refusals
            code = exc.code
        except BaseException as exc:  # noqa: BLE001 - a traceback is what the probe counts as unclean
            return False, f"raised {type(exc).__name__}: {exc}"
    text = err.getvalue()
    lines = [line for line in text.splitlines() if line.strip()]
    if code != 2:
        return False, f"exit {code}: {text.strip()[:200]}"
    if "Traceback" in text or expect not in text:
        return False, f"message lacks {expect!r}: {text.strip()[:200]}"
    if len(lines) > 1 and not (lines[0].startswith("usage:") and "error:" in lines[-1]):
        return False, f"{len(lines)} lines: {text.strip()[:200]}"  # argparse's usage block is fine
    if logdir.exists() and any(logdir.iterdir()):
        return False, "wrote into the logdir"
    thesis = Path(tmp) / "thesis"
    if sorted(p.name for p in thesis.iterdir()) != ["thesis.tex"]:
        return False, "touched the user's folder"
    return True, lines[-1]


def run_api_case(call, expect, tmp):
    logdir = Path(tmp) / "logs"
    try:
        call(logdir)
    except ValueError as exc:
        if expect not in str(exc):
            return False, f"ValueError lacks {expect!r}: {exc}"
        if logdir.exists() and any(logdir.iterdir()):
            return False, "wrote into the logdir"
        return True, str(exc)
    except Exception as exc:  # noqa: BLE001
        return False, f"{type(exc).__name__}: {exc}"
    return False, "accepted"


def main():
    import os

    os.environ.setdefault("FLOWLAB_OFFLINE", "1")  # a missing MNIST is a refusal here, not a download
    results = []
    for label, argv, expect in CLI_CASES:
        with tempfile.TemporaryDirectory() as tmp:
            make_files(tmp)
            results.append((f"cli: {label}", *run_cli_case(argv, expect, tmp)))
    for label, call, expect in _api_cases():
        with tempfile.TemporaryDirectory() as tmp:
            results.append((f"api: {label}", *run_api_case(call, expect, tmp)))
    for label, ok, why in results:
        print(f"{'ok  ' if ok else 'FAIL'} {label}: {why[:150]}")
    clean = sum(ok for _, ok, _ in results)
    print(f"\nbad inputs tried: {len(results)}, clean errors: {clean}")
    return 0 if clean == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
