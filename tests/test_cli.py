"""Tests of the ``dz`` dispatcher: help, version, command table, errors."""

import subprocess
import sys

import pytest
from plugin_fixtures import MARK_IMPORT, OPTIMIZERS, isolated_site, subprocess_env

import dzcore
from dzcore import plugins
from dzcore.cli import COMMANDS, main


@pytest.fixture
def fake_command(monkeypatch):
    monkeypatch.setitem(COMMANDS, "fake", ("plugin_fixtures.commands", "a fake"))
    monkeypatch.delenv("DZ_DEBUG", raising=False)
    return "fake"


def test_cli_version_prints_dzcore_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"dzcore {dzcore.__version__}"


def test_cli_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("list-plugins", "train", "check-plugin"):
        assert name in out


def test_cli_without_command_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage: dz" in capsys.readouterr().err


def test_cli_unknown_command_fails_with_usage(capsys):
    assert main(["trian"]) == 2
    assert "invalid choice: 'trian'" in capsys.readouterr().err


def test_cli_missing_command_module_fails_clearly(monkeypatch, capsys):
    monkeypatch.setitem(COMMANDS, "later", ("dzcore.cli.not_written_yet", "later"))
    assert main(["later"]) == 2
    err = capsys.readouterr().err
    assert "command 'later' is not available" in err
    assert "dzcore.cli.not_written_yet" in err
    assert "Traceback" not in err
    assert main(["--help"]) == 0
    assert "later" in capsys.readouterr().out


def test_cli_command_without_run_fails_clearly(monkeypatch, capsys):
    path = "plugin_fixtures.incomplete_command"
    monkeypatch.setitem(COMMANDS, "half", (path, "half a command"))
    assert main(["half"]) == 2
    assert f"module {path} does not define run()" in capsys.readouterr().err


def test_cli_runs_command_and_returns_its_status(fake_command, capsys):
    assert main([fake_command, "--status", "3"]) == 3
    assert capsys.readouterr().out == "ran with status 3\n"


def test_cli_dz_error_is_one_line_without_traceback(fake_command, capsys):
    assert main([fake_command, "--fail"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "dz fake: error: matmul expected (2, 3) @ (3, 4), got (2, 3) @ (2, 4)"
    ]


def test_cli_debug_shows_the_traceback(fake_command, capsys):
    assert main(["--debug", fake_command, "--fail"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "ShapeError" in err


def test_cli_subcommand_help_imports_only_that_command(fake_command, capsys):
    assert main([fake_command, "--help"]) == 0
    assert "--status" in capsys.readouterr().out


def test_cli_help_works_and_imports_no_plugin_when_one_is_broken(tmp_path, monkeypatch):
    site = isolated_site(tmp_path, monkeypatch)
    site.add("broken", MARK_IMPORT + "    raise RuntimeError('broken plugin')\n")
    for argv in (["--help"], ["--version"]):
        result = subprocess.run(
            [sys.executable, "-m", "dzcore.cli", *argv],
            env=subprocess_env(site),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    assert not site.imported("broken")
    plugins.reset()


@pytest.fixture
def site(tmp_path, monkeypatch):
    fake = isolated_site(tmp_path, monkeypatch)
    yield fake
    plugins.reset()
    fake.cleanup()


def test_cli_broken_plugin_is_one_warning_line_and_command_works(
    site, fake_command, capsys
):
    site.add("broken", "    raise RuntimeError('no luck')\n")
    site.add("opt", OPTIMIZERS)
    assert main([fake_command, "--lookup", "optimizers:plain"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "found Plain\nran with status 0\n"
    assert captured.err.splitlines() == [
        "dz: warning: dz plugin 'broken' (dzfake-broken 1.0) is failed: "
        f"RuntimeError: no luck (while importing {site.module('broken')}) "
        "(other plugins keep working; run `dz list-plugins -v` for details)"
    ]


def test_cli_unknown_component_is_a_one_line_error(site, fake_command, capsys):
    site.add("opt", OPTIMIZERS)
    assert main([fake_command, "--lookup", "optimizers:plane"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "dz fake: error: no optimizer named 'plane' is registered; "
        "did you mean 'plain'?"
    ]


def test_cli_unknown_selected_plugin_warns_with_valid_names(site, monkeypatch, capsys):
    site.add("opt", OPTIMIZERS)
    monkeypatch.setenv("DZ_PLUGINS", "opt,nope")
    assert main(["list-plugins"]) == 0
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "dz: warning: DZ_PLUGINS names unknown plugin(s) 'nope'; "
        "installed dz plugins are: opt"
    ]
