"""Tests of the optimizer protocol (dzcore.optimizers), with no plugin loaded."""

import io
import warnings

import numpy as np
import pytest

import dzcore.functions as F
from dzcore import Parameter, Variable, hookimpl, optimizers, plugins
from dzcore.errors import ShapeError, WeightsError
from dzcore.layers import Layer, Linear
from dzcore.optimizers import (
    UNIT_INTERVAL,
    ClipGrad,
    FreezeParam,
    HyperparameterError,
    Optimizer,
    WeightDecay,
)


class Leaky(Optimizer):
    """A test optimizer with one state slot: ``s <- decay * s + g; w -= lr * s``."""

    hyperparams = {**Optimizer.hyperparams, "decay": UNIT_INTERVAL}

    def __init__(self, lr=0.1, decay=0.5, **options):
        super().__init__(lr=lr, decay=decay, **options)

    def update_one(self, param):
        s = self.slot(param, "s")
        s *= self.decay
        s += param.grad.data
        param.data -= self.lr * s


class TwoLayer(Layer):
    def __init__(self, seed=0):
        super().__init__()
        self.l0 = Linear(4, in_size=3, seed=seed)
        self.l1 = Linear(2, in_size=4, seed=seed + 1)

    def forward(self, x):
        return self.l1(F.tanh(self.l0(x)))


class ParamsOnly:
    """Has params() but no namedparams(): state is keyed by position."""

    def __init__(self, *params):
        self._params = params

    def params(self):
        yield from self._params


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def batch(rng):
    return rng.standard_normal((5, 3)).astype(np.float32)


def _step(model, optimizer, x):
    model.cleargrads()
    loss = F.sum(model(x) ** 2)
    loss.backward()
    optimizer.update()


def _param(values, grad=None):
    param = Parameter(np.array(values, dtype=np.float32))
    if grad is not None:
        param.grad = Variable(np.array(grad, dtype=np.float32))
    return param


def test_setup_returns_self_and_keys_state_by_dotted_name(batch):
    model = TwoLayer()
    optimizer = Leaky()
    assert optimizer.setup(model) is optimizer
    _step(model, optimizer, batch)

    slots = {k for k in optimizer.state_dict() if k.startswith("state/")}
    assert slots == {f"state/l{i}.{p}/s" for i in (0, 1) for p in "Wb"}


def test_setup_keys_state_by_position_without_namedparams():
    a, b = _param([1.0], [1.0]), _param([2.0, 3.0], [1.0, 1.0])
    for target in (ParamsOnly(a, b), [a, b], (p for p in (a, b))):
        optimizer = Leaky().setup(target)
        optimizer.update()
        assert {k for k in optimizer.state_dict() if k.startswith("state/")} == {
            "state/0/s",
            "state/1/s",
        }


def test_setup_accepts_a_single_parameter():
    param = _param([1.0], [2.0])
    Leaky(lr=0.5).setup(param).update()
    np.testing.assert_array_equal(param.data, [0.0])


@pytest.mark.parametrize(
    "target, fragment",
    [
        (3, "got int"),
        ("weights", "got str"),
        ({"W": None}, "got dict"),
        (Variable(np.ones(2)), "got Variable at position 0"),
    ],
)
def test_setup_rejects_objects_without_parameters(target, fragment):
    with pytest.raises(TypeError, match="Leaky.setup: expected") as info:
        Leaky().setup(target)
    assert fragment in str(info.value)


def test_setup_rejects_lists_holding_other_things():
    with pytest.raises(TypeError, match="got ndarray at position 1"):
        Leaky().setup([_param([1.0]), np.ones(2)])
    with pytest.raises(ValueError, match="empty"):
        Leaky().setup([])


def test_update_changes_data_in_place_and_keeps_float32(batch):
    model = TwoLayer()
    optimizer = Leaky().setup(model)
    arrays = {name: p.data for name, p in model.namedparams()}
    before = {name: a.copy() for name, a in arrays.items()}
    _step(model, optimizer, batch)

    for name, param in model.namedparams():
        assert param.data is arrays[name]
        assert param.data.dtype == np.float32
        assert not np.array_equal(param.data, before[name])


