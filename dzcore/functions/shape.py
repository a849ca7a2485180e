"""Shape ops: reshape, transpose, broadcast_to, sum_to, get_item."""

from __future__ import annotations

from typing import Any

import numpy as np

from dzcore import cuda, utils
from dzcore.core import Function, Variable, as_variable
from dzcore.errors import ShapeError


class Reshape(Function):
    """``y = x.reshape(shape)``; ``gx = gy.reshape(x.shape)``."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: Any) -> Any:
        self.x_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape an array of shape {x.shape} "
                f"(size {x.size}) to {self.shape}"
            ) from None

    def backward(self, gy: Variable) -> Variable:
        return reshape(gy, self.x_shape)

    def backward_arrays(self, gy: Any) -> Any:
        return gy.reshape(self.x_shape)


def reshape(x: Any, shape: tuple[int, ...]) -> Variable:
    """Return ``x`` with a new shape of the same size (-1 is inferred)."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    if isinstance(x, Variable) and x.shape == tuple(shape):
        return x
    return Reshape(tuple(shape))(x)


class Transpose(Function):
    """``y = x.transpose(axes)``; ``gx = gy.transpose(argsort(axes))``."""

    def __init__(self, axes: tuple[int, ...] | None = None) -> None:
        self.axes = axes

    def forward(self, x: Any) -> Any:
        try:
            return x.transpose(self.axes)
        except (ValueError, IndexError):
            raise ShapeError(
                f"transpose: axes {self.axes} are not a permutation of the "
                f"{x.ndim} axes of an input of shape {x.shape}"
            ) from None

    def backward(self, gy: Variable) -> Variable:
        if self.axes is None:
            return transpose(gy)
        return transpose(gy, self._inverse_axes())

    def backward_arrays(self, gy: Any) -> Any:
        return gy.transpose(None if self.axes is None else self._inverse_axes())

    def _inverse_axes(self) -> tuple[int, ...]:
        return tuple(np.argsort([a % len(self.axes) for a in self.axes]))


def transpose(x: Any, axes: tuple[int, ...] | None = None) -> Variable:
    """Permute the axes of ``x`` (reverse them when ``axes`` is None)."""
    return Transpose(None if axes is None else tuple(axes))(x)


def swapaxes_last(x: Any) -> Variable:
    """Swap the last two axes (the matrix transpose of a batch of matrices)."""
    x = as_variable(x)
    axes = list(range(x.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return transpose(x, tuple(axes))


class BroadcastTo(Function):
    """``y = broadcast_to(x, shape)``; ``gx = sum_to(gy, x.shape)``."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: Any) -> Any:
        self.x_shape = x.shape
        xp = cuda.get_array_module(x)
        try:
            # A writable copy, not NumPy's read-only view: results of
            # broadcast_to end up as gradients that hooks scale in place.
            return xp.broadcast_to(x, self.shape).copy()
        except ValueError:
            raise ShapeError(
                f"broadcast_to: cannot broadcast shape {x.shape} to {self.shape}"
            ) from None

    def backward(self, gy: Variable) -> Variable:
        return sum_to(gy, self.x_shape)

    def backward_arrays(self, gy: Any) -> Any:
        return utils.sum_to(gy, self.x_shape)


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Variable:
    """Broadcast ``x`` to ``shape`` as NumPy would (into a new array)."""
    if isinstance(x, Variable) and x.shape == tuple(shape):
        return x
    return BroadcastTo(tuple(shape))(x)


class SumTo(Function):
    """``y`` sums ``x`` down to ``shape``; ``gx = broadcast_to(gy, x.shape)``."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: Any) -> Any:
        self.x_shape = x.shape
        try:
            fits = np.broadcast_shapes(self.shape, x.shape) == x.shape
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(
                f"sum_to: shape {x.shape} cannot be summed to {self.shape}"
            )
        return utils.sum_to(x, self.shape)

    def backward(self, gy: Variable) -> Variable:
        return broadcast_to(gy, self.x_shape)

    def backward_arrays(self, gy: Any) -> Any:
        return cuda.get_array_module(gy).broadcast_to(gy, self.x_shape).copy()


def sum_to(x: Any, shape: tuple[int, ...]) -> Variable:
    """Sum ``x`` over broadcast axes so that it takes ``shape``."""
    if isinstance(x, Variable) and x.shape == tuple(shape):
        return x
    return SumTo(tuple(shape))(x)


def _has_array_index(key: Any) -> bool:
    """True when ``key`` uses integer arrays or lists (advanced indexing)."""
    parts = key if isinstance(key, tuple) else (key,)
    return any(isinstance(p, (list, Variable)) or hasattr(p, "shape") for p in parts)


def _plain_key(key: Any) -> Any:
    """Replace Variables used as indices by their arrays."""
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Variable) else k for k in key)
    return key.data if isinstance(key, Variable) else key


class GetItem(Function):
    """``y = x[key]``; ``gx`` scatters ``gy`` into zeros, repeats accumulating."""

    def __init__(self, key: Any) -> None:
        self.key = key

    def forward(self, x: Any) -> Any:
        self.x_shape = x.shape
        try:
            return x[self.key]
        except IndexError as error:
            raise IndexError(
                f"get_item: index {self.key!r} does not fit an input of shape "
                f"{x.shape}: {error}"
            ) from None

    def backward(self, gy: Variable) -> Variable:
        return GetItemGrad(self.key, self.x_shape)(gy)

    def backward_arrays(self, gy: Any) -> Any:
        return GetItemGrad(self.key, self.x_shape).forward(gy)


class GetItemGrad(Function):
    """Backward of get_item: ``gx = zeros(shape); gx[key] += gy``."""

    def __init__(self, key: Any, x_shape: tuple[int, ...]) -> None:
        self.key = key
        self.x_shape = x_shape

    def forward(self, gy: Any) -> Any:
        xp = cuda.get_array_module(gy)
        gx = xp.zeros(self.x_shape, dtype=gy.dtype)
        if _has_array_index(self.key):
            cuda.scatter_add(gx, self.key, gy)
        else:
            # Basic indexing selects each element at most once.
            gx[self.key] = gy
        return gx

    def backward(self, ggx: Variable) -> Variable:
        return get_item(ggx, self.key)

    def backward_arrays(self, ggx: Any) -> Any:
        return ggx[self.key]


def get_item(x: Any, key: Any) -> Variable:
    """Index ``x`` with ints, slices, integer arrays or tuples of them."""
    return GetItem(_plain_key(key))(x)
