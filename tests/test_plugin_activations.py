"""Tests of the dz-activations plugin: values, gradients, stability, registry."""

import importlib.metadata
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dzcore.functions as F
import dzplugins.activations
from dzcore import Variable, plugins
from dzcore.errors import DtypeError
from dzplugins.activations import ops

_C = math.sqrt(2 / math.pi)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


REFERENCES = {
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "sigmoid": _sigmoid,
    "softplus": lambda x: np.log1p(np.exp(x)),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(_C * (x + 0.044715 * x**3))),
}
NAMES = sorted(REFERENCES)
MARGIN = 1e-3


def _function(name):
    return getattr(ops, name)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def activations_plugin(monkeypatch):
    """Only this plugin, registered in-process; removed on teardown."""
    monkeypatch.setenv("DZ_PLUGINS", "")
    plugins.reset()
    name = plugins.register(dzplugins.activations, name="dz_test_activations")
    yield name
    plugins.unregister(name)
    plugins.reset()


def _values(draw, cls, size):
    """Draw floats in ``cls.domain``, at least MARGIN away from its kinks."""
    low, high = cls.domain
    values = []
    for _ in range(size):
        x = draw(st.floats(low, high, allow_nan=False, allow_subnormal=False))
        for kink in cls.kinks:
            if abs(x - kink) < MARGIN:
                x = kink + math.copysign(MARGIN, x - kink or 1.0)
        values.append(x)
    return np.array(values, dtype=np.float64).reshape(2, 3)


def _analytic_grad(f, x, gy):
    xv = Variable(x.copy())
    y = f(xv)
    y.grad = Variable(gy)
    y.backward()
    return xv.grad.data


def _numeric_grad(f, x, gy, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += eps
        minus[index] -= eps
        up = np.sum(gy * f(Variable(plus)).data)
        down = np.sum(gy * f(Variable(minus)).data)
        grad[index] = (up - down) / (2 * eps)
    return grad


def _first_grad(f, x, gy, create_graph):
    xv = Variable(x)
    y = f(xv)
    y.grad = Variable(gy)
    y.backward(create_graph=create_graph)
    gx = xv.grad
    xv.cleargrad()
    return xv, gx


@pytest.mark.parametrize("name", NAMES)
def test_activation_forward_matches_numpy_reference(name, rng):
    x = rng.uniform(-6, 6, size=(4, 5))
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        y = _function(name)(x.astype(dtype))
        assert y.dtype == dtype
        np.testing.assert_allclose(y.data, REFERENCES[name](x), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_activation_gradient_matches_central_differences(name, data):
    f = _function(name)
    x = _values(data.draw, f.function_class, 6)
    gy = np.random.default_rng(data.draw(st.integers(0, 2**16))).uniform(-1, 1, x.shape)
    np.testing.assert_allclose(
        _analytic_grad(f, x, gy), _numeric_grad(f, x, gy), rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_activation_double_grad_matches_central_differences(name, data):
    f = _function(name)
    x = _values(data.draw, f.function_class, 6)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    gy, ggx = rng.uniform(-1, 1, x.shape), rng.uniform(-1, 1, x.shape)

    xv, gx = _first_grad(f, x, gy, create_graph=True)
    F.sum(gx * ggx).backward()
    analytic = np.zeros_like(x) if xv.grad is None else xv.grad.data

    def grad_of(xvar):
        return Variable(_first_grad(f, xvar.data, gy, create_graph=False)[1].data)

    numeric = _numeric_grad(grad_of, x, ggx)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_activation_declares_its_domain_and_kinks(name):
    cls = _function(name).function_class
    low, high = cls.domain
    assert low < high
    assert all(low < kink < high for kink in cls.kinks)
    assert bool(cls.kinks) == (name in ("relu", "leaky_relu"))


@pytest.mark.parametrize("name", NAMES)
def test_activation_is_stable_for_huge_float32_inputs(name):
    x = np.array([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4], np.float32)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error")
        xv = Variable(x)
        y = _function(name)(xv)
        y.backward()
    assert y.dtype == np.float32 and xv.grad.dtype == np.float32
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(xv.grad.data))


def test_sigmoid_and_softplus_tails_keep_relative_precision():
    x = np.array([-1e4, -80.0, -20.0, 20.0, 80.0, 1e4], np.float32)
    x64 = x.astype(np.float64)
    expected_sigmoid = np.exp(-np.logaddexp(0, -x64))
    expected_softplus = np.logaddexp(0, x64)
    np.testing.assert_allclose(ops.sigmoid(x).data, expected_sigmoid, rtol=1e-6)
    np.testing.assert_allclose(ops.softplus(x).data, expected_softplus, rtol=1e-6)
    assert ops.sigmoid(x).data[1] > 0  # exp(-80) is representable in float32


def test_gelu_saturates_to_identity_and_zero():
    x = np.array([-1e4, -30.0, 30.0, 1e4], np.float32)
    xv = Variable(x)
    y = ops.gelu(xv)
    y.backward()
    np.testing.assert_array_equal(y.data, [0.0, 0.0, 30.0, 1e4])
    np.testing.assert_array_equal(xv.grad.data, [0.0, 0.0, 1.0, 1.0])


def test_gelu_tanh_approximation_is_close_to_the_erf_form():
    x = np.linspace(-6, 6, 241)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    approx = ops.gelu(x).data
    assert np.max(np.abs(approx - exact)) < 1e-3
    assert np.max(np.abs(approx - exact)) > 0  # it is the approximation


def test_kink_conventions_at_zero():
    x = Variable(np.zeros(1))
    ops.relu(x).backward()
    assert x.grad.data[0] == 0.0
    x.cleargrad()
    ops.leaky_relu(x, slope=0.3).backward()
    assert x.grad.data[0] == pytest.approx(0.3)


def test_leaky_relu_uses_its_slope(rng):
    x = rng.standard_normal(8)
    np.testing.assert_allclose(
        ops.leaky_relu(x, slope=0.01).data, np.where(x > 0, x, 0.01 * x)
    )


@pytest.mark.parametrize(
    "slope, error", [("0.1", TypeError), (True, TypeError), (math.inf, ValueError)]
)
def test_leaky_relu_rejects_bad_slopes(slope, error):
    with pytest.raises(error, match="leaky_relu: slope"):
        ops.leaky_relu(np.ones(2), slope=slope)


@pytest.mark.parametrize("name", NAMES)
def test_activation_rejects_integer_input(name):
    with pytest.raises(DtypeError, match="expected a floating array, got int64"):
        _function(name)(np.arange(3))


def test_registry_resolves_the_activations(activations_plugin):
    for name in NAMES:
        assert F.get(name) is _function(name)
    assert F.relu is ops.relu
    assert F.get(f"{activations_plugin}:GELU") is ops.gelu
    assert plugins.available("functions") == NAMES


def test_installed_distribution_declares_the_entry_point():
    dist = importlib.metadata.distribution("dz-activations")
    assert dist.version == "0.1.0"
    points = [ep for ep in dist.entry_points if ep.group == "dz.plugins"]
    assert [(ep.name, ep.value) for ep in points] == [
        ("activations", "dzplugins.activations")
    ]
