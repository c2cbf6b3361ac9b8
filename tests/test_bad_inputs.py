"""Bad input is refused before anything is written, naming the flag as typed: the cases of
tools/probe_bad_inputs.py (whose totals the README's reliability table reports)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

spec = importlib.util.spec_from_file_location("probe", Path(__file__).parent.parent / "tools" / "probe_bad_inputs.py")
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)


@pytest.mark.parametrize("label, argv, expect", probe.CLI_CASES, ids=[c[0] for c in probe.CLI_CASES])
def test_bad_command_lines_exit_2_with_one_line_and_write_nothing(tmp_path, label, argv, expect):
    probe.make_files(tmp_path)
    ok, why = probe.run_cli_case(argv, expect, tmp_path)
    assert ok, why


API = probe._api_cases()


@pytest.mark.parametrize("label, call, expect", API, ids=[c[0] for c in API])
def test_bad_python_arguments_raise_value_error_naming_them(tmp_path, label, call, expect):
    ok, why = probe.run_api_case(call, expect, tmp_path)
    assert ok, why


def test_names_are_case_insensitive_and_numpy_integers_are_whole_numbers(tmp_path):
    from flowlab.experiment import Experiment

    results = Experiment("c", logdir=tmp_path, dataset="Iris", hidden=[4], epochs=np.int64(2), workers=1,
                         activation="ReLU", init="HE_NORMAL", optimizer="Adam").sweep()
    [run] = results
    assert run.status == "completed"
    assert (run.config["activation"], run.config["init"], run.config["optimizer"], run.config["dataset"]) == \
        ("relu", "he_normal", "adam", "iris")


def test_the_driver_keeps_a_bounded_dataset_cache():
    from flowlab import experiment
    from flowlab.data import load_dataset

    cache = experiment._DataCache()
    cache.limit = 3 * experiment._nbytes(load_dataset("digits"))
    for seed in range(6):
        cache[seed] = load_dataset("digits", seed=seed)
    assert list(cache) == [3, 4, 5]
