"""Tests for flowlab.init: shapes, dtypes, seeding, the distributions' scale, the registry and defaults."""

import math

import numpy as np
import pytest

from flowlab.init import (
    BIAS_INIT,
    INITIALIZERS,
    compute_fans,
    default_init,
    get_initializer,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    normal,
    register_initializer,
    zeros,
)

RANDOM = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "normal"]


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
@pytest.mark.parametrize("shape", [(4, 3), (5,), (2, 3, 4, 5), ()])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shape_and_dtype(name, shape, dtype):
    w = get_initializer(name)(shape, np.random.default_rng(0), dtype=dtype)
    assert isinstance(w, np.ndarray)
    assert w.shape == shape
    assert w.dtype == dtype
    assert np.isfinite(w).all()


@pytest.mark.parametrize("name", RANDOM)
def test_same_seed_same_weights_and_float32_is_float64_rounded(name):
    fn = get_initializer(name)
    a = fn((30, 20), np.random.default_rng(7))
    b = fn((30, 20), np.random.default_rng(7))
    c = fn((30, 20), np.random.default_rng(8))
    w32 = fn((30, 20), np.random.default_rng(7), dtype=np.float32)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(w32, a.astype(np.float32))


def test_an_int_shape_is_one_dimensional():
    assert glorot_uniform(7, np.random.default_rng(0)).shape == (7,)
    assert zeros(3).shape == (3,)


# Large kernels, so the empirical std is within ~1% of the target (tolerance 3%).
FAN_IN, FAN_OUT = 400, 600


@pytest.mark.parametrize(
    "fn, std",
    [
        (glorot_uniform, math.sqrt(2.0 / (FAN_IN + FAN_OUT))),  # uniform(-l, l) has std l/sqrt(3)
        (glorot_normal, math.sqrt(2.0 / (FAN_IN + FAN_OUT))),
        (he_uniform, math.sqrt(2.0 / FAN_IN)),
        (he_normal, math.sqrt(2.0 / FAN_IN)),
        (normal, 0.01),
    ],
)
def test_empirical_std_and_mean(fn, std):
    w = fn((FAN_IN, FAN_OUT), np.random.default_rng(0))
    assert abs(w.std() / std - 1) < 0.03
    assert abs(w.mean()) < 0.01 * std


@pytest.mark.parametrize(
    "fn, limit",
    [(glorot_uniform, math.sqrt(6.0 / (FAN_IN + FAN_OUT))), (he_uniform, math.sqrt(6.0 / FAN_IN))],
)
def test_uniform_limits(fn, limit):
    w = fn((FAN_IN, FAN_OUT), np.random.default_rng(0))
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit  # and the range is actually used


@pytest.mark.parametrize(
    "fn, std", [(glorot_normal, math.sqrt(2.0 / (FAN_IN + FAN_OUT))), (he_normal, math.sqrt(2.0 / FAN_IN))]
)
def test_normals_are_truncated_at_two_stddevs_as_keras(fn, std):
    w = fn((FAN_IN, FAN_OUT), np.random.default_rng(0))
    bound = 2 * std / 0.87962566103423978  # 2 stds of the normal before truncation
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound


def test_zeros_and_bias_default():
    assert BIAS_INIT == "zeros"
    w = zeros((3, 2), np.random.default_rng(0), dtype=np.float32)
    assert w.dtype == np.float32 and not w.any()


def test_fans_follow_keras():
    assert compute_fans((64, 10)) == (64, 10)
    assert compute_fans((5,)) == (5, 5)
    assert compute_fans(()) == (1, 1)
    assert compute_fans((3, 3, 16, 32)) == (9 * 16, 9 * 32)


def test_registry_names_and_aliases():
    assert {"glorot_uniform", "xavier_uniform", "glorot_normal", "xavier_normal", "he_uniform", "he_normal",
            "normal", "small_normal", "zeros", "he", "xavier", "glorot"} <= set(INITIALIZERS)
    assert get_initializer("he") is he_normal
    assert get_initializer("xavier") is glorot_uniform
    assert get_initializer("glorot") is glorot_uniform
    assert get_initializer("xavier_normal") is glorot_normal
    assert get_initializer("small_normal") is normal
    assert get_initializer("He-Normal") is he_normal
    assert get_initializer(he_uniform) is he_uniform


def test_unknown_name_lists_choices_and_suggests():
    with pytest.raises(ValueError) as err:
        get_initializer("he_norml")
    message = str(err.value)
    assert message.startswith("unknown initializer 'he_norml'; choose from glorot, glorot_normal, ")
    assert message.endswith("(did you mean 'he_normal'?)")
    with pytest.raises(ValueError, match=r"^unknown initializer 'orthogonal'; choose from .*zeros$"):
        get_initializer("orthogonal")


def test_register_initializer_refuses_a_taken_name():
    def ones(shape, rng=None, dtype=np.float64):
        return np.ones(shape, dtype=dtype)

    with pytest.raises(ValueError, match="already used by he_normal"):
        register_initializer("he")(ones)
    register_initializer("ones")(ones)
    try:
        assert get_initializer("ones") is ones
    finally:
        INITIALIZERS.pop("ones")


@pytest.mark.parametrize(
    "activation, expected",
    [
        ("relu", "he_normal"),
        ("ReLU", "he_normal"),
        ("leaky_relu", "he_normal"),
        ("leaky-relu", "he_normal"),
        ("sigmoid", "glorot_uniform"),
        ("tanh", "glorot_uniform"),
        ("softmax", "glorot_uniform"),
        (None, "glorot_uniform"),
    ],
)
def test_default_init_follows_the_activation(activation, expected):
    assert default_init(activation) == expected
    assert default_init(activation) in INITIALIZERS


def test_default_init_accepts_node_classes():
    import flowlab.nodes as nodes
    assert default_init(nodes.ReLU) == "he_normal"
    assert default_init(nodes.LeakyReLU) == "he_normal"
    assert default_init(nodes.Sigmoid) == "glorot_uniform"


def test_bad_arguments_say_what_works():
    with pytest.raises(TypeError, match=r"^he_normal: rng must be a numpy Generator, got int; pass np\.random\.default_rng\(seed\)$"):
        he_normal((3, 2), 0)
    with pytest.raises(TypeError, match=r"^glorot_uniform: dtype must be a float type"):
        glorot_uniform((3, 2), np.random.default_rng(0), dtype=np.int64)
    with pytest.raises(ValueError, match=r"^normal: shape must not have negative sizes, got shape=\(3, -2\)$"):
        normal((3, -2), np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"^compute_fans: shape must be an int or a tuple of ints, got shape='3'"):
        compute_fans("3")
