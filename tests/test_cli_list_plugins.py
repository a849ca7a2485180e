"""Tests of ``dz list-plugins``: table, summary, ``-v``, ``--json``, ``--strict``."""

import json
import subprocess
import sys

import pytest
from plugin_fixtures import FUNCTIONS, OPTIMIZERS, isolated_site, subprocess_env

import dzcore
from dzcore import plugins
from dzcore.cli import main

BROKEN = "    raise RuntimeError('cannot import the table')\n"


@pytest.fixture
def site(tmp_path, monkeypatch):
    fake = isolated_site(tmp_path, monkeypatch)
    yield fake
    plugins.reset()
    fake.cleanup()


@pytest.fixture
def mixed(site, monkeypatch):
    """Four plugins: ok, ok, failed, and one disabled."""
    site.add("opt", OPTIMIZERS, version="1.2")
    site.add("fun", FUNCTIONS, version="0.3")
    site.add("broken", BROKEN, version="9.9")
    site.add("off", FUNCTIONS)
    monkeypatch.setenv("DZ_DISABLE_PLUGINS", "off")
    return site


def _rows(out, names):
    return {line.split()[0]: line for line in out.splitlines() if line.split()[:1]
            and line.split()[0] in names}  # fmt: skip


def test_list_plugins_table_shows_each_plugin(mixed, capsys):
    assert main(["list-plugins"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert header.split() == [
        "NAME", "DISTRIBUTION", "VERSION", "STATUS", "LOAD", "PROVIDES"
    ]  # fmt: skip
    rows = _rows(out, mixed.names)
    assert rows["opt"].split()[:4] == ["opt", "dzfake-opt", "1.2", "ok"]
    assert rows["opt"].endswith("optimizers: fancy, Plain")
    assert rows["fun"].endswith("functions: square")
    assert rows["broken"].split()[:4] == ["broken", "dzfake-broken", "9.9", "failed"]
    assert "RuntimeError: cannot import the table" in rows["broken"]
    assert rows["off"].split()[3:] == ["disabled", "-", "(disabled", "by",
                                       "DZ_DISABLE_PLUGINS)"]  # fmt: skip
    assert header.index("STATUS") == rows["opt"].index("ok")


def test_list_plugins_summary_counts_statuses(mixed, capsys):
    main(["list-plugins"])
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.endswith("2 ok, 1 failed, 1 disabled")


def test_list_plugins_summary_names_ambiguous_short_names(site, capsys):
    site.add("one", OPTIMIZERS)
    site.add("two", OPTIMIZERS)
    main(["list-plugins"])
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert "2 plugin(s): 2 ok" in summary
    assert "optimizer 'plain' (one:Plain, two:Plain)" in summary


def test_list_plugins_says_when_none_is_installed(site, capsys):
    assert main(["list-plugins"]) == 0
    assert "no dz plugins are installed" in capsys.readouterr().out


def test_list_plugins_verbose_adds_module_paths_and_tracebacks(mixed, capsys):
    main(["list-plugins", "-v"])
    out = capsys.readouterr().out
    assert f"module: {mixed.module('opt')} ({mixed.root}" in out
    assert "hooks: dz_register_optimizers" in out
    assert "Traceback (most recent call last)" in out


def test_list_plugins_strict_exits_nonzero_unless_all_ok(mixed, capsys):
    assert main(["list-plugins"]) == 0
    assert main(["list-plugins", "--strict"]) == 1
    plugins.unregister("broken")
    assert main(["list-plugins", "--strict"]) == 1  # "off" is still disabled


def test_list_plugins_strict_passes_when_all_ok(site, capsys):
    site.add("opt", OPTIMIZERS)
    assert main(["list-plugins", "--strict"]) == 0


def test_list_plugins_json_follows_schema_1(mixed, capsys):
    assert main(["list-plugins", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema_version"] == 1
    assert report["dzcore_version"] == dzcore.__version__
    assert report["plugin_api"] == dzcore.PLUGIN_API
    assert report["conflicts"] == []
    by_name = {p["name"]: p for p in report["plugins"]}
    opt = by_name["opt"]
    assert set(opt) >= {
        "name", "distribution", "version", "module", "status", "disabled_by",
        "error", "hooks", "provides", "load_ms",
    }  # fmt: skip
    assert opt["provides"] == {"optimizers": ["fancy", "Plain"]}
    assert opt["hooks"] == ["dz_register_optimizers"]
    assert opt["load_ms"] >= 0
    assert by_name["broken"]["status"] == "failed"
    assert by_name["off"]["disabled_by"] == "DZ_DISABLE_PLUGINS"
    assert report["counts"]["failed"] == 1


def test_list_plugins_json_reports_conflicts(site, capsys):
    site.add("twin", OPTIMIZERS, dist="dzfake-left", version="1.0")
    site.add("twin", FUNCTIONS, dist="dzfake-right", value=site.module("twin2"))
    main(["list-plugins", "--json"])
    report = json.loads(capsys.readouterr().out)
    (conflict,) = report["conflicts"]
    assert conflict["name"] == "twin"
    assert [d["name"] for d in conflict["distributions"]] == [
        "dzfake-left",
        "dzfake-right",
    ]
    assert report["plugins"][0]["status"] == "conflict"


def test_list_plugins_in_subprocess_survives_broken_plugin(mixed):
    env = subprocess_env(mixed)
    env["DZ_DISABLE_PLUGINS"] = "off"
    env["DZ_PLUGINS_STRICT"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "dzcore.cli", "list-plugins"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    rows = _rows(result.stdout, mixed.names)
    assert rows["broken"].split()[3] == "failed"
    assert rows["opt"].split()[3] == "ok"
    assert "Traceback" not in result.stderr
