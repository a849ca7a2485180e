"""The callback protocol of :class:`dzcore.trainer.Trainer`.

A callback watches training and may stop it: subclass :class:`Callback`
and override the methods you need, give any object with some of those
methods, or give a plain function ``f(trainer, epoch, logs)``, which is
called at the end of every epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dzcore.trainer import Trainer

__all__ = ["HOOKS", "Callback", "as_callback"]

#: The methods a callback object may define.
HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_batch_end",
    "on_epoch_end",
    "on_train_end",
)


class Callback:
    """Base class of training callbacks; every method is optional.

    Contract: the Trainer calls, in this order, ``on_train_begin(trainer)``
    once per ``fit``; per epoch ``on_epoch_begin(trainer, epoch)``, then
    ``on_batch_end(trainer, batch, logs)`` after each optimizer update
    (``logs`` holds the batch's ``loss``, its metrics and ``size``), then
    ``on_epoch_end(trainer, epoch, logs)`` with the epoch's averages
    (``loss``, metrics, and ``val_``-prefixed ones when there is a
    validation loader); finally ``on_train_end(trainer, history)``.
    Epochs count from 1. A truthy return value from ``on_batch_end`` or
    ``on_epoch_end`` (or setting ``trainer.stop_training = True``) stops
    training after the current epoch, which is still recorded and
    checkpointed. A plain function ``f(trainer, epoch, logs)`` given as a
    callback is used as ``on_epoch_end``.
    """

    def on_train_begin(self, trainer: Trainer) -> None:
        """Called once when ``fit`` starts."""

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Called before the first batch of each epoch."""

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict) -> Any:
        """Called after each update; return True to stop after this epoch."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> Any:
        """Called after each epoch is recorded; return True to stop."""

    def on_train_end(self, trainer: Trainer, history: dict) -> None:
        """Called once when ``fit`` returns normally."""


class _FunctionCallback(Callback):
    def __init__(self, function: Callable[[Trainer, int, dict], Any]) -> None:
        self.function = function

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> Any:
        return self.function(trainer, epoch, logs)


def as_callback(item: Any) -> Any:
    """Return ``item`` if it has a callback method, else wrap a function.

    Raises:
        TypeError: if ``item`` is neither.
    """
    if any(hasattr(item, hook) for hook in HOOKS):
        return item
    if callable(item):
        return _FunctionCallback(item)
    raise TypeError(
        "Trainer: a callback must be a Callback, an object with some of its "
        f"methods ({', '.join(HOOKS)}), or a function f(trainer, epoch, "
        f"logs); got {type(item).__name__}"
    )
