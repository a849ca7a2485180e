"""Case 2: an MNIST-shaped MLP, seconds per epoch and peak RSS.

MLP 784-1000-1000-10 with ReLU, Adam (DeZero's defaults), batch 100,
600 iterations: one epoch of 60,000 samples. The data is random
MNIST-shaped float32 (pixels in [0, 1), labels 0..9) drawn from a fixed
seed, so both sides hold the very same arrays without reading files.

Each side runs in a process of its own, so that its peak resident memory
(``ru_maxrss``) is its own: the NumPy side never imports dzcore. Run one
side by hand with ``python -m benchmarks.mnist_mlp --side numpy``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time

import numpy as np

from benchmarks._common import (
    DTYPE,
    Options,
    Result,
    init_params,
    median,
    ratio_result,
    require_same,
    softmax_cross_entropy,
)

NAME = "mnist"
SAMPLES, FEATURES, CLASSES = 60_000, 784, 10
HIDDEN = (1000, 1000)
BATCH = 100
SEED = 0
CHECK_ITERATIONS = 5

# Quick mode: the same code on a shape small enough for the tests.
QUICK = {"samples": 1_000, "hidden": (64, 64)}

# Adam's hyperparameters, DeZero's defaults (dz's Adam() uses the same).
ALPHA, BETA1, BETA2, EPS = 0.001, 0.9, 0.999, 1e-8


def make_data(samples: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Random MNIST-shaped data: float32 pixels in [0, 1), int labels."""
    rng = np.random.default_rng(seed)
    x = rng.random((samples, FEATURES), dtype=DTYPE)
    t = rng.integers(0, CLASSES, samples)
    return x, t


class NumpySide:
    """Forward, backward and Adam written out in float32 NumPy."""

    def __init__(self, params: list, data: tuple, seed: int = SEED) -> None:
        self.params = [(W.copy(), b.copy()) for W, b in params]
        self.moments = [
            [(np.zeros_like(p), np.zeros_like(p)) for p in layer] for layer in params
        ]
        self.x, self.t = data
        self.rng = np.random.default_rng(seed)
        self.steps = 0

    def epoch(self, iterations: int) -> list:
        """Train ``iterations`` batches of a fresh epoch; return the losses."""
        order = self.rng.permutation(len(self.x))
        losses = []
        for start in range(0, iterations * BATCH, BATCH):
            index = order[start : start + BATCH]
            loss, grads = self.gradients(self.x[index], self.t[index])
            self.adam(grads)
            losses.append(loss)
        return losses

    def gradients(self, x: np.ndarray, t: np.ndarray) -> tuple:
        """The loss of one batch and the gradient of every (W, b)."""
        inputs, pre = [], []
        h = x
        for W, b in self.params[:-1]:
            inputs.append(h)
            z = h @ W + b
            pre.append(z)
            h = np.maximum(z, 0)
        W_out, b_out = self.params[-1]
        loss, gy = softmax_cross_entropy(h @ W_out + b_out, t)

        grads = [(h.T @ gy, gy.sum(axis=0))]
        g = gy @ W_out.T
        hidden = zip(self.params[-2::-1], inputs[::-1], pre[::-1], strict=True)
        for (W, _), a, z in hidden:
            g = g * (z > 0)
            grads.append((a.T @ g, g.sum(axis=0)))
            if a is not x:
                g = g @ W.T
        return loss, grads[::-1]

    def adam(self, grads: list) -> None:
        """One Adam step on every parameter, in place."""
        self.steps += 1
        fix1, fix2 = 1.0 - BETA1**self.steps, 1.0 - BETA2**self.steps
        lr = ALPHA * math.sqrt(fix2) / fix1
        for layer, layer_grads, layer_moments in zip(
            self.params, grads, self.moments, strict=True
        ):
            for p, g, (m, v) in zip(layer, layer_grads, layer_moments, strict=True):
                m += (1 - BETA1) * (g - m)
                v += (1 - BETA2) * (g * g - v)
                p -= lr * m / (np.sqrt(v) + EPS)


