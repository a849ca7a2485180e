"""Fake ``dz`` subcommands for the CLI dispatcher tests."""

import argparse

from dzcore.errors import ShapeError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--fail`` and ``--status``."""
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--status", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    """Raises a DzError with ``--fail``; otherwise returns ``--status``."""
    if args.fail:
        raise ShapeError("matmul expected (2, 3) @ (3, 4), got (2, 3) @ (2, 4)")
    print(f"ran with status {args.status}")
    return args.status
