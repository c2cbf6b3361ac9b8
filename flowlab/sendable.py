"""Whether a user's model builder can travel to the sweep's workers: checked before anything is written."""

from __future__ import annotations

import os
import pickle
import sys

from .executors import DaskExecutor, InProcessExecutor, ProcessExecutor

__all__ = ["check_sendable"]


def check_sendable(build, executor):
    """Raises ValueError, saying why and what would work, when ``build`` cannot reach ``executor``'s workers.

    Runs in this process need nothing. Local worker processes unpickle the builder by reference
    (they import the script or module that defines it), so it must be a top-level function of a
    file. Dask sends it with cloudpickle, by value when it comes from the script itself (as
    distributed does), so it only has to pickle.
    """
    where = getattr(build, "__name__", type(build).__name__)
    if isinstance(executor, InProcessExecutor):
        return
    if isinstance(executor, DaskExecutor):
        import cloudpickle

        try:
            cloudpickle.dumps(build)
        except Exception as exc:  # noqa: BLE001 - any pickling failure reads the same to the user
            raise ValueError(
                f"model={where} cannot be sent to the Dask workers: cloudpickle fails with "
                f"{type(exc).__name__}: {exc}. Make the builder a function that refers only to things "
                "that pickle (numbers, arrays, modules), e.g. def build(config, shape): ... at the top "
                "level of your script") from None
        return
    if isinstance(executor, ProcessExecutor):
        try:
            pickle.dumps(build)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(
                f"model={where} cannot be sent to the worker processes ({type(exc).__name__}: {exc}): "
                "they import the builder by name, so define it with def at the top level of your script "
                "or a module (not a lambda or a function inside another), or pass workers=1") from None
        module = sys.modules.get(getattr(build, "__module__", None) or "")
        source = getattr(module, "__file__", None)
        if getattr(build, "__module__", None) == "__main__" and not (source and os.path.isfile(source)):
            raise ValueError(
                f"model={where} is defined in code with no file (an interactive session or stdin), which "
                "worker processes cannot import; put it in a script or module, or pass workers=1")
        if getattr(build, "__module__", None) == "__main__" and _under_main_guard(build, module.__file__):
            raise ValueError(
                f"model={where} is defined under `if __name__ == \"__main__\":` in {module.__file__}; the worker "
                "processes import the script without running that block, so they cannot find it. Move "
                f"`def {where}(config, shape):` above the guard, to the top level of the script (or pass workers=1)")


def _under_main_guard(function, filename):
    """Whether the ``def`` of ``function`` in ``filename`` sits inside an ``if __name__ == "__main__":`` block."""
    import ast

    code = getattr(function, "__code__", None)
    try:
        tree = ast.parse(open(filename, encoding="utf-8").read(), filename)
    except (OSError, SyntaxError, ValueError):
        return False  # nothing to read: the pickling check above is all there is
    if code is None:
        return False

    def guard(node):
        test = ast.unparse(node.test) if isinstance(node, ast.If) else ""
        return "__name__" in test and "__main__" in test

    def visit(node, guarded):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.name == function.__name__:
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                if code.co_firstlineno in (first, child.lineno):
                    return guarded
            if isinstance(child, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                found = visit(child, guarded or guard(child))
                if found is not None:
                    return found
        return None

    return bool(visit(tree, False))
