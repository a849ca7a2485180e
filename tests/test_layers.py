"""Tests of dzcore.layers: parameter tracking, Linear, and weights files."""

import os
import zipfile

import numpy as np
import pytest

import dzcore.functions as F
from dzcore import Parameter, Variable, cuda
from dzcore.errors import DtypeError, ShapeError, WeightsError
from dzcore.layers import Layer, Linear


@pytest.fixture
def global_seed():
    """Seed NumPy's global random state (Linear's default source), then restore it."""
    state = np.random.get_state()
    np.random.seed(0)
    yield
    np.random.set_state(state)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


class TwoLinear(Layer):
    """A small two-level model: a Linear, a bare Parameter, another Linear."""

    def __init__(self):
        super().__init__()
        self.first = Linear(3, in_size=2, seed=1)
        self.scale = Parameter(np.ones(3, dtype=np.float32))
        self.label = "not a parameter"
        self.second = Linear(1, in_size=3, seed=2)

    def forward(self, x):
        return self.second(F.tanh(self.first(x) * self.scale))


def snapshot(layer):
    return {
        name: (param.data, param.data.copy()) for name, param in layer.namedparams()
    }


def assert_unchanged(layer, before):
    after = dict(layer.namedparams())
    assert after.keys() == before.keys()
    for name, (array, copy) in before.items():
        assert after[name].data is array, f"{name} was replaced"
        np.testing.assert_array_equal(after[name].data, copy)


# Parameter tracking


def test_layer_namedparams_follow_assignment_order_with_dotted_names():
    names = [name for name, _ in TwoLinear().namedparams()]

    assert names == ["first.W", "first.b", "scale", "second.W", "second.b"]


def test_layer_params_match_namedparams_and_skip_plain_attributes():
    model = TwoLinear()

    params = list(model.params())

    assert [id(p) for p in params] == [id(p) for _, p in model.namedparams()]
    assert all(isinstance(p, Parameter) for p in params)


def test_layer_shared_parameter_is_yielded_once_under_its_first_name():
    model = TwoLinear()
    model.second.W = Parameter(np.zeros((3, 1), np.float32))
    model.tied = model.second.W  # the same Parameter, reached twice

    named = list(model.namedparams())

    assert [name for name, _ in named].count("tied") == 0
    assert len({id(p) for _, p in named}) == len(named) == 5


def test_layer_shared_sublayer_is_walked_once():
    model = TwoLinear()
    model.again = model.first

    assert len(list(model.params())) == 5
    assert [n for n, _ in model.namedparams()][:2] == ["first.W", "first.b"]


def test_layer_reassigning_or_deleting_an_attribute_stops_tracking_it():
    model = TwoLinear()
    model.scale = None
    del model.second

    names = [name for name, _ in model.namedparams()]

    assert names == ["first.W", "first.b"]
    assert not hasattr(model, "second")


def test_layer_without_super_init_raises_a_clear_error():
    class Forgetful(Layer):
        def __init__(self):
            self.W = Parameter(np.zeros(2))

    with pytest.raises(RuntimeError, match=r"Forgetful.*super\(\).__init__\(\)"):
        Forgetful()


def test_layer_gives_unnamed_children_their_attribute_name():
    model = TwoLinear()

    assert (model.first.name, model.second.name) == ("first", "second")


def test_layer_cleargrads_clears_every_gradient():
    model = TwoLinear()
    model(np.ones((4, 2), np.float32)).sum().backward()
    assert all(p.grad is not None for p in model.params())

    model.cleargrads()

    assert all(p.grad is None for p in model.params())


def test_layer_forward_is_required():
    with pytest.raises(NotImplementedError, match="Layer does not define forward"):
        Layer()(np.ones(2))


def test_layer_to_cpu_keeps_numpy_arrays_and_returns_self():
    model = TwoLinear()

    assert model.to_cpu() is model
    assert all(type(p.data) is np.ndarray for p in model.params())


