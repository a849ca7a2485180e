"""Benchmarks of dz against hand-written NumPy doing the same arithmetic.

Run ``python -m benchmarks`` from the repository root (``--quick`` for a
smoke run, ``--case NAME`` for one case, ``--repeat N`` for more samples).
Each case runs its dz side and its reference side (hand-written float32
NumPy, or DeZero-style code where the case says so) in turn, alternating,
on the same data, the same initial weights and the same batch order, and
reports the median times, their ratio and peak memory. Before timing,
each training case checks that both sides produce the same loss.

BLAS is pinned to one thread for every run: these machines are shared,
and a second BLAS thread made the same matmul several times slower under
load. Importing this package imports neither dzcore nor threadpoolctl,
so the NumPy side of a subprocess measurement carries no dz memory.
"""

#: The cases, in the order the harness runs them: name -> module.
CASES = {
    "spiral": "benchmarks.spiral",
    "mnist": "benchmarks.mnist_mlp",
    "tiny": "benchmarks.tiny_graph",
    "deep": "benchmarks.deep_graph",
    "data": "benchmarks.data",
    "startup": "benchmarks.startup",
}
