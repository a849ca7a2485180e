"""Activation functions: relu, leaky_relu, sigmoid, softplus and gelu.

Each is a :class:`~dzcore.Function` subclass (``ReLU``) with a snake_case
wrapper (``relu``); the wrapper's ``function_class`` attribute names the
class. Backward passes are written with dz ops on Variables, so gradients
can be differentiated again (``backward(create_graph=True)``); each class
also has ``backward_arrays``, the same first-order gradient on raw arrays,
which plain ``backward()`` uses because it skips building a graph.

Each class declares where generated gradient checks may sample it:

- ``domain``: the closed interval ``(low, high)`` of inputs on which the
  gradient is checked against numerical differences;
- ``kinks``: the points inside the domain where the function is not
  differentiable; checks keep their inputs away from them.

The registered FunctionSpecs (``specs.py``) are built from these two
attributes, so ``dz check-plugin`` and the generated tests read them.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar

import numpy as np

from dzcore import Function, Variable, cuda
from dzcore.errors import DtypeError
from dzcore.functions import clip, tanh

# GELU's tanh argument saturates (tanh is exactly +-1, even in float64)
# long before |x| = 10, so clipping x there changes no value, and keeps
# x**3 from overflowing float32 for huge inputs.
_GELU_SATURATION = 10.0
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


class Activation(Function):
    """Base of the activations: an elementwise Function of one float input.

    Attributes:
        domain: closed interval of inputs where gradients are checked.
        kinks: points of the domain where the function is not differentiable.
    """

    domain: ClassVar[tuple[float, float]] = (-10.0, 10.0)
    kinks: ClassVar[tuple[float, ...]] = ()

    def __call__(self, *inputs: Any) -> Any:
        if len(inputs) == 1 and isinstance(inputs[0], Variable):
            data = inputs[0].data
            if data is not None and data.dtype.kind == "f":
                return Function.__call__(self, *inputs)
        for x in inputs:
            dtype = getattr(x, "dtype", None)
            if dtype is None and not isinstance(x, float):
                dtype = type(x).__name__
            if dtype is not None and getattr(dtype, "kind", "") != "f":
                raise DtypeError(
                    f"{type(self).__name__}: expected a floating array, got "
                    f"{dtype}; convert it with x.astype(np.float32)"
                )
        return super().__call__(*inputs)


class ReLU(Activation):
    """``y = max(x, 0)``; ``gx = gy * (x > 0)``, so relu'(0) = 0."""

    kinks: ClassVar[tuple[float, ...]] = (0.0,)

    def forward(self, x: Any) -> Any:
        return cuda.get_array_module(x).maximum(x, 0)

    def backward(self, gy: Variable) -> Variable:
        mask = (self.inputs[0].data > 0).astype(gy.dtype)
        return gy * mask

    def backward_arrays(self, gy: Any) -> Any:
        return gy * (self.inputs[0].data > 0)


class LeakyReLU(Activation):
    """``y = x if x > 0 else slope * x``; ``gx = gy * (1 if x > 0 else slope)``."""

    kinks: ClassVar[tuple[float, ...]] = (0.0,)

    def __init__(self, slope: float = 0.2) -> None:
        self.slope = slope

    def forward(self, x: Any) -> Any:
        return cuda.get_array_module(x).where(x > 0, x, x * self.slope)

    def backward(self, gy: Variable) -> Variable:
        x = self.inputs[0].data
        mask = cuda.get_array_module(x).where(x > 0, 1.0, self.slope)
        return gy * mask.astype(gy.dtype)

    def backward_arrays(self, gy: Any) -> Any:
        x = self.inputs[0].data
        return cuda.get_array_module(x).where(x > 0, gy, gy * gy.dtype.type(self.slope))


class Sigmoid(Activation):
    """``y = 1 / (1 + exp(-x))``; ``gx = gy * y * (1 - y)``.

    Computed as written: where ``exp(-x)`` overflows the result is exactly
    0, the right limit, and nothing cancels, so small outputs keep their
    relative precision (see ``_sigmoid_array``).
    """

    def forward(self, x: Any) -> Any:
        return _sigmoid_array(x)

    def backward(self, gy: Variable) -> Variable:
        y = self.outputs[0]()
        return gy * y * (1 - y)

    def backward_arrays(self, gy: Any) -> Any:
        y = self.outputs[0]().data
        return gy * y * (1 - y)


