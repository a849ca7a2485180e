"""Train an MLP on a registered dataset with a registered optimizer.
With no options this is the book's Spiral run (10 hidden sigmoid units,
SGD lr 1.0, batches of 30, 300 epochs), printing per epoch the train loss
and accuracy and the test loss and accuracy (the train=False split).
Options left out take the dataset's preset: mnist trains 1000 sigmoid
units with SGD at its default lr for 5 epochs in batches of 100; other
datasets 100 sigmoid units, SGD, batches of 100, 10 epochs.

A preset's learning rate applies only with the preset's optimizer; any
other optimizer starts from its own default. ``--epochs`` is the total
to reach, so rerunning a command with ``--resume`` continues it.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dzcore.errors import DzError

__all__ = ["PRESETS", "Setup", "add_arguments", "run"]

#: Exit status for a name or option the user can fix.
EXIT_USAGE = 2
#: Exit status after Ctrl-C, as a shell reports SIGINT.
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Setup:
    """One training setup: what ``dz train`` uses for options left out."""

    hidden: tuple[int, ...] = (100,)
    activation: str = "sigmoid"
    optimizer: str = "sgd"
    lr: float | None = None
    batch_size: int = 100
    epochs: int = 10


#: The book's setups by dataset name; other datasets get ``Setup()``. A
#: preset's ``lr`` applies only with the preset's optimizer; any other
#: optimizer starts from its own default learning rate.
PRESETS: dict[str, Setup] = {
    "spiral": Setup((10,), "sigmoid", "sgd", 1.0, 30, 300),
    "get_spiral": Setup((10,), "sigmoid", "sgd", 1.0, 30, 300),
    "mnist": Setup((1000,), "sigmoid", "sgd", None, 100, 5),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``dz train``."""
    add = parser.add_argument
    add("--dataset", default="spiral", help="registered dataset (default: spiral)")
    add("--hidden", type=_sizes, help="hidden layer sizes, e.g. 1000,1000")
    add("--activation", help="registered function between layers (sigmoid)")
    add("--optimizer", help="registered optimizer (sgd)")
    add(
        "--lr",
        type=float,
        help="learning rate (default: the preset's or the optimizer's)",
    )
    add(
        "--opt",
        action="append",
        default=[],
        type=_hyperparameter,
        metavar="KEY=VALUE",
        help="another optimizer hyperparameter, e.g. --opt momentum=0.9",
    )
    add("--epochs", type=_positive, help="total epochs to reach")
    add("--batch-size", type=_positive, help="samples per batch")
    add("--classes", type=_positive, help="number of classes (default: from labels)")
    add("--seed", type=int, default=0, help="seed of weights and shuffling (0)")
    add("--data-dir", help="folder of the dataset files (else $DZ_DATA_DIR)")
    add("--save", metavar="PATH", help="write a checkpoint here after every epoch")
    add("--resume", metavar="PATH", help="continue from a checkpoint")
    add("--plot", metavar="PNG", help="draw loss/accuracy curves (needs matplotlib)")
    add("--json", action="store_true", help="print one JSON object per epoch")
    add("--quiet", action="store_true", help="print only the final result")


def run(args: argparse.Namespace) -> int:
    """Train as the options say; return the exit status."""
    from dzcore.cli import _plot

    if args.plot and not _plot.available():
        return _fail(
            f"--plot needs matplotlib, which is not installed: {_plot.INSTALL_HINT}"
        )
    setup = _setup(args)
    components = _resolve(args.dataset, setup)
    if isinstance(components, str):
        return _fail(components)
    if problem := _check_paths(args):
        return _fail(problem)
    try:
        return _train(args, setup, *components)
    except BrokenPipeError:
        # The reader of our output (``dz train | head``) went away.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _train(args: argparse.Namespace, setup: Setup, dataset: Any, optimizer: Any) -> int:
    from dzcore.cli import _plot

    np.random.seed(args.seed)
    train_set, test_set = _load(dataset, args)
    trainer, loaders = _build(args, setup, optimizer, train_set, test_set)
    if args.resume and trainer.resume(args.resume, *loaders) >= setup.epochs:
        print(
            f"dz train: {args.resume} already holds {trainer.epoch} epochs; "
            f"pass --epochs above {trainer.epoch} to train on",
            file=sys.stderr,
        )
        return 0
    report = _Report(args, setup.epochs)
    trainer.callbacks.append(report)
    report.header(args.dataset, trainer, train_set, test_set, setup)
    try:
        trainer.fit(loaders[0], setup.epochs, loaders[1], checkpoint=args.save)
    except KeyboardInterrupt:
        return _interrupted(trainer, args.save)
    report.footer(trainer)
    if args.plot:
        _plot.write_plot(args.plot, trainer.history, trainer.model, _points(train_set))
    return 0


