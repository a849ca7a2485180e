"""pytest plugin of dz, loaded through the ``pytest11`` entry point ``dzcore``.

It is loaded in every pytest run where dzcore is installed, so it stays
cheap and inert: it registers the Hypothesis profiles ``dz-dev``, ``dz-ci``
and ``dz-nightly`` (without loading any; pass
``--hypothesis-profile=dz-ci``) and adds no tests, fixtures or imports of
CuPy. Registration happens at import, before Hypothesis's own plugin reads
``--hypothesis-profile`` in ``pytest_configure``.

With plugin autoloading off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``) load it
explicitly: ``pytest -p dzcore.testing.pytest_plugin``.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

# Options of the conformance suite (--dz-plugin, --dz-examples); no imports.
pytest_plugins = ["dzcore.testing._conformance_pytest"]

try:
    from dzcore.testing.profiles import register_profiles
except ImportError:  # Hypothesis is not installed: nothing to register
    logger.debug("hypothesis not installed; dz profiles not registered")
else:
    register_profiles()