def _sigmoid_array(x: Any) -> Any:
    """Stable sigmoid of an array: ``1 / (1 + exp(-x))``.

    Where ``exp(-x)`` overflows (x below -88 in float32) it is infinite and
    the result is exactly 0, the right limit, so the overflow warning is
    silenced rather than the input clipped. Nothing cancels, so small
    outputs keep their relative precision.
    """
    if type(x) is np.ndarray:
        with np.errstate(over="ignore"):
            if x.ndim == 0:
                return 1 / (1 + np.exp(-x))
            # The same steps in place, in one new array.
            y = np.negative(x)
            np.exp(y, out=y)
            y += 1
            return np.reciprocal(y, out=y)
    xp = cuda.get_array_module(x)
    return 1 / (1 + xp.exp(-x))


class Softplus(Activation):
    """``y = log(1 + exp(x))``; ``gx = gy * sigmoid(x)``.

    Computed as ``max(x, 0) + log1p(exp(-|x|))``, which cannot overflow.
    """

    def forward(self, x: Any) -> Any:
        xp = cuda.get_array_module(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy: Variable) -> Variable:
        return gy * sigmoid(self.inputs[0])

    def backward_arrays(self, gy: Any) -> Any:
        return gy * _sigmoid_array(self.inputs[0].data)


class GELU(Activation):
    """GELU, tanh approximation: ``y = x / 2 * (1 + tanh(u))``.

    With ``u = c * (x + a * x**3)``, ``c = sqrt(2 / pi)``, ``a = 0.044715``
    and ``t = tanh(u)``, the gradient is::

        gx = gy * (0.5 * (1 + t) + 0.5 * x * (1 - t**2) * c * (1 + 3 * a * x**2))

    This is the tanh approximation (Hendrycks and Gimpel, 2016), not the
    exact ``x * Phi(x)`` with erf; the two differ by less than 1e-3.
    """

    def forward(self, x: Any) -> Any:
        xp = cuda.get_array_module(x)
        xc = xp.clip(x, -_GELU_SATURATION, _GELU_SATURATION)
        t = xp.tanh(_GELU_C * (xc + _GELU_A * xc**3))
        return 0.5 * x * (1 + t)

    def backward(self, gy: Variable) -> Variable:
        x = self.inputs[0]
        xc = clip(x, -_GELU_SATURATION, _GELU_SATURATION)
        t = tanh(_GELU_C * (xc + _GELU_A * xc**3))
        dt = (1 - t * t) * (_GELU_C * (1 + 3 * _GELU_A * xc * xc))
        return gy * (0.5 * (1 + t) + 0.5 * x * dt)

    def backward_arrays(self, gy: Any) -> Any:
        x = self.inputs[0].data
        xp = cuda.get_array_module(x)
        xc = xp.clip(x, -_GELU_SATURATION, _GELU_SATURATION)
        t = xp.tanh(_GELU_C * (xc + _GELU_A * xc**3))
        dt = (1 - t * t) * (_GELU_C * (1 + 3 * _GELU_A * xc * xc))
        return gy * (0.5 * (1 + t) + 0.5 * x * dt)


def relu(x: Any) -> Variable:
    """Rectified linear unit, elementwise.

    Formula: ``y = max(x, 0)``. Gradient: ``dy/dx = 1`` for ``x > 0``,
    else 0 (0 at the kink ``x = 0``).
    """
    return ReLU()(x)


def leaky_relu(x: Any, slope: float = 0.2) -> Variable:
    """Leaky ReLU, elementwise: negative inputs are scaled by ``slope``.

    Formula: ``y = x`` for ``x > 0``, else ``slope * x``. Gradient:
    ``dy/dx = 1`` for ``x > 0``, else ``slope`` (``slope`` at ``x = 0``).

    Raises:
        TypeError: if ``slope`` is not a real number.
        ValueError: if ``slope`` is not finite.
    """
    if isinstance(slope, bool) or not isinstance(slope, numbers.Real):
        raise TypeError(f"leaky_relu: slope must be a real number, got {slope!r}")
    if not math.isfinite(slope):
        raise ValueError(f"leaky_relu: slope must be finite, got {slope!r}")
    return LeakyReLU(float(slope))(x)


def sigmoid(x: Any) -> Variable:
    """Logistic sigmoid, elementwise; stable for any float input.

    Formula: ``y = 1 / (1 + exp(-x))``. Gradient: ``dy/dx = y * (1 - y)``.
    """
    return Sigmoid()(x)


def softplus(x: Any) -> Variable:
    """Softplus, a smooth ReLU, elementwise; stable for any float input.

    Formula: ``y = log(1 + exp(x))``. Gradient: ``dy/dx = sigmoid(x)``.
    """
    return Softplus()(x)


def gelu(x: Any) -> Variable:
    """Gaussian error linear unit (tanh approximation), elementwise.

    Formula: ``y = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))``.
    Gradient: see :class:`GELU`.
    """
    return GELU()(x)


relu.function_class = ReLU
leaky_relu.function_class = LeakyReLU
sigmoid.function_class = Sigmoid
softplus.function_class = Softplus
gelu.function_class = GELU
