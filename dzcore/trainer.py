"""The Trainer: the book's training loop, with history, callbacks and checkpoints.

Example::

    trainer = Trainer(model, optimizers.SGD(lr=1.0).setup(model))
    history = trainer.fit(train_loader, epochs=300, val_loader=test_loader)
    print(history["val_accuracy"][-1])

Each epoch runs the loop of the book (forward, loss, ``cleargrads``,
``backward``, ``update``) over the training loader, then evaluates on the
validation loader under ``no_grad()`` and ``test_mode()``. Losses and
metrics are averaged over samples (each batch weighted by its size), as
the book does.
"""

from __future__ import annotations

import contextlib
import logging
import numbers
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from dzcore import checkpoint as ckpt
from dzcore import functions as F
from dzcore.callbacks import Callback, as_callback
from dzcore.config import no_grad, test_mode
from dzcore.errors import WeightsError

logger = logging.getLogger(__name__)

__all__ = ["Callback", "Trainer"]

#: A metric: called with the model output and the labels, returns a number
#: or a 0-d Variable.
Metric = Callable[[Any, Any], Any]

#: Seconds an epoch must run before its progress bar appears.
PROGRESS_DELAY = 1.0


class Trainer:
    """Train a model with an optimizer over DataLoaders, epoch by epoch.

    Args:
        model: the Layer or Model to train.
        optimizer: an Optimizer; set up with ``model`` here if it has not
            been set up yet.
        loss: ``loss(y, t)`` returning a 0-d Variable; softmax
            cross-entropy by default.
        metrics: name -> ``metric(y, t)``; None means
            ``{"accuracy": F.accuracy}``, ``{}`` means none.
        callbacks: :class:`Callback` objects or functions
            ``f(trainer, epoch, logs)``.
        progress: show a tqdm bar per epoch on stderr: True, False, or
            None to show it only when stderr is a terminal and the epoch
            runs longer than a second.

    Attributes:
        epoch: the number of complete epochs (restored by ``resume``).
        history: name -> one value per epoch: ``loss``, each metric, and
            ``val_loss`` and ``val_<metric>`` when validating.
        stop_training: set it to True to stop after the current epoch.
    """

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        loss: Callable[[Any, Any], Any] | None = None,
        metrics: Mapping[str, Metric] | None = None,
        callbacks: Iterable[Callback | Callable[..., Any]] = (),
        progress: bool | None = None,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        if getattr(optimizer, "target", None) is None:
            optimizer.setup(model)
        self.loss = F.softmax_cross_entropy if loss is None else loss
        self.metrics = {"accuracy": F.accuracy} if metrics is None else dict(metrics)
        self.callbacks = [as_callback(item) for item in callbacks]
        self.progress = progress
        self.epoch = 0
        self.history: dict[str, list[float]] = {}
        self.stop_training = False
        self._loaders: dict[str, Any] = {}
        self._pending_loader_states: dict[str, Any] = {}
        self._resumed_from = ""

    def fit(
        self,
        train_loader: Iterable[Any],
        epochs: int,
        val_loader: Iterable[Any] | None = None,
        *,
        checkpoint: str | os.PathLike | None = None,
    ) -> dict[str, list[float]]:
        """Train until ``epochs`` epochs are complete; return the history.

        ``epochs`` is the total to reach, counting epochs done before a
        :meth:`resume`, so the same call continues an interrupted run.

        Args:
            train_loader: yields ``(x, t)`` batches; a DataLoader gives a
                new epoch each time it is iterated.
            epochs: the number of complete epochs to reach.
            val_loader: evaluated after every epoch when given.
            checkpoint: a path written (atomically) after every epoch;
                when training is interrupted, even by Ctrl-C, the file holds
                the last complete epoch.

        Raises:
            ValueError: if ``epochs`` is not a non-negative int, or a loader
                gives no batch, or a resumed loader state does not fit.
        """
        epochs = _check_epochs(epochs)
        self._loaders = {"train": train_loader, "val": val_loader}
        self._apply_loader_states()
        if epochs <= self.epoch:
            warnings.warn(
                f"Trainer.fit: {self.epoch} epochs are already complete and "
                f"epochs={epochs} is the total to reach; nothing to do",
                stacklevel=2,
            )
            return self.history
        self.stop_training = False
        self._call("on_train_begin", self)
        while self.epoch < epochs and not self.stop_training:
            self._run_epoch(epochs, checkpoint)
        self._call("on_train_end", self, self.history)
        return self.history

    def _run_epoch(self, epochs: int, checkpoint: Any) -> None:
        epoch = self.epoch + 1
        self._call("on_epoch_begin", self, epoch)
        logs = self._train_epoch(self._loaders["train"], epoch, epochs)
        if self._loaders["val"] is not None:
            scores = self.evaluate(self._loaders["val"])
            logs.update({f"val_{name}": value for name, value in scores.items()})
        self.epoch = epoch
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)
        if checkpoint is not None:
            self.save_checkpoint(checkpoint)
        if any(self._call("on_epoch_end", self, epoch, logs)):
            self.stop_training = True

    def _train_epoch(self, loader: Any, epoch: int, epochs: int) -> dict[str, float]:
        _reset(loader)
        totals = _Totals()
        with self._progress_bar(loader, epoch, epochs) as bar:
            for batch, (x, t) in enumerate(loader):
                logs = self._train_step(x, t)
                totals.add(logs)
                bar.update(1)
                if any(self._call("on_batch_end", self, batch, logs)):
                    self.stop_training = True
        return totals.means(f"Trainer.fit: epoch {epoch}: the training loader")

    def _train_step(self, x: Any, t: Any) -> dict[str, float]:
        y = self.model(x)
        loss = self.loss(y, t)
        self.model.cleargrads()
        loss.backward()
        self.optimizer.update()
        return self._batch_logs(loss, y, t, x)

    def _batch_logs(self, loss: Any, y: Any, t: Any, x: Any) -> dict[str, float]:
        logs = {"loss": _as_float(loss)}
        with no_grad():
            for name, metric in self.metrics.items():
                logs[name] = _as_float(metric(y, t))
        logs["size"] = len(x)
        return logs

    def evaluate(self, loader: Iterable[Any]) -> dict[str, float]:
        """Return the loss and metrics over a whole loader, averaged per sample.

        Runs under ``no_grad()`` and ``test_mode()`` (dropout off) and
        changes no parameter.

        Raises:
            ValueError: if the loader gives no batch.
        """
        _reset(loader)
        totals = _Totals()
        with no_grad(), test_mode():
            for x, t in loader:
                y = self.model(x)
                totals.add(self._batch_logs(self.loss(y, t), y, t, x))
        return totals.means("Trainer.evaluate: the loader")

    def _progress_bar(self, loader: Any, epoch: int, epochs: int) -> Any:
        show = self.progress
        if show is None:
            show = sys.stderr.isatty()
        if not show:
            return contextlib.nullcontext(_NoBar())
        from tqdm import tqdm

        return tqdm(
            total=_length(loader),
            desc=f"epoch {epoch}/{epochs}",
            unit="batch",
            leave=False,
            file=sys.stderr,
            delay=PROGRESS_DELAY if self.progress is None else 0.0,
        )

    def _call(self, hook: str, *args: Any) -> list[Any]:
        methods = [getattr(item, hook, None) for item in self.callbacks]
        return [method(*args) for method in methods if method is not None]

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Write the whole training state to ``path``, atomically.

        Call it between epochs (``fit(checkpoint=path)`` does so after
        each one); the state of the loaders of the latest ``fit`` is
        included.

        Raises:
            WeightsError: if a parameter is not initialised yet.
            FileNotFoundError: if the folder of ``path`` does not exist.
        """
        loaders = {
            role: _loader_state(loader) for role, loader in self._loaders.items()
        }
        ckpt.write_checkpoint(
            path, self.model, self.optimizer, self.epoch, self.history, loaders
        )

    def resume(
        self,
        path: str | os.PathLike,
        train_loader: Any = None,
        val_loader: Any = None,
    ) -> int:
        """Restore the training state saved by :meth:`save_checkpoint`.

        Restores the parameters, the optimizer state, the epoch count, the
        history and NumPy's global random state. The loaders' states are
        restored into the loaders given here, else into those of the next
        ``fit``. The model and optimizer are checked against the file
        first: when they do not fit, nothing changes.

        Returns:
            The number of complete epochs in the checkpoint.

        Raises:
            FileNotFoundError: if there is no file at ``path``.
            WeightsError: if the file is not a checkpoint, was saved from
                another model or optimizer (the message lists every
                parameter name or shape and the optimizer class that
                differ), or from loaders of another batch size or dataset.
        """
        state = ckpt.read_checkpoint(path)
        problems = ckpt.mismatches(state, self.model, self.optimizer)
        if problems:
            raise WeightsError(
                f"resume: {state.source!r} was saved from another model or "
                "optimizer; nothing was restored:\n  " + "\n  ".join(problems)
            )
        self._pending_loader_states = dict(state.meta.get("loaders") or {})
        self._resumed_from = state.source
        self._loaders = {"train": train_loader, "val": val_loader}
        self._apply_loader_states()
        self.optimizer.load_state_dict(state.optimizer_state)
        ckpt.load_params(state, self.model)
        np.random.set_state(state.numpy_rng_state())
        self.epoch = state.epoch
        self.history = {k: list(v) for k, v in state.meta["history"].items()}
        logger.info("resumed from %s after epoch %d", state.source, self.epoch)
        return self.epoch

    def _apply_loader_states(self) -> None:
        pending = self._pending_loader_states
        for role, state in list(pending.items()):
            loader = self._loaders.get(role)
            if state is None or loader is None:
                continue
            try:
                loader.load_state_dict(state)
            except (AttributeError, ValueError, TypeError) as error:
                raise WeightsError(
                    f"resume: {self._resumed_from!r}: the saved state of the "
                    f"{role} loader does not fit {type(loader).__name__}: {error}"
                ) from error
            del pending[role]


class _Totals:
    """Sums of per-batch values weighted by batch size."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, logs: dict[str, float]) -> None:
        size = logs["size"]
        self.count += size
        for name, value in logs.items():
            if name != "size":
                self.sums[name] = self.sums.get(name, 0.0) + value * size

    def means(self, what: str) -> dict[str, float]:
        if self.count == 0:
            raise ValueError(f"{what} gave no batch; expected at least one")
        return {name: total / self.count for name, total in self.sums.items()}


class _NoBar:
    def update(self, count: int) -> None:
        pass


def _check_epochs(epochs: Any) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral):
        raise TypeError(
            f"Trainer.fit: epochs must be an int, got {type(epochs).__name__}"
        )
    if epochs < 0:
        raise ValueError(f"Trainer.fit: epochs must be >= 0, got {epochs}")
    return int(epochs)


def _as_float(value: Any) -> float:
    data = getattr(value, "data", value)
    return float(data)


def _reset(loader: Any) -> None:
    reset = getattr(loader, "reset", None)
    if callable(reset):
        reset()


def _length(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _loader_state(loader: Any) -> Any:
    state_dict = getattr(loader, "state_dict", None)
    return state_dict() if callable(state_dict) else None
