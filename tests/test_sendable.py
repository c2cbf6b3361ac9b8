"""flowlab.sendable: a model builder that cannot reach the workers is refused before anything is written,
saying why and what would work; one that can passes."""

import re
import subprocess
import sys
import threading

import pytest

from flowlab.executors import DaskExecutor, InProcessExecutor, ProcessExecutor
from flowlab.sendable import check_sendable


def build(config, shape):  # a top-level function of a file: the worker processes import it by name
    return None


def _dask_executor():
    # check_sendable looks at the executor's kind only; no cluster is needed to ask it
    return DaskExecutor.__new__(DaskExecutor)


def test_in_this_process_anything_goes():
    check_sendable(lambda config, shape: None, InProcessExecutor())


def test_worker_processes_take_a_top_level_function_and_refuse_a_lambda_or_a_nested_one():
    check_sendable(build, ProcessExecutor(2))

    def nested(config, shape):
        return None

    for builder, name in ((lambda config, shape: None, "<lambda>"), (nested, "nested")):
        with pytest.raises(ValueError, match=rf"model={name} cannot be sent to the worker processes .*define it with "
                                             r"def at the top level .* or pass workers=1"):
            check_sendable(builder, ProcessExecutor(2))


def test_dask_sends_what_cloudpickle_can_and_names_what_it_cannot():
    check_sendable(lambda config, shape: None, _dask_executor())  # cloudpickle sends a lambda by value
    lock = threading.Lock()

    def holds_a_lock(config, shape):
        return lock

    with pytest.raises(ValueError, match=r"model=holds_a_lock cannot be sent to the Dask workers: cloudpickle fails "
                                         r"with TypeError: .*lock"):
        check_sendable(holds_a_lock, _dask_executor())


@pytest.mark.parametrize("where, message", [
    ("guarded", r"model=build is defined under `if __name__ == \"__main__\":` in .*script.py.*Move `def build\(config, "
                r"shape\):` above the guard"),
    ("no file", r"model=build is defined in code with no file .* put it in a script or module, or pass workers=1"),
    ("stdin", r"model=build is defined in code with no file .* put it in a script or module, or pass workers=1"),
])
def test_a_script_builder_the_workers_could_not_import_is_refused(tmp_path, where, message):
    code = ("from flowlab.executors import ProcessExecutor\n"
            "from flowlab.sendable import check_sendable\n"
            "if __name__ == '__main__':\n"
            "    def build(config, shape):\n"
            "        return None\n"
            "    try:\n"
            "        check_sendable(build, ProcessExecutor(2))\n"
            "    except ValueError as exc:\n"
            "        print(exc)\n")
    if where == "guarded":
        (tmp_path / "script.py").write_text(code)
        proc = subprocess.run([sys.executable, str(tmp_path / "script.py")], capture_output=True, text=True, timeout=60)
    elif where == "stdin":  # `python - < script.py`: __main__.__file__ is '<stdin>', not a file
        proc = subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True, timeout=60)
    else:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert re.search(message, proc.stdout), proc.stdout
