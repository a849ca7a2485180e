"""A command module without ``run`` (the dispatcher must say so)."""


def add_arguments(parser):
    """Adds nothing."""
