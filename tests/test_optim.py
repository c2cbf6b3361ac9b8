"""Tests for flowlab.optim: every update rule against torch.optim's documented algorithm, re-written plainly."""

import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose

from flowlab.graph import Input
from flowlab.optim import (
    DEFAULT_LR,
    OPTIMIZERS,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    Momentum,
    NAdam,
    Nesterov,
    Optimizer,
    RMSprop,
    get_optimizer,
    register_optimizer,
)

RTOL = 1e-12
X0 = np.array([[0.5, -1.5, 2.0], [0.25, 3.0, -0.75]])
GRADS = [np.random.default_rng(0).normal(size=X0.shape) for _ in range(6)]


def param(value, name="w"):
    p = Input(name=name)
    p.value = np.array(value)
    return p


def run(cls, grads=GRADS, x0=X0, **kwargs):
    """Steps `cls` over a fixed gradient sequence and returns the parameter after each step."""
    p = param(x0)
    opt = cls([p], **kwargs)
    trace = []
    for g in grads:
        p.gradients = {p: g.copy()}
        opt.step()
        trace.append(p.value.copy())
    return trace


# --- reference rules, written the way torch.optim documents them (no in-place tricks) -------------


def ref_sgd(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    x, b, trace = X0.copy(), None, []
    for g in GRADS:
        g = g + weight_decay * x
        if momentum != 0:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        x = x - lr * g
        trace.append(x)
    return trace


def ref_adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
    b1, b2 = betas
    x, m, v, vmax, trace = X0.copy(), 0 * X0, 0 * X0, 0 * X0, []
    for t, g in enumerate(GRADS, start=1):
        g = g + weight_decay * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if amsgrad:
            vmax = np.maximum(vmax, v)
        second = vmax if amsgrad else v
        denom = np.sqrt(second) / np.sqrt(1 - b2**t) + eps
        x = x - lr / (1 - b1**t) * m / denom
        trace.append(x)
    return trace


def ref_adamax(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    x, m, u, trace = X0.copy(), 0 * X0, 0 * X0, []
    for t, g in enumerate(GRADS, start=1):
        g = g + weight_decay * x
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        x = x - lr / (1 - b1**t) * m / u
        trace.append(x)
    return trace


def ref_nadam(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3):
    b1, b2 = betas

    def mu(t):
        return b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))

    x, m, v, trace = X0.copy(), 0 * X0, 0 * X0, []
    for t, g in enumerate(GRADS, start=1):
        g = g + weight_decay * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        prod_t = np.prod([mu(i) for i in range(1, t + 1)])
        prod_next = prod_t * mu(t + 1)
        m_hat = mu(t + 1) * m / (1 - prod_next) + (1 - mu(t)) * g / (1 - prod_t)
        v_hat = v / (1 - b2**t)
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps)
        trace.append(x)
    return trace


def ref_rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    x, sq, gavg, b, trace = X0.copy(), 0 * X0, 0 * X0, 0 * X0, []
    for g in GRADS:
        g = g + weight_decay * x
        sq = alpha * sq + (1 - alpha) * g * g
        if centered:
            gavg = alpha * gavg + (1 - alpha) * g
            avg = np.sqrt(sq - gavg * gavg) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum > 0:
            b = momentum * b + g / avg
            x = x - lr * b
        else:
            x = x - lr * g / avg
        trace.append(x)
    return trace


def ref_adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    x, s, trace = X0.copy(), np.full_like(X0, initial_accumulator_value), []
    for t, g in enumerate(GRADS, start=1):
        g = g + weight_decay * x
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        x = x - clr * g / (np.sqrt(s) + eps)
        trace.append(x)
    return trace


