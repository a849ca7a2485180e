"""Tests of dzcore.models: Model, Sequential and MLP."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dzcore
import dzcore.functions as F
from dzcore import Function, Variable, plugins
from dzcore.layers import Linear
from dzcore.models import MLP, Model, Sequential

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_T = np.array([[0], [1], [1], [0]], np.float32)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def halve(x):
    return x * 0.5


class Square(Function):
    """x ** 2 as a Function subclass, as a plugin could register it."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return 2 * self.inputs[0] * gy


@pytest.fixture
def recorded_lookups(monkeypatch):
    """Replace the registry lookup with one that records names and gives halve."""
    names = []

    def lookup(kind, name):
        names.append((kind, name))
        return {"halve": halve, "square": Square}.get(name, halve)

    monkeypatch.setattr(plugins, "lookup", lookup, raising=False)
    return names


@pytest.fixture
def no_plugins(monkeypatch):
    """Load no installed plugin (DZ_PLUGINS=""), whatever this machine has."""
    monkeypatch.setenv("DZ_PLUGINS", "")
    plugins.reset()
    yield
    monkeypatch.undo()
    plugins.reset()


class FakeActivations:
    """An in-process plugin that registers one activation."""

    @dzcore.hookimpl
    def dz_register_functions(self, registry):
        registry.add("dz_test_halve", halve, summary="x / 2, for the MLP tests")


@pytest.fixture
def fake_activation_plugin(no_plugins):
    name = plugins.register(FakeActivations(), name="dz_test_models")
    yield name
    plugins.unregister(name)


# Model and Sequential


def test_model_subclass_tracks_layers_like_a_layer():
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.body = Linear(4, in_size=3)
            self.head = Linear(2, in_size=4)

        def forward(self, x):
            return self.head(F.tanh(self.body(x)))

    net = Net()

    assert [n for n, _ in net.namedparams()] == ["body.W", "body.b", "head.W", "head.b"]
    assert net(np.ones((5, 3), np.float32)).shape == (5, 2)


def test_sequential_names_layers_by_position_and_composes_in_order(rng):
    first, last = Linear(4, in_size=3, seed=0), Linear(2, in_size=4, seed=1)
    model = Sequential(first, F.tanh, last)
    x = rng.standard_normal((5, 3)).astype(np.float32)

    y = model(x)

    assert [n for n, _ in model.namedparams()] == ["l0.W", "l0.b", "l2.W", "l2.b"]
    np.testing.assert_allclose(y.data, last(F.tanh(first(x))).data, rtol=1e-6)
    assert len(model) == 3 and model[2] is last and list(model)[1] is F.tanh


@pytest.mark.parametrize(
    ("steps", "error", "pattern"),
    [
        ((), ValueError, "at least one"),
        ((Linear(2), 3), TypeError, "step 1 is a int, expected a Layer or a callable"),
    ],
)
def test_sequential_rejects_bad_steps(steps, error, pattern):
    with pytest.raises(error, match=pattern):
        Sequential(*steps)


# MLP


def test_mlp_names_layers_l0_l1_and_infers_input_size():
    model = MLP((5, 3), activation=F.tanh)

    y = model(np.ones((4, 2), np.float32))

    assert [n for n, _ in model.namedparams()] == ["l0.W", "l0.b", "l1.W", "l1.b"]
    assert (y.shape, y.dtype) == ((4, 3), np.float32)
    assert model.l0.W.shape == (2, 5) and model.l1.W.shape == (5, 3)


def test_mlp_applies_the_activation_between_layers_only(rng):
    model = MLP((4, 3), activation=F.tanh, seed=0)
    x = rng.standard_normal((2, 6)).astype(np.float32)

    y = model(x)

    hidden = np.tanh(x @ model.l0.W.data + model.l0.b.data)
    expected = hidden @ model.l1.W.data + model.l1.b.data
    np.testing.assert_allclose(y.data, expected, rtol=1e-5, atol=1e-6)


def test_mlp_default_activation_is_sigmoid_looked_up_on_first_call(recorded_lookups):
    model = MLP((4, 1))
    assert recorded_lookups == [], "the name was resolved at construction"

    model(np.ones((2, 3), np.float32))
    model(np.ones((2, 3), np.float32))

    assert recorded_lookups == [("functions", "sigmoid")]
    assert model.activation is halve


