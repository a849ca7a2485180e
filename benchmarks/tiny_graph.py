"""Case 3: a tiny graph, where the framework's own cost is all there is.

``loss = sum((x * W + b) ** 2)`` on 10x10 float32 arrays, forward and
backward (gradients of the parameters ``W`` and ``b``; ``x`` is data),
against the same four operations and their gradients written in NumPy.
Reported per iteration and per Function call (four calls per iteration).
"""

from __future__ import annotations

import numpy as np

from benchmarks._common import (
    DTYPE,
    Options,
    Result,
    alternate,
    median,
    ratio_result,
    time_calls,
)

NAME = "tiny"
SHAPE = (10, 10)
FUNCTION_CALLS = 4  # mul, add, pow, sum


def make_arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, W and b, float32 standard normal."""
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(SHAPE).astype(DTYPE) for _ in range(3))


def numpy_step(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple:
    """The loss and the gradients of W and b, by hand."""
    h = x * W + b
    loss = np.sum(h**2)
    gh = 2 * h
    return loss, gh * x, gh


class DzSide:
    """The same graph built and differentiated by dz."""

    def __init__(self, x: np.ndarray, W: np.ndarray, b: np.ndarray) -> None:
        from dzcore import Parameter

        self.x = x.copy()
        self.W, self.b = Parameter(W.copy()), Parameter(b.copy())

    def step(self) -> tuple:
        """One forward and backward pass; the loss and the two gradients."""
        import dzcore.functions as F

        W, b = self.W, self.b
        W.cleargrad()
        b.cleargrad()
        loss = F.sum((self.x * W + b) ** 2)
        loss.backward()
        return loss.data, W.grad.data, b.grad.data


def check() -> None:
    """Raise RuntimeError unless both sides compute the same values."""
    arrays = make_arrays()
    for dz_value, np_value, what in zip(
        DzSide(*arrays).step(), numpy_step(*arrays), ("loss", "gW", "gb"), strict=True
    ):
        if not np.allclose(dz_value, np_value, rtol=1e-5, atol=1e-6):
            raise RuntimeError(f"{NAME}: dz and NumPy disagree on {what}")


def run(options: Options) -> list[Result]:
    """Time both sides, alternating; report per iteration and per call."""
    check()
    arrays = make_arrays()
    dz = DzSide(*arrays)
    number = 200 if options.quick else 20_000

    def numpy_side() -> tuple:
        return numpy_step(*arrays)

    samples = alternate(
        {
            "dz": lambda: time_calls(dz.step, number),
            "np": lambda: time_calls(numpy_side, number),
        },
        options.repeat,
    )
    dz_us, np_us = median(samples["dz"]) * 1e6, median(samples["np"]) * 1e6
    per_iteration = ratio_result(NAME, "us per iteration", dz_us, np_us, limit=4.0)
    per_iteration.notes.append(
        "same loss and gradients as NumPy; "
        f"{FUNCTION_CALLS} Function calls per iteration"
    )
    per_call = ratio_result(
        NAME, "us per Function call",
        dz_us / FUNCTION_CALLS, np_us / FUNCTION_CALLS,
    )  # fmt: skip
    return [per_iteration, per_call]
