"""Every test runs offline, with a download folder of its own: nothing reaches the internet or ~/.cache.

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


@pytest.fixture(autouse=True)
def _private_download_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FLOWLAB_DOWNLOAD_DIR", str(tmp_path_factory.mktemp("flowlab-downloads")))
