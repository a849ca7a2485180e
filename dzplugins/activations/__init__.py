"""dz-activations: relu, leaky_relu, sigmoid, softplus and gelu.

Registers the five activations with the ``dz_register_functions`` hook, so
that ``F.relu`` and ``F.get("relu")`` find them; the module
:mod:`dzplugins.activations.ops` is imported only when one is first used.
"""

from typing import Any

from dzcore import hookimpl

__version__ = "0.1.0"

_FUNCTIONS: tuple[tuple[str, str], ...] = (
    ("relu", "rectified linear unit, max(x, 0)"),
    ("leaky_relu", "ReLU with slope (default 0.2) for negative inputs"),
    ("sigmoid", "logistic sigmoid 1 / (1 + exp(-x)), stable for large |x|"),
    ("softplus", "smooth ReLU log(1 + exp(x)), stable for large |x|"),
    ("gelu", "Gaussian error linear unit (tanh approximation)"),
)


@hookimpl
def dz_register_functions(registry: Any) -> None:
    """Register the five activations, imported on first use, with their specs."""
    for name, summary in _FUNCTIONS:
        registry.add(
            name,
            f"dzplugins.activations.ops:{name}",
            summary=summary,
            spec=f"dzplugins.activations.specs:{name.upper()}",
        )