def test_mlp_activation_registered_as_function_class_is_instantiated_per_call(
    recorded_lookups,
):
    model = MLP((2, 1), activation="square", seed=0)
    x = Variable(np.ones((1, 3), np.float32))

    model(x).sum().backward()
    model(x)

    assert model.l0.W.grad is not None
    assert recorded_lookups == [("functions", "square")]


def test_mlp_activation_name_resolves_through_a_registered_plugin(
    fake_activation_plugin, rng
):
    model = MLP((4, 2), activation="DZ_TEST_HALVE", seed=0)
    x = rng.standard_normal((3, 5)).astype(np.float32)

    y = model(x)

    assert model.activation is halve
    hidden = 0.5 * (x @ model.l0.W.data + model.l0.b.data)
    expected = hidden @ model.l1.W.data + model.l1.b.data
    np.testing.assert_allclose(y.data, expected, rtol=1e-5, atol=1e-6)


def test_mlp_default_sigmoid_without_its_plugin_names_the_provider(no_plugins):
    model = MLP((4, 1))  # building needs no plugin

    with pytest.raises(LookupError, match=r"'sigmoid'.*dz-activations"):
        model(np.ones((2, 3), np.float32))


def test_mlp_unknown_activation_name_fails_at_first_call_naming_it(no_plugins):
    model = MLP((3, 1), activation="dz_no_such_activation")

    with pytest.raises(LookupError, match="dz_no_such_activation"):
        model(np.ones((2, 2), np.float32))


@pytest.mark.parametrize(
    ("args", "error", "pattern"),
    [
        (((),), ValueError, "fc_output_sizes is empty"),
        (((3, 0),), ValueError, "out_size must be positive, got 0"),
        (((3,), 42), TypeError, "activation must be a callable.*got int"),
    ],
)
def test_mlp_rejects_bad_arguments(args, error, pattern):
    with pytest.raises(error, match=pattern):
        MLP(*args)


def test_mlp_seed_reproduces_weights_and_dtype_is_honoured():
    x = np.ones((2, 3))
    first, second = (MLP((4, 2), F.tanh, seed=5, dtype=np.float64) for _ in range(2))

    np.testing.assert_array_equal(first(x).data, second(x).data)
    assert all(p.dtype == np.float64 for p in first.params())


def test_mlp_learns_xor_with_a_hand_written_sgd_loop():
    model = MLP((8, 1), activation=F.tanh, seed=0)
    losses = []

    for _ in range(300):
        loss = F.mean_squared_error(model(XOR_X), XOR_T)
        model.cleargrads()
        loss.backward()
        for param in model.params():
            param.data -= 0.2 * param.grad.data
        losses.append(float(loss.data))

    assert losses[-1] < 0.01 < losses[0]
    np.testing.assert_array_equal(np.round(model(XOR_X).data), XOR_T)
    assert all(p.dtype == np.float32 for p in model.params())


def test_mlp_weights_round_trip_gives_the_same_outputs(tmp_path, rng):
    path = tmp_path / "mlp.npz"
    x = rng.standard_normal((4, 3)).astype(np.float32)
    trained = MLP((6, 2), activation=F.tanh, seed=1)
    expected = trained(x).data
    trained.save_weights(path)
    fresh = MLP((6, 2), activation=F.tanh, seed=2)

    fresh.load_weights(path)

    assert fresh.l0.in_size == 3
    np.testing.assert_array_equal(fresh(x).data, expected)


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    in_size=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_mlp_of_any_shape_round_trips_into_a_fresh_uninitialised_mlp(
    sizes, in_size, seed
):
    x = np.random.default_rng(seed).standard_normal((2, in_size)).astype(np.float32)
    trained = MLP(sizes, activation=F.tanh, seed=seed)
    expected = trained(x).data
    fresh = MLP(sizes, activation=F.tanh)

    with tempfile.TemporaryDirectory() as folder:
        trained.save_weights(Path(folder) / "w.npz")
        fresh.load_weights(Path(folder) / "w.npz")

    names = [f"l{i}.{p}" for i in range(len(sizes)) for p in ("W", "b")]
    assert [name for name, _ in fresh.namedparams()] == names
    np.testing.assert_array_equal(fresh(x).data, expected)
