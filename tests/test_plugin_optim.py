"""Tests of the dz-optim plugin: update rules, dtype, state and registration."""

import importlib.metadata
import io
import math

import numpy as np
import pytest

import dzcore.functions as F
import dzplugins.optim
from dzcore import Parameter, Variable, optimizers, plugins
from dzcore.layers import Linear
from dzplugins.optim.adam import Adam, AdamW
from dzplugins.optim.adaptive import AdaDelta, AdaGrad
from dzplugins.optim.sgd import SGD, MomentumSGD

ALL = (SGD, MomentumSGD, AdaGrad, AdaDelta, Adam, AdamW)


def _ref_sgd(w, grads, lr=0.01):
    for g in grads:
        w = w - lr * g
    return w


def _ref_momentum(w, grads, lr=0.01, momentum=0.9):
    v = np.zeros_like(w)
    for g in grads:
        v = momentum * v - lr * g
        w = w + v
    return w


def _ref_adagrad(w, grads, lr=0.001, eps=1e-8):
    h = np.zeros_like(w)
    for g in grads:
        h = h + g**2
        w = w - lr * g / (np.sqrt(h) + eps)
    return w


def _ref_adadelta(w, grads, rho=0.95, eps=1e-6):
    msg, msdx = np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        msg = rho * msg + (1 - rho) * g**2
        dx = np.sqrt((msdx + eps) / (msg + eps)) * g
        msdx = rho * msdx + (1 - rho) * dx**2
        w = w - dx
    return w


def _ref_adam(w, grads, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, decay=0.0):
    # Textbook form with bias-corrected moments; DeZero adds eps before the
    # correction, which is the textbook eps divided by sqrt(1 - beta2**t).
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        w = w * (1 - lr * decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps / math.sqrt(1 - beta2**t))
    return w


def _ref_adamw(w, grads, lr=0.001, weight_decay=0.01):
    return _ref_adam(w, grads, lr=lr, decay=weight_decay)


CASES = [
    (SGD, {"lr": 0.1}, _ref_sgd),
    (MomentumSGD, {"lr": 0.05, "momentum": 0.8}, _ref_momentum),
    (AdaGrad, {"lr": 0.1, "eps": 1e-8}, _ref_adagrad),
    (AdaDelta, {"rho": 0.9, "eps": 1e-6}, _ref_adadelta),
    (Adam, {"lr": 0.01, "beta1": 0.8, "beta2": 0.99}, _ref_adam),
    (AdamW, {"lr": 0.01, "weight_decay": 0.1}, _ref_adamw),
]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def optim_plugin(monkeypatch):
    """Only this plugin, registered in-process; removed on teardown."""
    monkeypatch.setenv("DZ_PLUGINS", "")
    plugins.reset()
    name = plugins.register(dzplugins.optim, name="dz_test_optim")
    yield name
    plugins.unregister(name)
    plugins.reset()


def _run(cls, options, w0, grads):
    """Apply ``grads`` one by one to a float32 copy of ``w0``; return the param."""
    param = Parameter(w0.astype(np.float32))
    optimizer = cls(**options).setup([param])
    for g in grads:
        param.grad = Variable(g.astype(np.float32))
        optimizer.update()
    return param, optimizer


@pytest.mark.parametrize(
    "cls, options, reference", CASES, ids=[c[0].__name__ for c in CASES]
)
def test_optimizer_matches_float64_reference_over_several_steps(
    cls, options, reference, rng
):
    w0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(6)]
    param, _ = _run(cls, options, w0, grads)

    expected = reference(w0, grads, **options)
    np.testing.assert_allclose(param.data, expected, rtol=2e-5, atol=2e-6)
    assert not np.allclose(expected, w0)