def _check_paths(args: argparse.Namespace) -> str | None:
    """Return one error line for a path option that cannot work, or None."""
    if args.resume and not os.path.isfile(args.resume):
        return f"--resume: no checkpoint file at {args.resume!r}"
    for option, path in (("--save", args.save), ("--plot", args.plot)):
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder and not os.path.isdir(folder):
            return f"{option}: folder {folder!r} does not exist"
    return None


def _setup(args: argparse.Namespace) -> Setup:
    preset = PRESETS.get(args.dataset.lower(), Setup())
    optimizer = (args.optimizer or preset.optimizer).lower()
    lr = preset.lr if optimizer == preset.optimizer else None
    return replace(
        preset,
        hidden=preset.hidden if args.hidden is None else args.hidden,
        activation=args.activation or preset.activation,
        optimizer=optimizer,
        lr=lr if args.lr is None else args.lr,
        batch_size=args.batch_size or preset.batch_size,
        epochs=args.epochs or preset.epochs,
    )


def _resolve(dataset: str, setup: Setup) -> tuple[Any, Any] | str:
    """Look the three names up; return the components or one error line."""
    from dzcore import plugins
    from dzcore.errors import UnknownComponentError

    found = []
    for kind, name, what in (
        ("datasets", dataset, "dataset"),
        ("optimizers", setup.optimizer, "optimizer"),
        ("functions", setup.activation, "activation"),
    ):
        try:
            found.append(plugins.lookup(kind, name))
        except UnknownComponentError as error:
            # The lookup's own message adds close matches and disabled
            # plugins ("did you mean", "disabled by DZ_PLUGINS").
            names = ", ".join(plugins.available(kind)) or "none"
            return f"unknown {what} {name!r}; installed: {names}. {error}"
    return found[0], found[1]


