"""The table of ``dz`` subcommands (add a line here to add a command).

Each entry maps the command name to the module that implements it and the
one line shown by ``dz --help``. The module is imported only when its
command runs, so ``dz --help`` stays fast and works whatever is broken.
A command module defines two functions:

- ``add_arguments(parser: argparse.ArgumentParser) -> None``
- ``run(args: argparse.Namespace) -> int`` (the exit status)

Its docstring's first paragraph becomes the command's ``--help`` text.
"""

#: Command name -> (module path, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "list-plugins": (
        "dzcore.cli.list_plugins",
        "list installed plugins: status and what each provides",
    ),
    "train": ("dzcore.cli.train", "train a model from the command line"),
    "check-plugin": (
        "dzcore.cli.check_plugin",
        "run the conformance checks on an installed plugin",
    ),
}