class DzSide:
    """The same training loop written with dz."""

    def __init__(self, params: list, data: tuple, seed: int = SEED) -> None:
        from dzcore import optimizers
        from dzcore.dataloaders import DataLoader
        from dzcore.datasets import ArrayDataset
        from dzcore.models import MLP

        sizes = [W.shape[1] for W, _ in params]
        self.model = MLP(sizes, activation="relu")
        for layer, (W, b) in zip(self.model.layers, params, strict=True):
            layer.W.data, layer.b.data = W.copy(), b.copy()
        self.optimizer = optimizers.Adam().setup(self.model)
        self.loader = DataLoader(ArrayDataset(*data), BATCH, seed=seed)

    def epoch(self, iterations: int) -> list:
        """Train ``iterations`` batches of a fresh epoch; return the losses."""
        import dzcore.functions as F

        model, optimizer, losses = self.model, self.optimizer, []
        for _, (x, t) in zip(range(iterations), self.loader, strict=False):
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            losses.append(loss.data)
        self.loader.reset()
        return losses


def sizes_for(quick: bool) -> tuple[int, ...]:
    """Layer sizes, input first."""
    hidden = QUICK["hidden"] if quick else HIDDEN
    return (FEATURES, *hidden, CLASSES)


def samples_for(quick: bool) -> int:
    """Samples in the data set (one epoch)."""
    return QUICK["samples"] if quick else SAMPLES


def make_side(side: str, quick: bool):
    """Build the dz or the NumPy side on the case's data and weights."""
    params = init_params(sizes_for(quick), SEED)
    data = make_data(samples_for(quick))
    return (DzSide if side == "dz" else NumpySide)(params, data)


def check(quick: bool, iterations: int = CHECK_ITERATIONS) -> tuple:
    """Losses of the first ``iterations`` steps, from dz and from NumPy."""
    dz, ref = make_side("dz", quick), make_side("numpy", quick)
    dz_losses = np.array(dz.epoch(iterations), np.float64)
    return dz_losses, np.array(ref.epoch(iterations), np.float64)


def measure_side(side: str, quick: bool) -> dict:
    """Time one epoch of ``side`` in this process; report it and peak RSS."""
    from benchmarks._common import pin_blas

    pin_blas()
    trainer = make_side(side, quick)
    iterations = samples_for(quick) // BATCH
    start = time.perf_counter()
    losses = trainer.epoch(iterations)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "loss": float(losses[-1]),
    }


def peak_rss_mb() -> float:
    """This process's own peak resident memory, in MB.

    Read from ``VmHWM`` in ``/proc/self/status``: on Linux, ``ru_maxrss`` of
    a child started by ``subprocess`` can report the parent's larger peak.
    Elsewhere ``ru_maxrss`` is the fallback.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Kilobytes on Linux, bytes on macOS.
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def spawn_side(side: str, quick: bool) -> dict:
    """Run :func:`measure_side` in a fresh process; return what it printed."""
    command = [sys.executable, "-m", "benchmarks.mnist_mlp", "--side", side]
    done = subprocess.run(
        command + (["--quick"] if quick else []), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{NAME}: the {side} side failed ({' '.join(command)}):\n{done.stderr}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(options: Options) -> list[Result]:
    """Check both sides agree, then time an epoch of each, alternating."""
    dz_losses, np_losses = check(options.quick)
    same = require_same(NAME, dz_losses, np_losses, rtol=1e-4)

    # An epoch is seconds long: three rounds give a fair median.
    rounds = max(1, min(options.repeat, 3))
    runs: dict[str, list[dict]] = {"dz": [], "numpy": []}
    for _ in range(rounds):
        for side in ("numpy", "dz"):
            runs[side].append(spawn_side(side, options.quick))

    def middle(side: str, key: str) -> float:
        return median([r[key] for r in runs[side]])

    shape = "x".join(map(str, sizes_for(options.quick)))
    timing = ratio_result(
        NAME, f"s per epoch ({shape})",
        middle("dz", "seconds"), middle("numpy", "seconds"), limit=1.05,
    )  # fmt: skip
    timing.notes.append(
        f"{same}; {rounds} epoch(s) per side, each in a process of its own"
    )
    memory = ratio_result(
        NAME, "peak RSS MB, 1 epoch",
        middle("dz", "peak_rss_mb"), middle("numpy", "peak_rss_mb"), limit=1.10,
    )  # fmt: skip
    return [timing, memory]


def main() -> None:
    """Command line of one side: print its measurement as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", choices=("dz", "numpy"), required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(measure_side(args.side, args.quick)))


if __name__ == "__main__":
    main()