def ref_adadelta(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    x, sq, acc, trace = X0.copy(), 0 * X0, 0 * X0, []
    for g in GRADS:
        g = g + weight_decay * x
        sq = rho * sq + (1 - rho) * g * g
        delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
        acc = rho * acc + (1 - rho) * delta * delta
        x = x - lr * delta
        trace.append(x)
    return trace


CASES = [
    ("sgd", SGD, {"lr": 0.1}, lambda: ref_sgd(0.1)),
    ("sgd-wd", SGD, {"lr": 0.1, "weight_decay": 0.1}, lambda: ref_sgd(0.1, weight_decay=0.1)),
    ("momentum", Momentum, {"lr": 0.05}, lambda: ref_sgd(0.05, momentum=0.9)),
    ("momentum-damp", Momentum, {"lr": 0.05, "momentum": 0.8, "dampening": 0.3},
     lambda: ref_sgd(0.05, momentum=0.8, dampening=0.3)),
    ("momentum-wd", Momentum, {"lr": 0.05, "weight_decay": 0.01}, lambda: ref_sgd(0.05, momentum=0.9, weight_decay=0.01)),
    ("momentum-nesterov", Momentum, {"lr": 0.05, "nesterov": True}, lambda: ref_sgd(0.05, momentum=0.9, nesterov=True)),
    ("nesterov", Nesterov, {"lr": 0.05, "momentum": 0.7}, lambda: ref_sgd(0.05, momentum=0.7, nesterov=True)),
    ("adam", Adam, {}, lambda: ref_adam()),
    ("adam-custom", Adam, {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-3},
     lambda: ref_adam(lr=0.01, betas=(0.5, 0.9), eps=1e-3)),
    ("adam-amsgrad", Adam, {"lr": 0.01, "amsgrad": True}, lambda: ref_adam(lr=0.01, amsgrad=True)),
    ("adam-wd", Adam, {"lr": 0.01, "weight_decay": 0.1}, lambda: ref_adam(lr=0.01, weight_decay=0.1)),
    ("adamax", Adamax, {}, lambda: ref_adamax()),
    ("adamax-custom", Adamax, {"lr": 0.01, "betas": (0.6, 0.9), "eps": 1e-2, "weight_decay": 0.1},
     lambda: ref_adamax(lr=0.01, betas=(0.6, 0.9), eps=1e-2, weight_decay=0.1)),
    ("nadam", NAdam, {}, lambda: ref_nadam()),
    ("nadam-custom", NAdam, {"lr": 0.01, "betas": (0.8, 0.99), "momentum_decay": 0.05, "weight_decay": 0.1},
     lambda: ref_nadam(lr=0.01, betas=(0.8, 0.99), momentum_decay=0.05, weight_decay=0.1)),
    ("rmsprop", RMSprop, {}, lambda: ref_rmsprop()),
    ("rmsprop-centered", RMSprop, {"centered": True}, lambda: ref_rmsprop(centered=True)),
    ("rmsprop-momentum", RMSprop, {"momentum": 0.9}, lambda: ref_rmsprop(momentum=0.9)),
    ("rmsprop-all", RMSprop, {"lr": 0.003, "alpha": 0.9, "eps": 1e-4, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
     lambda: ref_rmsprop(lr=0.003, alpha=0.9, eps=1e-4, momentum=0.5, centered=True, weight_decay=0.1)),
    ("adagrad", Adagrad, {}, lambda: ref_adagrad()),
    ("adagrad-decay", Adagrad, {"lr": 0.1, "lr_decay": 0.5, "initial_accumulator_value": 0.1},
     lambda: ref_adagrad(lr=0.1, lr_decay=0.5, initial_accumulator_value=0.1)),
    ("adagrad-wd", Adagrad, {"weight_decay": 0.1, "eps": 1e-3}, lambda: ref_adagrad(weight_decay=0.1, eps=1e-3)),
    ("adadelta", Adadelta, {}, lambda: ref_adadelta()),
    ("adadelta-custom", Adadelta, {"lr": 0.5, "rho": 0.5, "eps": 1e-3, "weight_decay": 0.1},
     lambda: ref_adadelta(lr=0.5, rho=0.5, eps=1e-3, weight_decay=0.1)),
]


@pytest.mark.parametrize("label, cls, kwargs, reference", CASES, ids=[c[0] for c in CASES])
def test_update_rule_matches_torch_algorithm(label, cls, kwargs, reference):
    got = run(cls, **kwargs)
    for step, (g, want) in enumerate(zip(got, reference()), start=1):
        assert_allclose(g, want, rtol=RTOL, atol=0, err_msg=f"{label}, step {step}")


def test_first_steps_by_hand():
    # Adam's first step moves every coordinate by lr*|g|/(|g|+eps), i.e. lr against the gradient's sign.
    g = GRADS[0]
    adam = run(Adam, grads=[g], lr=0.01)[0]
    assert_allclose(adam, X0 - 0.01 * g / (np.abs(g) + 1e-8), rtol=RTOL)
    # Adagrad's first step is lr*g/(|g|+eps) as well; Adamax's is lr*g/(|g|+eps).
    assert_allclose(run(Adagrad, grads=[g])[0], X0 - 0.01 * g / (np.abs(g) + 1e-10), rtol=RTOL)
    assert_allclose(run(Adamax, grads=[g])[0], X0 - 2e-3 * g / (np.abs(g) + 1e-8), rtol=RTOL)


def test_momentum_equals_the_slides_form_at_constant_lr():
    # v <- gamma*v + eta*g, theta <- theta - v   (v starting at 0)
    lr, gamma = 0.05, 0.9
    x, v = X0.copy(), 0 * X0
    for g, got in zip(GRADS, run(Momentum, lr=lr, momentum=gamma)):
        v = gamma * v + lr * g
        x = x - v
        assert_allclose(got, x, rtol=1e-12, atol=1e-15)


# --- every registered optimizer minimizes a quadratic ---------------------------------------------

A = np.array([[1.0, 2.0, 4.0], [0.5, 3.0, 8.0]])
C = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
# (lr, steps) per optimizer; a newly registered one falls back to its default lr and 2000 steps.
QUADRATIC = {
    "sgd": (0.1, 500),
    "momentum": (0.03, 500),
    "nesterov": (0.03, 500),
    "adam": (0.1, 500),
    "adamax": (0.1, 500),
    "nadam": (0.1, 500),
    "rmsprop": (0.03, 500),
    "adagrad": (0.3, 500),
    "adadelta": (1.0, 1000),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_minimizes_a_quadratic(name):
    lr, steps = QUADRATIC.get(name, (DEFAULT_LR[name], 2000))
    x = param(np.zeros_like(C), name="x")
    opt = get_optimizer(name, [x], lr=lr)
    start = np.linalg.norm(x.value - C)
    for _ in range(steps):
        x.gradients = {x: A * (x.value - C)}  # f(x) = 0.5 * sum(A * (x - C)**2)
        opt.step()
    assert np.linalg.norm(x.value - C) < start * 1e-3, f"{name} did not converge: {x.value}"


def test_trains_a_real_flowlab_graph():
    import flowlab.nodes as nodes
    import flowlab.losses as losses
    from flowlab.graph import forward_and_backward, topological_sort

    rng = np.random.default_rng(0)
    X, y = Input(name="X", requires_grad=False), Input(name="y", requires_grad=False)
    W, b = Input(name="dense_1/kernel"), Input(name="dense_1/bias")
    cost = losses.MSE(y, nodes.Linear(X, W, b))
    features = rng.normal(size=(64, 3))
    labels = features @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    graph = topological_sort({X: features, y: labels, W: np.zeros((3, 1)), b: np.zeros(1)})
    opt = Adam([W, b], lr=0.05)
    first = forward_and_backward(graph)
    for _ in range(300):
        forward_and_backward(graph)
        opt.step()
    assert forward_and_backward(graph) < first * 1e-3


# --- in place, dtype, state -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_float32_stays_float32_and_updates_in_place(name, weight_decay):
    p32, p64 = param(X0.astype(np.float32)), param(X0)
    array = p32.value
    opt32 = get_optimizer(name, [p32], weight_decay=weight_decay)
    opt64 = get_optimizer(name, [p64], weight_decay=weight_decay)
    for g in GRADS:
        p32.gradients = {p32: g}  # float64 gradient on a float32 parameter
        p64.gradients = {p64: g}
        opt32.step()
        opt64.step()
    assert p32.value is array
    assert p32.value.dtype == np.float32
    assert all(a.dtype == np.float32 for a in opt32.state[p32].values() if isinstance(a, np.ndarray))
    assert_allclose(p32.value, p64.value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_is_per_parameter_and_gradients_are_not_modified(name):
    w, b = param(X0, "w"), param(np.zeros(3), "b")
    opt = get_optimizer(name, [w, b], weight_decay=0.1)
    gw, gb = GRADS[0].copy(), np.ones(3)
    w.gradients, b.gradients = {w: gw}, {b: gb}
    opt.step()
    opt.step()
    assert opt.t == 2
    assert list(opt.state) == [w, b]
    assert all(s is not opt.state[w] for s in [opt.state[b]])
    assert_allclose(gw, GRADS[0], rtol=0)
    assert_allclose(gb, np.ones(3), rtol=0)
    assert not hasattr(w, "state")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_steps_allocate_no_parameter_sized_arrays(name):
    # The update is a hot path: after the first step (state allocation), steps reuse buffers.
    p = param(np.ones(200_000))
    p.gradients = {p: np.full(200_000, 0.5)}
    opt = get_optimizer(name, [p], weight_decay=0.01)
    opt.step()
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200_000 * 8 / 4, f"{name} allocated {peak} bytes per step"


def test_lr_can_change_between_steps():
    p = param([1.0, 2.0])
    opt = SGD([p], lr=0.1)
    p.gradients = {p: np.array([1.0, 1.0])}
    opt.step()
    opt.lr = 0.01
    opt.step()
    assert_allclose(p.value, [1.0 - 0.1 - 0.01, 2.0 - 0.1 - 0.01], rtol=RTOL)


def test_integer_value_is_converted_once_then_updated_in_place():
    p = param(np.array([1, 2, 3]))
    opt = SGD([p], lr=0.5)
    p.gradients = {p: np.ones(3)}
    opt.step()
    array = p.value
    assert array.dtype == np.float64
    opt.step()
    assert p.value is array
    assert_allclose(p.value, [0.0, 1.0, 2.0], rtol=RTOL)


def test_zero_grad_is_harmless_and_repr_shows_hyperparameters():
    p = param(X0)
    opt = Adam([p], lr=0.01, amsgrad=True)
    opt.zero_grad()
    assert repr(opt) == "Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, amsgrad=True)"
    assert Nesterov([p]).hparams() == {"lr": 1e-3, "momentum": 0.9, "weight_decay": 0.0}


# --- registry ---------------------------------------------------------------------------------------


def test_registry_names_and_defaults_follow_torch():
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam"}
    # torch's defaults (torch.optim.SGD: lr=1e-3)
    assert DEFAULT_LR == {
        "sgd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adam": 1e-3, "rmsprop": 1e-2,
        "adagrad": 1e-2, "adadelta": 1.0, "adamax": 2e-3, "nadam": 2e-3,
    }
    p = param(X0)
    adam = get_optimizer("Adam", [p])
    assert isinstance(adam, Adam) and adam.lr == 1e-3
    assert get_optimizer("adam", [p], lr=0.1, betas=(0.8, 0.9)).betas == (0.8, 0.9)
    nesterov = get_optimizer("nesterov", [p], lr=0.1)
    assert isinstance(nesterov, Momentum) and nesterov.nesterov and nesterov.lr == 0.1


def test_unknown_name_lists_choices_and_suggests():
    p = param(X0)
    with pytest.raises(ValueError) as err:
        get_optimizer("adm", [p])
    assert str(err.value) == (
        "unknown optimizer 'adm'; choose from adadelta, adagrad, adam, adamax, momentum, nadam, "
        "nesterov, rmsprop, sgd (did you mean 'adam'?)"
    )
    with pytest.raises(ValueError, match=r"unknown optimizer 'lbfgs'; choose from .*sgd$"):
        get_optimizer("lbfgs", [p])


def test_register_optimizer_adds_a_name_and_refuses_a_taken_one():
    @register_optimizer("sign_sgd")
    class SignSGD(Optimizer):
        """p <- p - lr*sign(g)."""

        def __init__(self, params, lr=0.05):
            super().__init__(params, lr)

        def update(self, value, grad, state):
            value -= self.lr * np.sign(grad)

    try:
        assert DEFAULT_LR["sign_sgd"] == 0.05
        p = param([1.0, -1.0])
        p.gradients = {p: np.array([3.0, -0.5])}
        opt = get_optimizer("sign_sgd", [p])
        opt.step()
        assert_allclose(p.value, [0.95, -0.95], rtol=RTOL)
        with pytest.raises(ValueError, match="already used by Adam"):
            register_optimizer("adam")(SignSGD)
    finally:
        OPTIMIZERS.pop("sign_sgd")
        DEFAULT_LR.pop("sign_sgd")


# --- errors read like a fix -------------------------------------------------------------------------

BAD_HYPERPARAMETERS = [
    (Adam, {"lr": -0.01}, ValueError, "Adam: lr must be > 0, got lr=-0.01"),
    (SGD, {"lr": 0}, ValueError, "SGD: lr must be > 0, got lr=0.0"),
    (SGD, {"lr": "0.01"}, TypeError, "SGD: lr must be a number, got lr='0.01'"),
    (SGD, {"lr": float("nan")}, ValueError, "SGD: lr must be finite, got lr=nan"),
    (Adam, {"betas": (1.0, 0.999)}, ValueError, "Adam: betas[0] must be in [0, 1), got betas=(1.0, 0.999)"),
    (Adamax, {"betas": (0.9, -0.1)}, ValueError, "Adamax: betas[1] must be in [0, 1), got betas=(0.9, -0.1)"),
    (NAdam, {"betas": 0.9}, TypeError, "NAdam: betas must be a pair of numbers in [0, 1), got betas=0.9"),
    (Adam, {"eps": -1e-8}, ValueError, "Adam: eps must be >= 0, got eps=-1e-08"),
    (Momentum, {"momentum": -0.5}, ValueError, "Momentum: momentum must be >= 0, got momentum=-0.5"),
    (Momentum, {"momentum": 0.0, "nesterov": True}, ValueError,
     "Momentum: nesterov=True needs momentum > 0 and dampening=0, got momentum=0.0, dampening=0.0"),
    (Momentum, {"dampening": 0.5, "nesterov": True}, ValueError,
     "Momentum: nesterov=True needs momentum > 0 and dampening=0, got momentum=0.9, dampening=0.5"),
    (Momentum, {"dampening": 2}, ValueError, "Momentum: dampening must be in [0, 1], got dampening=2.0"),
    (Nesterov, {"momentum": 0}, ValueError, "Nesterov: nesterov=True needs momentum > 0"),
    (RMSprop, {"alpha": 1.0}, ValueError, "RMSprop: alpha must be in [0, 1), got alpha=1.0"),
    (RMSprop, {"momentum": -1}, ValueError, "RMSprop: momentum must be >= 0, got momentum=-1.0"),
    (Adagrad, {"lr_decay": -1}, ValueError, "Adagrad: lr_decay must be >= 0, got lr_decay=-1.0"),
    (Adagrad, {"initial_accumulator_value": -0.1}, ValueError,
     "Adagrad: initial_accumulator_value must be >= 0, got initial_accumulator_value=-0.1"),
    (Adadelta, {"rho": 1.5}, ValueError, "Adadelta: rho must be in [0, 1], got rho=1.5"),
    (NAdam, {"momentum_decay": -1e-3}, ValueError, "NAdam: momentum_decay must be >= 0, got momentum_decay=-0.001"),
]


@pytest.mark.parametrize("cls, kwargs, error, message", BAD_HYPERPARAMETERS)
def test_invalid_hyperparameters_fail_at_construction(cls, kwargs, error, message):
    with pytest.raises(error) as err:
        cls([param(X0)], **kwargs)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_negative_weight_decay_is_rejected_by_all(name):
    cls = OPTIMIZERS[name]
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: weight_decay must be >= 0, got weight_decay=-0.1$"):
        cls([param(X0)], weight_decay=-0.1)


def test_params_must_be_an_ordered_list_of_parameter_nodes():
    w, b = param(X0, "w"), param(np.zeros(3), "b")
    with pytest.raises(TypeError, match=r"^Adam: params must be an ordered list of nodes, got a set .*model\.params"):
        Adam({w, b})
    with pytest.raises(TypeError, match=r"list\(params\.values\(\)\)"):
        Adam({"w": w, "b": b})
    with pytest.raises(ValueError, match=r"^Adam: params is empty; pass a list of parameter nodes"):
        Adam([])
    with pytest.raises(TypeError, match=r"^SGD: params must be a list of nodes, got Input 'w'"):
        SGD(w)
    with pytest.raises(TypeError, match=r"^SGD: params\[1\] is a ndarray, not a node"):
        SGD([w, np.zeros(3)])
    with pytest.raises(ValueError, match=r"^SGD: params\[2\] is the same node as params\[0\] \(Input 'w'\)"):
        SGD([w, b, w])
    with pytest.raises(ValueError, match=r"^SGD: params\[0\] is Input 'X', created with requires_grad=False"):
        SGD([Input(name="X", requires_grad=False)])
    # Ordered iterables other than lists are fine.
    assert SGD((w, b)).params == [w, b]
    assert SGD(p for p in [w, b]).params == [w, b]
    assert SGD({"w": w, "b": b}.values()).params == [w, b]


def test_computed_nodes_are_not_parameters():
    import flowlab.nodes as nodes
    X, W, b = Input(name="X"), param(X0, "W"), param(np.zeros(3), "b")
    with pytest.raises(TypeError, match=r"^SGD: params\[0\] is Linear 'dense_1', a computed node"):
        SGD([nodes.Linear(X, W, b, name="dense_1")])


def test_step_errors_name_the_parameter():
    w = param(X0, "dense_1/kernel")
    opt = Adam([w])
    with pytest.raises(RuntimeError, match=r"^Adam\.step: Input 'dense_1/kernel' has no gradient; run forward_and_backward"):
        opt.step()
    w.gradients = {w: np.ones(3)}
    with pytest.raises(ValueError, match=r"gradient of Input 'dense_1/kernel' has shape \(3,\) but its value has shape \(2, 3\)"):
        opt.step()


def test_a_failed_step_changes_nothing():
    w, b = param(X0, "w"), param(np.zeros(3), "b")
    opt = Momentum([w, b], lr=0.1)
    w.gradients = {w: np.ones_like(X0)}  # b has no gradient yet
    with pytest.raises(RuntimeError, match="Input 'b' has no gradient"):
        opt.step()
    assert opt.t == 0
    assert_allclose(w.value, X0, rtol=0)
    b.gradients = {b: np.ones(3)}
    opt.step()
    assert opt.t == 1
    assert_allclose(w.value, X0 - 0.1, rtol=RTOL)
