"""dz: a define-by-run deep-learning framework on NumPy.

The core holds the autograd engine, the core ops, layers and models, the
optimizer, dataset and transform protocols, the trainer and the plugin
manager. Optimizers, activations and datasets come from plugins and are
reached through the registry-backed namespaces ``dzcore.optimizers``,
``dzcore.functions`` (``F.relu``), ``dzcore.datasets`` and
``dzcore.transforms``. ``import dzcore`` imports no plugin.
"""

import importlib
import logging
from typing import Any

from dzcore.config import DEFAULT_DTYPE, Config, no_grad, test_mode, using_config
from dzcore.core import Function, Parameter, Variable, as_array, as_variable
from dzcore.errors import DzError

__version__ = "0.1.0"

#: Version of the plugin contract (hooks and registry); a plugin may declare
#: ``dz_plugin_api`` and is marked invalid when it differs.
PLUGIN_API = 1

logging.getLogger(__name__).addHandler(logging.NullHandler())

# Installs the arithmetic operators on Variable.
import dzcore.functions  # noqa: E402, F401

_LAZY_SUBMODULES = {
    "callbacks",
    "checkpoint",
    "cuda",
    "datasets",
    "dataloaders",
    "hookspecs",
    "layers",
    "models",
    "optimizers",
    "plugins",
    "serialization",
    "testing",
    "trainer",
    "transforms",
}

__all__ = [
    "DEFAULT_DTYPE",
    "PLUGIN_API",
    "Config",
    "DzError",
    "Function",
    "Parameter",
    "Variable",
    "as_array",
    "as_variable",
    "hookimpl",
    "no_grad",
    "test_mode",
    "using_config",
]


def __getattr__(name: str) -> Any:
    # Submodules and the pluggy marker load on first use, so that
    # `import dzcore` stays as cheap as `import numpy`.
    if name == "hookimpl":
        from dzcore.hookspecs import hookimpl

        return hookimpl
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"dzcore.{name}")
    raise AttributeError(f"module 'dzcore' has no attribute {name!r}")
