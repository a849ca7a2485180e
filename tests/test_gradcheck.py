"""Tests of the gradient-check kit itself: it passes right ops and rejects buggy ones.

Each buggy Function below is a bug that DeZero's ``gradient_check`` lets
through (see shared/notes/gradient-checks.md, section 2); the kit must
reject every one with a message that says where and how.
"""

import numpy as np
import pytest

import dzcore.functions as F
from dzcore import Function, Variable
from dzcore.errors import DzError
from dzcore.testing import (
    DomainError,
    GradcheckError,
    check_double_grad,
    check_float32,
    check_grad,
)
from dzcore.testing.consistency import FirstOrder


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# Deliberately buggy Functions.


class OverwritingGetItemGrad(Function):
    """get_item backward with ``gx[key] += gy``: repeated indices overwrite."""

    def __init__(self, key, shape):
        self.key, self.shape = key, shape

    def forward(self, gy):
        gx = np.zeros(self.shape, dtype=gy.dtype)
        gx[self.key] += gy
        return gx


class OverwritingGetItem(Function):
    def __init__(self, key):
        self.key = key

    def forward(self, x):
        self.shape = x.shape
        return x[self.key]

    def backward(self, gy):
        return OverwritingGetItemGrad(self.key, self.shape)(gy)


class UntransposedTranspose(Function):
    """Transpose whose backward forgets to transpose back."""

    def forward(self, x):
        return x.T

    def backward(self, gy):
        return gy


class UnreducedMul(Function):
    """Mul whose backward does not sum gradients back to broadcast shapes."""

    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return gy * x1, gy * x0


class InPlaceReLU(Function):
    """ReLU that writes into its input array."""

    def forward(self, x):
        x[x < 0] = 0
        return x

    def backward(self, gy):
        return gy * (self.inputs[0].data > 0)


class DataLeakTanh(Function):
    """tanh whose backward computes on ``x.data``: right first order, no second."""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, gy):
        local = 1 - np.tanh(self.inputs[0].data) ** 2
        return gy * Variable(local)


class GradForLabels(Function):
    """A loss that hands its integer labels a gradient."""

    def forward(self, x, t):
        return (x * t).sum()

    def backward(self, gy):
        x, t = self.inputs
        return gy * t, gy * x


class Float32Grad(Function):
    """Square whose backward returns float32 whatever the input dtype."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        x = self.inputs[0]
        return Variable((2 * x.data * gy.data).astype(np.float32))


class NoisyBackward(Function):
    """Square whose backward adds tiny random noise (nondeterministic)."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        noise = np.random.default_rng().normal(size=gy.shape) * 1e-9
        return 2 * self.inputs[0] * gy + noise


class ConstantGrad(Function):
    """``y = x + x**2/2``-like bug: backward ignores gy for a constant part."""

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy + 1e-3


