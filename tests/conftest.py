"""Every test runs offline, with a download folder and a prepared-dataset cache of its own: nothing
reaches the internet, ~/.cache or another test's cache.

Set at import time, before any fixture starts a process (Dask workers, CLI subprocesses inherit it).

The suite also pins OpenBLAS' kernel (Haswell, on x86-64, unless OPENBLAS_CORETYPE is set already):
the golden records (tests/data/engine_baseline.json, tensorboard_golden.json.gz) and the experiment
scripts' printed numbers are exact to the last bit, and OpenBLAS' kernels round differently (on an
AVX-512 machine it picks SkylakeX, whose products differ from Haswell's in the last place). Haswell's
runs on every x86-64 machine of the last ten years; the benchmarks measure the machine's own.
"""

import atexit
import os
import platform
import shutil
import sys
import tempfile

import pytest

if platform.machine().lower() in ("x86_64", "amd64") and "OPENBLAS_CORETYPE" not in os.environ:
    if "numpy" in sys.modules:  # OpenBLAS reads the variable once, when numpy loads it
        raise RuntimeError("tests/conftest.py: numpy was imported before OPENBLAS_CORETYPE could be set; "
                           "run the tests with OPENBLAS_CORETYPE=Haswell")
    os.environ["OPENBLAS_CORETYPE"] = "Haswell"
os.environ["FLOWLAB_OFFLINE"] = "1"
os.environ["FLOWLAB_DOWNLOAD_DIR"] = tempfile.mkdtemp(prefix="flowlab-test-downloads-")
atexit.register(shutil.rmtree, os.environ["FLOWLAB_DOWNLOAD_DIR"], ignore_errors=True)
os.environ["FLOWLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="flowlab-test-cache-")
atexit.register(shutil.rmtree, os.environ["FLOWLAB_CACHE_DIR"], ignore_errors=True)


@pytest.fixture(autouse=True)
def _private_download_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FLOWLAB_DOWNLOAD_DIR", str(tmp_path_factory.mktemp("flowlab-downloads")))


@pytest.fixture(autouse=True)
def _dataset_cache(tmp_path_factory, monkeypatch):
    # Subprocesses started by a test inherit the variable, so CLI and worker runs use it too.
    monkeypatch.setenv("FLOWLAB_CACHE_DIR", str(tmp_path_factory.mktemp("dataset-cache")))


@pytest.fixture(scope="module")
def digits():
    """The digits set with seed 0, loaded once per test module (test_train.py, test_stacked.py)."""
    from flowlab.data import load_dataset  # imported here: the variables above are set before flowlab loads

    return load_dataset("digits", seed=0)
