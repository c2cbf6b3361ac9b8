"""experiments/hw3_colab.ipynb: saved clean, and runs top to bottom (TensorBoard cell skipped, QUICK sweep)."""

import ast
import csv
import json
import os
import re
import sys
import types
import zipfile
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
    install = code_cell(nb, "FLOWLAB_GIT_URL").source
    assert 'FLOWLAB_GIT_URL = ""' in install and "OWNER" not in install  # nothing to fill in before running
    assert 'DISTRIBUTION = "flowlab-nn"' in install and "pip install flowlab\n" not in install


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

    # "flowlab-nn 0.1.0 from <path>": this checkout was already importable, so no pip install ran
    install = output_text(code_cell(nb, "FLOWLAB_GIT_URL"))
    found = re.fullmatch(r"flowlab-nn (\S+) from (.+)\n", install)
    assert found and Path(found[2]).resolve() == (ROOT / "flowlab" / "__init__.py").resolve()
    [sweep_dir] = [p for p in logdir.iterdir() if p.is_dir()]
    assert sweep_dir.name.startswith("hw3-spiral-")
    runs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name != ".flowlab")
    assert runs == sorted(f"lr={lr},activation={a}" for lr in ("0.01", "0.1", "1") for a in ("sigmoid", "tanh", "relu"))
    with open(sweep_dir / "results.csv", newline="") as f:
        assert sorted(row["name"] for row in csv.DictReader(f)) == runs
    for run in runs:
        record = json.loads((sweep_dir / run / "run.json").read_text())
        assert record["status"] == "completed" and record["config"]["epochs"] == 2  # QUICK
    assert not list(work.iterdir())  # everything went to LOGDIR

    # The last cell packs the sweep into one zip beside it, results.csv and every run's logs included.
    archive = logdir / f"{sweep_dir.name}.zip"
    assert f"saved {archive} with 9 runs" in output_text(code_cell(nb, "make_archive"))
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        assert z.read(f"{sweep_dir.name}/results.csv") == (sweep_dir / "results.csv").read_bytes()
    for run in runs:
        assert f"{sweep_dir.name}/{run}/run.json" in names
        assert any(n.startswith(f"{sweep_dir.name}/{run}/train/events.out.tfevents.") for n in names)

    assert "TensorBoard skipped" in output_text(code_cell(nb, 'run_line_magic("tensorboard"'))
    leaderboard = output_text(code_cell(nb, "results.table()"))
    assert "val_acc" in leaderboard and "\nbest: lr=" in leaderboard
    assert all(run in leaderboard for run in runs)


def install_cell_namespace():
    """The install cell's definitions, without its last lines (which run it)."""
    source = code_cell(read_notebook(), "FLOWLAB_GIT_URL").source
    head = source[: source.index("flowlab = ensure_flowlab()")]
    namespace = {}
    exec(compile(head, "install-cell", "exec"), namespace)
    return namespace


def test_install_cell_finds_an_upload_a_drive_folder_or_the_git_url(tmp_path):
    ns = install_cell_namespace()
    uploads, drive = tmp_path / "content", tmp_path / "MyDrive"
    uploads.mkdir(), drive.mkdir()
    assert ns["find_source"]([uploads], [drive], "") is None
    assert ns["find_source"]([uploads], [drive], " git+https://example.org/x.git ") == "git+https://example.org/x.git"
    other = drive / "not-ours"
    other.mkdir()
    (other / "pyproject.toml").write_text('[project]\nname = "flowlab"\n')  # the unrelated package
    assert ns["find_source"]([uploads], [drive], "") is None
    checkout = drive / "flowlab"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    assert ns["find_source"]([uploads], [drive], "git+https://example.org/x.git") == str(checkout)
    (uploads / "flowlab_nn-0.2.0.tar.gz").write_bytes(b"")
    assert ns["find_source"]([uploads], [drive], "") == str(uploads / "flowlab_nn-0.2.0.tar.gz")  # before Drive
    for name in ("flowlab_nn-0.1.0-py3-none-any.whl", "flowlab_nn-0.2.0-py3-none-any.whl", "flowlab-9.0.whl"):
        (uploads / name).write_bytes(b"")
    assert ns["find_source"]([uploads], [drive], "") == str(uploads / "flowlab_nn-0.2.0-py3-none-any.whl")


def test_install_cell_says_what_to_do_and_rejects_the_other_flowlab(tmp_path, monkeypatch):
    import flowlab

    ns = install_cell_namespace()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(ns, "DRIVE", str(tmp_path / "no-drive"))
    monkeypatch.setitem(sys.modules, "flowlab", None)  # not installed: `import flowlab` fails
    with pytest.raises(RuntimeError) as err:
        ns["ensure_flowlab"]()
    assert "python3 -m pip wheel --no-deps -w dist ." in str(err.value) and "FLOWLAB_GIT_URL" in str(err.value)

    # An uploaded wheel is pip-installed; what gets imported afterwards must be this project.
    (tmp_path / "flowlab_nn-0.1.0-py3-none-any.whl").write_bytes(b"")
    calls = []
    impostor = types.ModuleType("flowlab")
    impostor.__file__ = "/site-packages/flowlab/__init__.py"

    def fake_pip(argv, check):
        calls.append(argv)
        sys.modules["flowlab"] = impostor

    monkeypatch.setitem(ns, "subprocess", types.SimpleNamespace(run=fake_pip))
    wrong = r"/site-packages/flowlab/__init__.py is not this project.*pip uninstall -y flowlab"
    with pytest.raises(RuntimeError, match=wrong):
        ns["ensure_flowlab"]()
    wheel = str(tmp_path / "flowlab_nn-0.1.0-py3-none-any.whl")
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", wheel]]
    # Already importable but someone else's: stop before installing over it.
    calls.clear()
    with pytest.raises(RuntimeError, match="is not this project"):
        ns["ensure_flowlab"]()
    assert calls == []
    monkeypatch.setitem(sys.modules, "flowlab", flowlab)
    assert ns["ensure_flowlab"]() is flowlab and flowlab.__distribution__ == "flowlab-nn"
