"""Check records and outcomes shared by the conformance modules (private).

A :class:`Check` is one named, runnable conformance check; running it gives
a :class:`Outcome`. A check signals failure by raising
:class:`ConformanceError` (or any exception: an unexpected error is a
failure too) and a deliberate skip by raising :class:`CheckSkippedError`.
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Callable

from dzcore.errors import DzError

#: Hypothesis examples per function check unless asked otherwise.
DEFAULT_EXAMPLES = 15

#: Outcome statuses; ``ok``, ``skip`` and ``xfail`` count as passing.
PASSING = ("ok", "skip", "xfail")


class ConformanceError(DzError, AssertionError):
    """A plugin or one of its components breaks the dz plugin contract.

    An AssertionError, so pytest renders it as a test failure.
    """


class CheckSkippedError(DzError, RuntimeError):
    """A check that cannot run here; the message says why."""


@dataclasses.dataclass(frozen=True)
class Check:
    """One conformance check of a plugin or of one of its components.

    Attributes:
        plugin: The plugin name.
        component: ``kind:name`` of the component, or "" for the plugin.
        name: The check's name, e.g. ``decreases_quadratic``.
        run: Runs the check; raises on failure, returns None on success.
        xfail: Why the check is known to fail, or "" (strict: a pass of an
            expected failure is itself a failure).
    """

    plugin: str
    component: str
    name: str
    run: Callable[[], None] = dataclasses.field(repr=False, compare=False)
    xfail: str = ""

    @property
    def id(self) -> str:
        """The test id: ``plugin[check]`` or ``plugin:component[check]``."""
        where = self.plugin
        if self.component:
            where += ":" + self.component.partition(":")[2]
        return f"{where}[{self.name}]"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The result of running one :class:`Check`.

    Attributes:
        check: The check.
        status: ``ok``, ``FAIL``, ``skip``, ``xfail`` or ``XPASS``.
        reason: One line saying why (empty for a plain ``ok``).
        detail: The full message or traceback, for ``-v`` output.
    """

    check: Check
    status: str
    reason: str = ""
    detail: str = ""

    @property
    def passed(self) -> bool:
        """Whether the outcome counts as a pass (ok, skip, xfail)."""
        return self.status in PASSING


def run_check(check: Check) -> Outcome:
    """Runs ``check``, catching its failure into an :class:`Outcome`."""
    try:
        check.run()
    except CheckSkippedError as exc:
        return Outcome(check, "skip", first_line(exc))
    except Exception as exc:
        detail = full_message(exc)
        if check.xfail:
            return Outcome(check, "xfail", check.xfail, detail)
        return Outcome(check, "FAIL", first_line(exc), detail)
    if check.xfail:
        reason = f"expected to fail ({check.xfail}) but passed"
        return Outcome(check, "XPASS", reason)
    return Outcome(check, "ok")


def first_line(exc: BaseException) -> str:
    """Returns ``Type: first line of the message`` (the type only for dz's)."""
    text = str(exc).strip().split("\n", 1)[0]
    if isinstance(exc, (ConformanceError, CheckSkippedError)):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def full_message(exc: BaseException) -> str:
    """Returns the whole message with notes, or a traceback for a crash."""
    notes = "\n".join(getattr(exc, "__notes__", ()))
    if isinstance(exc, (ConformanceError, AssertionError)):
        return "\n".join(part for part in (str(exc), notes) if part)
    return "".join(traceback.format_exception(exc)).rstrip()


def fail(message: str) -> ConformanceError:
    """Builds the error a failing check raises (``raise fail(...)``)."""
    return ConformanceError(message)
