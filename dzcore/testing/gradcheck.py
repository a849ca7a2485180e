"""Numerical gradient checks: ``check_grad``, ``check_double_grad``, ``check_float32``.

``check_grad`` compares the analytical gradient of ``<gy, fn(*inputs)>``
(one backward, seeded with a random upstream gradient ``gy``, never all
ones) with central differences of the same scalar, for every floating
input, in float64. Around it sit the side checks that catch what a plain
Jacobian comparison misses: inputs and ``gy`` are read-only, each gradient
must have its input's shape and dtype, integer inputs get no gradient, a
zero ``gy`` gives zero gradients, two backwards agree, and outputs keep
their shape and stay finite under the perturbation.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dzcore import cuda
from dzcore.core import Variable
from dzcore.testing import numeric
from dzcore.testing.harness import Harness, function_name, is_array, is_floating
from dzcore.testing.report import (
    DomainError,
    GradcheckError,
    GradcheckReport,
    InputFailure,
    Mismatch,
    Spelled,
    reproduce_line,
)

logger = logging.getLogger(__name__)

MODES = ("auto", "full", "fast")

#: Default (eps, atol, rtol) per check dtype; float64 uses PyTorch's values.
TOLERANCES = {
    np.dtype(np.float64): (1e-6, 1e-5, 1e-3),
    np.dtype(np.float32): (1e-2, 1e-2, 1e-2),
    np.dtype(np.float16): (1e-1, 5e-2, 5e-2),
}


_DEFAULT = dict(
    zip(("eps", "atol", "rtol"), TOLERANCES[np.dtype(np.float64)], strict=True)
)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How one check runs; shown in every failure message."""

    seed: int
    mode: str
    eps: float
    atol: float
    rtol: float
    full_max_size: int = 256
    directions: int = 2
    nondet_tol: float = 0.0


def check_grad(
    fn: Callable[..., Any],
    *inputs: Any,
    grad_outputs: Sequence[Any] | None = None,
    wrt: Sequence[int] | None = None,
    seed: int = 0,
    mode: str = "auto",
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    dtype: Any = np.float64,
    allow_low_precision: bool = False,
    full_max_size: int = 256,
    directions: int = 2,
    nondet_tol: float = 0.0,
    name: str | None = None,
    raise_on_fail: bool = True,
) -> GradcheckReport:
    """Check ``fn``'s gradients against central differences.

    Args:
        fn: called as ``fn(*inputs)``; returns a Variable or a tuple of them.
        *inputs: arrays or Variables (floating ones are copied to ``dtype``
            and made read-only; integer ones are constants whose gradient
            must stay None) and other arguments passed through unchanged.
        grad_outputs: upstream gradients, one per output; None draws them
            uniformly from [-1, 1) with ``numpy.random.default_rng(seed)``.
        wrt: positions of the inputs to check; None means every floating one.
        seed: seeds the upstream gradients and the fast-mode directions.
        mode: "full" compares every element, "fast" ``directions`` random
            projections, "auto" full up to ``full_max_size`` elements per
            input and fast above, re-running full when fast fails.
        eps, atol, rtol: step and tolerances (None: 1e-6, 1e-5, 1e-3 in
            float64); an element passes when |a - n| <= atol + rtol * |n|.
        dtype: the check dtype; below float64 needs ``allow_low_precision``.
        allow_low_precision: permit a float32 or float16 ``dtype``.
        full_max_size: the largest input that "auto" checks element-wise.
        directions: projections per input in fast mode.
        nondet_tol: how far two backward passes may disagree.
        name: the function's name in messages (default: from ``fn``).
        raise_on_fail: raise on failure; False returns the report instead.

    Returns:
        The report (``report.ok`` is True when every check passed).

    Raises:
        GradcheckError: a gradient or a side check failed.
        DomainError: ``fn`` gave non-finite values at or near the inputs.
    """
    settings = _settings(dtype, allow_low_precision, seed, mode, eps, atol, rtol)
    settings = dataclasses.replace(
        settings,
        full_max_size=full_max_size,
        directions=directions,
        nondet_tol=nondet_tol,
    )
    harness = Harness(fn, inputs, _resolve_wrt(inputs, wrt), dtype)
    harness.name = name or harness.name
    report = _run(harness, grad_outputs, settings)
    return report.raise_if_failed() if raise_on_fail else report


