"""Tests of dzcore.trainer and dzcore.checkpoint: fit, evaluate, callbacks, resume."""

import json
import os
import sys
import warnings

import numpy as np
import pytest

import dzcore.functions as F
import dzcore.trainer as trainer_module
from dzcore import Config
from dzcore.checkpoint import read_checkpoint
from dzcore.dataloaders import DataLoader
from dzcore.datasets import ArrayDataset
from dzcore.errors import WeightsError
from dzcore.layers import Linear, save_npz
from dzcore.models import MLP, Model
from dzcore.optimizers import NON_NEGATIVE, UNIT_INTERVAL, Optimizer
from dzcore.trainer import Callback, Trainer


class PlainSGD(Optimizer):
    """``w -= lr * g``: a stateless optimizer defined here, no plugin needed."""

    def update_one(self, param):
        param.data -= self.lr * param.grad.data


class Momentum(Optimizer):
    """Heavy-ball momentum, whose velocity slot must survive a resume."""

    hyperparams = {"lr": NON_NEGATIVE, "momentum": UNIT_INTERVAL}

    def update_one(self, param):
        velocity = self.slot(param, "v")
        velocity *= self.momentum
        velocity -= self.lr * param.grad.data
        param.data += velocity


class DropoutNet(Model):
    """tanh MLP with dropout, so training draws from NumPy's global RNG."""

    def __init__(self, hidden=16):
        super().__init__()
        self.l0 = Linear(hidden)
        self.l1 = Linear(3)

    def forward(self, x):
        return self.l1(F.dropout(F.tanh(self.l0(x)), 0.2))


@pytest.fixture
def global_seed():
    """Seed NumPy's global random state, then put the caller's state back."""
    state = np.random.get_state()
    np.random.seed(0)
    yield
    np.random.set_state(state)


@pytest.fixture
def blobs():
    """Three well separated Gaussian blobs: 60 train and 30 test samples."""
    rng = np.random.default_rng(0)
    centers = np.array([[2.0, 0.0], [-2.0, 2.0], [0.0, -2.0]])

    def split(per_class):
        t = np.repeat(np.arange(3), per_class)
        x = centers[t] + 0.4 * rng.standard_normal((len(t), 2))
        return ArrayDataset(x.astype(np.float32), t)

    return split(20), split(10)


def loaders(blobs, seed=1, batch_size=8):
    train, test = blobs
    return (
        DataLoader(train, batch_size, shuffle=True, seed=seed),
        DataLoader(test, batch_size, shuffle=False),
    )


def weights(model):
    return {name: param.data.copy() for name, param in model.namedparams()}


# fit and evaluate


def test_trainer_fit_records_history_per_epoch(global_seed, blobs):
    model = MLP((16, 3), activation=F.tanh)
    trainer = Trainer(model, PlainSGD(lr=0.5))
    train_loader, test_loader = loaders(blobs)

    history = trainer.fit(train_loader, 6, val_loader=test_loader)

    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 6 for values in history.values())
    assert trainer.epoch == 6
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] >= 0.9


def test_trainer_fit_sets_up_an_optimizer_that_was_not(global_seed, blobs):
    model = MLP((3,), activation=F.tanh)
    optimizer = PlainSGD(lr=0.1)

    Trainer(model, optimizer).fit(loaders(blobs)[0], 1)

    assert optimizer.target is model
    assert optimizer.t == len(loaders(blobs)[0])


def test_trainer_epoch_loss_is_weighted_by_batch_size(global_seed, blobs):
    # With lr=0 the weights never move, so the epoch loss must equal the
    # loss over the whole split, even with a smaller last batch (60 = 7*8+4).
    model = MLP((8, 3), activation=F.tanh)
    train, _ = blobs
    trainer = Trainer(model, PlainSGD(lr=0.0))

    history = trainer.fit(DataLoader(train, 8, seed=0), 1)

    full = F.softmax_cross_entropy(model(train.data), train.label)
    accuracy = F.accuracy(model(train.data), train.label)
    assert history["loss"][0] == pytest.approx(float(full.data), rel=1e-5)
    assert history["accuracy"][0] == pytest.approx(float(accuracy.data), rel=1e-5)