def test_update_skips_parameters_without_gradient():
    used, unused = _param([1.0], [1.0]), _param([5.0])
    optimizer = Leaky(lr=1.0).setup([used, unused])
    optimizer.update()

    np.testing.assert_array_equal(unused.data, [5.0])
    np.testing.assert_array_equal(used.data, [0.0])
    assert "state/1/s" not in optimizer.state_dict()
    assert optimizer.t == 1


def test_update_before_setup_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="call setup"):
        Leaky().update()


def test_update_rejects_a_gradient_of_another_shape():
    param = _param([1.0, 2.0, 3.0], [1.0])
    with pytest.raises(ShapeError, match=r"'0'[\s\S]*\(3,\)[\s\S]*\(1,\)"):
        Leaky().setup([param]).update()
    np.testing.assert_array_equal(param.data, [1.0, 2.0, 3.0])


def test_update_finds_lazily_created_parameters(batch):
    layer = Linear(2, seed=0)
    optimizer = Leaky().setup(layer)
    _step(layer, optimizer, batch)
    assert "state/W/s" in optimizer.state_dict()


def test_update_one_of_the_base_class_is_not_implemented():
    param = _param([1.0], [1.0])
    with pytest.raises(NotImplementedError, match="Optimizer"):
        Optimizer(lr=0.1).setup([param]).update()


def test_hooks_run_in_order_on_the_parameters_with_gradients():
    calls = []
    with_grad, without = _param([1.0], [1.0]), _param([2.0])
    optimizer = Leaky().setup([with_grad, without])
    optimizer.add_hook(lambda params: calls.append(("a", list(params))))
    optimizer.add_hook(lambda params: calls.append(("b", list(params))))
    optimizer.update()
    assert [name for name, _ in calls] == ["a", "b"]
    assert all(params == [with_grad] for _, params in calls)


def test_add_hook_rejects_a_non_callable():
    with pytest.raises(TypeError, match="expected a callable"):
        Leaky().add_hook(0.1)


def test_weight_decay_adds_rate_times_weight_to_the_gradient():
    param = _param([1.0, -2.0], [0.5, 0.5])
    optimizer = Leaky(lr=1.0, decay=0.0).setup([param])
    optimizer.add_hook(WeightDecay(0.1))
    optimizer.update()
    np.testing.assert_allclose(param.data, [1.0 - 0.6, -2.0 - 0.3], rtol=1e-6)
    assert param.data.dtype == np.float32


def test_clip_grad_scales_the_global_norm_down_to_max_norm():
    a, b = _param([0.0, 0.0], [3.0, 0.0]), _param([0.0], [4.0])
    ClipGrad(1.0)([a, b])
    np.testing.assert_allclose(a.grad.data, [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.data, [0.8], rtol=1e-5)
    assert a.grad.data.dtype == np.float32


def test_clip_grad_leaves_small_gradients_alone():
    a = _param([0.0, 0.0], [0.3, 0.4])
    ClipGrad(1.0)([a])
    np.testing.assert_array_equal(a.grad.data, np.float32([0.3, 0.4]))


def test_freeze_param_keeps_parameters_and_layers_fixed(batch):
    model = TwoLayer()
    optimizer = Leaky().setup(model)
    optimizer.add_hook(FreezeParam(model.l0, model.l1.b))
    frozen = [p.data.copy() for p in (model.l0.W, model.l0.b, model.l1.b)]
    _step(model, optimizer, batch)

    for before, param in zip(frozen, (model.l0.W, model.l0.b, model.l1.b), strict=True):
        np.testing.assert_array_equal(param.data, before)
    assert "state/l1.W/s" in optimizer.state_dict()
    assert "state/l0.W/s" not in optimizer.state_dict()


@pytest.mark.parametrize(
    "make, error, fragment",
    [
        (lambda: WeightDecay(-1.0), ValueError, "WeightDecay: rate"),
        (lambda: ClipGrad(0.0), ValueError, "ClipGrad: max_norm"),
        (lambda: ClipGrad("1"), TypeError, "ClipGrad: max_norm"),
        (lambda: FreezeParam(np.ones(2)), TypeError, "FreezeParam"),
    ],
)
def test_hooks_reject_bad_arguments(make, error, fragment):
    with pytest.raises(error, match=fragment):
        make()


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"lr": -0.1}, "'lr' must be >= 0, got -0.1"),
        ({"decay": 1.0}, "'decay' must be in [0, 1), got 1.0"),
        ({"lr": float("nan")}, "'lr' must be >= 0"),
        ({"dacay": 0.1}, "unknown option 'dacay'"),
    ],
)
def test_bad_hyperparameters_raise_value_error_naming_optimizer_and_option(
    options, fragment
):
    with pytest.raises(HyperparameterError) as info:
        Leaky(**options)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("Leaky: ")
    assert fragment in str(info.value)


