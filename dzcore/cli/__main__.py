"""Runs the ``dz`` command: ``python -m dzcore.cli ...``."""

from dzcore.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
