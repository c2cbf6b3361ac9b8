"""Shared test setup: every test gets its own empty prepared-dataset cache (never the user's ~/.cache)."""

import pytest


@pytest.fixture(autouse=True)
def _dataset_cache(tmp_path_factory, monkeypatch):
    # Subprocesses started by a test inherit the variable, so CLI and worker runs use it too.
    monkeypatch.setenv("FLOWLAB_CACHE_DIR", str(tmp_path_factory.mktemp("dataset-cache")))
