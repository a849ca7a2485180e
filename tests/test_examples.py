"""Tests of the book's programs in ``examples/``: each reaches the book's result.

The MNIST ones train for the book's 5 epochs on the official files in the
shared data folder (``DZ_TEST_MNIST_DIR`` overrides it) and are marked
``slow``; they still run in CI.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from _data_helpers import mnist_dir

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name):
    """Import ``examples/<name>.py`` as a module (examples is not a package)."""
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", EXAMPLES / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def restore_global_rng():
    """The examples seed NumPy's global state, as the book does; undo it."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


@pytest.fixture(scope="module")
def mnist_folder():
    folder = mnist_dir()
    assert (folder / "t10k-images-idx3-ubyte.gz").is_file(), (
        f"the MNIST test files are not in {folder}; set DZ_TEST_MNIST_DIR"
    )
    return folder


def test_example_spiral_reaches_the_book_accuracy(capsys):
    result = load_example("spiral").main()

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 300 and lines[-1].startswith("epoch 300:")
    assert result["train_accuracy"] >= 0.95
    assert result["test_accuracy"] >= 0.90


@pytest.mark.slow
def test_example_mnist_sigmoid_sgd_reaches_the_book_accuracy(mnist_folder):
    result = load_example("mnist_sigmoid_sgd").main(data_dir=mnist_folder, quiet=True)

    assert result["test_accuracy"] >= 0.84


@pytest.mark.slow
def test_example_mnist_relu_adam_reaches_the_book_accuracy(mnist_folder):
    result = load_example("mnist_relu_adam").main(data_dir=mnist_folder, quiet=True)

    assert result["test_accuracy"] >= 0.975
