"""TensorBoard output, read back with TensorBoard's own loader, equals the golden record of a fixed-seed
sweep (tests/data/tensorboard_golden.json.gz, made by ``python tools/tensorboard_golden.py``).

Tags, steps, plugin contents, scalar bytes, histogram buckets, images, the graph, HParams sessions,
model.npz arrays, run.json and results.csv are compared exactly; only wall times, timings, paths and
the sweep's timestamp are masked. A restructuring of the logger must leave this test green; a deliberate
change of the output regenerates the record, in its own commit that says what changed and why.
"""

import importlib.util
from pathlib import Path

_TOOL = Path(__file__).resolve().parent.parent / "tools" / "tensorboard_golden.py"
_spec = importlib.util.spec_from_file_location("tensorboard_golden", _TOOL)
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)


def differences(expected, actual, path="", limit=20):
    """Where two normalised records differ, as readable lines (the first ``limit``)."""
    out = []

    def walk(a, b, p):
        if len(out) >= limit:
            return
        if type(a) is not type(b):
            out.append(f"{p}: {str(a)[:120]} != {str(b)[:120]}")
        elif isinstance(a, dict):
            for k in sorted(set(a) | set(b)):
                if k not in a or k not in b:
                    out.append(f"{p}/{k}: {'missing' if k not in b else 'unexpected'}")
                else:
                    walk(a[k], b[k], f"{p}/{k}")
        elif isinstance(a, list):
            if len(a) != len(b):
                out.append(f"{p}: {len(a)} items != {len(b)}")
            for i, (u, v) in enumerate(zip(a, b)):
                walk(u, v, f"{p}[{i}]")
        elif a != b:
            out.append(f"{p}: {str(a)[:120]} != {str(b)[:120]}")

    walk(expected, actual, path)
    return out


def test_tensorboard_output_equals_the_golden_record(tmp_path):
    expected = golden.load_golden()
    actual = golden.dump(golden.run_sweep(tmp_path))
    diff = differences(expected, actual)
    assert not diff, "TensorBoard output differs from tests/data/tensorboard_golden.json.gz:\n" + "\n".join(diff)


def test_the_record_covers_what_the_logger_writes():
    """The golden sweep exercises every kind of output, so the comparison above means something."""
    record = golden.load_golden()
    tags, plugins, kinds = set(), set(), set()
    for key, events in record.items():
        if "/events#" not in key:
            continue
        for e in events:
            kinds.update(k for k in e if k != "step")
            for v in e.get("values", ()):
                tags.add(v["tag"])
                plugins.add(v.get("plugin"))
                kinds.update(k for k in ("simple", "histo", "image", "tensor") if k in v)
    assert {"epoch_loss", "epoch_loss/per_batch", "learning_rate", "epoch_steps_per_second", "epoch_mae",
            "evaluation_loss_vs_iterations", "weights/dense_1/kernel", "gradients/dense_1/kernel",
            "predictions/decision_boundary", "config/text_summary", "status/text_summary",
            "_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info",
            "custom_scalars__config__"} <= tags
    assert {"hparams", "text", "custom_scalars"} <= plugins
    assert {"graph_def", "histo", "file_version"} <= kinds
    statuses = {row[1] for name in ("cls/results.csv", "reg/results.csv") for row in record[name][1:]}
    assert {"completed", "diverged"} <= statuses
    assert "early/run/events#0" in record and any(k.endswith("model.npz") for k in record)
