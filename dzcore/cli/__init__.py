"""The ``dz`` command line: a thin dispatcher over per-command modules.

``dz --help`` and ``dz --version`` import no command module and no plugin.
``dz <command>`` imports only that command's module (see
:mod:`dzcore.cli._commands` for the table and the module contract). A
:class:`~dzcore.errors.DzError` raised by a command is printed as one line
on stderr with exit status 2; ``--debug`` or ``DZ_DEBUG=1`` adds the
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from dzcore import __version__
from dzcore.cli._commands import COMMANDS
from dzcore.errors import DzError

__all__ = ["COMMANDS", "main"]

#: Exit status for errors the user can fix (bad input, unavailable command).
EXIT_USAGE = 2


class CommandUnavailableError(DzError, RuntimeError):
    """A command listed in the table whose module cannot be imported."""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``dz`` with ``argv`` (default: ``sys.argv[1:]``); returns the status.

    Args:
        argv: The arguments after the program name.

    Returns:
        The exit status: 0 on success, 2 for usage and dz errors, or what
        the command returns.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    from dzcore._registry import DzPluginWarning

    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        # Plugin trouble is shown as one line, never raised, whatever -W says;
        # DZ_PLUGINS_STRICT is the switch that turns it into an error.
        warnings.simplefilter("default", DzPluginWarning)
        return _main(args_list)


def _main(args_list: list[str]) -> int:
    parser, subparsers = _build_parser()
    command = _find_command(args_list)
    module = None
    if command is not None:
        try:
            module = _load_command(command)
        except CommandUnavailableError as exc:
            return _fail(command, exc, _debug(args_list))
        _describe_command(subparsers[command], module)
        module.add_arguments(subparsers[command])
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return _exit_code(exc)
    if module is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return _run(module, command, args)


_EPILOG = """\
environment:
  DZ_PLUGINS=a,b          load only these plugins (empty: none)
  DZ_DISABLE_PLUGINS=a,b  do not load these plugins
  DZ_PLUGINS_STRICT=1     fail instead of warning about a broken plugin
  DZ_DEBUG=1              show tracebacks of errors (as --debug)
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)
        # Leaves room for indented command names, so that each command's help
        # starts on its own line rather than below the name.
        self._action_max_length = 20


def _build_parser() -> tuple[argparse.ArgumentParser, dict[str, Any]]:
    parser = argparse.ArgumentParser(
        prog="dz",
        description="dz: a define-by-run deep-learning framework, small core "
        "plus plugins.",
        formatter_class=_Formatter,
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"dzcore {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks of errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    subparsers = {
        name: sub.add_parser(name, help=line, description=line)
        for name, (_, line) in COMMANDS.items()
    }
    return parser, subparsers


def _describe_command(parser: argparse.ArgumentParser, module: ModuleType) -> None:
    first_paragraph = (module.__doc__ or "").strip().split("\n\n", 1)[0]
    if first_paragraph:
        parser.description = " ".join(first_paragraph.split())


def _find_command(args_list: list[str]) -> str | None:
    for token in args_list:
        if not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def _load_command(command: str) -> ModuleType:
    path = COMMANDS[command][0]
    try:
        module = importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name and path.startswith(exc.name):
            raise CommandUnavailableError(
                f"command {command!r} is not available in this installation: "
                f"its module {path} is missing"
            ) from exc
        raise CommandUnavailableError(
            f"command {command!r} could not be loaded: {exc}"
        ) from exc
    except Exception as exc:
        raise CommandUnavailableError(
            f"command {command!r} could not be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    for needed in ("add_arguments", "run"):
        if not callable(getattr(module, needed, None)):
            raise CommandUnavailableError(
                f"command {command!r}: module {path} does not define {needed}()"
            )
    return module


def _run(module: ModuleType, command: str, args: argparse.Namespace) -> int:
    try:
        status = module.run(args)
    except DzError as exc:
        return _fail(command, exc, args.debug or _env_debug())
    except KeyboardInterrupt:
        print("dz: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return int(status or 0)


def _fail(command: str, exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(exc)
    print(f"dz {command}: error: {exc}", file=sys.stderr)
    return EXIT_USAGE


def _debug(args_list: list[str]) -> bool:
    return "--debug" in args_list or _env_debug()


def _env_debug() -> bool:
    return os.environ.get("DZ_DEBUG", "").strip().lower() in ("1", "true", "yes")


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else EXIT_USAGE


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    from dzcore._registry import DzPluginWarning

    if issubclass(category, DzPluginWarning):
        print(f"dz: warning: {message}", file=sys.stderr)
    else:
        text = warnings.formatwarning(message, category, filename, lineno, line)
        sys.stderr.write(text)