def test_trainer_evaluate_runs_in_test_mode_without_grad(global_seed, blobs):
    seen = []

    class Spy(Model):
        def __init__(self):
            super().__init__()
            self.l0 = Linear(3)

        def forward(self, x):
            seen.append((Config.train, Config.enable_backprop))
            return self.l0(x)

    model = Spy()
    trainer = Trainer(model, PlainSGD(lr=1.0))
    _, test_loader = loaders(blobs)
    model(blobs[1].data[:1])
    before = weights(model)

    scores = trainer.evaluate(test_loader)

    assert set(scores) == {"loss", "accuracy"}
    assert seen[1:] and all(flags == (False, False) for flags in seen[1:])
    assert all(param.grad is None for param in model.params())
    for name, param in model.namedparams():
        np.testing.assert_array_equal(param.data, before[name])
    assert Config.train and Config.enable_backprop


def test_trainer_custom_loss_and_metrics_are_used(global_seed, blobs):
    def hits(y, t):
        return float((y.data.argmax(axis=1) == t).sum())

    model = MLP((3,), activation=F.tanh)
    trainer = Trainer(model, PlainSGD(lr=0.0), metrics={"hits": hits})

    scores = trainer.evaluate(loaders(blobs)[1])

    assert set(scores) == {"loss", "hits"}
    # Each batch's hit count is weighted by its size, then divided by 30.
    assert scores["hits"] > 0


def test_trainer_evaluate_of_an_empty_loader_raises():
    trainer = Trainer(MLP((3,), activation=F.tanh), PlainSGD(lr=0.1))

    with pytest.raises(ValueError, match="gave no batch"):
        trainer.evaluate([])


def test_trainer_fit_rejects_bad_epochs():
    trainer = Trainer(MLP((3,), activation=F.tanh), PlainSGD(lr=0.1))

    with pytest.raises(ValueError, match="epochs must be >= 0"):
        trainer.fit([], -1)
    with pytest.raises(TypeError, match="epochs must be an int"):
        trainer.fit([], 2.5)


def test_trainer_fit_warns_when_epochs_already_reached(global_seed, blobs):
    trainer = Trainer(MLP((3,), activation=F.tanh), PlainSGD(lr=0.1))
    train_loader, _ = loaders(blobs)
    trainer.fit(train_loader, 2)

    with pytest.warns(UserWarning, match="already complete"):
        history = trainer.fit(train_loader, 2)

    assert len(history["loss"]) == 2


# callbacks


def test_trainer_callbacks_run_in_order_and_can_stop(global_seed, blobs):
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, trainer):
            calls.append("train_begin")

        def on_epoch_begin(self, trainer, epoch):
            calls.append(f"epoch_begin {epoch}")

        def on_batch_end(self, trainer, batch, logs):
            calls.append("batch")

        def on_epoch_end(self, trainer, epoch, logs):
            calls.append(f"epoch_end {epoch} {sorted(logs)}")
            return epoch == 2

        def on_train_end(self, trainer, history):
            calls.append("train_end")

    trainer = Trainer(
        MLP((3,), activation=F.tanh), PlainSGD(lr=0.1), callbacks=[Recorder()]
    )
    train_loader, test_loader = loaders(blobs)

    history = trainer.fit(train_loader, 5, val_loader=test_loader)

    batches = ["batch"] * len(train_loader)
    keys = "['accuracy', 'loss', 'val_accuracy', 'val_loss']"
    assert calls == (
        ["train_begin", "epoch_begin 1", *batches, f"epoch_end 1 {keys}"]
        + ["epoch_begin 2", *batches, f"epoch_end 2 {keys}", "train_end"]
    )
    assert trainer.epoch == 2 and len(history["loss"]) == 2


def test_trainer_function_callback_and_stop_flag(global_seed, blobs):
    epochs_seen = []

    def stop_at_three(trainer, epoch, logs):
        epochs_seen.append((epoch, logs["loss"]))
        if epoch == 3:
            trainer.stop_training = True

    trainer = Trainer(
        MLP((3,), activation=F.tanh), PlainSGD(lr=0.1), callbacks=[stop_at_three]
    )

    trainer.fit(loaders(blobs)[0], 10)

    assert [epoch for epoch, _ in epochs_seen] == [1, 2, 3]
    assert [loss for _, loss in epochs_seen] == trainer.history["loss"]


def test_trainer_rejects_a_callback_that_is_not_one():
    with pytest.raises(TypeError, match="a callback must be"):
        Trainer(MLP((3,), activation=F.tanh), PlainSGD(lr=0.1), callbacks=[42])


# progress display


def test_trainer_progress_bar_only_when_asked_or_on_a_terminal(
    global_seed, blobs, capsys
):
    train_loader, _ = loaders(blobs)
    Trainer(MLP((3,), activation=F.tanh), PlainSGD(lr=0.1)).fit(train_loader, 1)
    quiet = capsys.readouterr()

    Trainer(MLP((3,), activation=F.tanh), PlainSGD(lr=0.1), progress=True).fit(
        train_loader, 1
    )
    shown = capsys.readouterr()

    assert quiet.err == "" and quiet.out == ""
    assert "epoch 1/1" in shown.err


