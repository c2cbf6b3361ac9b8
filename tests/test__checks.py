"""The shared argument checks: messages in the one "owner: name must be ..., got name=value" shape."""

import re

import numpy as np
import pytest

from flowlab import _checks
from flowlab.nodes import unknown_choice


def test_choice_suggests_the_closest_name_and_lists_all():
    msg = _checks.choice("optimizer", "adma", {"adam": 1, "sgd": 2})
    assert msg == "unknown optimizer 'adma'; choose from adam, sgd (did you mean 'adam'?)"
    assert "did you mean" not in _checks.choice("optimizer", "zzz", ["adam", "sgd"])
    assert unknown_choice is _checks.choice  # the old import path still works


@pytest.mark.parametrize("value", [True, 1.0, "3", None, -1])
def test_whole_rejects_bools_floats_strings_and_negatives(value):
    with pytest.raises(ValueError, match=rf"^seed must be an int >= 0, got seed={value!r}$"):
        _checks.whole(None, "seed", value)


def test_whole_accepts_numpy_integers():
    assert _checks.whole("Trainer", "epochs", np.int64(3), minimum=1) == 3
    with pytest.raises(ValueError, match=r"^Trainer: epochs must be an int >= 1, got epochs=0$"):
        _checks.whole("Trainer", "epochs", 0, minimum=1)


@pytest.mark.parametrize("kwargs, rule", [
    (dict(lo=0), ">= 0"), (dict(lo=0, lo_open=True), "> 0"), (dict(hi=1), "<= 1"),
    (dict(lo=0, hi=1, hi_open=True), "in [0, 1)"), (dict(lo=0, hi=1, lo_open=True), "in (0, 1]"),
])
def test_number_names_the_rule_it_broke(kwargs, rule):
    value = -2.0 if "lo" in kwargs else 2.0
    with pytest.raises(ValueError, match="^" + re.escape(f"SGD: m must be {rule}, got m={value}") + "$"):
        _checks.number("SGD", "m", value, **kwargs)


def test_number_types_and_finiteness():
    with pytest.raises(TypeError, match=r"^Adam: lr must be a number, got lr=True$"):
        _checks.positive("Adam", "lr", True)
    with pytest.raises(ValueError, match=r"^Adam: lr must be finite, got lr=nan$"):
        _checks.positive("Adam", "lr", float("nan"))
    assert _checks.non_negative("Adam", "eps", np.float32(0)) == 0.0
    assert type(_checks.positive("Adam", "lr", 1)) is float


def test_preview_cuts_long_values():
    assert _checks.preview("ab", 10) == "'ab'"
    assert _checks.preview("x" * 100, 10) == "'xxxxxx..."
    assert len(_checks.preview(list(range(100)))) == 60
