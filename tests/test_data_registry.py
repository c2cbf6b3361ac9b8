"""flowlab.data.registry: the dataset list (without scikit-learn) and names, forgiving or with a did-you-mean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowlab.data import DATASETS, list_datasets, load_dataset


def test_registry_lists_every_dataset_without_sklearn():
    code = ("import sys, flowlab.data as d; assert 'sklearn' not in sys.modules, 'sklearn imported';"
            "print(','.join(i.name for i in d.list_datasets()))")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().split(",") == list(DATASETS)
    assert {"digits", "iris", "wine", "breast_cancer", "spiral", "moons", "circles", "xor", "blobs",
            "diabetes", "sine", "mnist", "fashion-mnist"} == set(DATASETS)
    assert list(DATASETS)[0] == "digits"
    assert [i.name for i in list_datasets()] == list(DATASETS)
    assert not DATASETS["mnist"].builtin and DATASETS["spiral"].builtin


def test_names_are_forgiving_about_case_and_separators():
    assert load_dataset("Breast-Cancer").name == "breast_cancer"


def test_unknown_name_suggests_close_match():
    with pytest.raises(ValueError, match=r"unknown dataset 'digit'; choose from blobs, breast_cancer, .*"
                                         r"\(did you mean 'digits'\?\)"):
        load_dataset("digit")
    with pytest.raises(ValueError, match="fashion-mnist") as err:
        load_dataset("zzz")
    assert "did you mean" not in str(err.value)