@pytest.mark.parametrize(
    "cls, options, grads, expected",
    [
        (SGD, {"lr": 0.1}, [0.5], 0.95),
        (MomentumSGD, {"lr": 0.1, "momentum": 0.5}, [1.0, 1.0], 1 - 0.1 - 0.15),
        (AdaGrad, {"lr": 0.1}, [4.0], 0.9),
        (AdaDelta, {}, [1.0], 1 - math.sqrt(1e-6 / (0.05 + 1e-6))),
        (Adam, {"lr": 0.1}, [-3.0], 1.1),
        (AdamW, {"lr": 0.1, "weight_decay": 0.5}, [2.0], 0.95 - 0.1),
    ],
)
def test_optimizer_first_steps_match_hand_values(cls, options, grads, expected):
    grads = [np.array([g]) for g in grads]
    param, _ = _run(cls, options, np.array([1.0]), grads)
    np.testing.assert_allclose(param.data, [expected], rtol=1e-6)


@pytest.mark.parametrize("cls", ALL)
def test_optimizer_updates_in_place_and_keeps_float32(cls, rng):
    param = Parameter(rng.standard_normal((2, 3)).astype(np.float32))
    array = param.data
    optimizer = cls(lr=0.1).setup([param])
    for _ in range(3):
        param.grad = Variable(rng.standard_normal((2, 3)).astype(np.float32))
        optimizer.update()

    assert param.data is array and array.dtype == np.float32
    for key, value in optimizer.state_dict().items():
        if key.startswith("state/"):
            assert value.dtype == np.float32, key


@pytest.mark.parametrize("cls", ALL)
def test_optimizer_skips_parameters_without_gradient(cls):
    used = Parameter(np.ones(2, np.float32))
    idle = Parameter(np.full(2, 7.0, np.float32))
    optimizer = cls(lr=0.1).setup([used, idle])
    used.grad = Variable(np.ones(2, np.float32))
    optimizer.update()

    np.testing.assert_array_equal(idle.data, [7.0, 7.0])
    assert not np.array_equal(used.data, [1.0, 1.0])
    assert not any(k.startswith("state/1/") for k in optimizer.state_dict())


@pytest.mark.parametrize("cls", ALL)
def test_optimizer_zero_gradient_from_fresh_state(cls):
    param = Parameter(np.full(3, 2.0, np.float32))
    optimizer = cls(lr=0.1).setup([param])
    param.grad = Variable(np.zeros(3, np.float32))
    optimizer.update()

    factor = 1 - 0.1 * 0.01 if cls is AdamW else 1.0
    np.testing.assert_allclose(param.data, np.float32(2.0 * factor), rtol=1e-7)


def _save_and_load(state):
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    return np.load(buffer, allow_pickle=False)


@pytest.mark.parametrize("cls", ALL)
def test_optimizer_resumes_identically_from_state_dict(cls, rng):
    grads = [rng.standard_normal(5).astype(np.float32) for _ in range(6)]
    param, optimizer = _run(cls, {"lr": 0.05}, rng.standard_normal(5), grads[:3])
    twin = Parameter(param.data.copy())
    resumed = cls().setup([twin])
    resumed.load_state_dict(_save_and_load(optimizer.state_dict()))

    for g in grads[3:]:
        param.grad, twin.grad = Variable(g.copy()), Variable(g.copy())
        optimizer.update()
        resumed.update()
    np.testing.assert_array_equal(param.data, twin.data)
    assert resumed.lr == 0.05 and resumed.t == 6


@pytest.mark.parametrize("cls", ALL)
def test_optimizer_decreases_a_convex_quadratic(cls):
    layer = Linear(1, in_size=2, seed=0)
    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], np.float32)
    t = np.array([[1.0], [0.0], [2.0]], np.float32)
    optimizer = cls(lr=0.05).setup(layer)
    losses = []
    for _ in range(20):
        layer.cleargrads()
        loss = F.mean_squared_error(layer(x), t)
        loss.backward()
        optimizer.update()
        losses.append(float(loss.data))
    assert losses[-1] < losses[0]


