"""FunctionSpecs of the dz-activations functions, for generated tests.

Each spec says where its function is defined and where its gradient is
checked, which kinks to keep away from, and gives a NumPy reference for
the forward values. The registry loads them lazily
(``spec="dzplugins.activations.specs:RELU"``); they import no Hypothesis.
"""

from __future__ import annotations

import math

import numpy as np

from dzcore.testing.spec import ArgSpec, FunctionSpec, Interval, OneOf, real
from dzplugins.activations import ops

_GELU_C = math.sqrt(2.0 / math.pi)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _leaky_relu(x: np.ndarray, slope: float = 0.2) -> np.ndarray:
    return np.where(x > 0, x, slope * x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))


def _argument(cls: type[ops.Activation]) -> ArgSpec:
    """The input spec that an activation class declares: domain and kinks.

    The classes in ``ops`` are the one place where domains and kinks are
    written down; these specs only carry them to the generated tests.
    """
    return real(grad_domain=Interval(*cls.domain), avoid=cls.kinks)


#: relu: a kink at 0 (relu'(0) = 0 is pinned by an example test, not here).
RELU = FunctionSpec("relu", (_argument(ops.ReLU),), reference=_relu)

#: leaky_relu: a kink at 0; the slope is drawn from a few values.
LEAKY_RELU = FunctionSpec(
    "leaky_relu",
    (_argument(ops.LeakyReLU),),
    kwargs={"slope": OneOf((0.2, 0.01, 0.5))},
    reference=_leaky_relu,
)

#: sigmoid: smooth everywhere.
SIGMOID = FunctionSpec("sigmoid", (_argument(ops.Sigmoid),), reference=_sigmoid)

#: softplus: smooth everywhere.
SOFTPLUS = FunctionSpec("softplus", (_argument(ops.Softplus),), reference=_softplus)

#: gelu (tanh approximation): smooth everywhere.
GELU = FunctionSpec("gelu", (_argument(ops.GELU),), reference=_gelu)

#: Every spec of this plugin, by registered name.
SPECS = {spec.name: spec for spec in (RELU, LEAKY_RELU, SIGMOID, SOFTPLUS, GELU)}
