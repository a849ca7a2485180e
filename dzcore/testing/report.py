"""What a gradient check found: the errors it raises and the report it returns.

A failed check raises :class:`GradcheckError`, an ``AssertionError`` (so
pytest shows it as a test failure and Hypothesis shrinks on it) that is
also a :class:`dzcore.errors.DzError`. Its message names the function, the
input, its shape and dtype, the mode, seed and tolerances, the worst
elements with both values, and a call that reproduces the failure.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from dzcore.errors import DzError

#: Inputs up to this many elements are written out in the reproduce line.
_SPELL_OUT_LIMIT = 24


class GradcheckError(DzError, AssertionError):
    """A gradient check found an analytical gradient that disagrees or misbehaves."""


class DomainError(DzError, ValueError):
    """The function gave non-finite values at the checked inputs.

    This is a problem of the inputs (or of the spec's declared domain), not
    a wrong gradient: narrow the domain or grad_domain of the argument.
    """


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """One compared element (or direction, in fast mode) that is out of tolerance."""

    where: str
    numerical: float
    analytical: float

    @property
    def diff(self) -> float:
        """The absolute difference of the two values."""
        return abs(self.numerical - self.analytical)


@dataclasses.dataclass
class InputFailure:
    """Everything known about one input whose gradient failed."""

    position: int
    shape: tuple[int, ...]
    dtype: str
    mode: str
    problem: str
    compared: int = 0
    worst: list[Mismatch] = dataclasses.field(default_factory=list)
    bad: int = 0


@dataclasses.dataclass
class GradcheckReport:
    """The outcome of a check; ``ok`` is False when anything failed.

    Attributes:
        name: the checked function's name.
        settings: seed, mode, eps, atol, rtol as used.
        failures: one entry per failed input or failed side check.
        reproduce: a call that repeats the check on the same inputs.
    """

    name: str
    settings: dict[str, Any]
    failures: list[InputFailure] = dataclasses.field(default_factory=list)
    reproduce: str = ""

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.failures

    def message(self) -> str:
        """The multi-line failure text used by :class:`GradcheckError`."""
        lines = [f"check_grad: {self.name}: {len(self.failures)} problem(s)"]
        for failure in self.failures:
            lines.extend(_describe(failure))
        settings = ", ".join(f"{key}={value!r}" for key, value in self.settings.items())
        lines.append(f"  settings: {settings}")
        lines.append(f"  reproduce: {self.reproduce}")
        return "\n".join(lines)

    def raise_if_failed(self) -> GradcheckReport:
        """Raise :class:`GradcheckError` with :meth:`message` unless ``ok``."""
        if not self.ok:
            raise GradcheckError(self.message())
        return self


def _describe(failure: InputFailure) -> list[str]:
    step = failure.mode
    step = f"mode {step}" if step in ("full", "fast") else f"check {step}"
    lines = [
        f"- input {failure.position} (shape {failure.shape}, {failure.dtype}), "
        f"{step}: {failure.problem}"
    ]
    if failure.compared:
        lines.append(f"    bad: {failure.bad} of {failure.compared} compared")
    for item in failure.worst:
        lines.append(
            f"    at {item.where}: numerical {item.numerical:.9g}, "
            f"analytical {item.analytical:.9g}, |diff| {item.diff:.3g}"
        )
    return lines


def worst_elements(
    numerical: np.ndarray, analytical: np.ndarray, bad: np.ndarray, count: int = 3
) -> list[Mismatch]:
    """The ``count`` out-of-tolerance elements with the largest difference."""
    diff = np.where(bad, np.abs(numerical - analytical), -1.0).ravel()
    order = np.argsort(-diff, kind="stable")[: int(min(count, bad.sum()))]
    shape = numerical.shape
    return [
        Mismatch(
            f"index {tuple(int(i) for i in np.unravel_index(flat, shape))}",
            float(numerical.ravel()[flat]),
            float(analytical.ravel()[flat]),
        )
        for flat in order
    ]


def reproduce_line(
    name: str, inputs: list[Any], check: str = "check_grad", **settings: Any
) -> str:
    """A ``check_grad(...)`` call with small inputs spelled out in full."""
    parts = [name] + [_spell(value) for value in inputs]
    parts += [f"{key}={value!r}" for key, value in settings.items()]
    return f"{check}({', '.join(parts)})"


@dataclasses.dataclass(frozen=True)
class Spelled:
    """A list of arrays whose ``repr`` spells each one out (for reproduce lines)."""

    arrays: list[Any]

    def __repr__(self) -> str:
        return f"[{', '.join(_spell(array) for array in self.arrays)}]"


def _spell(value: Any) -> str:
    if not hasattr(value, "dtype") or not hasattr(value, "shape"):
        return repr(value)
    host = np.asarray(value.get() if hasattr(value, "get") else value)
    if host.size > _SPELL_OUT_LIMIT:
        return f"<{host.dtype} array of shape {host.shape}>"
    return f"np.array({host.tolist()!r}, dtype=np.{host.dtype})"
