"""Array helpers shared by the core ops (they work on raw arrays)."""

from __future__ import annotations

from typing import Any

import numpy as np

from dzcore.cuda import get_array_module
from dzcore.errors import ShapeError


def sum_to(x: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``x`` over the axes that broadcasting added to reach ``shape``."""
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and x.shape[lead + i] != 1
    )
    y = x.sum(axis=axes, keepdims=True)
    return y.reshape(shape) if lead else y


def normalize_axis(op: str, axis: Any, ndim: int) -> tuple[int, ...] | None:
    """Return ``axis`` as a sorted tuple of non-negative ints (None for all).

    Raises:
        ShapeError: if an axis is out of range or repeated.
    """
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise ShapeError(
                f"{op}: axis {ax} is out of range for an input with {ndim} dims"
            )
        result.append(int(ax) % ndim)
    if len(set(result)) != len(result):
        raise ShapeError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(result))


def keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple:
    """The shape a reduction over ``axes`` has with ``keepdims=True``."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else size for i, size in enumerate(shape))


def logsumexp(x: Any, axis: int = -1) -> Any:
    """Stable ``log(sum(exp(x), axis, keepdims=True))``."""
    xp = get_array_module(x)
    m = x.max(axis=axis, keepdims=True)
    s = xp.exp(x - m).sum(axis=axis, keepdims=True)
    return m + xp.log(s)


def check_broadcast(op: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """Return the broadcast shape, or raise a ShapeError naming both shapes."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(s) for s in shapes)
        raise ShapeError(f"{op}: cannot broadcast shapes {listed}") from None
