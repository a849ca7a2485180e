"""Command-line options of the conformance suite (private; cheap to import).

Loaded through :mod:`dzcore.testing.pytest_plugin`, so that
``pytest --pyargs dzcore.testing.conformance --dz-plugin NAME`` works;
without ``--pyargs dzcore.testing.conformance`` the options do nothing.
"""

from __future__ import annotations

from typing import Any


def pytest_addoption(parser: Any) -> None:
    """Adds ``--dz-plugin NAME`` (repeatable) and ``--dz-examples N``."""
    group = parser.getgroup("dz", "dz plugin conformance")
    group.addoption(
        "--dz-plugin",
        action="append",
        dest="dz_plugin",
        default=[],
        metavar="NAME",
        help="plugin whose conformance checks dzcore.testing.conformance runs",
    )
    group.addoption(
        "--dz-examples",
        type=int,
        dest="dz_examples",
        default=None,
        metavar="N",
        help="Hypothesis examples per function check (default 15)",
    )