def _settings(dtype, allow_low_precision, seed, mode, eps, atol, rtol) -> Settings:
    dtype = np.dtype(dtype)
    if mode not in MODES:
        raise ValueError(f"check_grad: mode must be one of {MODES}, got {mode!r}")
    if dtype not in TOLERANCES:
        raise TypeError(f"check_grad: dtype must be a float type, got {dtype}")
    if dtype != np.float64 and not allow_low_precision:
        raise TypeError(
            f"check_grad: finite differences in {dtype} are too noisy to trust; "
            "check in float64, or pass allow_low_precision=True"
        )
    defaults = TOLERANCES[dtype]
    chosen = [
        d if v is None else v for v, d in zip((eps, atol, rtol), defaults, strict=True)
    ]
    return Settings(seed, mode, *chosen)


def _resolve_wrt(inputs: Sequence[Any], wrt: Sequence[int] | None) -> tuple:
    floating = [i for i, x in enumerate(inputs) if is_floating(_unwrap(x))]
    if not floating:
        kinds = ", ".join(type(x).__name__ for x in inputs) or "none"
        raise ValueError(
            f"check_grad: no floating array among the inputs ({kinds}); "
            "pass float arrays or Variables to differentiate"
        )
    if wrt is None:
        return tuple(floating)
    for position in wrt:
        if position not in floating:
            raise ValueError(
                f"check_grad: wrt position {position} is not a floating input; "
                f"floating inputs are at {floating}"
            )
    return tuple(wrt)


def _unwrap(value: Any) -> Any:
    return value.data if isinstance(value, Variable) else value


def _run(harness: Harness, grad_outputs: Any, settings: Settings) -> GradcheckReport:
    rng = np.random.default_rng(settings.seed)
    base = harness.forward(harness.inputs)
    numeric.require_finite(harness, base, "at the inputs")
    gys = _grad_outputs(harness, base, grad_outputs, rng)
    grads = harness.grads(gys)
    report = _new_report(harness, settings, gys if grad_outputs is not None else None)
    report.failures += _structure_failures(harness, grads)
    report.failures += _side_failures(harness, grads, gys, settings)
    if report.ok:
        for position in harness.wrt:
            failure = _compare(harness, position, grads[position], gys, rng, settings)
            report.failures += [failure] if failure else []
    return report


def _new_report(
    harness: Harness, settings: Settings, given_gys: list[Any] | None
) -> GradcheckReport:
    shown = {"seed": settings.seed, "mode": settings.mode}
    shown.update(eps=settings.eps, atol=settings.atol, rtol=settings.rtol)
    # The reproduce line repeats what differs from the defaults.
    extra = {k: shown[k] for k in ("eps", "atol", "rtol") if shown[k] != _DEFAULT[k]}
    if given_gys is not None:
        extra["grad_outputs"] = Spelled(given_gys)
    line = reproduce_line(
        harness.name, harness.inputs, seed=settings.seed, mode="full", **extra
    )
    return GradcheckReport(harness.name, shown, reproduce=line)


def _grad_outputs(
    harness: Harness, base: list[Any], given: Any, rng: np.random.Generator
) -> list[Any]:
    """Draw (or check and cast) one upstream gradient per output."""
    if given is None:
        return [_uniform(rng, y) for y in base]
    given = list(given) if isinstance(given, (list, tuple)) else [given]
    if len(given) != len(base):
        raise ValueError(
            f"check_grad: {harness.name} has {len(base)} outputs, "
            f"but {len(given)} grad_outputs were given"
        )
    gys = [_unwrap(gy) for gy in given]
    for position, (gy, y) in enumerate(zip(gys, base, strict=True)):
        if tuple(gy.shape) != y.shape:
            raise ValueError(
                f"check_grad: grad_outputs[{position}] has shape {gy.shape}, "
                f"expected the output's shape {y.shape}"
            )
    return [gy.astype(y.dtype) for gy, y in zip(gys, base, strict=True)]


def _uniform(rng: np.random.Generator, y: Any) -> Any:
    xp = cuda.get_array_module(y)
    return xp.asarray(rng.uniform(-1.0, 1.0, size=y.shape).astype(y.dtype))


def _structure_failures(harness: Harness, grads: list[Any]) -> list[InputFailure]:
    """Gradients in the wrong shape or dtype, or given to integer inputs."""
    failures = []
    for position, (x, gx) in enumerate(zip(harness.inputs, grads, strict=True)):
        problem = _structure_problem(x, gx)
        if problem:
            failures.append(_failure(harness, position, "structure", problem))
    return failures


def _structure_problem(x: Any, gx: Any) -> str:
    if not is_array(x) or gx is None:
        return ""
    if not is_floating(x):
        return f"an integer ({x.dtype}) input got a gradient; it must be None"
    if gx.shape != x.shape:
        return f"gradient has shape {gx.shape}, expected the input's {x.shape}"
    if gx.dtype != x.dtype:
        return f"gradient has dtype {gx.dtype}, expected the input's {x.dtype}"
    return ""


