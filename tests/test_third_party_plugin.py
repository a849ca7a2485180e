"""A third-party plugin installed with pip into a throwaway environment.

The packages under ``tests/fixtures`` are what the README's recipe shows:
a ``pyproject.toml`` declaring a ``dz.plugins`` entry point and one
module. Each test builds one into a wheel, installs it with pip into a
fresh venv that sees dzcore and the first-party plugins
(``--system-site-packages``), and runs ``dz`` there in subprocesses.

Nothing is downloaded: when the installed setuptools can build a wheel
without network (setuptools >= 70.1, or the ``wheel`` package), pip builds
it with ``--no-build-isolation``; otherwise (setuptools 65 without
``wheel``) the test writes the wheel itself from the same pyproject.toml.
Either way ``pip install --no-index --no-deps`` installs the wheel.
"""

import base64
import hashlib
import importlib.util
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"

_ENV = ("DZ_PLUGINS", "DZ_DISABLE_PLUGINS", "DZ_PLUGINS_STRICT", "PYTHONPATH")

TRAIN = """
import numpy as np
import dzcore.functions as F
from dzcore import datasets, optimizers
from dzcore.models import MLP

x, t = datasets.get_spiral(train=True)
model = MLP((10, 3), activation=F.relu)
optimizer = optimizers.get("{name}")(lr={lr}).setup(model)
losses = []
for _ in range(60):
    loss = F.softmax_cross_entropy(model(x), t)
    model.cleargrads()
    loss.backward()
    optimizer.update()
    losses.append(float(loss.data))
print("optimizer", type(optimizer).__name__)
print("first", losses[0], "last", losses[-1])
"""


def _setuptools_builds_offline():
    if importlib.util.find_spec("wheel") is not None:
        return True
    try:
        return importlib.util.find_spec("setuptools.command.bdist_wheel") is not None
    except ImportError:
        return False


def _pip(python, *args, cwd=None):
    command = [str(python), "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


def build_wheel(source, out):
    """Builds the fixture package at ``source`` into a wheel under ``out``."""
    if _setuptools_builds_offline():
        _pip(
            sys.executable,
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(source),
            "-w",
            str(out),
        )
        return next(out.glob("*.whl"))
    return write_wheel(source, out)


def write_wheel(source, out):
    """Writes a pure-Python wheel from ``source/pyproject.toml`` (PEP 427)."""
    tomllib = pytest.importorskip("tomllib", reason="Python < 3.11 without wheel")
    pyproject = tomllib.loads((source / "pyproject.toml").read_text())
    project = pyproject["project"]
    dist = project["name"].replace("-", "_")
    info = f"{dist}-{project['version']}.dist-info"
    files = {
        f"{module}.py": (source / f"{module}.py").read_bytes()
        for module in pyproject["tool"]["setuptools"]["py-modules"]
    }
    files[f"{info}/METADATA"] = _metadata(project).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: dz-tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    files[f"{info}/entry_points.txt"] = _entry_points(project).encode()
    files[f"{info}/RECORD"] = _record(files, f"{info}/RECORD").encode()
    path = out / f"{dist}-{project['version']}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _metadata(project):
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}"]
    lines += [f"Version: {project['version']}", f"Summary: {project['description']}"]
    lines += [f"Requires-Python: {project['requires-python']}"]
    lines += [f"Requires-Dist: {d}" for d in project.get("dependencies", ())]
    return "\n".join(lines) + "\n"


def _entry_points(project):
    text = ""
    for group, entries in project["entry-points"].items():
        text += f"[{group}]\n"
        text += "".join(f"{name} = {value}\n" for name, value in entries.items())
    return text


def _record(files, record_name):
    rows = []
    for name, data in files.items():
        digest = hashlib.sha256(data).digest()
        encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        rows.append(f"{name},sha256={encoded},{len(data)}")
    return "\n".join([*rows, f"{record_name},,"]) + "\n"


def make_env(root, package):
    """A venv seeing the system packages, with fixture ``package`` installed."""
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(root / "venv")
    python = root / "venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
    wheels = root / "wheels"
    wheels.mkdir()
    wheel = build_wheel(FIXTURES / package, wheels)
    # pip comes from the system site-packages and installs into the venv.
    _pip(python, "install", "--no-deps", "--no-index", "--no-build-isolation", wheel)
    return python


def dz(python, *args, check=True):
    """Runs ``python -m dzcore.cli ARGS`` in the venv; returns the result."""
    return run(python, "-m", "dzcore.cli", *args, check=check)


def run(python, *args, check=True):
    env = {k: v for k, v in os.environ.items() if k not in _ENV}
    result = subprocess.run(
        [str(python), *args], capture_output=True, text=True, env=env, timeout=300
    )
    if check:
        assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


def _row(listing, name):
    return next(line for line in listing.splitlines() if line.startswith(name + " "))


def _losses(output):
    words = output.split()
    return float(words[words.index("first") + 1]), float(words[words.index("last") + 1])


def test_third_party_lion_installs_lists_trains_and_conforms(tmp_path):
    python = make_env(tmp_path, "dz-lion")

    row = _row(dz(python, "list-plugins").stdout, "lion")
    assert row.split()[:4] == ["lion", "dz-lion", "0.1.0", "ok"]
    assert row.endswith("optimizers: Lion")

    trained = run(python, "-c", TRAIN.format(name="lion", lr=1e-2)).stdout
    assert "optimizer Lion" in trained
    first, last = _losses(trained)
    assert last < 0.9 * first

    cli = dz(python, "train", "--optimizer", "lion", "--lr", "0.01", "--epochs", "20")
    assert "Lion(lr=0.01" in cli.stdout.splitlines()[0]
    assert cli.stdout.splitlines()[-1].startswith("done: 20 epochs")

    checked = dz(python, "check-plugin", "lion").stdout
    assert "ok     lion:lion[decreases_quadratic]" in checked
    assert "ok     lion:lion[resumes_from_state_dict]" in checked
    assert "ok     lion[loads_in_subprocess]" in checked
    assert checked.splitlines()[-1].startswith("plugin 'lion' passes")


def test_third_party_broken_plugin_leaves_dz_working(tmp_path):
    python = make_env(tmp_path, "dz-broken")

    helped = dz(python, "--help")
    assert "list-plugins" in helped.stdout and "broken" not in helped.stderr

    listing = dz(python, "list-plugins")
    row = _row(listing.stdout, "broken")
    assert row.split()[:4] == ["broken", "dz-broken", "0.1.0", "failed"]
    assert "ImportError: dz_broken: this plugin is broken on purpose" in row
    assert _row(listing.stdout, "optim").split()[3] == "ok"

    trained = run(python, "-c", TRAIN.format(name="adam", lr=1e-2))
    first, last = _losses(trained.stdout)
    assert last < 0.9 * first
    warned = [line for line in trained.stderr.splitlines() if "broken" in line]
    assert len(warned) == 1 and "dz list-plugins -v" in warned[0]

    cli = dz(python, "train", "--epochs", "2")
    assert cli.stdout.splitlines()[-1].startswith("done: 2 epochs")

    checked = dz(python, "check-plugin", "broken", check=False)
    assert checked.returncode == 1
    assert "FAIL   broken[status]: plugin 'broken' (dz-broken 0.1.0) is failed" in (
        checked.stdout
    )
