"""Arithmetic ops: add, sub, mul, div, neg, pow.

Binary ops broadcast like NumPy; backward sums each gradient back to its
input's shape with ``sum_to``.
"""

from __future__ import annotations

from typing import Any

from dzcore import utils
from dzcore.core import Function, Variable
from dzcore.errors import ShapeError
from dzcore.functions.shape import sum_to


def _broadcast_error(op: str, x0: Any, x1: Any) -> ShapeError:
    return ShapeError(f"{op}: cannot broadcast shapes {x0.shape} and {x1.shape}")


def _reduce_pair_arrays(gx0: Any, gx1: Any, func: Function) -> tuple:
    """Array version of :func:`_reduce_pair`, for the first-order fast path.

    A gradient is None for an input that needs none (a constant).
    """
    x0, x1 = func.inputs
    if gx0 is not None and gx0.shape != x0.data.shape:
        gx0 = utils.sum_to(gx0, x0.data.shape)
    if gx1 is not None and gx1.shape != x1.data.shape:
        gx1 = utils.sum_to(gx1, x1.data.shape)
    return gx0, gx1


def _reduce_pair(gx0: Variable, gx1: Variable, func: Function) -> tuple:
    """Sum both gradients back to the shapes of ``func``'s two inputs."""
    x0, x1 = func.inputs
    if gx0 is not None and gx0.shape != x0.shape:
        gx0 = sum_to(gx0, x0.shape)
    if gx1 is not None and gx1.shape != x1.shape:
        gx1 = sum_to(gx1, x1.shape)
    return gx0, gx1


class Add(Function):
    """``y = x0 + x1``; ``gx0 = gy``, ``gx1 = gy`` (summed to each shape)."""

    def forward(self, x0: Any, x1: Any) -> Any:
        try:
            return x0 + x1
        except ValueError:
            raise _broadcast_error("add", x0, x1) from None

    def backward(self, gy: Variable) -> tuple:
        # When both are gy, the engine gives the second input a copy.
        return _reduce_pair(gy, gy, self)

    def backward_arrays(self, gy: Any) -> tuple:
        x0, x1 = self.inputs
        if x0.data.shape == x1.data.shape:
            return gy, gy
        return _reduce_pair_arrays(gy, gy, self)


class Sub(Function):
    """``y = x0 - x1``; ``gx0 = gy``, ``gx1 = -gy``."""

    def forward(self, x0: Any, x1: Any) -> Any:
        try:
            return x0 - x1
        except ValueError:
            raise _broadcast_error("sub", x0, x1) from None

    def backward(self, gy: Variable) -> tuple:
        return _reduce_pair(gy, -gy, self)

    def backward_arrays(self, gy: Any) -> tuple:
        x0, x1 = self.inputs
        gx1 = -gy if x1.requires_grad else None
        if x0.data.shape == x1.data.shape:
            return gy, gx1
        return _reduce_pair_arrays(gy, gx1, self)


class Mul(Function):
    """``y = x0 * x1``; ``gx0 = gy * x1``, ``gx1 = gy * x0``."""

    def forward(self, x0: Any, x1: Any) -> Any:
        try:
            return x0 * x1
        except ValueError:
            raise _broadcast_error("mul", x0, x1) from None

    def backward(self, gy: Variable) -> tuple:
        x0, x1 = self.inputs
        return _reduce_pair(gy * x1, gy * x0, self)

    def backward_arrays(self, gy: Any) -> tuple:
        x0, x1 = self.inputs
        a0, a1 = x0.data, x1.data
        # A constant operand (an array wrapped by the call) needs no gradient.
        gx0 = gy * a1 if x0.requires_grad else None
        gx1 = gy * a0 if x1.requires_grad else None
        if a0.shape == a1.shape:
            return gx0, gx1
        return _reduce_pair_arrays(gx0, gx1, self)


class Div(Function):
    """``y = x0 / x1``; ``gx0 = gy / x1``, ``gx1 = -gy * x0 / x1**2``."""

    def forward(self, x0: Any, x1: Any) -> Any:
        try:
            return x0 / x1
        except ValueError:
            raise _broadcast_error("div", x0, x1) from None

    def backward(self, gy: Variable) -> tuple:
        x0, x1 = self.inputs
        gx0 = gy / x1
        return _reduce_pair(gx0, -gx0 * x0 / x1, self)

    def backward_arrays(self, gy: Any) -> tuple:
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        gx0 = gy / x1
        gx1 = -gx0 * x0 / x1 if self.inputs[1].requires_grad else None
        return _reduce_pair_arrays(gx0, gx1, self)


class Neg(Function):
    """``y = -x``; ``gx = -gy``."""

    def forward(self, x: Any) -> Any:
        return -x

    def backward(self, gy: Variable) -> Variable:
        return -gy

    def backward_arrays(self, gy: Any) -> Any:
        return -gy


class Pow(Function):
    """``y = x ** c`` for a constant exponent ``c``; ``gx = c * x**(c-1) * gy``."""

    def __init__(self, c: float) -> None:
        self.c = c

    def forward(self, x: Any) -> Any:
        return x**self.c

    def backward(self, gy: Variable) -> Variable:
        (x,) = self.inputs
        return self.c * x ** (self.c - 1) * gy

    def backward_arrays(self, gy: Any) -> Any:
        x = self.inputs[0].data
        c = self.c
        if c == 2:
            return (x + x) * gy
        return x.dtype.type(c) * x ** (c - 1) * gy


def add(x0: Any, x1: Any) -> Variable:
    """Elementwise ``x0 + x1`` with NumPy broadcasting."""
    return Add()(x0, x1)


def sub(x0: Any, x1: Any) -> Variable:
    """Elementwise ``x0 - x1`` with NumPy broadcasting."""
    return Sub()(x0, x1)


def rsub(x0: Any, x1: Any) -> Variable:
    """``x1 - x0``: the reflected operator behind ``2.0 - x``."""
    return Sub()(x1, x0)


def mul(x0: Any, x1: Any) -> Variable:
    """Elementwise ``x0 * x1`` with NumPy broadcasting."""
    return Mul()(x0, x1)


def div(x0: Any, x1: Any) -> Variable:
    """Elementwise ``x0 / x1`` with NumPy broadcasting."""
    return Div()(x0, x1)


def rdiv(x0: Any, x1: Any) -> Variable:
    """``x1 / x0``: the reflected operator behind ``1.0 / x``."""
    return Div()(x1, x0)


def neg(x: Any) -> Variable:
    """Elementwise ``-x``."""
    return Neg()(x)


def pow(x: Any, c: float) -> Variable:  # noqa: A001 - the op's public name
    """Elementwise ``x ** c`` for a constant (scalar) exponent ``c``.

    Raises:
        TypeError: if ``c`` is a Variable or an array (only constant
            exponents are differentiable here, as in DeZero).
    """
    if type(c) is int or type(c) is float:
        return Pow(c)(x)
    if isinstance(c, Variable) or hasattr(c, "shape") and c.shape != ():
        raise TypeError(
            "pow: the exponent must be a Python or NumPy scalar, "
            f"got {type(c).__name__}"
        )
    # A NumPy float64 exponent would upcast float32 data; a Python one won't.
    return Pow(c.item() if hasattr(c, "item") else c)(x)
