"""Tests of the benchmark harness: each case runs at a tiny size, and the
checks that both sides compute the same thing catch a side that does not.

No timing is asserted: the values only have to be positive and finite.
"""

import math
import sys

import numpy as np
import pytest

from benchmarks import data, deep_graph, mnist_mlp, spiral, startup, tiny_graph
from benchmarks.__main__ import main, summary
from benchmarks._common import (
    Options,
    Result,
    init_params,
    ratio_result,
    require_same,
)
from dzcore.dataloaders import DataLoader
from dzcore.datasets import ArrayDataset

QUICK = Options(quick=True, repeat=1)


def _values(result: Result) -> list[float]:
    optional = (result.reference, result.ratio)
    return [result.dz, *(value for value in optional if value is not None)]


CASES = [spiral, mnist_mlp, tiny_graph, deep_graph, data, startup]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.NAME)
def test_case_runs_quick_with_positive_finite_values(case):
    results = case.run(QUICK)

    assert results
    for result in results:
        assert isinstance(result, Result)
        assert result.case == case.NAME
        assert all(math.isfinite(v) and v > 0 for v in _values(result)), result


def test_spiral_check_gives_the_same_loss_on_both_sides():
    dz_losses, numpy_losses = spiral.check(epochs=1)

    assert len(dz_losses) == 10
    np.testing.assert_allclose(dz_losses, numpy_losses, rtol=1e-4)


def test_spiral_require_same_catches_another_learning_rate(monkeypatch):
    params = init_params(spiral.SIZES, spiral.SEED)
    dz_losses = spiral.DzSide(params).epoch()

    monkeypatch.setattr(spiral, "LR", spiral.LR / 2)
    numpy_losses = spiral.NumpySide(params, spiral.load_data()).epoch()

    with pytest.raises(RuntimeError, match="spiral: dz and the reference disagree"):
        require_same(spiral.NAME, dz_losses, numpy_losses, rtol=1e-4)


def test_spiral_require_same_names_the_perturbed_step():
    dz_losses, numpy_losses = spiral.check(epochs=1)
    numpy_losses[3] *= 1.001

    with pytest.raises(RuntimeError, match="at step 3"):
        require_same(spiral.NAME, dz_losses, numpy_losses, rtol=1e-4)


@pytest.fixture
def arrays():
    return data.make_data(250, seed=7)


def _dz_loader(arrays):
    return DataLoader(ArrayDataset(*arrays), data.BATCH, seed=data.SEED)


def test_data_loaders_deliver_the_same_batches(arrays):
    x, t = arrays
    sides = {
        "dz": _dz_loader(arrays),
        "book": data.ShuffledLoader(len(x), data.book_batches(data.BookDataset(x, t))),
        "numpy": data.ShuffledLoader(len(x), data.indexed_batches(x, t)),
    }

    note = data.require_same_batches("in-memory", sides)

    assert "the same 3 batches" in note


def test_data_check_catches_another_order(arrays):
    x, t = arrays
    wrong = data.ShuffledLoader(len(x), data.indexed_batches(x, t), seed=1)

    with pytest.raises(RuntimeError, match="data: in-memory: ref differs .* batch 0"):
        data.require_same_batches("in-memory", {"dz": _dz_loader(arrays), "ref": wrong})


def test_data_check_catches_other_values(arrays):
    x, t = arrays
    wrong = data.ShuffledLoader(len(x), data.indexed_batches(x + 1, t))

    with pytest.raises(RuntimeError, match="x holds other values"):
        data.require_same_batches("in-memory", {"dz": _dz_loader(arrays), "ref": wrong})


def test_data_check_catches_another_dtype(arrays):
    x, t = arrays
    wrong = data.ShuffledLoader(len(x), data.indexed_batches(x.astype(np.float64), t))

    with pytest.raises(RuntimeError, match="x is float64"):
        data.require_same_batches("in-memory", {"dz": _dz_loader(arrays), "ref": wrong})


def test_data_check_catches_a_missing_batch(arrays):
    x, t = arrays
    short = list(data.ShuffledLoader(len(x), data.indexed_batches(x, t)))[:-1]

    with pytest.raises(RuntimeError, match="batch 2: one side has no more batches"):
        data.require_same_batches("in-memory", {"dz": _dz_loader(arrays), "ref": short})


def test_data_mnist_reference_matches_the_default_transform():
    from dzplugins.datasets.mnist import DEFAULT_TRANSFORM

    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (230, 1, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 230)
    dataset = ArrayDataset(images, labels, transform=DEFAULT_TRANSFORM)
    sides = {
        "dz": DataLoader(dataset, data.BATCH, seed=data.SEED),
        "numpy": data.ShuffledLoader(230, data.mnist_batches(images, labels)),
    }

    assert "the same 3 batches" in data.require_same_batches("MNIST", sides)


def test_startup_run_once_reports_a_failing_command():
    argv = [sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"]

    with pytest.raises(RuntimeError, match="(?s)startup: `fails`.*exited with 3.*boom"):
        startup.run_once("fails", argv)


def test_mnist_check_gives_the_same_loss_on_both_sides():
    dz_losses, numpy_losses = mnist_mlp.check(quick=True, iterations=3)

    np.testing.assert_allclose(dz_losses, numpy_losses, rtol=1e-4)


def test_mnist_side_reports_its_own_peak_memory():
    assert 1 < mnist_mlp.peak_rss_mb() < 1e6


def test_tiny_check_catches_a_wrong_gradient(monkeypatch):
    monkeypatch.setattr(tiny_graph, "numpy_step", _doubling(tiny_graph.numpy_step))

    with pytest.raises(RuntimeError, match="tiny: dz and NumPy disagree on gW"):
        tiny_graph.check()


def _doubling(step):
    def doubled(x, W, b):
        loss, gW, gb = step(x, W, b)
        return loss, gW * 2, gb

    return doubled


def test_deep_reference_gradient_matches_dz():
    deep_graph.check(steps=20)


def test_deep_check_catches_a_wrong_gradient(monkeypatch):
    right = deep_graph.numpy_gradient
    monkeypatch.setattr(deep_graph, "numpy_gradient", lambda x, w: right(x, w) * 1.01)

    with pytest.raises(RuntimeError, match="deep: dz's gradient of w differs"):
        deep_graph.check(steps=20)


def test_summary_names_missed_targets():
    met = ratio_result("a", "s", 1.0, 1.0, limit=2.0)
    missed = ratio_result("b", "us per step", 3.0, 1.0, limit=2.0)

    line = summary([met, missed, ratio_result("c", "s", 1.0, 1.0)])

    assert line.startswith("targets met: 1 of 2")
    assert "b (us per step: 3.00, target <= 2)" in line


def test_main_runs_one_case_quick_and_prints_the_table(capsys):
    assert main(["--quick", "--repeat", "1", "--case", "tiny"]) == 0

    out = capsys.readouterr().out
    assert "BLAS pinned to 1 thread" in out
    assert "tiny  us per iteration" in out
    assert "targets met:" in out


def test_main_rejects_a_repeat_below_one():
    with pytest.raises(SystemExit):
        main(["--repeat", "0"])


def test_main_without_threadpoolctl_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)

    assert main(["--quick", "--case", "tiny"]) == 2
    assert "python -m pip install -e '.[bench]'" in capsys.readouterr().err
