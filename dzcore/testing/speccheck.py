"""Run the checks a FunctionSpec calls for on one drawn Case.

This is the piece a conformance suite needs per (function, check, example):
``check_function_spec(fn, spec, case, "grad")``. It imports no Hypothesis;
the case comes from :func:`dzcore.testing.strategies.spec_inputs`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dzcore.testing import numeric
from dzcore.testing.consistency import check_double_grad, check_float32
from dzcore.testing.gradcheck import check_grad
from dzcore.testing.harness import Harness, is_floating
from dzcore.testing.report import GradcheckError
from dzcore.testing.spec import CHECKS, Case, FunctionSpec


def bind(fn: Callable, spec: FunctionSpec, case: Case) -> Callable:
    """``fn`` with the case's keyword arguments bound, named after the spec.

    A spec with ``deterministic=False`` gets a wrapper that reseeds
    ``numpy.random`` before every call (and restores its state after), so
    that repeated calls inside a gradient check draw the same mask.
    """
    bound = functools.partial(fn, **case.kwargs)
    if spec.deterministic:
        call = bound
    else:

        def call(*args: Any) -> Any:
            state = np.random.get_state()
            np.random.seed(case.seed % 2**32)
            try:
                return bound(*args)
            finally:
                np.random.set_state(state)

    # The name reads as the call to paste: partial(transpose, axes=(1, 0)).
    kwargs = "".join(f", {k}={v!r}" for k, v in case.kwargs.items())
    call_name = f"partial({spec.name}{kwargs})" if kwargs else spec.name
    return _named(call, call_name)


def _named(call: Callable, name: str) -> Callable:
    @functools.wraps(call, assigned=())
    def named(*args: Any) -> Any:
        return call(*args)

    named.__qualname__ = name
    return named


def check_forward(fn: Callable, spec: FunctionSpec, case: Case) -> None:
    """Outputs are finite, float64 for float64 inputs, and match the reference.

    Raises:
        GradcheckError: a mutated input, a wrong dtype or a wrong value.
    """
    call = bind(fn, spec, case)
    harness = Harness(call, case.args, (), np.float64)
    outputs = harness.forward(harness.inputs)
    numeric.require_finite(harness, outputs, "at the inputs")
    harness.check_unchanged([], [])
    floating = any(is_floating(x) for x in harness.inputs)
    for position, y in enumerate(outputs):
        if spec.keeps_dtype and floating and y.dtype != np.float64:
            raise GradcheckError(
                f"{harness.name}: output {position} is {y.dtype} for float64 inputs"
            )
    if spec.reference is not None:
        _compare_reference(harness, spec, case, outputs)


def _compare_reference(
    harness: Harness, spec: FunctionSpec, case: Case, outputs: Sequence[Any]
) -> None:
    expected = spec.reference(*harness.inputs, **case.kwargs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for position, (y, want) in enumerate(zip(outputs, expected, strict=True)):
        got, want = numeric.host(y), np.asarray(want, dtype=np.float64)
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-7, atol=1e-9):
            raise GradcheckError(
                f"{harness.name}: output {position} differs from the NumPy "
                f"reference\n  got:      {got!r}\n  expected: {want!r}"
            )


def check_function_spec(
    fn: Callable, spec: FunctionSpec, case: Case, check: str = "grad"
) -> None:
    """Run one named check of ``spec`` on ``case``.

    Args:
        fn: the function the spec describes.
        spec: its spec (tolerances, capabilities).
        case: the drawn arguments, keywords and seed.
        check: one of "forward", "grad", "double_grad", "float32".

    Raises:
        GradcheckError: the check failed.
        ValueError: ``check`` is unknown or the spec does not support it.
    """
    if check not in CHECKS:
        raise ValueError(
            f"check_function_spec: unknown check {check!r}; known {CHECKS}"
        )
    if check != "forward" and not supports(spec, check):
        raise ValueError(f"check_function_spec: {spec.name} does not support {check}")
    if check == "forward":
        check_forward(fn, spec, case)
        return
    call = bind(fn, spec, case)
    options = dict(spec.tolerances)
    runner = {"grad": check_grad, "double_grad": check_double_grad}
    if check == "float32":
        check_float32(call, *case.args, seed=case.seed)
    else:
        runner[check](call, *case.args, seed=case.seed, **options)


def supports(spec: FunctionSpec, check: str) -> bool:
    """Whether ``spec`` declares the capability ``check`` needs."""
    if check == "forward":
        return True
    if not spec.differentiable:
        return False
    return {"grad": True, "double_grad": spec.double_grad, "float32": spec.float32}[
        check
    ]
