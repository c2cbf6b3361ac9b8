"""MiniFlow compatibility: the seed's scripts run with only their import changed."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import flowlab.miniflow as mf

SCRIPTS = Path(__file__).parent / "miniflow_scripts"
ROOT = Path(__file__).parent.parent


def test_miniflow_exports_exactly_its_names():
    assert sorted(mf.__all__) == sorted(["Node", "Input", "Add", "Mul", "Linear", "Sigmoid", "MSE",
                                         "topological_sort", "forward_pass", "forward_and_backward", "sgd_update"])
    namespace = {}
    exec("from flowlab.miniflow import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(mf.__all__)


def expected_output(source):
    """The arrays in the seed's 'Expected output' docstring, as nested lists of floats."""
    block = source.split("Expected output")[1].split('"""')[0]
    return [ast.literal_eval(re.sub(r"\s+", " ", m)) for m in re.findall(r"array\((\[.*?\])\)", block, re.S)]


def test_seed_nn_py_prints_the_expected_gradients():
    source = (SCRIPTS / "nn.py").read_text()
    assert "from flowlab.miniflow import *" in source
    out = subprocess.run([sys.executable, str(SCRIPTS / "nn.py")], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout
    printed = eval(out, {"array": np.array})  # the script prints a list of numpy arrays
    expected = expected_output(source)
    assert len(printed) == len(expected) == 4
    for got, want in zip(printed, expected):
        # Same numbers to the printed precision. The gradient for y comes back in y's own shape
        # (2,), where MiniFlow printed a (2, 1) column.
        np.testing.assert_allclose(np.ravel(got), np.ravel(want), rtol=1e-6)
    assert printed[1].shape == (2,)


def test_sgd_update_steps_against_the_gradient():
    W = mf.Input()
    W.value = np.array([1.0, -2.0])
    W.gradients = {W: np.array([0.5, 0.5])}
    mf.sgd_update([W], learning_rate=0.1)
    np.testing.assert_allclose(W.value, [0.95, -2.05])
