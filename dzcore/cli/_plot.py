"""The ``--plot`` figure of ``dz train``: curves, and decision regions in 2-D.

matplotlib is an optional extra (``pip install dzcore[plot]``); this module
imports it only inside its functions, through the object-oriented API
(no pyplot, no global backend switch).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
from typing import Any

import numpy as np

from dzcore.config import no_grad, test_mode

#: What to tell a user whose installation lacks matplotlib.
INSTALL_HINT = "pip install 'dzcore[plot]'"

_GRID = 200


def available() -> bool:
    """Return True when matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def write_plot(
    path: str | os.PathLike,
    history: dict[str, list[float]],
    model: Any = None,
    data: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Draw loss and accuracy per epoch (and 2-D decision regions) to a PNG.

    Args:
        path: the PNG to write; written to a temporary file, then renamed.
        history: the Trainer's history (``loss``, ``val_loss``, ...).
        model: the trained model, for the decision regions.
        data: ``(x, t)`` training points; regions are drawn when ``x`` has
            two features.
    """
    from matplotlib.figure import Figure

    regions = model is not None and data is not None and data[0].shape[1] == 2
    figure = Figure(figsize=(15 if regions else 10, 4.5), layout="constrained")
    axes = figure.subplots(1, 3 if regions else 2)
    _curves(axes[0], history, "loss")
    _curves(axes[1], history, "accuracy")
    if regions:
        _regions(axes[2], model, *data)
    _save(figure, path)


def _curves(axis: Any, history: dict[str, list[float]], name: str) -> None:
    for key, label in ((name, "train"), (f"val_{name}", "test")):
        if key in history:
            epochs = np.arange(1, len(history[key]) + 1)
            axis.plot(epochs, history[key], label=label)
    axis.set_xlabel("epoch")
    axis.set_ylabel(name)
    axis.legend()
    axis.grid(alpha=0.3)


def _regions(axis: Any, model: Any, x: np.ndarray, t: np.ndarray) -> None:
    low, high = x.min(axis=0) - 0.1, x.max(axis=0) + 0.1
    grid_x, grid_y = np.meshgrid(
        np.linspace(low[0], high[0], _GRID), np.linspace(low[1], high[1], _GRID)
    )
    points = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(x.dtype)
    with no_grad(), test_mode():
        scores = np.asarray(model(points).data)
    classes = scores.argmax(axis=1).reshape(grid_x.shape)
    axis.contourf(grid_x, grid_y, classes, alpha=0.3, cmap="brg")
    axis.scatter(x[:, 0], x[:, 1], c=t, s=12, cmap="brg", edgecolors="none")
    axis.set_title("decision regions (train data)")


def _save(figure: Any, path: str | os.PathLike) -> None:
    target = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"--plot: folder {folder!r} does not exist")
    temporary = os.path.join(folder, f".{secrets.token_hex(6)}.png.tmp")
    try:
        figure.savefig(temporary, format="png", dpi=100)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
