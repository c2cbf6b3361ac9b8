"""python -m flowlab.bench: one parseable JSON line on stdout with the timing and the settings (no timing checks)."""

import json
import subprocess
import sys

import pytest

from flowlab import bench

KEYS = {"median_us_per_step", "p10_us_per_step", "p90_us_per_step", "sizes", "batch", "activation", "optimizer",
        "lr", "dtype", "threads", "steps", "warmup", "blas", "blas_kernel", "blas_threads"}


def test_cli_prints_one_json_line_with_the_timing_and_settings():
    out = subprocess.run(
        [sys.executable, "-m", "flowlab.bench", "--sizes", "64,64,10", "--batch", "32", "--activation", "relu",
         "--optimizer", "adam", "--steps", "20", "--dtype", "float32", "--threads", "1"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    lines = out.splitlines()
    assert len(lines) == 1, out
    result = json.loads(lines[0])
    assert KEYS <= set(result)
    assert result["sizes"] == [64, 64, 10] and result["batch"] == 32 and result["dtype"] == "float32"
    assert result["optimizer"] == "adam" and result["activation"] == "relu" and result["steps"] == 20
    assert result["threads"] == 1 and result["blas_threads"] in (1, None)
    assert 0 < result["p10_us_per_step"] <= result["median_us_per_step"] <= result["p90_us_per_step"]


def test_main_in_process_with_defaults_and_sgd(capsys):
    assert bench.main(["--steps", "20", "--optimizer", "sgd", "--activation", "sigmoid", "--batch", "1"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out)
    assert out.count("\n") == 1
    assert result["optimizer"] == "sgd" and result["batch"] == 1 and result["dtype"] == "float64"
    assert result["warmup"] == 10 and result["lr"] == 1e-3


@pytest.mark.parametrize("args", [["--sizes", "64"], ["--sizes", "a,b"], ["--batch", "0"], ["--optimizer", "adm"],
                                  ["--dtype", "float16"], ["--steps", "-1"]])
def test_bad_arguments_exit_with_usage(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(args)
    assert exit_info.value.code == 2
    assert capsys.readouterr().out == ""


def test_bench_imports_nothing_heavy():
    code = ("import sys, flowlab.bench as b; b.main(['--steps', '3', '--warmup', '0']); "
            "heavy = [m for m in ('sklearn', 'tensorboardX', 'torch', 'tensorboard', 'scipy') if m in sys.modules]; "
            "sys.stderr.write(repr(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stderr.strip() == "[]"
