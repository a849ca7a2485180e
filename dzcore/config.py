"""Global switches of the autograd engine, and the default dtype.

``Config.enable_backprop`` decides whether calling a Function records the
graph; ``Config.train`` tells layers such as dropout whether they are
training. Both are changed for a block with :func:`using_config`.
"""

import contextlib
from collections.abc import Iterator

import numpy as np

#: The one default floating dtype of dz: parameters, datasets and Python
#: scalars mixed into a graph are float32 unless a caller asks otherwise.
DEFAULT_DTYPE = np.float32


class Config:
    """Process-wide flags read by Function and by train/test-aware ops."""

    enable_backprop = True
    train = True


@contextlib.contextmanager
def using_config(name: str, value: bool) -> Iterator[None]:
    """Set ``Config.<name>`` to ``value`` inside a ``with`` block.

    Raises:
        AttributeError: if ``name`` is not a Config switch.
    """
    if not hasattr(Config, name):
        known = ", ".join(k for k in vars(Config) if not k.startswith("_"))
        raise AttributeError(f"using_config: unknown switch {name!r}; known: {known}")
    old_value = getattr(Config, name)
    setattr(Config, name, value)
    try:
        yield
    finally:
        setattr(Config, name, old_value)


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Run a block without recording the graph (inference, evaluation)."""
    return using_config("enable_backprop", False)


def test_mode() -> contextlib.AbstractContextManager[None]:
    """Run a block in test mode: dropout becomes the identity."""
    return using_config("train", False)


# Keep pytest from collecting test_mode as a test when it is imported into a
# test module.
test_mode.__test__ = False
