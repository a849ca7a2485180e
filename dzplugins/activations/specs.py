"""FunctionSpecs of the dz-activations functions, for generated tests.

Each spec says where its function is defined and where its gradient is
checked, which kinks to keep away from, and gives a NumPy reference for
the forward values. The registry loads them lazily
(``spec="dzplugins.activations.specs:RELU"``); they import no Hypothesis.
"""

from __future__ import annotations

import math

import numpy as np

from dzcore.testing.spec import FunctionSpec, OneOf, real

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


#: relu: a kink at 0 (relu'(0) = 0 is pinned by an example test, not here).
RELU = FunctionSpec("relu", (real(avoid=(0.0,), margin=1e-2),), reference=_relu)

#: leaky_relu: a kink at 0; the slope is drawn from a few values.
LEAKY_RELU = FunctionSpec(
    "leaky_relu",
    (real(avoid=(0.0,), margin=1e-2),),
    kwargs={"slope": OneOf((0.2, 0.01, 0.5))},
    reference=_leaky_relu,
)

#: sigmoid: smooth everywhere.
SIGMOID = FunctionSpec("sigmoid", (real(),), reference=_sigmoid)

#: softplus: smooth everywhere.
SOFTPLUS = FunctionSpec("softplus", (real(),), reference=_softplus)

#: gelu (tanh approximation): smooth everywhere.
GELU = FunctionSpec("gelu", (real(),), reference=_gelu)

#: Every spec of this plugin, by registered name.
SPECS = {spec.name: spec for spec in (RELU, LEAKY_RELU, SIGMOID, SOFTPLUS, GELU)}
