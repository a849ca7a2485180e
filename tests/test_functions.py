"""Worked examples and bad-input errors of the core ops.

The generated forward and gradient checks of every op live in
test_functions_grad.py; this module pins the examples the issue names and
the messages users see.
"""

import numpy as np
import pytest

import dzcore.functions as F
from dzcore import Variable, test_mode
from dzcore.errors import LabelError, ShapeError


def numerical_grad(f, x, eps=1e-6):
    """Central differences of scalar ``f`` at float64 array ``x``."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        high = f(x)
        x[index] = old - eps
        low = f(x)
        x[index] = old
        grad[index] = (high - low) / (2 * eps)
    return grad


def test_get_item_repeated_rows_accumulate():
    x = Variable(np.array([[1.0, 2, 3], [4, 5, 6]]))
    y = x[[0, 0, 1]]
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[2, 2, 2], [1, 1, 1]])


@pytest.mark.parametrize(
    "key",
    [1, slice(None, None, -1), (slice(None), 0), (np.array([1, 1]), np.array([2, 2]))],
)
def test_get_item_matches_numpy_and_scatters(key):
    data = np.arange(6.0).reshape(2, 3)
    x = Variable(data.copy())
    y = F.get_item(x, key)
    np.testing.assert_array_equal(y.data, data[key])
    F.sum(y).backward()
    expected = np.zeros_like(data)
    np.add.at(expected, key, 1.0)
    np.testing.assert_array_equal(x.grad.data, expected)


def test_get_item_out_of_range_names_the_op_and_shape():
    x = Variable(np.zeros((2, 3)))
    with pytest.raises(IndexError, match=r"get_item.*\(2, 3\)"):
        x[5]


def test_accuracy_example_is_two_thirds():
    y = np.array([[0.2, 0.8, 0], [0.1, 0.9, 0], [0.8, 0.1, 0.1]])
    t = np.array([1, 2, 0])
    assert float(F.accuracy(y, t).data) == pytest.approx(2 / 3)


@pytest.mark.parametrize("scale", [1.0, 100.0, 1e4])
def test_softmax_cross_entropy_matches_float64_logsumexp(scale):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((16, 5)) * scale).astype(np.float32)
    t = rng.integers(0, 5, 16)
    x64 = x.astype(np.float64)
    m = x64.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(x64 - m).sum(axis=1, keepdims=True)))[:, 0]
    reference = np.mean(lse - x64[np.arange(16), t])

    loss = F.softmax_cross_entropy(Variable(x), t)
    assert loss.dtype == np.float32
    assert float(loss.data) == pytest.approx(reference, rel=1e-5, abs=1e-5)


def test_softmax_cross_entropy_gradient_is_softmax_minus_onehot():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    t = np.array([0, 2, 1, 2])
    v = Variable(x.copy())
    F.softmax_cross_entropy(v, t).backward()

    def loss(a):
        return float(F.softmax_cross_entropy(Variable(a), t).data)

    np.testing.assert_allclose(v.grad.data, numerical_grad(loss, x), atol=1e-7)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 1]), r"expected 3 labels"),
        (np.array([0.0, 1.0, 2.0]), r"must be integers"),
        (np.array([0, 3, 1]), r"label 3 is outside \[0, 3\)"),
        (np.array([0, -1, 1]), r"label -1 is outside"),
    ],
)
def test_softmax_cross_entropy_rejects_bad_labels(labels, message):
    x = Variable(np.zeros((3, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=message):
        F.softmax_cross_entropy(x, labels)


def test_bad_labels_raise_a_label_error():
    x = Variable(np.zeros((3, 3), dtype=np.float32))
    with pytest.raises(LabelError):
        F.softmax_cross_entropy(x, np.zeros(3))


@pytest.mark.parametrize(
    ("op", "a", "b"),
    [
        (F.add, (2, 3), (4,)),
        (F.sub, (2, 3), (3, 2)),
        (F.mul, (5,), (4,)),
        (F.div, (2, 1, 3), (2, 4)),
    ],
)
def test_binary_ops_name_both_shapes_when_they_cannot_broadcast(op, a, b):
    with pytest.raises(ShapeError, match=rf"{op.__name__}.*{a}.*{b}".replace("(", r"\(")
                       .replace(")", r"\)")):  # fmt: skip
        op(Variable(np.zeros(a)), Variable(np.zeros(b)))


def test_matmul_names_both_shapes():
    with pytest.raises(ShapeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        F.matmul(Variable(np.zeros((2, 3))), Variable(np.zeros((4, 5))))


def test_linear_names_input_and_weight_shapes():
    with pytest.raises(ShapeError, match=r"linear.*\(2, 3\).*\(4, 5\)"):
        F.linear(Variable(np.zeros((2, 3))), Variable(np.zeros((4, 5))))


def test_reshape_names_both_shapes():
    with pytest.raises(ShapeError, match=r"reshape.*\(2, 3\).*\(4,\)"):
        F.reshape(Variable(np.zeros((2, 3))), (4,))


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((4, 2, 3), (3, 5)),
     ((2, 1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4))],
)  # fmt: skip
def test_matmul_backward_follows_numpy_rules(a_shape, b_shape):
    rng = np.random.default_rng(3)
    a = rng.standard_normal(a_shape)
    b = rng.standard_normal(b_shape)
    out_shape = np.matmul(a, b).shape
    gy = rng.standard_normal(out_shape)
    va, vb = Variable(a.copy()), Variable(b.copy())
    F.sum(F.matmul(va, vb) * gy).backward()

    def project_a(x):
        return float(np.sum(np.matmul(x, b) * gy))

    def project_b(x):
        return float(np.sum(np.matmul(a, x) * gy))

    np.testing.assert_allclose(va.grad.data, numerical_grad(project_a, a), atol=1e-6)
    np.testing.assert_allclose(vb.grad.data, numerical_grad(project_b, b), atol=1e-6)


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (-1, -3)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "max", "min", "mean"])
def test_reductions_take_negative_and_tuple_axes(name, axis, keepdims):
    x = np.random.default_rng(4).permutation(24).reshape(2, 3, 4).astype(np.float64)
    y = getattr(F, name)(Variable(x), axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(
        y.data, getattr(np, name)(x, axis=axis, keepdims=keepdims)
    )


def test_max_gradient_goes_to_the_maximum():
    x = Variable(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]))
    F.max(x, axis=-1).backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 1, 0], [1, 0, 0]])


def test_reduction_axis_out_of_range_is_clear():
    with pytest.raises(ShapeError, match="sum: axis 2 is out of range.*2 dims"):
        F.sum(Variable(np.zeros((2, 3))), axis=2)


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)])
def test_softmax_and_log_softmax_along_axes(axis):
    x = np.random.default_rng(5).standard_normal((3, 4)) * 50
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    reference = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(F.softmax(Variable(x), axis).data, reference)
    np.testing.assert_allclose(
        F.log_softmax(Variable(x), axis).data, np.log(reference), atol=1e-10
    )


def test_mean_squared_error_is_the_mean_over_elements():
    a = np.arange(6.0).reshape(3, 2)
    b = np.ones((3, 2))
    y = F.mean_squared_error(Variable(a), Variable(b))
    assert float(y.data) == pytest.approx(np.mean((a - b) ** 2))
    with pytest.raises(ShapeError, match=r"\(3, 2\) and \(2, 3\)"):
        F.mean_squared_error(Variable(a), Variable(b.T))


def test_dropout_is_identity_in_test_mode_and_scales_in_training():
    x = Variable(np.ones((200, 50), dtype=np.float32))
    with test_mode():
        assert F.dropout(x, 0.5) is x
    np.random.seed(0)
    y = F.dropout(x, 0.5)
    assert y.dtype == np.float32
    assert set(np.unique(y.data)) <= {0.0, 2.0}
    assert abs(float(y.data.mean()) - 1.0) < 0.05


def test_clip_passes_gradient_only_inside_the_bounds():
    x = Variable(np.array([-2.0, 0.5, 3.0]))
    F.sum(F.clip(x, -1.0, 1.0)).backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 0])


def test_sum_to_rejects_an_unreachable_shape():
    with pytest.raises(ShapeError, match=r"sum_to.*\(2, 3\).*\(4,\)"):
        F.sum_to(Variable(np.zeros((2, 3))), (4,))


def test_transpose_with_axes_and_its_gradient():
    x = Variable(np.arange(24.0).reshape(2, 3, 4))
    y = F.transpose(x, (2, 0, 1))
    assert y.shape == (4, 2, 3)
    gy = np.arange(24.0).reshape(4, 2, 3)
    F.sum(y * gy).backward()
    np.testing.assert_array_equal(x.grad.data, gy.transpose(1, 2, 0))
    with pytest.raises(ShapeError, match="transpose"):
        F.transpose(x, (0, 1))


def test_pow_refuses_a_variable_exponent():
    x = Variable(np.ones(2))
    with pytest.raises(TypeError, match="exponent"):
        F.pow(x, Variable(np.ones(2)))
