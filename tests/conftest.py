"""Every test runs offline, with a download folder and a prepared-dataset cache of its own: nothing
reaches the internet, ~/.cache or another test's cache.

Set at import time, before any fixture starts a process (Dask workers, CLI subprocesses inherit it).
"""

import atexit
import os
import shutil
import tempfile

import pytest

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
