"""Case 4: deep graphs, where the backward pass must stay linear.

A recurrence unrolled over many steps with the loss summed over every
step, as in truncated backpropagation through time::

    h = tanh(h * w + x[t]);  loss = loss + sum(h)

Five Functions per step. The backward pass is timed for chains of 1,000
to 16,000 Functions; its cost per Function must stay flat, so the ratio
is the per-node cost at the deepest chain over that at the shallowest.
"""

from __future__ import annotations

import gc
import time

import numpy as np

from benchmarks._common import DTYPE, Options, Result, median, ratio_result

NAME = "deep"
NODES_PER_STEP = 5  # mul, add, tanh, sum, add
WIDTH = 10
SIZES = (1_000, 2_000, 4_000, 8_000, 16_000)
QUICK_SIZES = (100, 400)


class Chain:
    """Builds the unrolled recurrence and times its backward pass."""

    def __init__(self, steps: int, seed: int = 0) -> None:
        from dzcore import Parameter

        rng = np.random.default_rng(seed)
        self.x = rng.standard_normal((steps, WIDTH)).astype(DTYPE) * DTYPE(0.5)
        self.w = Parameter(np.full(WIDTH, 0.9, DTYPE))
        self.h0 = Parameter(np.zeros(WIDTH, DTYPE))

    def build(self):
        """The loss Variable of the whole unrolled recurrence."""
        import dzcore.functions as F

        h, loss = self.h0, None
        for x_t in self.x:
            h = F.tanh(h * self.w + x_t)
            step_loss = F.sum(h)
            loss = step_loss if loss is None else loss + step_loss
        return loss

    def backward_seconds(self) -> float:
        """Seconds of one backward pass over a freshly built graph."""
        loss = self.build()
        self.w.cleargrad()
        self.h0.cleargrad()
        # Collect the forward pass's garbage first, so that a collection
        # it set off does not land inside the timed backward pass.
        gc.collect()
        start = time.perf_counter()
        loss.backward()
        return time.perf_counter() - start


def per_node_seconds(nodes: int, repeat: int) -> float:
    """Median backward seconds per Function for a chain of ``nodes``."""
    chain = Chain(nodes // NODES_PER_STEP)
    chain.backward_seconds()  # warm-up
    return median([chain.backward_seconds() for _ in range(repeat)]) / nodes


def numpy_gradient(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """d loss / d w by hand, to check that dz differentiates the chain right."""
    hs, h = [], np.zeros(WIDTH, np.float64)
    for x_t in x:
        h = np.tanh(h * w + x_t)
        hs.append(h)
    grad_w, g = np.zeros(WIDTH), np.zeros(WIDTH)
    for t in range(len(x) - 1, -1, -1):
        g = g + 1.0  # d(sum h_t)/d h_t, plus what flows back from step t+1
        g_pre = g * (1 - hs[t] ** 2)
        grad_w += g_pre * (hs[t - 1] if t else 0.0)
        g = g_pre * w
    return grad_w


def check(steps: int = 50) -> None:
    """Raise RuntimeError unless dz's gradient of w matches NumPy's."""
    chain = Chain(steps)
    chain.build().backward()
    expected = numpy_gradient(chain.x.astype(np.float64), chain.w.data)
    if not np.allclose(chain.w.grad.data, expected, rtol=1e-4, atol=1e-5):
        raise RuntimeError(f"{NAME}: dz's gradient of w differs from NumPy's")


def run(options: Options) -> list[Result]:
    """Per-node backward cost for each chain length; ratio deepest/shallowest."""
    check()
    sizes = QUICK_SIZES if options.quick else SIZES
    per_node = {nodes: per_node_seconds(nodes, options.repeat) for nodes in sizes}
    shallow, deep = sizes[0], sizes[-1]
    result = ratio_result(
        NAME, f"backward us/node, {deep} vs {shallow} nodes",
        per_node[deep] * 1e6, per_node[shallow] * 1e6, limit=1.3,
        reference_name=f"dz at {shallow}",
    )  # fmt: skip
    result.notes.append(
        "gradient checked against NumPy; us per node by chain length: "
        + ", ".join(f"{n}: {s * 1e6:.2f}" for n, s in per_node.items())
    )
    return [result]
