"""Models: the top of a network, ``Sequential`` and ``MLP``.

``MLP`` takes its activation as a callable or as the name of a function
registered by a plugin (``"sigmoid"`` comes from ``dz-activations``). A
name is resolved through ``dzcore.plugins`` on the first forward pass, not
at construction, so that a model can be built, inspected and loaded with
no plugin installed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from dzcore.config import DEFAULT_DTYPE
from dzcore.core import Function
from dzcore.layers import Layer, Linear

logger = logging.getLogger(__name__)

Step = Callable[..., Any]


class Model(Layer):
    """A Layer meant to be the whole network that an optimizer trains.

    Contract: as :class:`~dzcore.layers.Layer`; a subclass assigns its
    layers in ``__init__`` (after ``super().__init__()``) and defines
    ``forward``. ``Model`` adds nothing else today; DeZero's ``plot`` is
    not provided.
    """


class Sequential(Model):
    """Apply layers and plain functions one after the other.

    Layers are tracked under the name ``l<i>``, where ``i`` is their
    position in the sequence, so ``Sequential(Linear(4), F.tanh, Linear(1))``
    has parameters ``l0.W``, ``l0.b``, ``l2.W``, ``l2.b``. Functions (any
    callable that is not a Layer) hold no parameters.

    Args:
        *steps: Layers and callables, applied in order.

    Raises:
        ValueError: if no step is given.
        TypeError: if a step is not callable.
    """

    def __init__(self, *steps: Layer | Step) -> None:
        super().__init__()
        if not steps:
            raise ValueError("Sequential: give at least one layer or function")
        for index, step in enumerate(steps):
            if not callable(step):
                raise TypeError(
                    f"Sequential: step {index} is a {type(step).__name__}, "
                    "expected a Layer or a callable"
                )
            if isinstance(step, Layer):
                setattr(self, f"l{index}", step)
        self._steps = tuple(steps)

    def forward(self, x: Any) -> Any:
        """Return ``x`` passed through every step in order."""
        for step in self._steps:
            x = step(x)
        return x

    def __len__(self) -> int:
        return len(self._steps)

    def __getitem__(self, index: int) -> Layer | Step:
        return self._steps[index]

    def __iter__(self) -> Iterator[Layer | Step]:
        return iter(self._steps)


class MLP(Model):
    """A multi-layer perceptron: Linear layers with an activation between them.

    The layers are named ``l0``, ``l1``, ... (parameters ``l0.W``, ``l0.b``,
    ...); each infers its input size on the first call. The activation is
    applied after every layer but the last.

    Args:
        fc_output_sizes: output size of each Linear layer, in order.
        activation: a callable, or the name of a registered function
            (``"sigmoid"``, ``"relu"``: provided by the ``dz-activations``
            plugin). A name is looked up in ``dzcore.plugins`` on the first
            forward pass; if no installed plugin provides it, that call
            raises the registry's ``LookupError``.
        dtype: floating dtype of the parameters.
        seed: None (NumPy's global random state, as in DeZero), an int, or
            a ``np.random.Generator`` shared by the layers in order.

    Raises:
        ValueError: if ``fc_output_sizes`` is empty or holds a size < 1.
        TypeError: if ``activation`` is neither a string nor callable.
    """

    def __init__(
        self,
        fc_output_sizes: Sequence[int],
        activation: str | Step = "sigmoid",
        *,
        dtype: DTypeLike = DEFAULT_DTYPE,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        sizes = tuple(fc_output_sizes)
        if not sizes:
            raise ValueError("MLP: fc_output_sizes is empty; give one size per layer")
        if not (isinstance(activation, str) or callable(activation)):
            raise TypeError(
                "MLP: activation must be a callable or the name of a registered "
                f"function, got {type(activation).__name__}"
            )
        rng = None if seed is None else np.random.default_rng(seed)
        self.layers: list[Linear] = []
        for index, size in enumerate(sizes):
            layer = Linear(size, dtype=dtype, seed=rng)
            setattr(self, f"l{index}", layer)
            self.layers.append(layer)
        self._activation = activation
        self._resolved: Step | None = (
            None if isinstance(activation, str) else activation
        )

    @property
    def activation(self) -> Step:
        """The activation function, looked up in the registry on first use."""
        if self._resolved is None:
            self._resolved = _resolve_function(self._activation)
        return self._resolved

    def forward(self, x: Any) -> Any:
        """Return the last layer's output; the activation follows the others."""
        activation = self._resolved or self.activation
        for layer in self.layers[:-1]:
            x = activation(layer(x))
        return self.layers[-1](x)


def _resolve_function(name: str) -> Step:
    """Return the registered function ``name`` as a callable on Variables."""
    from dzcore import plugins

    target = plugins.lookup("functions", name)
    if isinstance(target, type) and issubclass(target, Function):
        # A registered Function class: one fresh instance per call.
        return lambda *inputs: target()(*inputs)
    logger.debug("MLP activation %r resolved to %r", name, target)
    return target


__all__ = ["MLP", "Model", "Sequential"]
