"""The golden record of what flowlab writes for TensorBoard on a small fixed-seed sweep.

``python tools/tensorboard_golden.py`` reruns the sweep and rewrites tests/data/tensorboard_golden.json.gz;
tests/test_tensorboard_golden.py reruns it and compares. The event files are read back with TensorBoard's
own loader (not flowlab's), and everything is kept exactly (tags, steps, plugin names and contents,
scalar and tensor bytes, histogram buckets, image bytes, the graph) except what legitimately varies from
run to run: wall times, timings (seconds, steps per second), absolute paths, the sweep directory's
timestamp and the event file names (host, time).
"""

import base64
import csv
import gzip
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "data" / "tensorboard_golden.json.gz"
TIMING = "<timing>"
#: Tags whose values are timings: their values vary, their presence and steps do not.
_TIMING_TAG = re.compile(r"(seconds|per_second|steps_per_sec|/s$|time)", re.I)
#: run.json / results.csv fields that are timings or host facts.
_TIMING_KEY = re.compile(r"(seconds|time|started|finished|host|pid|duration|elapsed|per_second|date)", re.I)


_STAMP = re.compile(r"-\d{8}-\d{6}(-\d+)?")


def run_sweep(root):
    """Trains the golden runs under ``root``: a classification sweep (2-D data, so images; a diverged
    run), a regression sweep, and an early-stopped run logged by a bare Trainer + TensorBoardLogger."""
    from flowlab import Experiment
    from flowlab.data import load_dataset
    from flowlab.models import MLP
    from flowlab.tensorboard import TensorBoardLogger
    from flowlab.train import EarlyStopping, Trainer

    root = Path(root)
    base = {"dataset": "blobs", "hidden": [6], "activation": "tanh", "optimizer": "sgd", "batch_size": 16,
            "epochs": 3, "seed": 0, "n_samples": 200}
    Experiment("cls", logdir=root, workers=1, **base).sweep(learning_rate=[0.1, 100.0],
                                                              activation=["tanh", "relu"])
    Experiment("reg", logdir=root, workers=1, dataset="sine", hidden=[5], activation="tanh", optimizer="adam",
               learning_rate=0.01, batch_size=20, epochs=2, seed=0).sweep(schedule=["constant", "cosine"])
    data = load_dataset("blobs", seed=0, n_samples=200)
    x, y, xv, yv = data.x_train, data.y_train, data.x_val, data.y_val
    model = MLP([2, 6, 3], activation="relu", seed=0)
    logger = TensorBoardLogger(root / "early" / "run", hparams={"learning_rate": 0.05, "optimizer": "adam"})
    stopper = EarlyStopping(monitor="val_loss", patience=0, min_delta=100.0)
    trainer = Trainer(model, "adam", lr=0.05, callbacks=[logger, stopper])
    trainer.fit(x, y, validation_data=(xv, yv), epochs=5, batch_size=50)
    assert trainer.status == "early_stopped", trainer.status
    return root


def _bytes(b):
    return base64.b64encode(bytes(b)).decode() if len(b) <= 512 else "sha256:" + hashlib.sha256(b).hexdigest()


