"""Reductions: sum, mean, max, min, with negative and tuple axes."""

from __future__ import annotations

from typing import Any

import numpy as np

from dzcore import cuda, utils
from dzcore.core import Function, Variable, as_variable
from dzcore.functions.shape import broadcast_to, reshape


def _grad_to_input(gy: Variable, x_shape: tuple, axes: tuple | None) -> Variable:
    """Reshape a reduced gradient to keepdims form and broadcast it to ``x_shape``."""
    gy = reshape(gy, utils.keepdims_shape(x_shape, axes))
    return broadcast_to(gy, x_shape)


def _grad_array_to_input(gy: Any, x_shape: tuple, axes: tuple | None) -> Any:
    """Array version of :func:`_grad_to_input` (a new, writable array)."""
    xp = np if type(gy) is np.ndarray else cuda.get_array_module(gy)
    gx = xp.empty(x_shape, dtype=gy.dtype)
    # Assignment broadcasts gy over the reduced axes, filling gx in one pass.
    gx[...] = gy if axes is None else gy.reshape(utils.keepdims_shape(x_shape, axes))
    return gx


class Sum(Function):
    """``y = sum(x, axis)``; ``gx = broadcast_to(gy, x.shape)``."""

    def __init__(self, axis: Any = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x: Any) -> Any:
        self.x_shape = x.shape
        axis = self.axis
        self.axes = axis if axis is None else utils.normalize_axis("sum", axis, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy: Variable) -> Variable:
        return _grad_to_input(gy, self.x_shape, self.axes)

    def backward_arrays(self, gy: Any) -> Any:
        return _grad_array_to_input(gy, self.x_shape, self.axes)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """Sum over ``axis`` (an int, a tuple, negative allowed; None for all)."""
    return Sum(axis, keepdims)(x)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:
    """Mean over ``axis``: ``sum(x, axis) / n``; ``gx = gy / n`` everywhere."""
    x = as_variable(x)
    y = sum(x, axis, keepdims)
    # Counted without the builtins that this module's max/sum shadow.
    count = x.size // y.size if y.size else 0
    return y * (1.0 / count if count else float("nan"))


class _Extremum(Function):
    """Shared max/min: the gradient goes to the extreme elements, split over ties."""

    name = "max"
    reduce_name = "max"

    def __init__(self, axis: Any = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x: Any) -> Any:
        self.axes = utils.normalize_axis(self.name, self.axis, x.ndim)
        if x.size == 0:
            raise ValueError(
                f"{self.name}: cannot reduce an empty array of shape {x.shape}"
            )
        return getattr(x, self.reduce_name)(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy: Variable) -> Variable:
        x = self.inputs[0].data
        return _grad_to_input(gy, x.shape, self.axes) * self._share(gy.dtype)

    def backward_arrays(self, gy: Any) -> Any:
        x = self.inputs[0].data
        return _grad_array_to_input(gy, x.shape, self.axes) * self._share(gy.dtype)

    def _share(self, dtype: Any) -> Any:
        """Each element's share of the gradient: 1/ties at the extremes, else 0."""
        x = self.inputs[0].data
        y = self.outputs[0]().data.reshape(utils.keepdims_shape(x.shape, self.axes))
        mask = (x == y).astype(dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return mask


class Max(_Extremum):
    """``y = max(x, axis)``; ``gx = gy`` at the maxima (shared equally by ties)."""


class Min(_Extremum):
    """``y = min(x, axis)``; ``gx = gy`` at the minima (shared equally by ties)."""

    name = "min"
    reduce_name = "min"


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """Maximum over ``axis`` (an int, a tuple, negative allowed; None for all)."""
    return Max(axis, keepdims)(x)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A001
    """Minimum over ``axis`` (an int, a tuple, negative allowed; None for all)."""
    return Min(axis, keepdims)(x)
