"""MiniFlow compatibility: the course's scripts and students' own print what they print on the course's miniflow.py."""

import subprocess
import sys
from pathlib import Path

import numpy as np

import flowlab.miniflow as mf
from flowlab import MSE

SCRIPTS = Path(__file__).parent / "miniflow_scripts"
ROOT = Path(__file__).parent.parent


COURSE = SCRIPTS / "course"  # the course's own miniflow.py, the oracle


def test_miniflow_exports_exactly_its_names():
    assert sorted(mf.__all__) == sorted(["np", "Node", "Input", "Add", "Mul", "Linear", "Sigmoid", "MSE",
                                         "topological_sort", "forward_pass", "forward_and_backward", "sgd_update"])
    namespace = {}
    exec("from flowlab.miniflow import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(mf.__all__)
    assert namespace["np"] is np  # the course's module gave scripts numpy as np


def run_script(path, pre=""):
    """A script's stdout, run as a student runs it (``pre``: Python run first, e.g. print options)."""
    code = (f"{pre}\nimport runpy, sys; sys.path.insert(0, {str(path.parent)!r}); "
            f"runpy.run_path({str(path)!r}, run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=path.parent,
                          env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout


def on_course_miniflow(script, tmp_path):
    """``script`` with its import line pointed at the course's miniflow.py, copied beside it."""
    (tmp_path / "miniflow.py").write_text((COURSE / "miniflow.py").read_text())
    source = script.read_text()
    assert "from flowlab.miniflow import *" in source
    copy = tmp_path / script.name
    copy.write_text(source.replace("from flowlab.miniflow import *", "from miniflow import *"))
    return copy


def expected_text(source):
    """The 'Expected output' block of the seed's nn.py, as printed text."""
    return source.split("Expected output")[1].split('"""')[0].strip("\n") + "\n"


def test_seed_nn_py_prints_the_course_output_to_the_character(tmp_path):
    script = SCRIPTS / "nn.py"
    ours = run_script(script)
    assert ours == run_script(on_course_miniflow(script, tmp_path))
    # The course printed its expected output with numpy 1.13, whose format numpy still offers.
    legacy = "import numpy; numpy.set_printoptions(legacy='1.13')"
    assert run_script(script, pre=legacy) == expected_text(script.read_text())
    assert "array([[ 0.9999833],\n       [ 1.9999833]])" in run_script(script, pre=legacy)


def test_star_import_gives_np_and_prints_as_the_course(tmp_path):
    script = SCRIPTS / "star_import_quiz.py"
    assert "import numpy" not in script.read_text()
    assert run_script(script) == run_script(on_course_miniflow(script, tmp_path))


def test_lesson_quizzes_print_what_the_course_says():
    lines = run_script(SCRIPTS / "lesson_quizzes.py").splitlines()
    assert lines == ["4 + 5 + 10 = 19 (according to miniflow)", "12.7", "23.416666666666668",
                     "[[0.5], [0.0]] [-0.5]"]


def test_students_unit_tests_pass():
    out = subprocess.run([sys.executable, str(SCRIPTS / "student_unittests.py")], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert out.returncode == 0, out.stderr
    assert "Ran 6 tests" in out.stderr and out.stderr.rstrip().endswith("OK")


def test_input_forward_takes_miniflow_value_and_backward_starts_from_zero():
    x = mf.Input()
    x.forward(5)
    assert x.value == 5
    x.forward()
    assert x.value == 5
    x.backward()
    assert x.gradients[x] == 0 and isinstance(x.gradients[x], int)


def test_miniflow_mse_gives_labels_a_column_and_the_core_keeps_shapes():
    for cls, y_shape in ((mf.MSE, (3, 1)), (MSE, (3,))):
        y, a = mf.Input(), mf.Input()
        cost = cls(y, a)
        graph = mf.topological_sort({y: np.array([1.0, 2.0, 0.0]), a: np.array([[0.5], [1.0], [1.0]])})
        mf.forward_and_backward(graph)
        assert y.gradients[y].shape == y_shape and a.gradients[a].shape == (3, 1)
        diff = np.array([0.5, 1.0, -1.0])
        np.testing.assert_array_equal(np.ravel(y.gradients[y]), (2 / 3) * diff)
        np.testing.assert_array_equal(np.ravel(a.gradients[a]), (-2 / 3) * diff)


def test_miniflow_mse_keeps_a_vector_prediction_gradient_a_vector():
    y, x = mf.Input(), mf.Input()
    a = mf.Sigmoid(x)
    mf.MSE(y, a)
    graph = mf.topological_sort({y: np.array([1.0, 0.0]), x: np.array([0.3, -0.2])})
    mf.forward_and_backward(graph)
    s = 1 / (1 + np.exp(-np.array([0.3, -0.2])))
    np.testing.assert_allclose(x.gradients[x], -(2 / 2) * (np.array([1.0, 0.0]) - s) * s * (1 - s))


def test_sgd_update_matches_np_dot_and_works_in_place():
    W = mf.Input()
    W_ = np.array([[1.0], [-2.0]])
    W.value = W_
    grad = np.array([[0.5], [0.25]])
    W.gradients = {W: grad}
    mf.sgd_update([W])
    np.testing.assert_array_equal(W_, np.array([[1.0], [-2.0]]) - np.dot(grad, 1e-2))
    assert W.value is W_  # in place: the fed array moves, as in the course


def test_sgd_update_steps_against_the_gradient():
    W = mf.Input()
    W.value = np.array([1.0, -2.0])
    W.gradients = {W: np.array([0.5, 0.5])}
    mf.sgd_update([W], learning_rate=0.1)
    np.testing.assert_allclose(W.value, [0.95, -2.05])


def test_values_and_cost_gradients_print_as_on_the_course_miniflow(tmp_path):
    # The course's miniflow.py (run on this numpy) is the oracle; its Add is the lesson's, defined
    # the MiniFlow way beside it, as the early lesson's module had it.
    script = SCRIPTS / "values_quiz.py"
    course = on_course_miniflow(script, tmp_path)
    (tmp_path / "miniflow.py").write_text((COURSE / "miniflow.py").read_text() + '''

class Add(Node):
    def __init__(self, *inputs):
        Node.__init__(self, inputs)

    def forward(self):
        self.value = sum(n.value for n in self.inbound_nodes)


def forward_pass(output_node, sorted_nodes):
    for n in sorted_nodes:
        n.forward()
    return output_node.value
''')
    expected = run_script(course)
    assert "[4, 5, 10, 19]" in expected and "array([[2.33333333]," in expected  # what the course shows
    assert run_script(script) == expected


def test_miniflow_mse_with_the_prediction_first_works_where_the_core_mse_does():
    rng = np.random.default_rng(0)
    x_, y_ = rng.normal(size=3), rng.normal(size=3)
    grads = {}
    for cls in (mf.MSE, MSE):
        x, y = mf.Input(), mf.Input()
        a = mf.Sigmoid(x)
        cls(a, y)  # prediction first: the lesson's cost = MSE(l2, y) order
        mf.forward_and_backward(mf.topological_sort({x: x_, y: y_}))
        grads[cls] = x.gradients[x]
    s = 1 / (1 + np.exp(-x_))
    np.testing.assert_allclose(grads[mf.MSE], (2 / 3) * (s - y_) * s * (1 - s))  # the oracle: by hand
    np.testing.assert_array_equal(grads[mf.MSE], grads[MSE])
