"""Classification and regression pieces: softmax, losses, accuracy, dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from dzcore import cuda, utils
from dzcore.config import Config
from dzcore.core import Function, Variable, as_variable
from dzcore.errors import LabelError, ShapeError
from dzcore.functions.reduce import sum as sum_


class Softmax(Function):
    """``y = exp(x) / sum(exp(x), axis)``; ``gx = y * (gy - sum(y * gy, axis))``."""

    def __init__(self, axis: Any = -1) -> None:
        self.axis = axis

    def forward(self, x: Any) -> Any:
        self.axes = utils.normalize_axis("softmax", self.axis, x.ndim)
        xp = cuda.get_array_module(x)
        y = xp.exp(x - x.max(axis=self.axes, keepdims=True))
        y /= y.sum(axis=self.axes, keepdims=True)
        return y

    def backward(self, gy: Variable) -> Variable:
        y = self.outputs[0]()
        gx = y * gy
        return gx - y * sum_(gx, self.axes, keepdims=True)

    def backward_arrays(self, gy: Any) -> Any:
        y = self.outputs[0]().data
        gx = y * gy
        gx -= y * gx.sum(axis=self.axes, keepdims=True)
        return gx


def softmax(x: Any, axis: Any = -1) -> Variable:
    """Softmax along ``axis`` (an int or a tuple of ints, negative allowed)."""
    return Softmax(axis)(x)


class LogSoftmax(Function):
    """``y = x - logsumexp(x, axis)``; ``gx = gy - exp(y) * sum(gy, axis)``."""

    def __init__(self, axis: Any = -1) -> None:
        self.axis = axis

    def forward(self, x: Any) -> Any:
        self.axes = utils.normalize_axis("log_softmax", self.axis, x.ndim)
        return x - utils.logsumexp(x, self.axes)

    def backward(self, gy: Variable) -> Variable:
        from dzcore.functions.elementwise import exp

        y = self.outputs[0]()
        return gy - exp(y) * sum_(gy, self.axes, keepdims=True)

    def backward_arrays(self, gy: Any) -> Any:
        y = self.outputs[0]().data
        xp = cuda.get_array_module(y)
        return gy - xp.exp(y) * gy.sum(axis=self.axes, keepdims=True)


def log_softmax(x: Any, axis: Any = -1) -> Variable:
    """Logarithm of softmax along ``axis``, computed without overflow."""
    return LogSoftmax(axis)(x)


def _check_labels(op: str, x: Any, t: Any) -> None:
    """Validate class labels ``t`` for logits ``x`` of shape (N, C)."""
    if x.ndim != 2:
        raise ShapeError(f"{op}: expected logits of shape (N, C), got {x.shape}")
    if t.dtype.kind not in "iu":
        raise LabelError(
            f"{op}: labels must be integers (class indices), got dtype {t.dtype}"
        )
    if t.shape != (x.shape[0],):
        raise LabelError(
            f"{op}: expected {x.shape[0]} labels (shape ({x.shape[0]},)) for logits "
            f"of shape {x.shape}, got labels of shape {t.shape}"
        )
    if t.size and _label_outside(t, x.shape[1]):
        bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
        raise LabelError(
            f"{op}: label {bad} is outside [0, {x.shape[1]}) for {x.shape[1]} classes"
        )


def _valid_labels(x: np.ndarray, t: Any) -> bool:
    """Quick check: ``t`` is a NumPy vector of valid labels for logits ``x``."""
    return (
        type(t) is np.ndarray
        and x.ndim == 2
        and t.ndim == 1
        and t.dtype.kind in "iu"
        and len(t) == len(x)
        and not (t.size and _label_outside(t, x.shape[1]))
    )


def _label_outside(t: Any, classes: int) -> bool:
    """True when a label is negative or not below ``classes``, in one pass."""
    if t.dtype.kind == "i":
        # Seen as unsigned, a negative label is huge: one max finds both.
        t = t.view(f"u{t.dtype.itemsize}")
    return int(t.max()) >= classes


class SoftmaxCrossEntropy(Function):
    """Mean cross-entropy of softmax(x) against integer labels t, fused.

    ``loss = -mean(x[i, t_i] - logsumexp(x[i]))``, stable for any logit
    magnitude; ``gx = (softmax(x) - onehot(t)) * gy / N``, no gradient for t.
    """

    def forward(self, x: Any, t: Any) -> Any:
        if type(x) is np.ndarray and _valid_labels(x, t):
            xp = np
        else:
            # Raises the error that names what is wrong with the labels.
            _check_labels("softmax_cross_entropy", x, t)
            xp = cuda.get_array_module(x)
        rows = xp.arange(x.shape[0])
        picked = x[rows, t]
        m = x.max(axis=1, keepdims=True)
        e = xp.exp(x - m)
        s = e.sum(axis=1, keepdims=True)
        # exp(x - m), its row sums and the row numbers serve backward_arrays.
        self._e, self._s, self._rows = e, s, rows
        log_p = picked - (m + xp.log(s))[:, 0]
        return -log_p.sum(dtype=x.dtype) / x.dtype.type(max(len(rows), 1))

    def backward(self, gy: Variable) -> tuple:
        x, t = self.inputs
        n, classes = x.shape
        xp = cuda.get_array_module(x.data)
        onehot = xp.eye(classes, dtype=x.dtype)[t.data]
        gx = (softmax(x, axis=1) - onehot) * (gy * (1.0 / max(n, 1)))
        return gx, None

    def backward_arrays(self, gy: Any) -> tuple:
        t = self.inputs[1].data
        n = max(len(t), 1)
        if type(gy) is np.ndarray and gy.ndim == 0:
            # A Python float scale keeps float32 and saves two array ops.
            scale = float(gy) / n
            p = self._e / self._s
            p *= scale
        else:
            scale = gy / n
            p = self._e * (scale / self._s)
        p[self._rows, t] -= scale
        return p, None


def softmax_cross_entropy(x: Any, t: Any) -> Variable:
    """Cross-entropy loss of logits ``x`` (N, C) against labels ``t`` (N,)."""
    return SoftmaxCrossEntropy()(x, t)


def mean_squared_error(x0: Any, x1: Any) -> Variable:
    """``mean((x0 - x1) ** 2)`` over every element.

    Unlike DeZero, which divides by ``len(x0)``, this is the mean over all
    elements (as the name says, and as PyTorch does); the two agree when
    the target has one column.
    """
    x0, x1 = as_variable(x0), as_variable(x1)
    if x0.shape != x1.shape:
        raise ShapeError(
            f"mean_squared_error: shapes differ: {x0.shape} and {x1.shape}"
        )
    diff = x0 - x1
    return sum_(diff * diff) * (1.0 / max(diff.size, 1))


def accuracy(y: Any, t: Any) -> Variable:
    """Fraction of rows of ``y`` (N, C) whose argmax equals the label in ``t``.

    Not differentiable; returns a 0-d Variable of the default dtype.
    """
    y_data = y.data if isinstance(y, Variable) else np.asarray(y)
    t_data = t.data if isinstance(t, Variable) else np.asarray(t)
    _check_labels("accuracy", y_data, t_data)
    xp = cuda.get_array_module(y_data)
    hits = y_data.argmax(axis=1) == t_data
    return Variable(xp.asarray(hits.mean(), dtype=np.float32))


def dropout(x: Any, dropout_ratio: float = 0.5) -> Variable:
    """Zero each element with probability ``dropout_ratio`` and rescale the rest.

    Inverted dropout: kept elements are scaled by ``1 / (1 - ratio)`` in
    training, so test mode (``dzcore.test_mode()``) is the identity.
    The mask comes from ``numpy.random`` (seed it with ``np.random.seed``).
    """
    x = as_variable(x)
    if not 0.0 <= dropout_ratio < 1.0:
        raise ValueError(f"dropout: ratio must be in [0, 1), got {dropout_ratio}")
    if not Config.train:
        return x
    xp = cuda.get_array_module(x.data)
    keep = xp.random.random_sample(x.shape) >= dropout_ratio
    scale = x.dtype.type(1.0 / (1.0 - dropout_ratio))
    return x * (keep.astype(x.dtype) * scale)