def _hparams_content(content):
    """HParams plugin data with its start/end times zeroed (they are the clock)."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    if data.HasField("session_start_info"):
        data.session_start_info.start_time_secs = 0
        # The group names the sweep directory, whose name ends in its start time.
        data.session_start_info.group_name = _STAMP.sub("", data.session_start_info.group_name)
    if data.HasField("session_end_info"):
        data.session_end_info.end_time_secs = 0
    return data.SerializeToString(deterministic=True)


def _text(s):
    # The status text says how long the run took ("... after 3 epoch(s), 0.4 s").
    return re.sub(r"\d+(\.\d+)? s\b", TIMING + " s", s)


def _string(s):
    try:
        return _text(s.decode())
    except UnicodeDecodeError:  # an encoded image (the image plugin's tensors), not text
        return _bytes(s)


def _value(v):
    from tensorboard.compat.proto import types_pb2

    out = {"tag": v.tag}
    meta = v.metadata
    plugin = meta.plugin_data.plugin_name
    if plugin or meta.plugin_data.content:
        content = meta.plugin_data.content
        out["plugin"] = plugin
        out["content"] = _bytes(_hparams_content(content) if plugin == "hparams" else content)
    if meta.display_name or meta.summary_description:
        out["meta"] = [meta.display_name, meta.summary_description]
    if meta.data_class:
        out["data_class"] = int(meta.data_class)
    timing = bool(_TIMING_TAG.search(v.tag))
    kind = v.WhichOneof("value")
    if kind == "simple_value":
        out["simple"] = TIMING if timing else np.float32(v.simple_value).tobytes().hex()
    elif kind == "histo":
        h = v.histo
        out["histo"] = {"min": h.min.hex(), "max": h.max.hex(), "num": h.num, "sum": h.sum.hex(),
                        "sum_squares": h.sum_squares.hex(), "limits": [x.hex() for x in h.bucket_limit],
                        "buckets": [x.hex() for x in h.bucket]}
    elif kind == "image":
        out["image"] = [v.image.height, v.image.width, v.image.colorspace, _bytes(v.image.encoded_image_string)]
    elif kind == "tensor":
        t = v.tensor
        shape = [d.size for d in t.tensor_shape.dim]
        if timing:
            out["tensor"] = [types_pb2.DataType.Name(t.dtype), shape, TIMING]
        elif t.string_val:
            out["tensor"] = [types_pb2.DataType.Name(t.dtype), shape, [_string(s) for s in t.string_val]]
        else:
            out["tensor"] = [types_pb2.DataType.Name(t.dtype), shape, _bytes(t.tensor_content),
                             [x.hex() for x in t.float_val], list(t.double_val) and [x.hex() for x in t.double_val],
                             list(t.int_val), list(t.int64_val)]
    elif kind is not None:
        out[kind] = _bytes(getattr(v, kind).SerializeToString(deterministic=True))
    return out


def _event(e):
    out = {"step": e.step}
    kind = e.WhichOneof("what")
    if kind == "file_version":
        out["file_version"] = e.file_version
    elif kind == "summary":
        out["values"] = [_value(v) for v in e.summary.value]
    elif kind == "graph_def":
        from tensorboard.compat.proto import graph_pb2

        # Re-serialised deterministically: protobuf writes map fields (a node's attrs) in an order
        # that varies with the string hash seed, so the bytes on disk vary while the graph does not.
        out[kind] = _bytes(graph_pb2.GraphDef.FromString(e.graph_def).SerializeToString(deterministic=True))
    elif kind == "meta_graph_def":
        out[kind] = _bytes(e.meta_graph_def)
    elif kind is not None:
        out[kind] = _bytes(getattr(e, kind).SerializeToString(deterministic=True))
    return out


def _relative(path, root):
    parts = list(path.relative_to(root).parts)
    parts[0] = _STAMP.sub("", parts[0])  # <name>-<timestamp>
    return "/".join(parts)


def _json_file(path):
    def clean(o, key=""):
        if isinstance(o, dict):
            return {k: clean(v, k) for k, v in o.items()}
        if isinstance(o, list):
            return [clean(v, key) for v in o]
        if _TIMING_KEY.search(key):
            return TIMING
        if isinstance(o, str) and ("/" in o and Path(o).is_absolute()):
            return "<path>"
        return o

    return clean(json.loads(path.read_text()))


def _csv_file(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return rows
    header = rows[0]
    return [header] + [[TIMING if _TIMING_KEY.search(h) else c for h, c in zip(header, row)] for row in rows[1:]]


def dump(root):
    """The normalised content of every file under ``root``: event files (through TensorBoard's loader),
    model.npz (exact array bytes), run.json and results.csv (timings masked); other files by name."""
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

    root = Path(root)
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = _relative(path, root)
        if ".tfevents." in path.name:
            folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
            n = sum(1 for k in out if k.startswith(folder + "/events#"))
            out[f"{folder}/events#{n}"] = [_event(e) for e in LegacyEventFileLoader(str(path)).Load()]
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                out[rel] = {k: [str(z[k].dtype), list(z[k].shape), _bytes(z[k].tobytes())] for k in sorted(z.files)}
        elif path.suffix == ".json":
            out[rel] = _json_file(path)
        elif path.suffix == ".csv":
            out[rel] = _csv_file(path)
        else:
            out[rel] = "<present>"
    return out


def generate(root=None):
    with tempfile.TemporaryDirectory(prefix="tb-golden-") as tmp:
        return dump(run_sweep(root or tmp))


def load_golden():
    with gzip.open(GOLDEN, "rt") as f:
        return json.load(f)


def main():
    record = generate()
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(GOLDEN, "wb", mtime=0) as f:
        f.write(json.dumps(record, indent=0, sort_keys=True).encode())
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes, {len(record)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
