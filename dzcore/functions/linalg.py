"""Matrix products: matmul (NumPy's rules) and linear (``x @ W + b``)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from dzcore import cuda, utils
from dzcore.core import Function, Variable
from dzcore.errors import ShapeError
from dzcore.functions.shape import reshape, sum_to, swapaxes_last


class MatMul(Function):
    """``y = a @ b`` with NumPy's rules for 1-D and batched operands.

    Gradient: ``ga = gy @ b^T`` and ``gb = a^T @ gy`` on the operands
    promoted to at least 2-D, each summed over its broadcast batch axes and
    reshaped back to its input's shape.
    """

    def forward(self, a: Any, b: Any) -> Any:
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(
                f"matmul: operands must have at least 1 dim, got shapes {a.shape} "
                f"and {b.shape}; use mul for scalars"
            )
        try:
            return cuda.get_array_module(a).matmul(a, b)
        except ValueError:
            raise ShapeError(
                f"matmul: shapes {a.shape} and {b.shape} do not fit: the last dim "
                f"of the first ({a.shape[-1]}) must equal the "
                f"{'only' if b.ndim == 1 else 'second-to-last'} dim of the second"
            ) from None

    def backward(self, gy: Variable) -> tuple:
        a, b = self.inputs
        a2 = a if a.ndim > 1 else reshape(a, (1, a.shape[0]))
        b2 = b if b.ndim > 1 else reshape(b, (b.shape[0], 1))
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        gy2 = reshape(gy, batch + (a2.shape[-2], b2.shape[-1]))

        ga = sum_to(matmul(gy2, swapaxes_last(b2)), a2.shape)
        gb = sum_to(matmul(swapaxes_last(a2), gy2), b2.shape)
        return reshape(ga, a.shape), reshape(gb, b.shape)

    def backward_arrays(self, gy: Any) -> tuple:
        a, b = self.inputs[0].data, self.inputs[1].data
        if a.ndim == 2 and b.ndim == 2:
            # A constant operand (an array the call wrapped) needs no gradient.
            ga = gy @ b.T if self.inputs[0].requires_grad else None
            gb = a.T @ gy if self.inputs[1].requires_grad else None
            return ga, gb
        a2 = a if a.ndim > 1 else a[None, :]
        b2 = b if b.ndim > 1 else b[:, None]
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        gy2 = gy.reshape(batch + (a2.shape[-2], b2.shape[-1]))

        ga = utils.sum_to(gy2 @ b2.swapaxes(-1, -2), a2.shape)
        gb = utils.sum_to(a2.swapaxes(-1, -2) @ gy2, b2.shape)
        return ga.reshape(a.shape), gb.reshape(b.shape)


def matmul(a: Any, b: Any) -> Variable:
    """Matrix product ``a @ b`` following ``numpy.matmul``."""
    return MatMul()(a, b)


class Linear(Function):
    """``y = x @ W + b`` for a batch ``x`` of shape (N, in).

    Gradient: ``gx = gy @ W^T``, ``gW = x^T @ gy``, ``gb = sum(gy, axis=0)``.
    """

    def forward(self, x: Any, W: Any, b: Any = None) -> Any:
        if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0]:
            raise ShapeError(
                f"linear: input of shape {x.shape} does not fit weight of shape "
                f"{W.shape}; expected input (N, {W.shape[0] if W.ndim else '?'})"
            )
        y = x @ W
        if b is not None:
            if b.shape != (W.shape[1],) and b.shape != (1, W.shape[1]):
                raise ShapeError(
                    f"linear: bias of shape {b.shape} does not fit weight of shape "
                    f"{W.shape}; expected ({W.shape[1]},)"
                )
            y += b
        return y

    def backward(self, gy: Variable) -> tuple:
        x, W = self.inputs[0], self.inputs[1]
        gx = matmul(gy, W.T)
        gW = matmul(x.T, gy)
        if len(self.inputs) == 2:
            return gx, gW
        return gx, gW, sum_to(gy, self.inputs[2].shape)

    def backward_arrays(self, gy: Any) -> tuple:
        x, W = self.inputs[0].data, self.inputs[1].data
        # A batch of raw inputs (a constant) needs no gradient: skipping it
        # saves one of the three matrix products of a training step.
        gx = gy @ W.T if self.inputs[0].requires_grad else None
        gW = x.T @ gy
        if len(self.inputs) == 2:
            return gx, gW
        b_shape = self.inputs[2].data.shape
        if len(b_shape) == 1:
            return gx, gW, _column_sums(gy)
        return gx, gW, utils.sum_to(gy, b_shape)


def _column_sums(gy: Any) -> Any:
    """``gy.sum(axis=0)`` of a 2-D gradient, as a product with a ones vector.

    BLAS does this in about half the time NumPy's reduction takes, on
    small batches and on large ones alike.
    """
    if type(gy) is not np.ndarray:
        return gy.sum(axis=0)
    return _ones(gy.shape[0], gy.dtype) @ gy


@functools.lru_cache(maxsize=16)
def _ones(n: int, dtype: Any) -> np.ndarray:
    """A read-only vector of ``n`` ones (shared, so never written to)."""
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


def linear(x: Any, W: Any, b: Any = None) -> Variable:
    """Affine map ``x @ W + b`` (``b`` may be None)."""
    if b is None:
        return Linear()(x, W)
    return Linear()(x, W, b)