def _side_failures(
    harness: Harness, grads: list[Any], gys: list[Any], settings: Settings
) -> list[InputFailure]:
    """A second backward must agree, and so must the differentiable path
    (``create_graph=True``); a zero upstream gradient must give zeros."""
    failures = []
    again = harness.grads(gys)
    graph = harness.grads(gys, create_graph=True)
    zeros = harness.grads([g * 0 for g in gys])
    for position in harness.wrt:
        changed = numeric.max_abs_diff(grads[position], again[position])
        if changed > settings.nondet_tol:
            problem = f"two backward passes differ by up to {changed:.3g}"
            failures.append(_failure(harness, position, "determinism", problem))
        problem = _paths_problem(grads[position], graph[position], settings)
        if problem:
            failures.append(_failure(harness, position, "create_graph", problem))
        nonzero = numeric.max_abs_diff(zeros[position], None)
        if nonzero > settings.atol:
            problem = f"a zero upstream gradient gives a gradient up to {nonzero:.3g}"
            failures.append(_failure(harness, position, "zero gy", problem))
    return failures


def _paths_problem(fast: Any, graph: Any, settings: Settings) -> str:
    """Compare the first-order fast path with the differentiable one."""
    if (fast is None) != (graph is None):
        return "one backward path gives a gradient, the other gives None"
    if fast is None:
        return ""
    if fast.shape != graph.shape or fast.dtype != graph.dtype:
        return (
            f"backward(create_graph=True) gives a {graph.dtype} gradient of shape "
            f"{graph.shape}, the fast path a {fast.dtype} one of shape {fast.shape}"
        )
    a, b = numeric.host(fast), numeric.host(graph)
    bad = np.abs(a - b) > settings.atol + settings.rtol * np.abs(a)
    if not bad.any():
        return ""
    flat = int(np.argmax(np.abs(a - b)))
    return (
        f"backward(create_graph=True) gives {b.ravel()[flat]:.9g} at flat index "
        f"{flat}, the first-order fast path (backward_arrays) {a.ravel()[flat]:.9g}"
    )


def _failure(harness: Harness, position: int, mode: str, problem: str) -> InputFailure:
    x = harness.inputs[position]
    return InputFailure(position, tuple(x.shape), str(x.dtype), mode, problem)


def _compare(
    harness: Harness,
    position: int,
    gx: Any,
    gys: list[Any],
    rng: np.random.Generator,
    settings: Settings,
) -> InputFailure | None:
    """Compare one input's gradient in the mode the settings ask for."""
    size = harness.inputs[position].size
    use_full = settings.mode == "full" or (
        settings.mode == "auto" and size <= settings.full_max_size
    )
    if use_full:
        return _compare_full(harness, position, gx, gys, settings)
    failure = _compare_fast(harness, position, gx, gys, rng, settings)
    if failure is None or settings.mode == "fast":
        return failure
    logger.info("fast check of %s failed; re-running per element", harness.name)
    return _compare_full(harness, position, gx, gys, settings)


def _compare_full(harness, position, gx, gys, settings) -> InputFailure | None:
    numerical = numeric.full(harness, position, gys, settings.eps)
    analytical = numeric.host_grad(gx, numerical.shape)
    bad = np.abs(analytical - numerical) > settings.atol + settings.rtol * np.abs(
        numerical
    )
    if not bad.any():
        return None
    failure = _failure(harness, position, "full", _mismatch_problem(gx))
    failure.compared, failure.bad = bad.size, int(bad.sum())
    failure.worst = numeric.worst(numerical, analytical, bad)
    return failure


def _compare_fast(harness, position, gx, gys, rng, settings) -> InputFailure | None:
    shape = harness.inputs[position].shape
    analytical = numeric.host_grad(gx, shape)
    worst: list[Mismatch] = []
    for k in range(settings.directions):
        u = rng.standard_normal(shape)
        n = numeric.directional(harness, position, gys, u, settings.eps)
        a = float(np.sum(analytical * u))
        if abs(a - n) > settings.atol * np.abs(u).sum() + settings.rtol * abs(n):
            worst.append(Mismatch(f"random direction {k}", n, a))
    if not worst:
        return None
    failure = _failure(harness, position, "fast", _mismatch_problem(gx))
    failure.compared, failure.bad, failure.worst = (
        settings.directions,
        len(worst),
        worst,
    )
    return failure


def _mismatch_problem(gx: Any) -> str:
    if gx is None:
        return "missing gradient: backward gave None, but the numerical one is nonzero"
    return "analytical gradient differs from central differences"


__all__ = [
    "DomainError",
    "GradcheckError",
    "GradcheckReport",
    "Settings",
    "check_grad",
    "function_name",
]