def test_defaults_are_dezeros():
    assert SGD().lr == 0.01
    assert (MomentumSGD().lr, MomentumSGD().momentum) == (0.01, 0.9)
    assert (AdaGrad().lr, AdaGrad().eps) == (0.001, 1e-8)
    assert (AdaDelta().rho, AdaDelta().eps, AdaDelta().lr) == (0.95, 1e-6, 1.0)
    adam = Adam()
    assert (adam.alpha, adam.beta1, adam.beta2, adam.eps) == (0.001, 0.9, 0.999, 1e-8)
    assert AdamW().weight_decay == 0.01


def test_adam_takes_the_learning_rate_as_alpha_or_lr():
    assert Adam(0.1).lr == 0.1
    assert Adam(alpha=0.2).lr == 0.2
    assert Adam(lr=0.3).alpha == 0.3
    adam = AdamW(lr=0.1)
    adam.alpha = 0.4
    assert adam.lr == 0.4
    with pytest.raises(ValueError, match="Adam: got both alpha=0.1 and lr=0.2"):
        Adam(alpha=0.1, lr=0.2)


@pytest.mark.parametrize("cls", ALL)
def test_negative_learning_rate_names_optimizer_and_option(cls):
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: option 'lr' must be"):
        cls(lr=-0.1)


@pytest.mark.parametrize("cls", ALL)
def test_unknown_option_names_optimizer_and_option(cls):
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: unknown option 'moment'"):
        cls(moment=0.9)


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda: MomentumSGD(momentum=1.0), "'momentum' must be in [0, 1)"),
        (lambda: AdaDelta(rho=-0.1), "'rho' must be in [0, 1)"),
        (lambda: AdaDelta(eps=0.0), "'eps' must be > 0"),
        (lambda: Adam(beta2=1.5), "'beta2' must be in [0, 1)"),
        (lambda: AdamW(weight_decay=-1), "'weight_decay' must be >= 0"),
    ],
)
def test_out_of_range_hyperparameters_are_value_errors(make, fragment):
    with pytest.raises(ValueError) as info:
        make()
    assert fragment in str(info.value)


def test_registry_finds_each_optimizer_by_any_spelling(optim_plugin):
    assert optimizers.get("adam") is Adam
    assert optimizers.get("ADAMW") is AdamW
    assert optimizers.SGD is SGD
    for name in ("MomentumSGD", "momentumsgd", "momentum_sgd", "momentum"):
        assert optimizers.get(name) is MomentumSGD
    assert optimizers.get("adagrad") is AdaGrad
    assert optimizers.get("AdaDelta") is AdaDelta
    assert optimizers.get(f"{optim_plugin}:sgd") is SGD


def test_registry_metadata_is_readable_without_import(optim_plugin):
    momentum = plugins.describe("optimizers", "momentum_sgd")
    assert momentum.metadata["has_momentum"] is True
    assert momentum.metadata["defaults"] == {"lr": 0.01, "momentum": 0.9}
    assert plugins.describe("optimizers", "sgd").metadata["has_momentum"] is False
    assert plugins.describe("optimizers", "adamw").summary
    assert plugins.available("optimizers") == [
        "AdaDelta", "AdaGrad", "Adam", "AdamW", "MomentumSGD", "SGD",
    ]  # fmt: skip


def test_registered_defaults_match_the_classes(optim_plugin):
    for cls in ALL:
        defaults = plugins.describe("optimizers", cls.__name__).metadata["defaults"]
        optimizer = cls()
        assert {k: getattr(optimizer, k) for k in defaults} == defaults


def test_installed_distribution_declares_the_entry_point():
    dist = importlib.metadata.distribution("dz-optim")
    assert dist.version == "0.1.0"
    points = [ep for ep in dist.entry_points if ep.group == "dz.plugins"]
    assert [(ep.name, ep.value) for ep in points] == [("optim", "dzplugins.optim")]


def test_installed_plugin_loads_through_its_entry_point(monkeypatch):
    monkeypatch.setenv("DZ_PLUGINS", "optim")
    plugins.reset()
    try:
        assert optimizers.get("adam") is Adam
        assert plugins.describe("optimizers", "adam").plugin == "optim"
    finally:
        plugins.reset()