# checkpoints and resume


def run(blobs, epochs, seed=0, loader_seed=1, checkpoint=None, resume=None):
    """Build fresh objects, optionally resume, train to ``epochs``."""
    np.random.seed(seed)
    model = DropoutNet()
    trainer = Trainer(model, Momentum(lr=0.2, momentum=0.9))
    if resume is not None:
        trainer.resume(resume)
    train_loader, test_loader = loaders(blobs, seed=loader_seed)
    trainer.fit(train_loader, epochs, val_loader=test_loader, checkpoint=checkpoint)
    return trainer


def test_trainer_resume_continues_exactly_like_an_uninterrupted_run(
    global_seed, blobs, tmp_path
):
    path = tmp_path / "run.ckpt"
    straight = run(blobs, 4)

    run(blobs, 2, checkpoint=path)
    # Another global seed and loader seed: resume must restore both states.
    resumed = run(blobs, 4, seed=99, loader_seed=7, resume=path)

    for name, param in straight.model.namedparams():
        assert np.array_equal(param.data, dict(resumed.model.namedparams())[name].data)
    assert resumed.history == straight.history
    assert resumed.optimizer.t == straight.optimizer.t
    straight_state = straight.optimizer.state_dict()
    for key, value in resumed.optimizer.state_dict().items():
        np.testing.assert_array_equal(value, straight_state[key])


def test_trainer_resume_restores_epoch_history_and_numpy_rng(
    global_seed, blobs, tmp_path
):
    path = tmp_path / "run.ckpt"
    first = run(blobs, 2, checkpoint=path)
    after_save = np.random.get_state()[1].copy()

    np.random.seed(5)
    trainer = Trainer(DropoutNet(), Momentum(lr=0.2, momentum=0.9))
    epoch = trainer.resume(path)

    assert epoch == trainer.epoch == 2
    assert trainer.history == first.history
    np.testing.assert_array_equal(np.random.get_state()[1], after_save)


def test_trainer_checkpoint_loads_without_pickle(global_seed, blobs, tmp_path):
    path = tmp_path / "run.ckpt"
    run(blobs, 1, checkpoint=path)

    with np.load(path, allow_pickle=False) as archive:
        members = {key: archive[key] for key in archive.files}

    assert "model/l0.W" in members and "optimizer/state/l0.W/v" in members
    assert all(array.dtype != object for array in members.values())
    assert read_checkpoint(path).epoch == 1


def test_trainer_resume_from_another_model_names_what_differs(
    global_seed, blobs, tmp_path
):
    path = tmp_path / "run.ckpt"
    run(blobs, 1, checkpoint=path)
    model = MLP((8, 8, 3), activation=F.tanh)
    model(np.zeros((1, 2), np.float32))
    trainer = Trainer(model, Momentum(lr=0.2, momentum=0.9))
    before = weights(model)

    with pytest.raises(WeightsError) as error:
        trainer.resume(path)

    message = str(error.value)
    assert "run.ckpt" in message and "nothing was restored" in message
    assert "parameter l0.W: saved shape (2, 16), the model has (2, 8)" in message
    assert "parameter l2.W: in the model but not in the checkpoint" in message
    for name, param in model.namedparams():
        np.testing.assert_array_equal(param.data, before[name])
    assert trainer.epoch == 0 and trainer.history == {}


def test_trainer_resume_with_another_optimizer_names_both_classes(
    global_seed, blobs, tmp_path
):
    path = tmp_path / "run.ckpt"
    run(blobs, 1, checkpoint=path)
    model = DropoutNet()
    trainer = Trainer(model, PlainSGD(lr=0.1))
    state = np.random.get_state()[1].copy()

    with pytest.raises(
        WeightsError, match="saved by Momentum, this trainer uses PlainSGD"
    ):
        trainer.resume(path)

    assert all(param.data is None for param in model.params() if param.name == "W")
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_trainer_resume_refuses_a_weights_file(global_seed, tmp_path):
    model = MLP((3,), activation=F.tanh)
    model(np.zeros((1, 2), np.float32))
    model.save_weights(tmp_path / "w.npz")

    with pytest.raises(WeightsError, match="not a dz checkpoint"):
        Trainer(model, PlainSGD(lr=0.1)).resume(tmp_path / "w.npz")


