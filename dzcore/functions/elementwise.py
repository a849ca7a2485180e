"""Elementwise math: exp, log, sin, cos, tanh, clip."""

from __future__ import annotations

from typing import Any

from dzcore import cuda
from dzcore.core import Function, Variable


class Exp(Function):
    """``y = exp(x)``; ``gx = gy * y``."""

    def forward(self, x: Any) -> Any:
        return cuda.get_array_module(x).exp(x)

    def backward(self, gy: Variable) -> Variable:
        return gy * self.outputs[0]()

    def backward_arrays(self, gy: Any) -> Any:
        return gy * self.outputs[0]().data


class Log(Function):
    """``y = log(x)``; ``gx = gy / x``."""

    def forward(self, x: Any) -> Any:
        return cuda.get_array_module(x).log(x)

    def backward(self, gy: Variable) -> Variable:
        return gy / self.inputs[0]

    def backward_arrays(self, gy: Any) -> Any:
        return gy / self.inputs[0].data


class Sin(Function):
    """``y = sin(x)``; ``gx = gy * cos(x)``."""

    def forward(self, x: Any) -> Any:
        return cuda.get_array_module(x).sin(x)

    def backward(self, gy: Variable) -> Variable:
        return gy * cos(self.inputs[0])

    def backward_arrays(self, gy: Any) -> Any:
        x = self.inputs[0].data
        return gy * cuda.get_array_module(x).cos(x)


class Cos(Function):
    """``y = cos(x)``; ``gx = -gy * sin(x)``."""

    def forward(self, x: Any) -> Any:
        return cuda.get_array_module(x).cos(x)

    def backward(self, gy: Variable) -> Variable:
        return gy * -sin(self.inputs[0])

    def backward_arrays(self, gy: Any) -> Any:
        x = self.inputs[0].data
        return gy * -cuda.get_array_module(x).sin(x)


class Tanh(Function):
    """``y = tanh(x)``; ``gx = gy * (1 - y**2)``."""

    def forward(self, x: Any) -> Any:
        return cuda.get_array_module(x).tanh(x)

    def backward(self, gy: Variable) -> Variable:
        y = self.outputs[0]()
        return gy * (1 - y * y)

    def backward_arrays(self, gy: Any) -> Any:
        y = self.outputs[0]().data
        return gy * (1 - y * y)


class Clip(Function):
    """``y = min(max(x, lo), hi)``; ``gx = gy`` where ``lo <= x <= hi``, else 0."""

    def __init__(self, x_min: float, x_max: float) -> None:
        self.x_min = x_min
        self.x_max = x_max

    def forward(self, x: Any) -> Any:
        return cuda.get_array_module(x).clip(x, self.x_min, self.x_max)

    def backward(self, gy: Variable) -> Variable:
        x = self.inputs[0].data
        mask = ((x >= self.x_min) & (x <= self.x_max)).astype(gy.dtype)
        return gy * mask

    def backward_arrays(self, gy: Any) -> Any:
        x = self.inputs[0].data
        return gy * ((x >= self.x_min) & (x <= self.x_max))


def exp(x: Any) -> Variable:
    """Elementwise ``e ** x``."""
    return Exp()(x)


def log(x: Any) -> Variable:
    """Elementwise natural logarithm (defined for ``x > 0``)."""
    return Log()(x)


def sin(x: Any) -> Variable:
    """Elementwise sine."""
    return Sin()(x)


def cos(x: Any) -> Variable:
    """Elementwise cosine."""
    return Cos()(x)


def tanh(x: Any) -> Variable:
    """Elementwise hyperbolic tangent."""
    return Tanh()(x)


def clip(x: Any, x_min: float, x_max: float) -> Variable:
    """Limit ``x`` to ``[x_min, x_max]``; the gradient is 0 outside.

    Raises:
        ValueError: if ``x_min > x_max``.
    """
    if x_min > x_max:
        raise ValueError(f"clip: x_min {x_min} is greater than x_max {x_max}")
    return Clip(x_min, x_max)(x)
