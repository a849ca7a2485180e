"""The numerical side of the gradient checks: central differences of ``<gy, f(x)>``.

Differences run on the inputs' backend (NumPy or CuPy); the results are
compared on the host in float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dzcore import cuda
from dzcore.testing.harness import Harness
from dzcore.testing.report import DomainError, GradcheckError, worst_elements


def host(array: Any) -> np.ndarray:
    """``array`` on the host as float64."""
    return cuda.as_numpy(array).astype(np.float64)


def host_grad(gx: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A gradient on the host in float64; None (no gradient) reads as zeros."""
    return np.zeros(shape) if gx is None else host(gx)


def max_abs_diff(a: Any, b: Any) -> float:
    """The largest |a - b|, with None read as zeros (0.0 for empty arrays)."""
    if a is None and b is None:
        return 0.0
    shape = (a if a is not None else b).shape
    diff = np.abs(host_grad(a, shape) - host_grad(b, shape))
    return float(diff.max()) if diff.size else 0.0


def require_finite(harness: Harness, outputs: Sequence[Any], where: str) -> None:
    """Raise DomainError when an output holds NaN or infinity."""
    for position, y in enumerate(outputs):
        xp = cuda.get_array_module(y)
        if y.dtype.kind == "f" and not bool(xp.isfinite(y).all()):
            raise DomainError(
                f"check_grad: {harness.name} gave non-finite values in output "
                f"{position} {where}; the inputs are outside its domain (narrow "
                "the domain or grad_domain of the argument in its spec)"
            )


def objective(
    harness: Harness, inputs: Sequence[Any], gys: Sequence[Any], where: str
) -> float:
    """``sum_i <gys[i], fn(*inputs)[i]>`` as a Python float (float64)."""
    outputs = harness.forward(inputs)
    require_finite(harness, outputs, where)
    total = 0.0
    for position, (y, gy) in enumerate(zip(outputs, gys, strict=True)):
        if y.shape != gy.shape:
            raise GradcheckError(
                f"check_grad: output {position} of {harness.name} changed shape "
                f"from {gy.shape} to {y.shape} {where}; outputs must keep their "
                "shape under small input changes"
            )
        total += float((y.astype(np.float64) * gy.astype(np.float64)).sum())
    return total


def full(harness: Harness, position: int, gys: Sequence[Any], eps: float) -> Any:
    """Central difference of the objective for every element of one input."""
    base = harness.inputs[position]
    work = base.copy()
    numerical = np.zeros(base.shape)
    for index in np.ndindex(*base.shape):
        original = work[index].copy()
        work[index] = original + eps
        plus = _at(harness, position, work, gys, f"at {index} + eps")
        work[index] = original - eps
        minus = _at(harness, position, work, gys, f"at {index} - eps")
        work[index] = original
        numerical[index] = (plus - minus) / (2 * eps)
    return numerical


def directional(
    harness: Harness, position: int, gys: Sequence[Any], u: np.ndarray, eps: float
) -> float:
    """Central difference of the objective along direction ``u`` of one input."""
    base = harness.inputs[position]
    xp = cuda.get_array_module(base)
    step = xp.asarray(u * eps, dtype=base.dtype)
    plus = _at(harness, position, base + step, gys, "at x + eps*u")
    minus = _at(harness, position, base - step, gys, "at x - eps*u")
    return (plus - minus) / (2 * eps)


def _at(
    harness: Harness, position: int, value: Any, gys: Sequence[Any], where: str
) -> float:
    """The objective with input ``position`` replaced by a read-only ``value``."""
    inputs = list(harness.inputs)
    inputs[position] = value
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    try:
        return objective(harness, inputs, gys, where)
    finally:
        if isinstance(value, np.ndarray):
            value.flags.writeable = True


worst = worst_elements
