"""Fake dz plugins for the plugin-manager and CLI tests.

:class:`FakeSite` writes installed-looking distributions (a
``NAME-VERSION.dist-info`` folder with ``METADATA`` and
``entry_points.txt``, plus the plugin module) into a temporary folder, so
``importlib.metadata`` discovers them once the folder is on ``sys.path``
(or ``PYTHONPATH`` for a subprocess); no pip involved.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from dzcore import _plugin_meta, plugins

#: A plugin registering two optimizers, one of them lazy.
OPTIMIZERS = """
    from dzcore import hookimpl

    class Plain:
        '''A plain optimizer.'''

    @hookimpl
    def dz_register_optimizers(registry):
        registry.add("Plain", Plain, aliases=("vanilla",), has_momentum=False)
        registry.add("fancy", "fractions:Fraction", summary="Lazy fancy one")
"""

#: A plugin registering one function.
FUNCTIONS = """
    from dzcore import hookimpl

    def square(x):
        '''Squares x.'''
        return x * x

    @hookimpl
    def dz_register_functions(registry):
        registry.add("square", square)
"""


class FakeSite:
    """A folder of fake installed dz plugin distributions.

    Module names carry a random prefix so that tests never share a cached
    module in ``sys.modules``.
    """

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        self.prefix = "dzfake_" + uuid.uuid4().hex[:8]
        self.names: list[str] = []

    def module(self, plugin: str) -> str:
        """Returns the module name used for ``plugin``."""
        return f"{self.prefix}_{plugin}"

    def add(
        self,
        plugin: str,
        source: str | None,
        dist: str | None = None,
        version: str = "1.0",
        value: str | None = None,
    ) -> str:
        """Installs ``plugin`` (entry-point name) backed by ``source``.


        Args:
            plugin: The entry-point name.
            source: The module source; None writes no module at all.
            dist: The distribution name (default ``dzfake-<plugin>``).
            version: The distribution version.
            value: The entry-point value (default: the generated module).

        Returns:
            The module name the entry point points at.
        """
        dist = dist or f"dzfake-{plugin}"
        value = value or self.module(plugin)
        if source is not None:
            source = source.replace("MARKER", str(self.root / f"{plugin}.imported"))
            (self.root / f"{value}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        meta = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
        (info / "METADATA").write_text(meta)
        (info / "entry_points.txt").write_text(f"[dz.plugins]\n{plugin} = {value}\n")
        self.names.append(plugin)
        return value

    def imported(self, plugin: str) -> bool:
        """Whether the plugin module wrote its import marker (see ``MARKER``)."""
        return (self.root / f"{plugin}.imported").exists()

    def cleanup(self) -> None:
        """Drops the fake modules from ``sys.modules``."""
        for name in [m for m in sys.modules if m.startswith(self.prefix)]:
            del sys.modules[name]


#: Source line that makes a plugin module leave a marker file when imported.
MARK_IMPORT = """
    import pathlib
    pathlib.Path(r"MARKER").touch()
"""


def isolated_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSite:
    """Makes ``tmp_path`` the only place dz looks for plugins; resets dz.

    The folder goes on ``sys.path`` (to import the fake modules) and
    becomes the discovery path, so installed plugins stay out of the test.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(_plugin_meta, "SEARCH_PATH", [str(tmp_path)])
    for var in ("DZ_PLUGINS", "DZ_DISABLE_PLUGINS", "DZ_PLUGINS_STRICT", "DZ_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    plugins.reset()
    return FakeSite(tmp_path, monkeypatch)


def subprocess_env(site: FakeSite) -> dict[str, str]:
    """Returns an environment for a subprocess that sees ``site``.

    ``DZ_PLUGINS`` names the fake plugins, so installed ones stay disabled.
    """
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site.root), env.get("PYTHONPATH", "")])
    env["DZ_PLUGINS"] = ",".join(site.names)
    env.pop("DZ_PLUGINS_STRICT", None)
    env.pop("DZ_DISABLE_PLUGINS", None)
    return env
