"""Experiment: the grid, statuses, resume, workers against one process (run names: tests/test_config.py;
the executors themselves: tests/test_executors_local.py, tests/test_executors_dask.py)."""

import json

import pytest

import tbread
from flowlab.experiment import Experiment, read_run


def small(tmp_path, **kw):
    kw = {"dataset": "iris", "hidden": [8], "epochs": 3, "batch_size": 16, "workers": 1, "histograms": False, **kw}
    return Experiment("test", logdir=tmp_path, **kw)


def scalars(run_dir, group, tag="epoch_loss"):
    return [step for step, _ in tbread.scalars(run_dir / group, tag)]


def test_grid_of_2x2x2_gives_8_runs_from_identical_weights(tmp_path):
    exp = small(tmp_path, workers=2)
    results = exp.sweep(learning_rate=[0.01, 0.05], optimizer=["sgd", "adam"], batch_size=[8, 32])
    assert len(results) == 8
    names = {r.name for r in results}
    assert "lr=0.01,optimizer=sgd,batch=8" in names and "lr=0.05,optimizer=adam,batch=32" in names
    for r in results:
        assert r.status == "completed", r.error
        run_dir = results.sweep_dir / r.name
        assert (run_dir / "run.json").is_file() and (run_dir / "model.npz").is_file()
        saved = json.loads((run_dir / "run.json").read_text())
        assert saved["config"]["learning_rate"] == r.config["learning_rate"]
        assert scalars(run_dir, "train") == [0, 1, 2] and scalars(run_dir, "validation") == [0, 1, 2]
    assert len({r.initial_weights for r in results}) == 1
    lines = (results.sweep_dir / "results.csv").read_text().splitlines()
    assert len(lines) == 9 and lines[0].startswith("name,status,")
    assert results.best().metrics["val_accuracy"] == max(r.metrics["val_accuracy"] for r in results)
    assert results.table().splitlines()[2].split()[1] == results.best().name


def test_seed_changes_weights_and_shares_the_hparams_group(tmp_path):
    results = small(tmp_path).sweep(seed=[0, 1])
    assert len({r.initial_weights for r in results}) == 2
    assert [r.name for r in results] == ["seed=0", "seed=1"]


def test_diverging_run_is_recorded_while_others_complete(tmp_path):
    results = small(tmp_path, optimizer="sgd", epochs=5).sweep(learning_rate=[0.05, 1e6])
    by_lr = {r.config["learning_rate"]: r for r in results}
    assert by_lr[0.05].status == "completed"
    assert by_lr[1e6].status == "diverged" and "learning rate" in by_lr[1e6].error
    assert read_run(results.sweep_dir / by_lr[1e6].name).status == "diverged"


def test_a_run_that_raises_is_failed_with_its_message(tmp_path, monkeypatch):
    from flowlab.models import MLP

    original = MLP.train_step

    def flaky(self, x, y):
        if self.activation == "tanh":
            raise RuntimeError("simulated failure in tanh run")
        return original(self, x, y)

    monkeypatch.setattr(MLP, "train_step", flaky)
    results = small(tmp_path).sweep(activation=["relu", "tanh"])
    status = {r.config["activation"]: r for r in results}
    assert status["relu"].status == "completed"
    assert status["tanh"].status == "failed" and "simulated failure in tanh run" in status["tanh"].error
    saved = json.loads((results.sweep_dir / "activation=tanh" / "run.json").read_text())
    assert "simulated failure" in saved["traceback"]