def test_trainer_resume_of_a_missing_file_names_it(tmp_path):
    trainer = Trainer(MLP((3,), activation=F.tanh), PlainSGD(lr=0.1))

    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        trainer.resume(tmp_path / "nope.ckpt")


def test_trainer_ctrl_c_leaves_the_last_complete_checkpoint_valid(
    global_seed, blobs, tmp_path
):
    path = tmp_path / "run.ckpt"
    at_epoch_end = {}

    class Interrupt(Callback):
        def on_batch_end(self, trainer, batch, logs):
            if trainer.epoch == 2 and batch == 3:
                raise KeyboardInterrupt

        def on_epoch_end(self, trainer, epoch, logs):
            at_epoch_end[epoch] = weights(trainer.model)

    trainer = Trainer(DropoutNet(), Momentum(lr=0.2, momentum=0.9))
    trainer.callbacks.append(Interrupt())
    train_loader, test_loader = loaders(blobs)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(train_loader, 5, val_loader=test_loader, checkpoint=path)

    restored = Trainer(DropoutNet(), Momentum(lr=0.2, momentum=0.9))
    assert restored.resume(path) == 2
    for name, param in restored.model.namedparams():
        np.testing.assert_array_equal(param.data, at_epoch_end[2][name])
    assert os.listdir(tmp_path) == ["run.ckpt"]


def test_trainer_interrupted_write_keeps_the_previous_checkpoint(
    global_seed, blobs, tmp_path, monkeypatch
):
    path = tmp_path / "run.ckpt"
    trainer = run(blobs, 1, checkpoint=path)
    good = path.read_bytes()

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint(path)

    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["run.ckpt"]


def test_trainer_checkpoint_before_first_step_names_the_parameter(tmp_path):
    trainer = Trainer(MLP((3,), activation=F.tanh), PlainSGD(lr=0.1))

    with pytest.raises(WeightsError, match="'l0.W'.*not initialised"):
        trainer.save_checkpoint(tmp_path / "x.ckpt")


def test_trainer_resumed_loader_state_must_fit(global_seed, blobs, tmp_path):
    path = tmp_path / "run.ckpt"
    run(blobs, 1, checkpoint=path)
    trainer = Trainer(DropoutNet(), Momentum(lr=0.2, momentum=0.9))
    trainer.resume(path)

    with warnings.catch_warnings(), pytest.raises(ValueError, match="batch_size"):
        trainer.fit(loaders(blobs, batch_size=5)[0], 2)


def test_trainer_resume_into_given_loaders_checks_them_first(
    global_seed, blobs, tmp_path
):
    path = tmp_path / "run.ckpt"
    run(blobs, 1, checkpoint=path)
    model = DropoutNet()
    trainer = Trainer(model, Momentum(lr=0.2, momentum=0.9))
    train_loader, test_loader = loaders(blobs, batch_size=5)

    with pytest.raises(WeightsError, match="train loader does not fit.*batch_size"):
        trainer.resume(path, train_loader, test_loader)

    assert trainer.epoch == 0
    assert all(param.data is None for param in model.params() if param.name == "W")


def test_trainer_progress_bar_appears_on_a_terminal(
    global_seed, blobs, capsys, monkeypatch
):
    monkeypatch.setattr(trainer_module, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    trainer = Trainer(MLP((3,), activation=F.tanh), PlainSGD(lr=0.1))

    trainer.fit(loaders(blobs)[0], 2)

    assert "epoch 2/2" in capsys.readouterr().err


def test_trainer_resume_of_a_truncated_checkpoint_names_the_file(
    global_seed, blobs, tmp_path
):
    path = tmp_path / "run.ckpt"
    run(blobs, 1, checkpoint=path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    trainer = Trainer(DropoutNet(), Momentum(lr=0.2, momentum=0.9))

    with pytest.raises(WeightsError, match="run.ckpt"):
        trainer.resume(path)

    assert trainer.epoch == 0


def test_trainer_resume_refuses_another_checkpoint_version(
    global_seed, blobs, tmp_path
):
    path = tmp_path / "run.ckpt"
    run(blobs, 1, checkpoint=path)
    with np.load(path, allow_pickle=False) as archive:
        members = {key: archive[key] for key in archive.files}
    meta = json.loads(str(members["meta"]))
    members["meta"] = np.array(json.dumps(dict(meta, version=99)))
    save_npz(path, members)

    with pytest.raises(WeightsError, match="version 99; this dz reads version 1"):
        Trainer(DropoutNet(), Momentum(lr=0.2, momentum=0.9)).resume(path)
