"""Case 1: the book's Spiral setup, time per iteration including the loader.

MLP 2-10-3 with sigmoid, SGD lr 1.0, batch 30, softmax cross-entropy:
dz with ``DataLoader`` over ``datasets.Spiral`` against hand-written
NumPy indexing the same arrays in the same shuffled order.
"""

from __future__ import annotations

import numpy as np

from benchmarks._common import (
    Options,
    Result,
    alternate,
    init_params,
    median,
    peak_traced,
    ratio_result,
    require_same,
    softmax_cross_entropy,
    time_calls,
)

NAME = "spiral"
SIZES = (2, 10, 3)
BATCH = 30
LR = 1.0
SEED = 0
CHECK_EPOCHS = 3


def load_data() -> tuple[np.ndarray, np.ndarray]:
    """The Spiral training split as dz's dataset holds it."""
    from dzcore import datasets

    spiral = datasets.Spiral(train=True)
    return spiral.data, spiral.label


class DzSide:
    """The book's training loop, written with dz."""

    def __init__(self, params: list, seed: int = SEED) -> None:
        from dzcore import datasets, optimizers
        from dzcore.dataloaders import DataLoader
        from dzcore.models import MLP

        self.model = MLP(SIZES[1:], activation="sigmoid")
        for layer, (W, b) in zip(self.model.layers, params, strict=True):
            layer.W.data, layer.b.data = W.copy(), b.copy()
        self.optimizer = optimizers.SGD(lr=LR).setup(self.model)
        self.loader = DataLoader(datasets.Spiral(train=True), BATCH, seed=seed)

    def epoch(self) -> list:
        """Train one epoch; return the loss of every iteration."""
        import dzcore.functions as F

        model, optimizer, losses = self.model, self.optimizer, []
        for x, t in self.loader:
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            losses.append(loss.data)
        return losses


class NumpySide:
    """The same loop in hand-written float32 NumPy."""

    def __init__(self, params: list, data: tuple, seed: int = SEED) -> None:
        self.params = [(W.copy(), b.copy()) for W, b in params]
        self.x, self.t = data
        self.rng = np.random.default_rng(seed)

    def epoch(self) -> list:
        """Train one epoch; return the loss of every iteration."""
        (W1, b1), (W2, b2) = self.params
        order = self.rng.permutation(len(self.x))
        losses = []
        for start in range(0, len(order), BATCH):
            index = order[start : start + BATCH]
            x, t = self.x[index], self.t[index]
            a = 1 / (1 + np.exp(-(x @ W1 + b1)))
            loss, gy = softmax_cross_entropy(a @ W2 + b2, t)
            ga = gy @ W2.T
            ga *= a * (1 - a)
            W2 -= LR * (a.T @ gy)
            b2 -= LR * gy.sum(axis=0)
            W1 -= LR * (x.T @ ga)
            b1 -= LR * ga.sum(axis=0)
            losses.append(loss)
        return losses


def check(epochs: int = CHECK_EPOCHS) -> tuple[np.ndarray, np.ndarray]:
    """Losses of the first ``epochs`` epochs, from dz and from NumPy."""
    params = init_params(SIZES, SEED)
    dz, ref = DzSide(params), NumpySide(params, load_data())
    dz_losses = [loss for _ in range(epochs) for loss in dz.epoch()]
    np_losses = [loss for _ in range(epochs) for loss in ref.epoch()]
    return np.array(dz_losses, np.float64), np.array(np_losses, np.float64)


def run(options: Options) -> list[Result]:
    """Time both sides, epoch after epoch, alternating."""
    dz_losses, np_losses = check()
    same = require_same(NAME, dz_losses, np_losses, rtol=1e-4)
    params = init_params(SIZES, SEED)
    dz, ref = DzSide(params), NumpySide(params, load_data())
    iterations = len(dz.loader)
    epochs = 2 if options.quick else 150

    def timed(side):
        return lambda: time_calls(side.epoch, epochs) / iterations

    samples = alternate({"dz": timed(dz), "np": timed(ref)}, options.repeat)
    result = ratio_result(
        NAME, "us per iteration", median(samples["dz"]) * 1e6,
        median(samples["np"]) * 1e6, limit=2.0,
    )  # fmt: skip
    result.notes.append(f"{same}; loss {dz_losses[-1]:.4f} after {CHECK_EPOCHS} epochs")
    memory = ratio_result(
        NAME, "peak traced MB, 1 epoch",
        peak_traced(dz.epoch) / 1e6, peak_traced(ref.epoch) / 1e6,
    )  # fmt: skip
    return [result, memory]
