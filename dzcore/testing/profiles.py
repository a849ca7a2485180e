"""Hypothesis settings profiles of dz: ``dz-dev``, ``dz-ci`` and ``dz-nightly``.

Registered (never loaded) by :func:`register_profiles`, which the pytest
plugin calls; pick one with ``pytest --hypothesis-profile=dz-ci``.

- ``dz-dev``: 20 examples, no deadline; quick local runs.
- ``dz-ci``: derandomized (the same examples on every run), no deadline,
  no example database, ``print_blob`` so a failure can be replayed; 40
  examples per test keeps the whole suite fast on 2 cores.
- ``dz-nightly``: 500 random examples with the example database on, to
  find what the fixed CI examples miss.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

PROFILES = ("dz-dev", "dz-ci", "dz-nightly")

#: Examples per test in the dz-ci profile.
CI_EXAMPLES = 40


def register_profiles() -> None:
    """Register the three dz profiles with Hypothesis (idempotent)."""
    slow = [HealthCheck.too_slow]
    settings.register_profile("dz-dev", max_examples=20, deadline=None)
    settings.register_profile(
        "dz-ci",
        max_examples=CI_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=slow,
    )
    settings.register_profile(
        "dz-nightly", max_examples=500, deadline=None, suppress_health_check=slow
    )
