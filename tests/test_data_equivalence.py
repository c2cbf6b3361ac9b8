"""flowlab.data returns bit-identical arrays to the baseline's, for every dataset name, cold and from the cache.

The reference (tests/data/data_digests.json) was made by tests/data_digests.py with flowlab.data as it
was before it became a package (commit e07dd06), not by the code under test.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import sklearn

from data_digests import FIELDS, case_key, cases, dataset_digest, fake_mnist, function_digests
from flowlab.data import DATASETS, load_dataset

REFERENCE = json.loads((Path(__file__).parent / "data" / "data_digests.json").read_text())
MADE_WITH = REFERENCE["made_with"]
VERSIONS = (f"reference made with numpy {MADE_WITH['numpy']}, scikit-learn {MADE_WITH['scikit-learn']}; "
            f"here numpy {np.__version__}, scikit-learn {sklearn.__version__}")


def test_the_reference_covers_every_registered_dataset():
    covered = {key.split(" ")[0] for key in REFERENCE["datasets"]}
    assert covered == set(DATASETS)
    expected = {case_key(name, kwargs) for name, info in DATASETS.items() for kwargs in cases(info)}
    assert expected == set(REFERENCE["datasets"])


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_loads_the_baseline_arrays(tmp_path, name):
    info = DATASETS[name]
    data_dir = None if info.builtin else fake_mnist(tmp_path / name, seed=len(name))
    for kwargs in cases(info):
        key = case_key(name, kwargs)
        for load in ("cold", "warm"):  # the second load comes from the prepared-dataset cache
            got = dataset_digest(load_dataset(name, data_dir=data_dir, **kwargs))
            want = REFERENCE["datasets"][key]
            assert got["meta"] == want["meta"], (key, load)
            changed = [field for field in FIELDS if got[field] != want[field]]
            assert not changed, f"{key} ({load}): {', '.join(changed)} differ from the baseline ({VERSIONS})"


def test_split_standardize_and_batches_match_the_baseline():
    got, want = function_digests(), REFERENCE["functions"]
    assert set(got) == set(want)
    changed = sorted(key for key in got if got[key] != want[key])
    assert not changed, f"{changed} differ from the baseline ({VERSIONS})"