@pytest.mark.skipif(not cuda.gpu_enable(), reason="needs CuPy and a CUDA device")
def test_layer_to_gpu_and_back_moves_every_parameter_and_gradient():
    model = TwoLinear()
    x = np.ones((4, 2), np.float32)
    expected = model(x).data
    model.to_gpu()

    y = model(cuda.as_cupy(x))
    y.sum().backward()

    assert all(cuda.get_array_module(p.data) is not np for p in model.params())
    np.testing.assert_allclose(cuda.as_numpy(y.data), expected, rtol=1e-5)
    model.to_cpu()
    assert all(type(p.data) is np.ndarray for p in model.params())
    assert all(type(p.grad.data) is np.ndarray for p in model.params())


# Linear


def test_linear_weights_are_float32_scaled_by_sqrt_one_over_in_size():
    layer = Linear(200, in_size=400, seed=0)

    W, b = layer.W.data, layer.b.data

    assert (W.shape, W.dtype) == ((400, 200), np.float32)
    assert abs(W.std() - np.sqrt(1 / 400)) < 0.02 * np.sqrt(1 / 400)
    assert abs(W.mean()) < 0.002
    assert (b.shape, b.dtype) == ((200,), np.float32)
    assert not b.any()


def test_linear_float64_dtype_is_honoured():
    layer = Linear(3, in_size=2, dtype=np.float64)

    y = layer(np.ones((1, 2)))

    assert layer.W.dtype == layer.b.dtype == y.dtype == np.float64


def test_linear_forward_matches_numpy(rng):
    layer = Linear(3, in_size=4, seed=0)
    layer.b.data = rng.standard_normal(3).astype(np.float32)
    x = rng.standard_normal((5, 4)).astype(np.float32)

    y = layer(Variable(x))

    np.testing.assert_allclose(y.data, x @ layer.W.data + layer.b.data, rtol=1e-6)
    assert y.dtype == np.float32


def test_linear_infers_in_size_on_first_call(rng):
    layer = Linear(3)
    assert layer.in_size is None and layer.W.data is None

    y = layer(rng.standard_normal((2, 7)).astype(np.float32))

    assert layer.in_size == 7
    assert layer.W.shape == (7, 3) and y.shape == (2, 3)


def test_linear_nobias_has_only_W_and_no_offset():
    layer = Linear(2, nobias=True, in_size=3)
    x = np.ones((4, 3), np.float32)

    y = layer(x)

    assert layer.b is None
    assert [name for name, _ in layer.namedparams()] == ["W"]
    np.testing.assert_allclose(y.data, x @ layer.W.data, rtol=1e-6)


def test_linear_gradients_reach_W_and_b(rng):
    layer = Linear(3, in_size=4, seed=0)
    x = rng.standard_normal((5, 4)).astype(np.float32)

    layer(x).sum().backward()

    np.testing.assert_allclose(layer.W.grad.data, x.T @ np.ones((5, 3)), rtol=1e-5)
    np.testing.assert_allclose(layer.b.grad.data, np.full(3, 5.0))


def test_linear_input_size_mismatch_names_layer_expected_and_got():
    model = TwoLinear()

    with pytest.raises(ShapeError) as info:
        model(np.ones((4, 5), np.float32))

    message = str(info.value)
    assert "Linear 'first'" in message
    assert "(..., 2)" in message and "(4, 5)" in message


def test_linear_rejects_a_scalar_input():
    with pytest.raises(ShapeError, match=r"got:\s+\(\)"):
        Linear(2)(np.float32(1.0))


def test_linear_rejects_a_list_input_naming_its_type():
    with pytest.raises(TypeError, match=r"Linear.*got list.*np.array"):
        Linear(2)([[1.0, 2.0]])


def test_linear_global_seed_reproduces_weights(global_seed):
    first = Linear(4, in_size=3).W.data
    np.random.seed(0)
    second = Linear(4, in_size=3).W.data

    np.testing.assert_array_equal(first, second)


