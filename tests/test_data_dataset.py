"""flowlab.data.dataset: the Dataset record (frozen, astype) and the checks every dataset passes."""

import numpy as np
import pytest

from flowlab import data
from flowlab.data import load_dataset


def test_float32_option_and_astype():
    ds32 = load_dataset("iris", dtype=np.float32)
    ds64 = load_dataset("iris")
    assert ds32.x_train.dtype == ds32.x_val.dtype == np.float32 and ds32.y_train.dtype == np.int64
    converted = ds64.astype(np.float32)
    assert converted.dtype == np.float32 and ds64.dtype == np.float64
    np.testing.assert_array_equal(converted.x_val, ds32.x_val)
    assert ds64.astype("float64") is ds64


def test_dataset_is_frozen():
    ds = load_dataset("iris")
    with pytest.raises(AttributeError):
        ds.name = "other"


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_check_arrays_finds_every_non_finite_entry_as_the_mask_does(dtype):
    # The oracle is the entry-by-entry mask: a non-finite entry anywhere is reported at the first
    # position np.isfinite finds, and finite data whose sum overflows still passes.
    y = np.zeros(50, dtype=np.int64)
    for bad in (np.nan, np.inf, -np.inf):
        for at in ((0, 0), (17, 2), (49, 3)):
            x = np.ones((50, 4), dtype=dtype)
            x[at] = bad
            x[30, 1] = bad  # a second one later: the first is named
            first = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
            with pytest.raises(ValueError, match=rf"x\[{first[0]}, {first[1]}\] is {x[first]}"):
                data.check_arrays("d", "train", x, y)
    huge = np.full((50, 4), np.finfo(dtype).max, dtype=dtype)
    with np.errstate(over="ignore"):
        assert not np.isfinite(huge.sum())
    data.check_arrays("d", "train", huge, y)  # finite entries, overflowing sum: accepted
    data.check_arrays("d", "train", np.arange(200).reshape(50, 4), y)  # integers are finite
