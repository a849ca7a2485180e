"""Run the benchmark harness: ``python -m benchmarks [--quick] [--case NAME]``.

Prints the machine, the versions and the BLAS thread pin, then one table
of every measure with its ratio and target, then whether each target
was met. Exits 0 even when a target is missed: the numbers are the
result; a case that cannot run (the two sides disagree) exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from benchmarks import CASES
from benchmarks._common import Options, Result, environment, format_table, pin_blas


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="dz against hand-written NumPy, case by case.",
    )
    parser.add_argument(
        "--case",
        action="append",
        choices=list(CASES),
        help="run only this case (repeatable); all by default",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: a smoke run, not a result"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed samples per side (default 5)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    return args


def run_cases(names: list[str], options: Options) -> list[Result]:
    """Run each case in turn, saying which one is running."""
    results: list[Result] = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        case = importlib.import_module(CASES[name])
        results.extend(case.run(options))
        print(f"  {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return results


def summary(results: list[Result]) -> str:
    """One line: how many targets were met, and which were missed."""
    targeted = [r for r in results if r.met is not None]
    missed = [f"{r.case} ({r.measure}: {r.ratio:.2f}, target {r.target})"
              for r in targeted if not r.met]  # fmt: skip
    line = f"targets met: {len(targeted) - len(missed)} of {len(targeted)}"
    return line + ("; missed: " + "; ".join(missed) if missed else "")


def main(argv: list[str] | None = None) -> int:
    """Run the harness; return the exit status."""
    args = parse_args(argv)
    try:
        pin_line = pin_blas()
    except ImportError:
        print(
            "benchmarks: threadpoolctl is needed to pin BLAS to one thread; "
            "install it with: python -m pip install -e '.[bench]'",
            file=sys.stderr,
        )
        return 2
    options = Options(quick=args.quick, repeat=args.repeat)
    print("\n".join(environment(pin_line)))
    if args.quick:
        print("mode:    --quick (tiny sizes; not a measurement)")
    print()
    try:
        results = run_cases(args.case or list(CASES), options)
    except RuntimeError as error:
        print(f"benchmarks: {error}", file=sys.stderr)
        return 1
    print(format_table(results))
    print()
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
