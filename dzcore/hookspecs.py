"""Hook specifications of dz plugins (pluggy project ``"dz"``).

A plugin is a module named by an entry point in the ``dz.plugins`` group.
It marks functions with :data:`hookimpl` and names them after the specs
below; each receives a :class:`dzcore.plugins.Registry` bound to the plugin
and to one kind of component, and calls ``registry.add(...)`` once per
component::

    from dzcore import hookimpl

    @hookimpl
    def dz_register_optimizers(registry):
        registry.add("lion", "my_pkg.lion:Lion", summary="Lion optimizer")

Contract shared by every spec:

- The hook returns ``None``; whatever it adds is attributed to its plugin.
- dz calls each implementation on its own, inside its own error handler:
  a hook that raises loses only what it added, and its plugin is marked
  ``failed``; other plugins are unaffected.
- A hook may take fewer arguments than its spec (pluggy's opt-in
  arguments), never others; a mismatch marks the plugin ``invalid``.
- Specs only ever gain arguments; a removal is announced with
  ``warn_on_impl`` for at least one minor release and happens only in a
  major release of dzcore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from dzcore.plugins import Registry

#: The pluggy project name; markers set the attribute ``dz_impl``/``dz_spec``.
PROJECT_NAME = "dz"

#: Marks a hook specification (used by dzcore only).
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

#: Marks a plugin's hook implementation: ``@dzcore.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = [
    "PROJECT_NAME",
    "dz_register_datasets",
    "dz_register_functions",
    "dz_register_optimizers",
    "dz_register_transforms",
    "hookimpl",
    "hookspec",
]


@hookspec
def dz_register_optimizers(registry: Registry) -> None:
    """Registers optimizers, classes that subclass ``dzcore.optimizers.Optimizer``.

    Metadata keywords readable without importing the target include
    ``has_momentum`` (bool) and ``defaults`` (a dict of hyperparameters).

    since: dzcore 0.1

    Args:
        registry: Accepts ``registry.add(name, target, summary=...,
            aliases=..., **metadata)`` for this plugin's optimizers.
    """


@hookspec
def dz_register_functions(registry: Registry) -> None:
    """Registers differentiable functions, reachable as ``F.<name>``.

    A target is a callable taking and returning Variables, usually the
    snake_case wrapper of a ``dzcore.Function`` subclass. The metadata
    keyword ``spec`` carries what the gradient-check kit needs (input
    domain, arity), see ``dzcore.testing``.

    since: dzcore 0.1

    Args:
        registry: Accepts ``registry.add(name, target, summary=...,
            aliases=..., **metadata)`` for this plugin's functions.
    """


@hookspec
def dz_register_datasets(registry: Registry) -> None:
    """Registers datasets, subclasses of ``dzcore.datasets.Dataset``.

    The metadata keyword ``lazy=True`` declares a dataset that reads
    nothing at construction.

    since: dzcore 0.1

    Args:
        registry: Accepts ``registry.add(name, target, summary=...,
            aliases=..., **metadata)`` for this plugin's datasets.
    """


@hookspec
def dz_register_transforms(registry: Registry) -> None:
    """Registers transforms: callables mapping one sample to another.

    since: dzcore 0.1

    Args:
        registry: Accepts ``registry.add(name, target, summary=...,
            aliases=..., **metadata)`` for this plugin's transforms.
    """