def _load(dataset: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """Build the train and test splits of a dataset class or function."""
    options = {}
    if args.data_dir is not None:
        if "root" not in _parameters(dataset):
            print(
                f"dz train: note: dataset {args.dataset!r} reads no files; "
                "--data-dir is ignored",
                file=sys.stderr,
            )
        else:
            options["root"] = args.data_dir
    return _split(dataset, True, options), _split(dataset, False, options)


def _parameters(target: Any) -> set[str]:
    try:
        return set(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        return set()


def _split(dataset: Any, train: bool, options: dict[str, Any]) -> Any:
    from dzcore.datasets import ArrayDataset

    try:
        data = dataset(train=train, **options)
    except TypeError as error:
        raise DatasetArgumentsError(
            f"dataset {getattr(dataset, '__name__', dataset)!r} cannot be built by "
            f"dz train (it needs arguments of its own: {error}); train it from "
            "Python with dzcore.trainer.Trainer"
        ) from error
    if isinstance(data, tuple) and len(data) == 2:
        return ArrayDataset(*data, train=train)
    return data


class DatasetArgumentsError(DzError, TypeError):
    """A registered dataset that needs more than ``train=`` to be built."""


def _build(
    args: argparse.Namespace,
    setup: Setup,
    optimizer_class: Any,
    train_set: Any,
    test_set: Any,
) -> tuple[Any, tuple[Any, Any]]:
    from dzcore.dataloaders import DataLoader
    from dzcore.models import MLP
    from dzcore.trainer import Trainer

    classes = args.classes or _count_classes(train_set, test_set)
    model = MLP((*setup.hidden, classes), activation=setup.activation, seed=args.seed)
    options = dict(args.opt)
    if setup.lr is not None:
        options["lr"] = setup.lr
    optimizer = optimizer_class(**options).setup(model)
    train_loader = DataLoader(train_set, setup.batch_size, shuffle=True, seed=args.seed)
    test_loader = DataLoader(test_set, setup.batch_size, shuffle=False)
    return Trainer(model, optimizer), (train_loader, test_loader)


def _count_classes(*splits: Any) -> int:
    labels = [getattr(split, "label", None) for split in splits]
    if any(label is None for label in labels):
        raise ClassCountError(
            "dz train: the dataset keeps no label array to count the classes "
            "from; pass --classes N"
        )
    return int(max(np.max(label) for label in labels)) + 1


class ClassCountError(DzError, ValueError):
    """The number of classes cannot be read from the dataset's labels."""


class _Report:
    """Prints the header, a line (or JSON object) per epoch, and the result."""

    def __init__(self, args: argparse.Namespace, epochs: int) -> None:
        self.json, self.quiet, self.epochs = args.json, args.quiet, epochs
        self.start = time.perf_counter()
        self.width = len(str(epochs))

    def header(
        self, name: str, trainer: Any, train: Any, test: Any, setup: Setup
    ) -> None:
        if self.json or self.quiet:
            return
        sizes = ", ".join(str(layer.out_size) for layer in trainer.model.layers)
        resumed = f", resumed after epoch {trainer.epoch}" if trainer.epoch else ""
        print(
            f"dz train: {name} ({len(train)} train / {len(test)} test), "
            f"MLP({sizes}) {setup.activation}, {trainer.optimizer!r}, "
            f"batch {setup.batch_size}, {self.epochs} epochs{resumed}"
        )

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        if not self.quiet:
            print(self._line(epoch, logs), flush=True)

    def _line(self, epoch: int, logs: dict[str, float]) -> str:
        if self.json:
            return json.dumps(self._record(epoch, logs))
        return (
            f"epoch {epoch:{self.width}d}/{self.epochs}  "
            f"train loss {logs['loss']:.4f} acc {logs['accuracy']:.4f}  "
            f"test loss {logs['val_loss']:.4f} acc {logs['val_accuracy']:.4f}"
        )

    def _record(self, epoch: int, logs: dict[str, float]) -> dict[str, Any]:
        record: dict[str, Any] = {"epoch": epoch, "epochs": self.epochs}
        for key, value in logs.items():
            name = key[4:] if key.startswith("val_") else key
            record[("test_" if key.startswith("val_") else "train_") + name] = value
        record["seconds"] = round(time.perf_counter() - self.start, 3)
        return record

    def footer(self, trainer: Any) -> None:
        history = trainer.history
        if not history:
            return
        last = {key: values[-1] for key, values in history.items()}
        if self.json:
            if self.quiet:
                print(json.dumps(self._record(trainer.epoch, last)))
            return
        seconds = time.perf_counter() - self.start
        print(
            f"done: {trainer.epoch} epochs in {seconds:.1f} s; train accuracy "
            f"{last['accuracy']:.4f}, test accuracy {last['val_accuracy']:.4f}"
        )


def _points(dataset: Any) -> tuple[np.ndarray, np.ndarray] | None:
    data, label = getattr(dataset, "data", None), getattr(dataset, "label", None)
    if not isinstance(data, np.ndarray) or data.ndim != 2 or label is None:
        return None
    return data, np.asarray(label)


def _interrupted(trainer: Any, save: str | None) -> int:
    where = (
        f"; {save} holds epoch {trainer.epoch}, continue with --resume {save}"
        if save and trainer.epoch
        else ""
    )
    print(
        f"dz train: interrupted after {trainer.epoch} complete epochs{where}",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def _fail(message: str) -> int:
    print(f"dz train: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _sizes(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        sizes = ()
    if not sizes and text.strip() or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(
            "expected positive sizes separated by commas (e.g. 1000,1000), "
            f"got {text!r}"
        )
    return sizes


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _hyperparameter(text: str) -> tuple[str, float]:
    key, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not key.strip() or number is None:
        raise argparse.ArgumentTypeError(
            f"expected KEY=NUMBER (e.g. momentum=0.9), got {text!r}"
        )
    return key.strip(), number
