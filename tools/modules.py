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
            targets = [target] + [f"{target}.{a.name}" for a in node.names]
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
