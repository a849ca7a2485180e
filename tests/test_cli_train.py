"""Tests of ``dz train``, run in-process through ``dzcore.cli.main``.

These rely on the first-party plugins (dz-optim, dz-activations,
dz-datasets) being installed, as the README's set-up does.
"""

import json

import numpy as np
import pytest

from dzcore.cli import _plot, main
from dzcore.trainer import Trainer


@pytest.fixture(autouse=True)
def restore_global_rng():
    """``dz train`` seeds NumPy's global state; give other tests theirs back."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def train(capsys, *args):
    """Run ``dz train *args``; return (status, stdout lines, stderr)."""
    status = main(["train", *args])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def epoch_records(lines):
    return [json.loads(line) for line in lines]


def strip_seconds(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_cli_train_default_is_the_book_spiral_run(capsys):
    status, lines, err = train(capsys)

    assert status == 0, err
    header, *epochs, footer = lines
    assert "spiral" in header and "MLP(10, 3) sigmoid" in header
    assert "SGD(lr=1.0)" in header and "batch 30" in header
    assert len(epochs) == 300 and epochs[0].startswith("epoch   1/300")
    words = epochs[-1].split()
    train_acc, test_acc = float(words[6]), float(words[11])
    assert train_acc >= 0.95 and test_acc >= 0.90
    assert footer.startswith("done: 300 epochs")


def test_cli_train_json_prints_one_parseable_object_per_epoch(capsys):
    status, lines, _ = train(capsys, "--json", "--epochs", "3")

    assert status == 0
    records = epoch_records(lines)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    for record in records:
        assert {"train_loss", "train_accuracy", "test_loss", "test_accuracy"} <= set(
            record
        )
        assert record["epochs"] == 3 and 0 <= record["test_accuracy"] <= 1


def test_cli_train_quiet_prints_only_the_result(capsys):
    status, lines, _ = train(capsys, "--quiet", "--epochs", "2")

    assert status == 0
    assert len(lines) == 1 and lines[0].startswith("done: 2 epochs")


def test_cli_train_options_reach_the_model_and_optimizer(capsys):
    status, lines, _ = train(
        capsys,
        *("--hidden", "8,6", "--activation", "relu", "--optimizer", "momentumsgd"),
        *("--lr", "0.05", "--opt", "momentum=0.5", "--batch-size", "50"),
        *("--epochs", "2"),
    )

    assert status == 0
    assert "MLP(8, 6, 3) relu" in lines[0]
    assert "MomentumSGD(lr=0.05, momentum=0.5)" in lines[0] and "batch 50" in lines[0]


def test_cli_train_other_optimizer_keeps_its_own_default_lr(capsys):
    status, lines, _ = train(capsys, "--optimizer", "adam", "--epochs", "1")

    assert status == 0
    assert "Adam(lr=0.001" in lines[0]


@pytest.mark.parametrize(
    ("option", "what", "installed"),
    [
        ("--dataset", "dataset", "Spiral"),
        ("--optimizer", "optimizer", "SGD"),
        ("--activation", "activation", "sigmoid"),
    ],
)
def test_cli_train_unknown_name_lists_what_is_installed(
    capsys, option, what, installed
):
    status, lines, err = train(capsys, option, "nosuchthing")

    assert status == 2 and lines == []
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"unknown {what} 'nosuchthing'; installed:" in err and installed in err


def test_cli_train_unknown_hyperparameter_is_one_line(capsys):
    status, _, err = train(capsys, "--opt", "momentum=0.9", "--epochs", "1")

    assert status == 2
    assert "unknown option 'momentum'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [("--hidden", "10,x"), ("--epochs", "0"), ("--batch-size", "-3"), ("--opt", "lr")],
)
def test_cli_train_malformed_option_is_a_usage_error(capsys, args):
    status, _, err = train(capsys, *args)

    assert status == 2
    assert f"argument {args[0]}" in err


def test_cli_train_save_then_resume_continues_the_same_run(capsys, tmp_path):
    path = str(tmp_path / "spiral.ckpt")
    _, straight, _ = train(capsys, "--json", "--epochs", "6")

    assert train(capsys, "--json", "--epochs", "3", "--save", path)[0] == 0
    status, resumed, _ = train(capsys, "--json", "--epochs", "6", "--resume", path)

    assert status == 0
    assert strip_seconds(epoch_records(resumed)) == strip_seconds(
        epoch_records(straight)[3:]
    )


def test_cli_train_resume_of_another_model_names_the_difference(capsys, tmp_path):
    path = str(tmp_path / "spiral.ckpt")
    train(capsys, "--quiet", "--epochs", "1", "--save", path)

    status, _, err = train(capsys, "--hidden", "12", "--resume", path)

    assert status == 2 and "Traceback" not in err
    assert "parameter l0.b: saved shape (10,), the model has (12,)" in err


def test_cli_train_resume_of_a_missing_file_is_one_line(capsys, tmp_path):
    status, _, err = train(capsys, "--resume", str(tmp_path / "none.ckpt"))

    assert status == 2
    assert "no checkpoint file at" in err and "none.ckpt" in err


def test_cli_train_ctrl_c_keeps_the_last_checkpoint(capsys, tmp_path, monkeypatch):
    path = str(tmp_path / "spiral.ckpt")
    steps = []
    original = Trainer._train_step

    def interrupting_step(self, x, t):
        steps.append(1)
        if len(steps) == 25:  # batch 5 of epoch 3 (10 batches per epoch)
            raise KeyboardInterrupt
        return original(self, x, t)

    monkeypatch.setattr(Trainer, "_train_step", interrupting_step)
    status, lines, err = train(capsys, "--json", "--save", path)
    monkeypatch.undo()

    assert status == 130 and len(lines) == 2
    assert f"interrupted after 2 complete epochs; {path} holds epoch 2" in err
    status, resumed, _ = train(capsys, "--json", "--epochs", "3", "--resume", path)
    assert status == 0 and [r["epoch"] for r in epoch_records(resumed)] == [3]


def test_cli_train_plot_writes_a_png(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "run.png"

    status, _, err = train(capsys, "--quiet", "--epochs", "3", "--plot", str(png))

    assert status == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.png"]


def test_cli_train_plot_without_matplotlib_says_how_to_install(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setattr(_plot, "available", lambda: False)

    status, lines, err = train(capsys, "--plot", str(tmp_path / "run.png"))

    assert status == 2 and lines == []
    assert "pip install 'dzcore[plot]'" in err


def test_cli_train_save_into_a_missing_folder_fails_before_training(capsys, tmp_path):
    status, lines, err = train(capsys, "--save", str(tmp_path / "no" / "x.ckpt"))

    assert status == 2 and lines == []
    assert "--save: folder" in err and "does not exist" in err


def test_cli_train_resume_of_a_finished_run_says_so(capsys, tmp_path):
    path = str(tmp_path / "spiral.ckpt")
    train(capsys, "--quiet", "--epochs", "2", "--save", path)

    status, lines, err = train(capsys, "--epochs", "2", "--resume", path)

    assert status == 0 and lines == []
    assert "already holds 2 epochs; pass --epochs above 2" in err


def test_cli_train_says_when_the_plugin_of_a_name_is_disabled(capsys, monkeypatch):
    from dzcore import plugins

    monkeypatch.setenv("DZ_PLUGINS", "optim,activations")
    plugins.reset()
    try:
        status, _, err = train(capsys, "--epochs", "1")
    finally:
        monkeypatch.delenv("DZ_PLUGINS")
        plugins.reset()

    assert status == 2 and "Traceback" not in err
    assert "unknown dataset 'spiral'" in err
    assert "plugin 'datasets'" in err and "disabled by DZ_PLUGINS" in err


def test_cli_train_suggests_a_close_optimizer_name(capsys):
    status, _, err = train(capsys, "--optimizer", "adm")

    assert status == 2
    assert "did you mean 'adam'" in err
