"""Fake ``dz`` subcommands for the CLI dispatcher tests."""

import argparse

from dzcore.errors import ShapeError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--fail``, ``--status`` and ``--lookup``."""
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--status", type=int, default=0)
    parser.add_argument("--lookup", help="KIND:NAME to look up in the registry")


def run(args: argparse.Namespace) -> int:
    """Looks up ``--lookup``; raises with ``--fail``; else returns ``--status``."""
    if args.lookup:
        from dzcore import plugins

        kind, _, name = args.lookup.partition(":")
        print(f"found {plugins.lookup(kind, name).__name__}")
    if args.fail:
        raise ShapeError("matmul expected (2, 3) @ (3, 4), got (2, 3) @ (2, 4)")
    print(f"ran with status {args.status}")
    return args.status