def test_resume_skips_finished_runs_and_redoes_others_cleanly(tmp_path):
    exp = small(tmp_path)
    first = exp.sweep(learning_rate=[0.01, 0.02, 0.03])
    sweep_dir = first.sweep_dir
    done = sweep_dir / "lr=0.01"
    before = {p: p.stat().st_mtime_ns for p in done.rglob("*") if p.is_file()}
    redo = sweep_dir / "lr=0.02"
    record = json.loads((redo / "run.json").read_text())
    record["status"] = "interrupted"
    (redo / "run.json").write_text(json.dumps(record))
    (sweep_dir / "lr=0.03" / "run.json").unlink()
    second = exp.sweep(resume=sweep_dir, learning_rate=[0.01, 0.02, 0.03])
    assert [r.status for r in second] == ["completed"] * 3
    assert {p: p.stat().st_mtime_ns for p in done.rglob("*") if p.is_file()} == before
    for name in ("lr=0.02", "lr=0.03"):
        assert scalars(sweep_dir / name, "train") == [0, 1, 2]          # no duplicated steps
        assert len(list((sweep_dir / name / "train").iterdir())) == 1   # one event file, not two
    assert len((sweep_dir / "results.csv").read_text().splitlines()) == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizer": ["adm"]}, r"unknown optimizer 'adm'; choose from .* \(did you mean 'adam'\?\)"),
    ({"dataset": ["digit"]}, r"unknown dataset 'digit'; choose from .* \(did you mean 'digits'\?\)"),
    ({"learning_rate": [0.1, -0.01]}, r"learning_rate must be a number > 0, got learning_rate=-0.01"),
    ({"batch_size": [0]}, r"batch_size must be an int >= 1.*got batch_size=0"),
    ({"activation": ["rellu"]}, r"did you mean 'relu'"),
    ({"hidden": ["64,abc"]}, r"hidden must list whole positive layer widths"),
    ({"epochs": [0]}, r"epochs must be a whole number >= 1, got epochs=0"),
    ({"learning_rte": [0.1]}, r"unknown sweep axis 'learning_rte'.*did you mean 'learning_rate'"),
])
def test_bad_configs_fail_before_anything_is_written(tmp_path, kwargs, message):
    logdir = tmp_path / "logs"
    with pytest.raises(ValueError, match=message):
        Experiment("bad", logdir=logdir, dataset="iris").sweep(**kwargs)
    assert not logdir.exists()


def test_process_pool_results_equal_in_process_results(tmp_path):
    a = small(tmp_path / "a", workers=1).sweep(learning_rate=[0.01, 0.05])
    b = small(tmp_path / "b", workers=2).sweep(learning_rate=[0.01, 0.05])
    for ra, rb in zip(a, b):
        assert ra.metrics == rb.metrics


def test_resume_with_changed_settings_refuses_unless_asked_to_redo_them(tmp_path):
    first = small(tmp_path, epochs=2).sweep(learning_rate=[0.01, 0.1])
    before = {p: p.read_bytes() for p in first.sweep_dir.rglob("*") if p.is_file() and ".flowlab" not in p.parts}
    with pytest.raises(ValueError, match=r"epochs 2 -> 3 in 2 run\(s\).*--redo-changed"):
        small(tmp_path, epochs=3).sweep(resume=first.sweep_dir, learning_rate=[0.01, 0.1])
    assert {p: p.read_bytes() for p in before} == before   # nothing touched
    again = small(tmp_path, epochs=3).sweep(resume=first.sweep_dir, redo_changed=True, learning_rate=[0.01, 0.1])
    assert [r.metrics["epochs_run"] for r in again] == [3, 3]
    kept = {p: p.read_bytes() for p in first.sweep_dir.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match=r"leaves out 2 of the 2 runs.*optimizer was not varied in it.*new sweep"):
        small(tmp_path, epochs=3).sweep(resume=first.sweep_dir, redo_changed=True, learning_rate=[0.01, 0.1],
                                        optimizer=["sgd", "adam"])
    assert {p: p.read_bytes() for p in first.sweep_dir.rglob("*") if p.is_file()} == kept


def test_resume_with_one_new_value_is_refused_and_names_the_full_axis(tmp_path):
    # Found by a probe: `--resume S --lr 0.5` used to replace the sweep's grid with that one run (on the
    # default settings) and dropped the finished runs from results.csv and the sweep's record.
    first = Experiment("test", logdir=tmp_path, dataset="iris", workers=1, histograms=False).sweep(
        learning_rate=[0.01, 0.1], activation=["tanh"], optimizer=["sgd"], epochs=[2], hidden=[[8]])
    kept = {p: p.read_bytes() for p in first.sweep_dir.rglob("*") if p.is_file()}
    exp = Experiment("test", logdir=tmp_path, workers=1, histograms=False)
    with pytest.raises(ValueError, match=r"leaves out 2 of the 2 runs .*\(runs 'lr=0.01', 'lr=0.1'\).*never drops one; "
                                         r"to add values to an axis, give its recorded values with them "
                                         r"\(learning_rate=0.01 0.1 0.5\)"):
        exp.sweep(resume=first.sweep_dir, learning_rate=[0.5])
    assert {p: p.read_bytes() for p in first.sweep_dir.rglob("*") if p.is_file()} == kept


