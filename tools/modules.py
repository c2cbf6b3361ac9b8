"""List flowlab's modules with their sizes and the flowlab modules each one imports.

    python tools/modules.py            # a table: lines, imports (lazy ones marked *)
    python tools/modules.py --cycles   # also the import cycles, counting lazy imports

An import inside a function is marked with a * : it is paid only when that function runs, and it is
how a module may reach one above it without an import-time cycle.
"""
import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "flowlab"


def module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path, name):
    """(module, lazy) pairs for every flowlab module that ``path`` imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = [f"{target}.{a.name}" for a in node.names]
            # `from . import graph` imports the submodule graph, not the package's __init__ names
            targets = subs if any(t in MODULES for t in subs) else [target]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        lazy = _inside_function(tree, node)
        for t in targets:
            if t.startswith("flowlab") and t in MODULES and t != name:
                found[t] = found.get(t, True) and lazy
    return found


def _inside_function(tree, target):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any(child is target for child in ast.walk(node)):
                return True
    return False


def cycles(graph):
    """Every elementary cycle, found by a depth-first search from each module (the graph is small)."""
    found = set()

    def visit(start, node, path):
        for nxt in graph.get(node, ()):
            if nxt == start:
                cycle = path[:]
                i = cycle.index(min(cycle))
                found.add(tuple(cycle[i:] + cycle[:i]))
            elif nxt not in path and nxt > start:
                visit(start, nxt, path + [nxt])

    for start in graph:
        visit(start, start, [start])
    return sorted(found)


#: The layers, lowest first: a module may import modules of its own layer or of a layer below it, never
#: above (tests/test_architecture.py asserts it, and that there is no cycle). A new module is placed here.
LAYERS = {
    # the autodiff engine and what it needs: no files written, no processes
    # The package itself ("flowlab", its __init__) imports nothing when imported (each public name loads
    # on first use), so modules anywhere may read flowlab.__version__ from it: it sits at the bottom.
    "engine": ["flowlab", "graph", "nodes", "losses", "gradcheck", "idx", "miniflow", "tensorslow", "traversal", "params", "model", "status",
               "_checks", "atomic", "callbacks", "regularization", "init", "summaries"],
    # training one network: optimizers, schedules, data, the models and the trainer
    "training": ["optim", "schedules", "data", "download", "cache", "models", "train", "stacked", "settings",
                 "limits"],
    # what a run writes for TensorBoard
    "logging": ["tensorboard", "dashboards", "loop_logger"],
    # many runs: the single-run payload, the executors, the Experiment
    "sweeping": ["config", "results", "runner", "sendable", "forkserver", "executors", "balance", "stacked_runs", "sweepdir",
                 "resume", "experiment"],
    # entry points: the command line, the experiment scripts' flags and printing (script), the benchmarks
    "cli": ["__main__", "cli", "script", "bench", "bench_models"],
}


def layer_of(module):
    """The index in LAYERS of ``module`` ("flowlab.x" or a submodule of a package "flowlab.x.y"), or None."""
    short = module.removeprefix("flowlab.") if module != "flowlab" else "flowlab"
    for i, members in enumerate(LAYERS.values()):
        if short in members or short.split(".")[0] in members:
            return i
    return None


FILES = sorted(ROOT.rglob("*.py"))
MODULES = {module_name(p): p for p in FILES}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", action="store_true", help="also list import cycles")
    args = parser.parse_args(argv)
    graph = {}
    width = max(len(m) for m in MODULES)
    for name, path in sorted(MODULES.items()):
        deps = imports_of(path, name)
        graph[name] = sorted(deps)
        lines = sum(1 for _ in path.open())
        shown = ", ".join(d.removeprefix("flowlab.") + ("*" if lazy else "") for d, lazy in sorted(deps.items()))
        print(f"{name:<{width}}  {lines:5d}  {shown}")
    if args.cycles:
        found = cycles(graph)
        print(f"\n{len(found)} import cycle(s)" + (":" if found else ""))
        for cycle in found:
            print("  " + " -> ".join(m.removeprefix("flowlab.") for m in cycle + (cycle[0],)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