def test_unknown_option_suggests_the_close_name():
    with pytest.raises(ValueError, match="did you mean 'decay'"):
        Leaky(dacay=0.1)


def test_hyperparameters_are_checked_when_set_later():
    optimizer = Leaky()
    optimizer.lr = 0.5
    assert optimizer.lr == 0.5
    with pytest.raises(ValueError, match="Leaky: option 'lr'"):
        optimizer.lr = -1
    with pytest.raises(TypeError, match="real number"):
        optimizer.lr = "0.1"
    assert optimizer.lr == 0.5


class DezeroStyleSGD(Optimizer):
    """Written as in DeZero: no hyperparameters passed to the base class."""

    def __init__(self, lr=0.01):
        super().__init__()
        self.lr = lr

    def update_one(self, param):
        param.data -= self.lr * param.grad.data


def test_dezero_style_subclass_works_and_is_still_checked():
    param = _param([1.0], [1.0])
    optimizer = DezeroStyleSGD(lr=0.5).setup([param])
    optimizer.update()
    np.testing.assert_array_equal(param.data, [0.5])
    assert optimizer.state_dict()["hyperparams/lr"] == 0.5
    with pytest.raises(ValueError, match="DezeroStyleSGD: option 'lr'"):
        DezeroStyleSGD(lr=-1.0)


def test_base_class_takes_lr_positionally():
    assert Optimizer(0.5).lr == 0.5
    assert not hasattr(Optimizer(), "lr")


def test_numpy_hyperparameters_become_python_floats():
    # A NumPy float64 scalar would upcast float32 arithmetic under NumPy 2.
    optimizer = Leaky(lr=np.float64(0.25), decay=np.float32(0.5))
    assert type(optimizer.lr) is float and type(optimizer.decay) is float
    assert repr(optimizer) == "Leaky(lr=0.25, decay=0.5)"


def _trained_pair(batch, steps):
    """A model trained for ``steps``, and a twin with the same weights."""
    model, twin = TwoLayer(), TwoLayer()
    optimizer = Leaky(lr=0.05, decay=0.9).setup(model)
    for _ in range(steps):
        _step(model, optimizer, batch)
    for (_, p), (_, q) in zip(model.namedparams(), twin.namedparams(), strict=True):
        q.data[...] = p.data
    return model, optimizer, twin


