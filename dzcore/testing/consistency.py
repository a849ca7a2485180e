"""Checks built on ``check_grad``: second derivatives and the float32 path.

``check_double_grad`` differentiates the first-order gradient itself: it
wraps ``fn`` into a function of the inputs and the upstream gradients that
runs ``backward(create_graph=True)`` and returns the input gradients, and
checks that function with ``check_grad``. The inner backward leaves
gradients on the Variables it was given; they are cleared before the
outer pass, or a correct double gradient would look wrong (the outer
backward would add to them).

``check_float32`` runs ``fn`` forward and backward in float32 and in
float64 and requires float32 outputs and gradients close to the float64
ones, since finite differences in float32 are too noisy to check directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dzcore.config import using_config
from dzcore.core import Variable
from dzcore.testing import numeric
from dzcore.testing.gradcheck import _grad_outputs, _resolve_wrt, check_grad
from dzcore.testing.harness import Harness, SeedGrads, is_floating, outputs_of
from dzcore.testing.report import GradcheckReport, InputFailure, reproduce_line


class FirstOrder:
    """``(*inputs, *gys) -> input gradients`` of ``fn``, differentiable again.

    Attributes:
        fn: the function whose gradient is taken.
        count: how many of the arguments are ``fn``'s inputs (the rest are
            the upstream gradients, one per output).
        wrt: positions of the inputs whose gradients are returned.
    """

    def __init__(self, fn: Callable, count: int, wrt: Sequence[int]) -> None:
        self.fn = fn
        self.count = count
        self.wrt = tuple(wrt)

    def __call__(self, *args: Any) -> tuple[Variable, ...]:
        xs, gys = args[: self.count], args[self.count :]
        # The outer numerical pass runs under no_grad; the inner backward
        # needs a recorded graph all the same.
        with using_config("enable_backprop", True):
            outputs = outputs_of(self.fn(*xs), "the function")
            SeedGrads(gys)(*outputs).backward(create_graph=True)
        grads = [xs[i].grad for i in self.wrt]
        for variable in (*xs, *gys):
            if isinstance(variable, Variable):
                variable.cleargrad()
        return tuple(
            g if g is not None else Variable(xs[i].data * 0)
            for i, g in zip(self.wrt, grads, strict=True)
        )


def check_double_grad(
    fn: Callable[..., Any],
    *inputs: Any,
    grad_outputs: Sequence[Any] | None = None,
    grad_grad_inputs: Sequence[Any] | None = None,
    wrt: Sequence[int] | None = None,
    seed: int = 0,
    mode: str = "auto",
    atol: float = 1e-4,
    rtol: float = 1e-3,
    **options: Any,
) -> GradcheckReport:
    """Check the gradient of ``fn``'s gradient against central differences.

    Assumes first order was checked (run ``check_grad`` first). Both the
    inputs and the upstream gradients ``gys`` are differentiated.

    Args:
        fn: as for :func:`~dzcore.testing.check_grad`.
        *inputs: as for ``check_grad``.
        grad_outputs: the first-order upstream gradients (random if None).
        grad_grad_inputs: upstream gradients of the returned input
            gradients (random if None).
        wrt: the inputs to check; None means every floating one.
        seed: seeds every random draw.
        mode: as for ``check_grad``.
        atol, rtol: tolerances (Chainer's double-backward values).
        **options: passed on to ``check_grad`` (eps, name, raise_on_fail...).

    Raises:
        GradcheckError: the second derivative disagrees, or is missing
            (for example a backward that computed on ``x.data``).
    """
    wrt = _resolve_wrt(inputs, wrt)
    harness = Harness(fn, inputs, wrt, options.get("dtype", np.float64))
    base = harness.forward(harness.inputs)
    rng = np.random.default_rng(seed + 1)
    gys = _grad_outputs(harness, base, grad_outputs, rng)
    first = FirstOrder(fn, len(inputs), wrt)
    options.setdefault("name", f"grad of {harness.name}")
    raise_on_fail = options.pop("raise_on_fail", True)
    report = check_grad(
        first,
        *harness.inputs,
        *gys,
        grad_outputs=grad_grad_inputs,
        seed=seed,
        mode=mode,
        atol=atol,
        rtol=rtol,
        raise_on_fail=False,
        **options,
    )
    report.reproduce = reproduce_line(
        harness.name, harness.inputs, "check_double_grad", seed=seed, mode="full"
    )
    return report.raise_if_failed() if raise_on_fail else report


def check_float32(
    fn: Callable[..., Any],
    *inputs: Any,
    grad_outputs: Sequence[Any] | None = None,
    wrt: Sequence[int] | None = None,
    seed: int = 0,
    atol: float = 1e-4,
    rtol: float = 2e-3,
    raise_on_fail: bool = True,
) -> GradcheckReport:
    """Check that ``fn`` computes in float32 what it computes in float64.

    Outputs and gradients must be float32 for float32 inputs (no silent
    upcast) and within ``atol + rtol * |float64 value|`` of the float64 run.

    Raises:
        GradcheckError: a dtype is not float32 or a value is too far off.
    """
    wrt = _resolve_wrt(inputs, wrt)
    wide = Harness(fn, inputs, wrt, np.float64)
    narrow = Harness(fn, inputs, wrt, np.float32)
    base = wide.forward(wide.inputs)
    gys = _grad_outputs(wide, base, grad_outputs, np.random.default_rng(seed))
    report = GradcheckReport(
        narrow.name, {"seed": seed, "atol": atol, "rtol": rtol}, reproduce=""
    )
    report.reproduce = f"check_float32({narrow.name}, ..., seed={seed})"
    report.failures += _output_failures(narrow, base, (atol, rtol))
    grads64 = wide.grads(gys)
    grads32 = narrow.grads([gy.astype(np.float32) for gy in gys])
    for position in wrt:
        pair = (grads32[position], grads64[position])
        report.failures += _grad_failures(narrow, position, pair, (atol, rtol))
    return report.raise_if_failed() if raise_on_fail else report


def _output_failures(
    narrow: Harness, base: list[Any], tol: tuple[float, float]
) -> list[InputFailure]:
    failures = []
    for position, (y32, y64) in enumerate(
        zip(narrow.forward(narrow.inputs), base, strict=True)
    ):
        problem = _dtype_problem(y32, y64, f"output {position}")
        problem = problem or _close_problem(y32, y64, tol, f"output {position}")
        if problem:
            failures.append(
                InputFailure(position, y64.shape, "float32", "f32", problem)
            )
    return failures


def _grad_failures(
    narrow: Harness, position: int, pair: tuple[Any, Any], tol: tuple[float, float]
) -> list[InputFailure]:
    g32, g64 = pair
    x = narrow.inputs[position]
    if g32 is None or g64 is None:
        if g32 is None and g64 is None:
            return []
        problem = "a gradient is None in one precision but not in the other"
    else:
        problem = _dtype_problem(g32, g64, "the gradient")
        problem = problem or _close_problem(g32, g64, tol, "the gradient")
    if not problem:
        return []
    return [InputFailure(position, tuple(x.shape), "float32", "f32", problem)]


def _dtype_problem(y32: Any, y64: Any, what: str) -> str:
    if is_floating(y64) and y32.dtype != np.float32:
        return f"{what} is {y32.dtype} for float32 inputs; expected float32"
    return ""


def _close_problem(y32: Any, y64: Any, tol: tuple[float, float], what: str) -> str:
    atol, rtol = tol
    narrow, wide = numeric.host(y32), numeric.host(y64)
    excess = np.abs(narrow - wide) - (atol + rtol * np.abs(wide))
    if excess.size == 0 or excess.max() <= 0:
        return ""
    flat = int(np.argmax(excess))
    return (
        f"{what} in float32 is {narrow.ravel()[flat]:.7g} at flat index {flat}, "
        f"float64 gives {wide.ravel()[flat]:.7g} (atol {atol}, rtol {rtol})"
    )
