"""experiments/hw3_colab.ipynb: saved clean, and runs top to bottom (TensorBoard cell skipped, QUICK sweep)."""

import ast
import csv
import json
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
ipykernel_kernelspec = pytest.importorskip("ipykernel.kernelspec")

ROOT = Path(__file__).parent.parent
NOTEBOOK = ROOT / "experiments" / "hw3_colab.ipynb"


def read_notebook():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    return nb


def parameters_cell(nb):
    [cell] = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    return cell


def code_cell(nb, text):
    [cell] = [c for c in nb.cells if c.cell_type == "code" and text in c.source]
    return cell


def output_text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_notebook_is_saved_without_outputs_and_with_the_default_parameters():
    nb = read_notebook()
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    values = {}
    for node in ast.parse(parameters_cell(nb).source).body:
        values[node.targets[0].id] = ast.literal_eval(node.value)
    assert values == {"RUN_TENSORBOARD": True, "QUICK": False, "LOGDIR": "tensorboard-logs"}


def kernel_for_this_interpreter(tmp_path, monkeypatch):
    """A kernel spec running sys.executable with this checkout on the path, so the notebook's install
    cell finds flowlab and never reaches for pip (the tests run offline)."""
    prefix = tmp_path / "jupyter"
    ipykernel_kernelspec.install(kernel_name="flowlab-test", prefix=str(prefix))
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return "flowlab-test"


def test_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    nb = read_notebook()
    logdir = tmp_path / "logs"
    # papermill-style injection, without papermill: the tagged cell's values are replaced
    parameters_cell(nb).source = f"RUN_TENSORBOARD = False; QUICK = True; LOGDIR = {str(logdir)!r}"
    kernel = kernel_for_this_interpreter(tmp_path, monkeypatch)
    work = tmp_path / "work"
    work.mkdir()

    nbclient.NotebookClient(nb, timeout=120, kernel_name=kernel, resources={"metadata": {"path": str(work)}}).execute()

    # "flowlab 0.1.0 from <path>": this checkout was already importable, so no pip install ran
    install = output_text(code_cell(nb, "FLOWLAB_SOURCE"))
    assert Path(install.split(" from ", 1)[1].strip()).resolve() == (ROOT / "flowlab" / "__init__.py").resolve()
    [sweep_dir] = list(logdir.iterdir())
    assert sweep_dir.name.startswith("hw3-spiral-")
    runs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name != ".flowlab")
    assert runs == sorted(f"lr={lr},activation={a}" for lr in ("0.01", "0.1", "1") for a in ("sigmoid", "tanh", "relu"))
    with open(sweep_dir / "results.csv", newline="") as f:
        assert sorted(row["name"] for row in csv.DictReader(f)) == runs
    for run in runs:
        record = json.loads((sweep_dir / run / "run.json").read_text())
        assert record["status"] == "completed" and record["config"]["epochs"] == 2  # QUICK
    assert not list(work.iterdir())  # everything went to LOGDIR

    assert "TensorBoard skipped" in output_text(code_cell(nb, 'run_line_magic("tensorboard"'))
    leaderboard = output_text(code_cell(nb, "results.table()"))
    assert "val_acc" in leaderboard and "\nbest: lr=" in leaderboard
    assert all(run in leaderboard for run in runs)