def test_state_dict_round_trip_through_npz_resumes_exactly(batch):
    model, optimizer, twin = _trained_pair(batch, 3)
    buffer = io.BytesIO()
    np.savez(buffer, **optimizer.state_dict())
    buffer.seek(0)
    resumed = Leaky(lr=0.9, decay=0.1).setup(twin)
    resumed.load_state_dict(np.load(buffer, allow_pickle=False))

    assert (resumed.lr, resumed.decay, resumed.t) == (0.05, 0.9, 3)
    for _ in range(3):
        _step(model, optimizer, batch)
        _step(twin, resumed, batch)
    for (_, p), (_, q) in zip(model.namedparams(), twin.namedparams(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_is_a_copy(batch):
    model, optimizer, _ = _trained_pair(batch, 1)
    saved = optimizer.state_dict()
    before = saved["state/l0.W/s"].copy()
    _step(model, optimizer, batch)
    np.testing.assert_array_equal(saved["state/l0.W/s"], before)


def test_load_state_dict_for_other_parameters_names_them_and_changes_nothing(
    batch,
):
    model, optimizer, _ = _trained_pair(batch, 2)
    saved = optimizer.state_dict()
    other = Leaky().setup(Linear(2, in_size=3, seed=0))
    _step(other.target, other, batch)
    before = other.state_dict()

    with pytest.raises(WeightsError, match=r"l0\.W, l0\.b, l1\.W, l1\.b"):
        other.load_state_dict(saved)
    after = other.state_dict()
    assert after.keys() == before.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


@pytest.mark.parametrize(
    "change, error, fragment",
    [
        (lambda s: s.update({"optimizer": "Adam"}), WeightsError, "saved by"),
        (lambda s: s.update({"t": -1}), WeightsError, "'t' must be"),
        (lambda s: s.update({"t": 1.5}), WeightsError, "'t' must be"),
        (
            lambda s: s.update({"state/l0.W/s": np.zeros((2, 2), np.float32)}),
            WeightsError,
            r"'l0\.W/s'[\s\S]*\(3, 4\)[\s\S]*\(2, 2\)",
        ),
        (lambda s: s.update({"hyperparams/lr": -1.0}), ValueError, "'lr'"),
        (lambda s: s.update({"hyperparams/foo": 1.0}), ValueError, "'foo'"),
        (lambda s: s.update({"junk": 1}), WeightsError, "'junk'"),
    ],
)
def test_load_state_dict_rejects_bad_states_unchanged(batch, change, error, fragment):
    model, optimizer, _ = _trained_pair(batch, 2)
    state = optimizer.state_dict()
    change(state)
    with pytest.raises(error, match=fragment):
        optimizer.load_state_dict(state)
    assert optimizer.t == 2 and optimizer.lr == 0.05


def test_load_state_dict_before_setup_is_a_runtime_error(batch):
    _, optimizer, _ = _trained_pair(batch, 1)
    with pytest.raises(RuntimeError, match="setup"):
        Leaky().load_state_dict(optimizer.state_dict())


def test_load_state_dict_casts_state_to_the_parameter_dtype(batch):
    _, optimizer, twin = _trained_pair(batch, 1)
    state = {
        k: v.astype(np.float64) if isinstance(v, np.ndarray) else v
        for k, v in optimizer.state_dict().items()
    }
    resumed = Leaky().setup(twin)
    resumed.load_state_dict(state)
    assert resumed.state_dict()["state/l0.W/s"].dtype == np.float32


class _ToyPlugin:
    @hookimpl
    def dz_register_optimizers(self, registry):
        registry.add("Leaky", Leaky, summary="test optimizer", aliases=("leaky_sgd",))


@pytest.fixture
def toy_plugin(monkeypatch):
    monkeypatch.setenv("DZ_PLUGINS", "")
    plugins.reset()
    name = plugins.register(_ToyPlugin(), name="dz_test_optimizers")
    yield name
    plugins.unregister(name)
    plugins.reset()


def test_namespace_resolves_registered_optimizers(toy_plugin):
    assert optimizers.get("leaky") is Leaky
    assert optimizers.get("LEAKY_SGD") is Leaky
    assert optimizers.Leaky is Leaky
    assert "Leaky" in dir(optimizers) or "leaky" in dir(optimizers)


def test_namespace_missing_name_is_an_attribute_error(toy_plugin):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not hasattr(optimizers, "NoSuchOptimizer")
    with pytest.raises(LookupError):
        optimizers.get("no_such_optimizer")
