"""Run a function under test: fresh Variables, seeded backward, mutation guard.

The gradient checks in :mod:`dzcore.testing.gradcheck` call a function many
times, with perturbed inputs for the numerical side and once or twice with
``backward()`` for the analytical side. :class:`Harness` owns those calls:
it keeps the inputs as read-only copies in the check dtype, wraps them in
fresh Variables each time, seeds backward with the upstream gradients
through :class:`SeedGrads` (so no core op takes part in the seeding), and
turns a write into an input into a :class:`GradcheckError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dzcore import cuda
from dzcore.config import no_grad, using_config
from dzcore.core import Function, Variable
from dzcore.testing.report import GradcheckError

logger = logging.getLogger(__name__)


def is_array(value: Any) -> bool:
    """True for a NumPy or CuPy array (not for Python or NumPy scalars)."""
    return isinstance(value, np.ndarray) or type(value).__module__.startswith("cupy")


def is_floating(value: Any) -> bool:
    """True for an array whose dtype is a real floating type."""
    return is_array(value) and value.dtype.kind == "f"


def read_only_copy(array: Any, dtype: Any = None) -> Any:
    """Copy ``array`` (cast to ``dtype`` when given) and lock it against writes.

    CuPy arrays have no writeable flag; their mutations are found by
    comparing with a copy afterwards (see :meth:`Harness.check_unchanged`).
    """
    copy = array.astype(dtype if dtype is not None else array.dtype, copy=True)
    if isinstance(copy, np.ndarray):
        copy.flags.writeable = False
    return copy


def function_name(fn: Any) -> str:
    """A readable name for ``fn``: a function, a Function class or instance."""
    for candidate in (fn, getattr(fn, "func", None), type(fn)):
        name = getattr(candidate, "__qualname__", None)
        if name and name not in ("partial", "function"):
            return name
    return repr(fn)


class SeedGrads(Function):
    """Start backward from several outputs at once with given gradients.

    ``forward`` returns a 0-d zero (its value is never used); ``backward``
    hands each output its upstream gradient ``gys[i]`` unchanged. When the
    ``gys`` are Variables that take part in a graph (double-grad checks),
    the input gradients stay differentiable with respect to them.
    """

    def __init__(self, gys: Sequence[Variable]) -> None:
        self.gys = tuple(gys)

    def forward(self, *ys: Any) -> Any:
        return cuda.get_array_module(ys[0]).zeros((), dtype=ys[0].dtype)

    def backward(self, gy: Variable) -> tuple:
        return self.gys


def outputs_of(result: Any, name: str) -> tuple[Variable, ...]:
    """Return a function's result as a tuple of Variables, or raise."""
    outputs = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    for position, output in enumerate(outputs):
        if not isinstance(output, Variable):
            raise GradcheckError(
                f"check_grad: {name} must return Variables, but output "
                f"{position} is a {type(output).__name__}"
            )
    return outputs


class Harness:
    """Calls ``fn`` on fresh Variables built from read-only input copies.

    Attributes:
        fn: the function under test, called as ``fn(*inputs)``.
        name: its readable name, used in every message.
        inputs: the arguments; arrays are read-only copies (floating ones in
            the check dtype), anything else (a Python scalar) is passed as is.
        wrt: positions of the inputs that gradients are checked for.
    """

    def __init__(
        self, fn: Callable, inputs: Sequence[Any], wrt: Sequence[int], dtype: Any
    ) -> None:
        self.fn = fn
        self.name = function_name(fn)
        self.inputs = [_prepare(value, dtype) for value in inputs]
        self.wrt = tuple(wrt)
        self._originals = [x.copy() if is_array(x) else None for x in self.inputs]

    def call(self, inputs: Sequence[Any]) -> tuple[Variable, ...]:
        """Call ``fn`` on Variables wrapping ``inputs`` and return its outputs."""
        variables = [Variable(x) if is_array(x) else x for x in inputs]
        return self._guarded(lambda: self.fn(*variables))

    def forward(self, inputs: Sequence[Any]) -> list[Any]:
        """The output arrays of ``fn`` at ``inputs``, without recording a graph."""
        with no_grad():
            return [y.data for y in self.call(inputs)]

    def grads(self, gys: Sequence[Any], create_graph: bool = False) -> list[Any]:
        """Backpropagate ``gys`` once; the gradient array (or None) per input.

        Args:
            gys: one upstream gradient array per output.
            create_graph: take the differentiable backward path (Variables)
                instead of the first-order fast path (``backward_arrays``).
        """
        variables = [Variable(x) if is_array(x) else x for x in self.inputs]
        with using_config("enable_backprop", True):
            outputs = self._guarded(lambda: self.fn(*variables))
        seed_gys = [Variable(read_only_copy(gy)) for gy in gys]
        seed = SeedGrads(seed_gys)(*outputs)
        self._guarded(lambda: seed.backward(create_graph=create_graph))
        self.check_unchanged(seed_gys, gys)
        return [_grad_data(v) for v in variables]

    def check_unchanged(self, seed_gys: Sequence[Variable], gys: Sequence[Any]) -> None:
        """Raise if an input or an upstream gradient was changed in place."""
        for position, (now, before) in enumerate(
            zip(self.inputs, self._originals, strict=True)
        ):
            if before is not None and not _same(now, before):
                raise self._mutation_error(f"input {position}")
        for position, (now, before) in enumerate(zip(seed_gys, gys, strict=True)):
            if not _same(now.data, before):
                raise self._mutation_error(
                    f"the upstream gradient of output {position}"
                )

    def _guarded(self, call: Callable[[], Any]) -> Any:
        """Run ``call``; a write into a read-only input becomes a GradcheckError."""
        try:
            result = call()
        except ValueError as error:
            if "read-only" not in str(error):
                raise
            raise self._mutation_error("an input or upstream gradient") from error
        return result if result is None else outputs_of(result, self.name)

    def _mutation_error(self, what: str) -> GradcheckError:
        return GradcheckError(
            f"check_grad: {self.name} wrote into {what}; a Function must never "
            "modify arrays it receives (copy first, e.g. x = x.copy())"
        )


def _prepare(value: Any, dtype: Any) -> Any:
    if isinstance(value, Variable):
        value = value.data
    if is_floating(value):
        return read_only_copy(value, dtype)
    if is_array(value):
        return read_only_copy(value)
    return value


def _grad_data(variable: Any) -> Any:
    if not isinstance(variable, Variable) or variable.grad is None:
        return None
    return variable.grad.data


def _same(now: Any, before: Any) -> bool:
    xp = cuda.get_array_module(now)
    return bool(now.shape == before.shape and xp.array_equal(now, before))
