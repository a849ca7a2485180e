"""Conformance checks of optimizers (private).

Every check runs on the convex quadratic ``f(w) = 0.5 * sum(a * w**2)``
with a positive curvature ``a`` per element, whose gradient ``a * w`` is
set by hand, so no autograd op takes part. Parameters are float32, the
framework default; seeds come from ``numpy.random.default_rng``.
"""

from __future__ import annotations

import inspect
import io
from typing import Any

import numpy as np

from dzcore.config import DEFAULT_DTYPE
from dzcore.core import Parameter, Variable
from dzcore.optimizers import Optimizer
from dzcore.testing._conformance_base import fail

#: Update steps of the quadratic descent check.
STEPS = 20

#: Different starting points (seeds) tried by each check.
SEEDS = (0, 1, 2)


def make_optimizer(comp: Any) -> Optimizer:
    """Builds the optimizer with its defaults (or its ``defaults`` metadata)."""
    cls = comp.load()
    if not (inspect.isclass(cls) and issubclass(cls, Optimizer)):
        raise fail(
            f"optimizer {comp.qualified_id} is {cls!r}; expected a subclass of "
            "dzcore.optimizers.Optimizer"
        )
    try:
        return cls()
    except TypeError as exc:
        defaults = comp.metadata.get("defaults")
        if not isinstance(defaults, dict):
            raise fail(
                f"optimizer {comp.qualified_id} cannot be built without arguments "
                f"({exc}); give its options defaults, or registry metadata "
                "defaults={...}"
            ) from exc
        return cls(**defaults)


def _problem(seed: int) -> tuple[Parameter, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = rng.uniform(-2.0, 2.0, size=(3, 4)).astype(DEFAULT_DTYPE)
    w[np.abs(w) < 0.5] += 1.0
    curvature = rng.uniform(0.5, 2.0, size=w.shape).astype(DEFAULT_DTYPE)
    return Parameter(w, name="w"), curvature


def _loss(param: Parameter, curvature: np.ndarray) -> float:
    return 0.5 * float(np.sum(curvature * param.data.astype(np.float64) ** 2))


def _steps(
    optimizer: Optimizer, param: Parameter, curvature: np.ndarray, count: int
) -> None:
    for _ in range(count):
        param.grad = Variable(curvature * param.data)
        optimizer.update()


def check_decreases_quadratic(comp: Any) -> None:
    """A few steps with default options decrease a convex quadratic."""
    for seed in SEEDS:
        param, curvature = _problem(seed)
        before = _loss(param, curvature)
        _steps(make_optimizer(comp).setup([param]), param, curvature, STEPS)
        after = _loss(param, curvature)
        where = f"optimizer {comp.qualified_id} (seed {seed}, {STEPS} steps)"
        _check_param(param, where)
        if not after < before:
            raise fail(
                f"{where} did not decrease 0.5*sum(a*w**2): it went from "
                f"{before:.6g} to {after:.6g}"
            )


def _check_param(param: Parameter, where: str) -> None:
    if param.data.dtype != DEFAULT_DTYPE:
        raise fail(
            f"{where} changed the parameter dtype from {np.dtype(DEFAULT_DTYPE)} "
            f"to {param.data.dtype}; keep float32 parameters float32"
        )
    if not np.all(np.isfinite(param.data)):
        raise fail(f"{where} made the parameter non-finite: {param.data!r}")


def check_zero_grad(comp: Any) -> None:
    """A zero gradient from a fresh state leaves the parameters unchanged.

    An optimizer registered with ``moves_on_zero_grad=True`` (decoupled
    weight decay) is only required to keep them finite.
    """
    param, _ = _problem(0)
    start = param.data.copy()
    optimizer = make_optimizer(comp).setup([param])
    for _ in range(3):
        param.grad = Variable(np.zeros_like(param.data))
        optimizer.update()
    where = f"optimizer {comp.qualified_id} (3 steps of zero gradient)"
    _check_param(param, where)
    if comp.metadata.get("moves_on_zero_grad"):
        return
    if not np.array_equal(param.data, start):
        moved = float(np.max(np.abs(param.data - start)))
        raise fail(
            f"{where} moved the parameters by up to {moved:.3g}; if its rule "
            "moves on a zero gradient (e.g. decoupled weight decay), register "
            "it with moves_on_zero_grad=True"
        )


def check_resumes(comp: Any) -> None:
    """Restoring ``state_dict()`` (saved with np.savez) gives the same steps."""
    for seed in SEEDS:
        param, curvature = _problem(seed)
        optimizer = make_optimizer(comp).setup([param])
        _steps(optimizer, param, curvature, 3)
        saved_w, state = param.data.copy(), _round_trip(optimizer.state_dict())
        _steps(optimizer, param, curvature, 3)

        resumed = Parameter(saved_w, name="w")
        other = make_optimizer(comp).setup([resumed])
        other.load_state_dict(state)
        _steps(other, resumed, curvature, 3)
        if not np.array_equal(param.data, resumed.data):
            worst = float(np.max(np.abs(param.data - resumed.data)))
            raise fail(
                f"optimizer {comp.qualified_id} (seed {seed}): 3 steps after "
                "load_state_dict(state_dict()) differ from 3 uninterrupted "
                f"steps by up to {worst:.3g}; keep all per-parameter state in "
                "self.slot(param, name) so that state_dict() saves it"
            )


def _round_trip(state: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    try:
        np.savez(buffer, **state)
        buffer.seek(0)
        with np.load(buffer, allow_pickle=False) as loaded:
            return {key: loaded[key] for key in loaded.files}
    except Exception as exc:
        raise fail(
            f"state_dict() does not survive np.savez and np.load without pickle "
            f"({type(exc).__name__}: {exc}); keep it to arrays, numbers and strings"
        ) from exc
