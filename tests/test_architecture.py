"""The layout: every module sits in a layer of tools/modules.py, imports only its own layer or those below
(engine <- training <- logging <- sweeping <- cli), lazy imports included, and no cycle; and every module
has its test file (tests/test_<module>.py)."""
import ast
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("modules", Path(__file__).resolve().parents[1] / "tools" / "modules.py")
modules = importlib.util.module_from_spec(spec)
spec.loader.exec_module(modules)


def _graph():
    return {name: modules.imports_of(path, name) for name, path in modules.MODULES.items()}


def test_every_module_is_placed_in_a_layer():
    unplaced = [name for name in modules.MODULES if modules.layer_of(name) is None]
    assert not unplaced, f"add these to LAYERS in tools/modules.py: {unplaced}"


def test_imports_go_down_the_layers_only():
    names = list(modules.LAYERS)
    upward = [f"{name} ({names[modules.layer_of(name)]}) imports {dep} ({names[modules.layer_of(dep)]})"
              for name, deps in _graph().items() for dep in deps
              if modules.layer_of(dep) is not None and modules.layer_of(dep) > modules.layer_of(name)]
    assert not upward, upward


def test_no_import_cycles_lazy_imports_included():
    assert modules.cycles({name: sorted(deps) for name, deps in _graph().items()}) == []


def test_the_checker_sees_an_upward_import_and_a_cycle():
    # the checks above can fail: an engine module importing the experiment is upward, a ring is a cycle
    assert modules.layer_of("flowlab.graph") < modules.layer_of("flowlab.experiment")
    assert modules.cycles({"a": ["b"], "b": ["c"], "c": ["a"]}) == [("a", "b", "c")]
    assert modules.layer_of("flowlab.experiment.config") == modules.layer_of("flowlab.experiment")


# Tests mirror the package: flowlab/<m>.py has tests/test_<m>.py; a package's __init__ has
# tests/test_<package>.py and its module flowlab/<package>/<m>.py has tests/test_<package>_<m>.py (or, for
# a package in TESTED_TOGETHER, the package's file holds its modules' tests).
# Tests of more than one module (the CLI end to end, faults, golden records, equivalence) have files of
# their own beside these.
TESTS = Path(__file__).resolve().parent

#: Modules without a test file of their own, each with the reason.
NO_TEST_FILE = {
    "flowlab": "the package's lazy public names: every test imports through them; test_no_torch.py checks "
               "that importing them loads nothing heavy",
    "flowlab.__main__": "`python -m flowlab` calls cli.main; test_cli.py and test_faults.py run it",
}

#: Packages whose modules are tested together in tests/test_<package>.py, each with the reason.
TESTED_TOGETHER = {
    "flowlab.optim": "one harness holds every update rule (sgd, adaptive, adam) to torch.optim's documented "
                     "algorithm and every registered optimizer to the base's contract, parametrized over the "
                     "registry (the flat path against the per-parameter one: test_fastpath.py)",
    "flowlab.tensorslow": "the series' worked values, every operation's numeric gradient, sessions and training "
                          "share one graph fixture and draw their inputs from one module-level generator in "
                          "file order: split across files, the tests would get other inputs",
}

#: Modules whose tests still live in other files (moved when those files are free); empty when done.
PENDING = set()


def expected_test_file(module):
    """tests/test_<path>.py for flowlab.<path> (dots become underscores): flowlab.data.load -> test_data_load.py;
    a module of a package in TESTED_TOGETHER: the package's file."""
    package = module.rpartition(".")[0]
    if package in TESTED_TOGETHER:
        module = package
    return TESTS / ("test_" + "_".join(module.split(".")[1:]) + ".py")


def _defines_a_test(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    return any(isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.lower().startswith("test")
               for node in tree.body)


def test_every_module_has_its_test_file():
    missing = [f"{name}: tests/{expected_test_file(name).name}" for name in sorted(modules.MODULES)
               if name not in NO_TEST_FILE and name not in PENDING
               and not (expected_test_file(name).exists() and _defines_a_test(expected_test_file(name)))]
    assert not missing, ("put each module's tests in its own file (tests/test_<module>.py, "
                         f"tests/test_<package>_<module>.py for a package's module): {missing}")


def test_the_allow_lists_name_real_modules_and_pending_ones_are_pending():
    assert set(NO_TEST_FILE) <= set(modules.MODULES) and PENDING <= set(modules.MODULES)
    assert set(TESTED_TOGETHER) <= set(modules.MODULES)
    done = sorted(name for name in PENDING if expected_test_file(name).exists())
    assert not done, f"these have their test file now: remove them from PENDING: {done}"
    assert expected_test_file("flowlab.data.load").name == "test_data_load.py"
    assert expected_test_file("flowlab.optim.adam").name == "test_optim.py"
    assert expected_test_file("flowlab.data").name == "test_data.py"
    assert expected_test_file("flowlab._checks").name == "test__checks.py"