def test_resume_that_adds_values_keeps_every_run_and_the_sweeps_own_settings(tmp_path):
    # The fields not given come from the sweep (its dataset, width, activation, optimizer, epochs), not
    # from the defaults: the recorded runs are kept as they are and the new one trains like them.
    first = Experiment("test", logdir=tmp_path, dataset="iris", workers=1, histograms=False).sweep(
        learning_rate=[0.01, 0.1], activation=["tanh"], optimizer=["sgd"], epochs=[2], hidden=[[8]])
    sweep_dir = first.sweep_dir
    before = {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file() and p.parent.name != ".flowlab"
              and p.name != "results.csv"}
    second = Experiment("test", logdir=tmp_path, workers=1, histograms=False).sweep(
        resume=sweep_dir, learning_rate=[0.01, 0.1, 0.5])
    assert [r.name for r in second] == ["lr=0.01", "lr=0.1", "lr=0.5"]
    assert all(p.read_bytes() == b for p, b in before.items())   # the finished runs untouched
    added = json.loads((sweep_dir / "lr=0.5" / "run.json").read_text())["config"]
    recorded = json.loads((sweep_dir / "lr=0.1" / "run.json").read_text())["config"]
    assert {k: v for k, v in added.items() if k != "learning_rate"} == \
        {k: v for k, v in recorded.items() if k != "learning_rate"}
    assert added["learning_rate"] == 0.5 and recorded["dataset"] == "iris" and recorded["epochs"] == 2
    rows = (sweep_dir / "results.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["lr=0.01", "lr=0.1", "lr=0.5"]
    manifest = json.loads((sweep_dir / ".flowlab" / "sweep.json").read_text())
    assert [r["name"] for r in manifest["runs"]] == ["lr=0.01", "lr=0.1", "lr=0.5"]


def test_best_is_the_first_row_of_the_table(tmp_path):
    results = small(tmp_path, epochs=2).sweep(learning_rate=[0.01, 0.05, 0.1], batch_size=[8, 16])
    assert results.table().splitlines()[2].split()[1] == results.best().name


def test_missing_local_dataset_fails_validation_before_anything_is_written(tmp_path):
    logdir = tmp_path / "logs"
    with pytest.raises(ValueError, match=r"mnist: missing train-images-idx3-ubyte"):
        Experiment("m", logdir=logdir, data_dir=str(tmp_path / "nowhere")).sweep(dataset=["digits", "mnist"])
    assert not logdir.exists()


def test_short_names_point_to_the_field():
    with pytest.raises(ValueError, match="unknown config field 'lr'; the field is called 'learning_rate'"):
        Experiment("x", lr=0.1)


def test_a_script_without_the_main_guard_gets_a_clear_error(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "noguard.py"
    script.write_text(f"from flowlab import Experiment\n"
                      f"Experiment('x', dataset='iris', hidden=[4], epochs=1, logdir={str(tmp_path / 'logs')!r},"
                      f" workers=2).sweep(learning_rate=[0.1, 0.2])\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert 'if __name__ == "__main__":' in proc.stderr.splitlines()[-1]
    assert not any((tmp_path / "logs").iterdir())


def test_hparams_rows_are_named_by_run_and_sweep_and_seeds_share_one(tmp_path):
    results = small(tmp_path).sweep(learning_rate=[0.01, 0.1], seed=[0, 1])
    groups = {}
    for r in results:
        groups[r.name] = tbread.session_start(results.sweep_dir / r.name).group_name
    sweep = results.sweep_dir.name
    assert groups["lr=0.01,seed=0"] == groups["lr=0.01,seed=1"] == f"lr=0.01 [{sweep}]"
    assert groups["lr=0.1,seed=0"] == f"lr=0.1 [{sweep}]"


def test_an_activation_axis_without_hidden_layers_is_warned_of(tmp_path):
    # Found by a probe: `flowlab sweep --hidden ''` swept activations over networks that have none to apply.
    with pytest.warns(UserWarning, match="no hidden layer has no activation to apply"):
        configs, varied = small(tmp_path, hidden=()).grid(activation=["sigmoid", "tanh"])
    assert varied == ["activation"] and all(c.hidden == () for c in configs)
