"""Run the conformance checks of an installed plugin, one line per check.

Each line says ok or FAIL with the reason (skip and xfail count as
passing); the exit status is 0 only if every check passes, 1 if one
fails, 2 for an unknown plugin. The same checks run under pytest: pytest
--pyargs dzcore.testing.conformance --dz-plugin NAME.

``-v`` adds the full message of each failure, ``--examples N`` sets the
Hypothesis examples of each function check.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options of ``dz check-plugin``."""
    parser.epilog = (
        "Prints one line per check, ok or FAIL with the reason; exits with 0 "
        "only if every check passes (skip and xfail count as passing), 1 if "
        "one fails, 2 for an unknown plugin. The same checks run under pytest: "
        "pytest --pyargs dzcore.testing.conformance --dz-plugin NAME"
    )
    parser.add_argument("name", metavar="NAME", help="the plugin (see dz list-plugins)")
    parser.add_argument(
        "--examples",
        type=_positive_int,
        default=None,
        metavar="N",
        help="Hypothesis examples per function check (default 15)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show full failure messages"
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Runs the checks, printing each outcome; returns 0 only if all pass."""
    import warnings

    from dzcore.testing import conformance

    with warnings.catch_warnings():
        # A broken plugin is reported by its checks, not as a warning line.
        warnings.simplefilter("ignore", conformance.plugins.BrokenPluginWarning)
        examples = args.examples or conformance.DEFAULT_EXAMPLES
        checks = conformance.collect_checks(args.name, examples)
        outcomes = []
        for check in checks:
            outcome = conformance.run_check(check)
            print(format_outcome(outcome, args.verbose), flush=True)
            outcomes.append(outcome)
    print(format_summary(args.name, outcomes))
    return 0 if all(o.passed for o in outcomes) else 1


def format_outcome(outcome: Any, verbose: bool = False) -> str:
    """Returns ``STATUS  id: reason`` (plus the indented detail when verbose)."""
    line = f"{outcome.status:<5}  {outcome.check.id}"
    if outcome.reason:
        line += f": {outcome.reason}"
    if verbose and outcome.detail and not outcome.passed:
        line += "\n" + "\n".join(f"       {t}" for t in outcome.detail.splitlines())
    return line


def format_summary(name: str, outcomes: list[Any]) -> str:
    """Returns the closing line counting each status."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    verdict = "passes" if all(o.passed for o in outcomes) else "FAILS"
    return f"plugin {name!r} {verdict} {len(outcomes)} checks: {parts}"
