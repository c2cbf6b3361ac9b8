"""The import graph: every module sits in a layer of tools/modules.py, imports only its own layer or
those below (engine <- training <- logging <- sweeping <- cli), lazy imports included, and no cycle."""
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