class WrongGraphPath(Function):
    """Square whose fast array path is right but whose Variable path is not."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return 3 * self.inputs[0] * gy

    def backward_arrays(self, gy):
        return 2 * self.inputs[0].data * gy


class Upcast(Function):
    """Doubling that returns float64 whatever the input dtype."""

    def forward(self, x):
        return x * np.ones(x.shape, dtype=np.float64) * 2

    def backward(self, gy):
        return gy * 2


def overwriting_get_item(x):
    return OverwritingGetItem(np.array([0, 0, 1]))(x)


def untransposed(x):
    return UntransposedTranspose()(x)


def unreduced_mul(x0, x1):
    return UnreducedMul()(x0, x1)


def in_place_relu(x):
    return InPlaceReLU()(x)


def data_leak_tanh(x):
    return DataLeakTanh()(x)


# The kit accepts correct ops.


def test_check_grad_passes_correct_broadcasting_ops(rng):
    report = check_grad(F.mul, rng.normal(size=(3, 4)), rng.normal(size=(3, 1)))
    assert report.ok
    assert check_grad(F.div, rng.normal(size=(2, 3)), rng.uniform(1, 2, (3,))).ok


def test_check_grad_checks_every_floating_input(rng):
    wrong_second = lambda a, b: UnreducedMul()(a, b)  # noqa: E731
    with pytest.raises(GradcheckError, match="input 1"):
        check_grad(wrong_second, rng.normal(size=(2, 2)), rng.normal(size=(1, 2)))


def test_check_grad_accepts_variables_and_integer_inputs(rng):
    x = Variable(rng.normal(size=(4, 3)))
    t = np.array([0, 2, 1, 1])
    assert check_grad(F.softmax_cross_entropy, x, t).ok


def test_check_grad_passes_non_array_arguments_through(rng):
    assert check_grad(F.pow, rng.uniform(0.5, 2.0, (3,)), 3.0).ok
    assert check_grad(F.clip, rng.normal(size=(4,)) * 0.1, -0.5, 0.5).ok


def test_check_grad_leaves_callers_arrays_writeable(rng):
    x = rng.normal(size=(3,))
    check_grad(F.tanh, x)
    assert x.flags.writeable


# The kit rejects the known bugs, with useful messages.


def test_check_grad_rejects_get_item_backward_that_overwrites_repeats(rng):
    with pytest.raises(GradcheckError) as info:
        check_grad(overwriting_get_item, rng.normal(size=(2, 3)))
    message = str(info.value)
    assert "overwriting_get_item" in message
    assert "input 0 (shape (2, 3), float64)" in message
    assert "at index (0," in message  # row 0 is the repeated one
    assert "numerical" in message and "analytical" in message


def test_check_grad_rejects_transpose_backward_on_square_input(rng):
    with pytest.raises(GradcheckError, match="differs from central differences"):
        check_grad(untransposed, rng.normal(size=(3, 3)))


def test_check_grad_rejects_mul_backward_without_sum_to(rng):
    with pytest.raises(GradcheckError) as info:
        check_grad(unreduced_mul, rng.normal(size=(3, 3)), rng.normal(size=(3, 1)))
    assert "gradient has shape (3, 3), expected the input's (3, 1)" in str(info.value)


def test_check_grad_rejects_function_writing_into_its_input(rng):
    with pytest.raises(GradcheckError, match="in_place_relu wrote into"):
        check_grad(in_place_relu, rng.normal(size=(5,)))


def test_check_double_grad_rejects_backward_leaving_graph_via_data(rng):
    x = rng.normal(size=(3,))
    assert check_grad(data_leak_tanh, x).ok  # first order is right
    with pytest.raises(GradcheckError) as info:
        check_double_grad(data_leak_tanh, x)
    message = str(info.value)
    assert "grad of data_leak_tanh" in message
    assert "missing gradient" in message
    assert "check_double_grad(data_leak_tanh" in message


def test_check_grad_rejects_gradient_for_integer_input(rng):
    fn = lambda x, t: GradForLabels()(x, t)  # noqa: E731
    with pytest.raises(GradcheckError, match="integer .* must be None"):
        check_grad(fn, rng.normal(size=(3,)), np.array([1, 2, 3]))


def test_check_grad_rejects_gradient_of_wrong_dtype(rng):
    with pytest.raises(GradcheckError, match="dtype float32, expected .* float64"):
        check_grad(lambda x: Float32Grad()(x), rng.normal(size=(3,)))


def test_check_grad_rejects_nondeterministic_backward(rng):
    with pytest.raises(GradcheckError, match="two backward passes differ"):
        check_grad(lambda x: NoisyBackward()(x), rng.normal(size=(3,)))


def test_check_grad_rejects_nonzero_gradient_for_zero_gy(rng):
    with pytest.raises(GradcheckError, match="zero upstream gradient"):
        check_grad(lambda x: ConstantGrad()(x), rng.normal(size=(3,)))


def test_check_grad_compares_both_backward_paths(rng):
    with pytest.raises(GradcheckError, match=r"create_graph=True\) gives"):
        check_grad(lambda x: WrongGraphPath()(x), rng.normal(size=(3,)))


def test_check_grad_error_is_assertion_and_dz_error(rng):
    with pytest.raises(GradcheckError) as info:
        check_grad(untransposed, rng.normal(size=(2, 2)))
    assert isinstance(info.value, AssertionError)
    assert isinstance(info.value, DzError)


def test_check_grad_message_names_settings_and_reproduces(rng):
    with pytest.raises(GradcheckError) as info:
        check_grad(untransposed, rng.normal(size=(2, 2)), seed=7, atol=1e-6)
    message = str(info.value)
    assert "seed=7" in message and "atol=1e-06" in message and "rtol=0.001" in message
    line = message.split("reproduce: ")[1]
    namespace = {"np": np, "check_grad": check_grad, "untransposed": untransposed}
    with pytest.raises(GradcheckError):
        eval(line, namespace)


def test_check_grad_reproduce_line_repeats_given_settings(rng):
    gy = [rng.normal(size=(2, 2))]
    report = check_grad(
        untransposed, rng.normal(size=(2, 2)), grad_outputs=gy, atol=1e-7,
        raise_on_fail=False,
    )  # fmt: skip
    assert "atol=1e-07" in report.reproduce
    assert "grad_outputs=[np.array(" in report.reproduce
    namespace = {"np": np, "check_grad": check_grad, "untransposed": untransposed}
    with pytest.raises(GradcheckError):
        eval(report.reproduce, namespace)


def test_check_grad_returns_report_when_not_raising(rng):
    report = check_grad(untransposed, rng.normal(size=(2, 2)), raise_on_fail=False)
    assert not report.ok
    assert report.failures[0].position == 0
    assert report.failures[0].bad == 2  # the off-diagonal elements


# Modes.


def test_check_grad_fast_mode_passes_large_matmul(rng):
    a, b = rng.normal(size=(20, 20)), rng.normal(size=(20, 20))
    assert check_grad(F.matmul, a, b, mode="fast").ok


def test_check_grad_fast_mode_catches_transpose_bug(rng):
    with pytest.raises(GradcheckError, match="mode fast"):
        check_grad(untransposed, rng.normal(size=(20, 20)), mode="fast")


def test_check_grad_auto_mode_reruns_per_element_on_failure(rng):
    with pytest.raises(GradcheckError) as info:
        check_grad(untransposed, rng.normal(size=(20, 20)), full_max_size=16)
    assert "mode full" in str(info.value)
    assert "of 400 compared" in str(info.value)


def test_check_grad_rejects_unknown_mode(rng):
    with pytest.raises(ValueError, match="mode must be one of"):
        check_grad(F.tanh, rng.normal(size=(2,)), mode="slow")


# Inputs, domains and precision.


def test_check_grad_raises_domain_error_outside_domain():
    with np.errstate(invalid="ignore"), pytest.raises(DomainError, match="non-finite"):
        check_grad(F.log, np.array([-1.0, 2.0]))


def test_check_grad_refuses_low_precision_unless_allowed(rng):
    x = rng.normal(size=(3,))
    with pytest.raises(TypeError, match="allow_low_precision"):
        check_grad(F.tanh, x, dtype=np.float32)
    assert check_grad(F.tanh, x, dtype=np.float32, allow_low_precision=True).ok


def test_check_grad_uses_given_grad_outputs(rng):
    x = rng.normal(size=(3, 3))
    sym = x + x.T
    # With an all-ones gy a symmetric input hides the transpose bug ...
    assert check_grad(untransposed, sym, grad_outputs=[np.ones((3, 3))]).ok
    # ... the default random gy does not.
    with pytest.raises(GradcheckError):
        check_grad(untransposed, sym)


def test_check_grad_rejects_grad_outputs_of_wrong_shape(rng):
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] has shape \(2,\)"):
        check_grad(F.tanh, rng.normal(size=(3,)), grad_outputs=[np.ones(2)])


def test_check_grad_rejects_wrt_of_integer_input(rng):
    with pytest.raises(ValueError, match="wrt position 1 is not a floating input"):
        check_grad(F.softmax_cross_entropy, rng.normal(size=(2, 3)), np.array([0, 1]),
                   wrt=[1])  # fmt: skip


def test_check_grad_rejects_inputs_without_floats():
    with pytest.raises(ValueError, match="no floating array among the inputs"):
        check_grad(F.neg, np.array([1, 2]))


def test_check_grad_handles_several_outputs(rng):
    def split(x):
        return F.sin(x), F.exp(x) * x

    assert check_grad(split, rng.normal(size=(2, 2))).ok


# Double grad and float32.


def test_check_double_grad_passes_tanh(rng):
    # The harness trap: without clearing the inner grads this would fail.
    assert check_double_grad(F.tanh, rng.normal(size=(4,))).ok


def test_first_order_clears_inner_gradients(rng):
    x = Variable(rng.normal(size=(3,)))
    gy = Variable(np.ones(3))
    (gx,) = FirstOrder(F.tanh, 1, (0,))(x, gy)
    assert x.grad is None and gy.grad is None
    np.testing.assert_allclose(gx.data, 1 - np.tanh(x.data) ** 2)


def test_check_float32_passes_softmax(rng):
    assert check_float32(F.softmax, rng.normal(size=(3, 4))).ok


def test_check_float32_rejects_silent_upcast(rng):
    with pytest.raises(GradcheckError, match="float64 for float32 inputs"):
        check_float32(lambda x: Upcast()(x), rng.normal(size=(3,)))
