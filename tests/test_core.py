"""Tests of the autograd engine: Variable, Function, backward, config."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import dzcore
import dzcore.functions as F
from dzcore import Function, Parameter, Variable, no_grad, test_mode, using_config
from dzcore.config import Config


def poly(x):
    return x**4 - 2 * x**2


def test_variable_rejects_list_and_str_naming_the_type():
    with pytest.raises(TypeError, match="list"):
        Variable([1.0, 2.0])
    with pytest.raises(TypeError, match="str"):
        Variable("abc")


def test_variable_accepts_numpy_scalar_and_none():
    assert Variable(np.float32(3.0)).shape == ()
    assert Variable(None).data is None


def test_variable_properties_and_repr():
    x = Variable(np.zeros((2, 3), dtype=np.float32), name="x")
    assert (x.shape, x.ndim, x.size, x.dtype, len(x)) == ((2, 3), 2, 6, np.float32, 2)
    assert x.T.shape == (3, 2)
    assert repr(Variable(np.array([1.0, 2.0]))) == "variable([1. 2.])"
    assert repr(Variable(None)) == "variable(None)"


def test_second_derivative_of_quartic_is_44_at_2():
    x = Variable(np.array(2.0))
    y = poly(x)
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()

    assert float(gx.data) == 24.0
    assert float(x.grad.data) == 44.0


def test_newton_method_converges_to_1_from_2():
    x = Variable(np.array(2.0))
    for _ in range(7):
        x.cleargrad()
        poly(x).backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        gx.backward()
        x.data = x.data - gx.data / x.grad.data

    assert abs(float(x.data) - 1.0) < 1e-10


def test_third_derivative_through_tanh():
    x = Variable(np.array(0.5))
    y = F.tanh(x)
    grads = []
    for _ in range(3):
        x.cleargrad()
        y.backward(create_graph=True)
        y = x.grad
        grads.append(float(y.data))
    t = np.tanh(0.5)
    assert grads[0] == pytest.approx(1 - t**2)
    assert grads[1] == pytest.approx(-2 * t * (1 - t**2))
    assert grads[2] == pytest.approx(-2 * (1 - t**2) ** 2 + 4 * t**2 * (1 - t**2))


def test_backward_visits_by_generation_for_a_diamond():
    x = Variable(np.array(3.0))
    a = x**2
    y = a * a + a  # y = x^4 + x^2, both branches through a
    y.backward()
    assert float(x.grad.data) == 4 * 27 + 6


def test_backward_accumulates_gradient_for_reused_input():
    x = Variable(np.array(3.0))
    y = x + x + x
    y.backward()
    assert float(x.grad.data) == 3.0


def test_intermediate_grads_dropped_unless_retained():
    x = Variable(np.array(2.0))
    a = x * 3
    y = a * a
    y.backward()
    assert a.grad is None and y.grad is None
    x.cleargrad()
    a = x * 3
    y = a * a
    y.backward(retain_grad=True)
    assert float(a.grad.data) == 12.0


def test_two_inputs_never_share_one_gradient_array():
    x0 = Parameter(np.ones(3, dtype=np.float32))
    x1 = Parameter(np.ones(3, dtype=np.float32))
    F.sum(x0 + x1).backward()
    x0.grad.data *= 10  # an in-place hook such as gradient clipping
    assert np.all(x1.grad.data == 1.0)


def test_no_grad_records_no_graph():
    x = Variable(np.array(2.0))
    with no_grad():
        y = x * x
    assert y.creator is None
    assert Config.enable_backprop is True


def test_test_mode_and_using_config_restore_on_error():
    with pytest.raises(RuntimeError), test_mode():
        assert Config.train is False
        raise RuntimeError("boom")
    assert Config.train is True
    with (
        pytest.raises(AttributeError, match="unknown switch"),
        using_config("no_such_flag", True),
    ):
        pass


def test_outputs_are_held_by_weak_reference():
    x = Variable(np.ones(3))
    y = F.exp(x)
    creator = y.creator
    ref = weakref.ref(y)
    del y
    gc.collect()
    assert ref() is None
    assert creator.outputs[0]() is None


def test_unchain_backward_cuts_the_graph():
    x = Variable(np.array(1.0))
    h = x * 2
    y = h * 3
    y.unchain_backward()
    assert h.creator is None
    y.backward()
    assert x.grad is None


def test_function_backward_must_return_one_grad_per_input():
    class Broken(Function):
        def forward(self, a, b):
            return a + b

        def backward(self, gy):
            return gy

    y = Broken()(Variable(np.ones(2)), Variable(np.ones(2)))
    with pytest.raises(RuntimeError, match="1 gradients for 2 inputs"):
        y.backward()


def test_function_without_backward_says_so():
    class ForwardOnly(Function):
        def forward(self, x):
            return x * 2

    y = ForwardOnly()(Variable(np.ones(2)))
    with pytest.raises(NotImplementedError, match="ForwardOnly"):
        y.backward()


def test_scalars_and_arrays_keep_float32_on_either_side():
    x = Variable(np.ones(3, dtype=np.float32))
    results = [
        2.0 * x,
        x * 2,
        x + 1.5,
        1.5 + x,
        np.ones(3) - x,
        x - np.ones(3),
        x / 3.0,
        3.0 / x,
        x**2.0,
        x ** np.float64(2),
        np.ones(3) @ x,
        -x,
        F.mean(x),
    ]
    assert [r.dtype for r in results] == [np.float32] * len(results)


def test_lone_python_float_becomes_default_dtype():
    y = F.exp(1.0)
    assert y.dtype == dzcore.DEFAULT_DTYPE


def test_backward_of_float32_graph_gives_float32_grads():
    x = Variable(np.ones((2, 3), dtype=np.float32))
    W = Variable(np.ones((3, 4), dtype=np.float32))
    F.sum(F.tanh(F.matmul(x, W)) * 0.5).backward()
    assert x.grad.dtype == np.float32 and W.grad.dtype == np.float32


def test_training_loop_memory_is_steady():
    rng = np.random.default_rng(0)
    W = Parameter(rng.standard_normal((20, 10)).astype(np.float32))
    x = rng.standard_normal((8, 20)).astype(np.float32)
    t = rng.integers(0, 10, 8)

    def step():
        W.cleargrad()
        loss = F.softmax_cross_entropy(F.tanh(F.matmul(x, W)), t)
        loss.backward()
        W.data -= 0.01 * W.grad.data

    for _ in range(500):  # warm-up: caches, allocator pools
        step()
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(2000):
            step()
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(10_000):
            step()
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024, f"grew by {after - before} bytes"


def test_graph_is_freed_without_gc():
    # Outputs are weak references, so no cycle keeps a dropped graph alive.
    gc.disable()
    try:
        x = Variable(np.ones(3))
        y = F.sum(F.exp(x) * 2)
        ref = weakref.ref(y.creator)
        y.backward()
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_arrays_wrapped_by_a_call_are_constants_without_gradients():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    W = Variable(np.ones((3, 2), np.float32))
    y = F.linear(x, W)
    constant = y.creator.inputs[0]
    F.sum(y * 2.0).backward()

    assert constant.data is x  # wrapped without a copy
    assert constant.requires_grad is False
    assert constant.grad is None
    np.testing.assert_allclose(W.grad.data, 2 * x.T @ np.ones((2, 2)))


def test_requires_grad_false_on_a_variable_stops_its_gradient_both_ways():
    a = Variable(np.array([1.0, 2.0], np.float32))
    b = Variable(np.array([3.0, 4.0], np.float32))
    b.requires_grad = False
    for create_graph in (False, True):
        a.cleargrad()
        b.cleargrad()
        F.sum(a * b - b / a).backward(create_graph=create_graph)

        assert b.grad is None
        np.testing.assert_allclose(a.grad.data, [3 + 3 / 1, 4 + 4 / 4])


def test_a_gradient_shared_by_two_inputs_stays_differentiable():
    class SumOfTwo(Function):
        # Hands one Variable to both inputs, which the engine must copy.
        def forward(self, a, b):
            return a + b

        def backward(self, gy):
            return gy, gy

    x = Variable(np.array(1.5))
    y = Variable(np.array(0.5))
    z = SumOfTwo()(x, y)
    (z**2).backward(create_graph=True)
    gy = y.grad

    x.cleargrad()
    gy.backward()

    assert gy.data == 2 * (1.5 + 0.5)
    assert x.grad is not None and x.grad.data == 2.0