def test_linear_seed_argument_gives_its_own_stream(global_seed):
    same = [Linear(4, in_size=3, seed=7).W.data for _ in range(2)]
    other = Linear(4, in_size=3, seed=8).W.data

    np.testing.assert_array_equal(same[0], same[1])
    assert not np.array_equal(same[0], other)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"out_size": 0}, ValueError, "out_size must be positive, got 0"),
        ({"out_size": 2.5}, TypeError, "out_size must be an int, got float"),
        ({"out_size": 2, "in_size": -1}, ValueError, "in_size must be positive"),
        ({"out_size": 2, "dtype": np.int32}, DtypeError, "floating.*int32"),
    ],
)
def test_linear_rejects_bad_arguments(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        Linear(**kwargs)


# save_weights / load_weights


def test_weights_round_trip_restores_values_and_dtype(tmp_path):
    path = tmp_path / "model.npz"
    source = TwoLinear()
    source.first.b.data += 0.5
    source.save_weights(path)
    target = TwoLinear()
    target.second.W.data *= 3

    target.load_weights(path)

    for (name, want), (_, got) in zip(
        source.namedparams(), target.namedparams(), strict=True
    ):
        np.testing.assert_array_equal(got.data, want.data, err_msg=name)
        assert got.dtype == np.float32
        assert got.data is not want.data


def test_save_weights_writes_plain_npz_at_exactly_the_path(tmp_path):
    path = tmp_path / "weights.bin"

    TwoLinear().save_weights(str(path))

    assert os.listdir(tmp_path) == ["weights.bin"]
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(n for n, _ in TwoLinear().namedparams())


def test_save_weights_of_an_uninitialised_linear_explains_what_to_do(tmp_path):
    with pytest.raises(WeightsError, match=r"'W'.*not initialised.*forward pass"):
        Linear(3).save_weights(tmp_path / "w.npz")
    assert not os.listdir(tmp_path)


def test_save_weights_to_a_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        TwoLinear().save_weights(tmp_path / "nowhere" / "w.npz")


def test_save_weights_failing_midway_keeps_the_earlier_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    model = TwoLinear()
    model.save_weights(path)
    saved = dict(model.namedparams())
    saved = {name: param.data.copy() for name, param in saved.items()}
    real_write = np.lib.format.write_array
    calls = []

    def write_then_fail(file, array, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # part of the archive is already written
            file.write(b"\x93NUMPY partial")
            raise OSError("disk full")
        real_write(file, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    model.first.W.data += 1.0
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    monkeypatch.undo()

    assert os.listdir(tmp_path) == ["model.npz"], "the temporary file was left"
    reloaded = TwoLinear()
    reloaded.load_weights(path)
    for name, param in reloaded.namedparams():
        np.testing.assert_array_equal(param.data, saved[name], err_msg=name)


def _write_npz(path, arrays):
    np.savez(path, **arrays)  # np.savez pickles object arrays, as an attacker would
    return path


def _valid_arrays():
    return {name: p.data.copy() for name, p in TwoLinear().namedparams()}


def _without(arrays, key):
    return {k: v for k, v in arrays.items() if k != key}


BAD_FILES = {
    "missing key": (
        lambda a: _without(a, "second.b"),
        ["second.b", "missing", "expected shape (1,)"],
    ),
    "extra key": (
        lambda a: {**a, "third.W": np.ones(2, np.float32)},
        ["third.W", "not a parameter"],
    ),
    "wrong shape": (
        lambda a: {**a, "first.W": np.ones((3, 2), np.float32)},
        ["first.W", "expected shape (2, 3)", "got (3, 2)"],
    ),
    "wrong dtype kind": (
        lambda a: {**a, "scale": np.ones(3, np.int64)},
        ["scale", "floating", "float32", "int64"],
    ),
    "pickled object array": (
        lambda a: {**a, "first.b": np.array([None, {}, 1], dtype=object)},
        ["first.b", "pickle"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_load_weights_bad_file_names_the_problem_and_changes_nothing(tmp_path, case):
    make_arrays, fragments = BAD_FILES[case]
    path = _write_npz(tmp_path / "bad.npz", make_arrays(_valid_arrays()))
    model = TwoLinear()
    model.first.W.data += 1.0  # differs from the file's valid entries
    before = snapshot(model)

    with pytest.raises(WeightsError) as info:
        model.load_weights(path)

    for fragment in [str(path), *fragments]:
        assert fragment in str(info.value)
    assert_unchanged(model, before)


def test_load_weights_lists_every_problem_at_once(tmp_path):
    arrays = _without(_valid_arrays(), "scale")
    arrays["first.W"] = np.ones((5, 3), np.float32)
    path = _write_npz(tmp_path / "bad.npz", arrays)

    with pytest.raises(WeightsError) as info:
        TwoLinear().load_weights(path)

    assert "scale: missing" in str(info.value)
    assert "first.W: expected shape (2, 3), got (5, 3)" in str(info.value)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a zip file at all", b"PK\x03\x04 truncated zip"],
    ids=["empty", "garbage", "truncated"],
)
def test_load_weights_unreadable_file_raises_weights_error(tmp_path, content):
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    model = TwoLinear()
    before = snapshot(model)

    with pytest.raises(WeightsError, match="broken.npz"):
        model.load_weights(path)
    assert_unchanged(model, before)


def test_load_weights_of_a_bare_npy_file_asks_for_an_npz(tmp_path):
    path = tmp_path / "one.npy"
    np.save(path, np.ones(3, np.float32))

    with pytest.raises(WeightsError, match=r"one\.npy.*expected an \.npz"):
        TwoLinear().load_weights(path)


def test_load_weights_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        TwoLinear().load_weights(tmp_path / "absent.npz")


def test_load_weights_damaged_member_raises_weights_error(tmp_path):
    path = tmp_path / "damaged.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("first.W.npy", b"\x93NUMPY garbage header")

    with pytest.raises(WeightsError, match=r"damaged\.npz"):
        TwoLinear().load_weights(path)


def test_load_weights_casts_float64_values_to_the_parameter_dtype(tmp_path):
    arrays = {k: v.astype(np.float64) + 1 for k, v in _valid_arrays().items()}
    path = _write_npz(tmp_path / "f64.npz", arrays)
    model = TwoLinear()

    model.load_weights(path)

    assert all(p.dtype == np.float32 for p in model.params())
    np.testing.assert_allclose(model.scale.data, 2.0)


def test_load_weights_initialises_a_linear_whose_in_size_is_not_known(tmp_path):
    path = tmp_path / "linear.npz"
    trained = Linear(3, in_size=6, seed=0)
    trained.save_weights(path)
    fresh = Linear(3)

    fresh.load_weights(path)

    assert fresh.in_size == 6
    assert fresh.W.dtype == np.float32
    np.testing.assert_array_equal(fresh.W.data, trained.W.data)
    assert fresh(np.ones((2, 6), np.float32)).shape == (2, 3)


def test_load_weights_checks_out_size_of_an_uninitialised_linear(tmp_path):
    path = tmp_path / "linear.npz"
    Linear(4, in_size=6).save_weights(path)
    fresh = Linear(3)

    with pytest.raises(
        WeightsError, match=r"W: expected shape \(\?, 3\), got \(6, 4\)"
    ):
        fresh.load_weights(path)

    assert fresh.W.data is None
    assert not fresh.b.data.any()


def test_params_cache_sees_a_layer_added_after_setup(rng):
    from dzcore import optimizers
    from dzcore.models import Model

    model = Model()
    model.l0 = Linear(2, in_size=3)
    optimizer = optimizers.SGD(lr=1.0).setup(model)
    assert [name for name, _ in model.namedparams()] == ["l0.W", "l0.b"]

    model.l1 = Linear(2, in_size=2)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    before = model.l1.W.data.copy()
    F.sum(model.l1(model.l0(x))).backward()
    optimizer.update()

    assert [name for name, _ in model.namedparams()][2:] == ["l1.W", "l1.b"]
    assert not np.array_equal(model.l1.W.data, before)
