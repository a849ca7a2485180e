"""The spiral toy dataset of the book: three interleaved spiral arms in 2-D."""

import numpy as np

from dzcore.config import DEFAULT_DTYPE
from dzcore.datasets import Dataset

__all__ = ["Spiral", "get_spiral"]

#: Seeds of the two splits; each split has its own local generator.
SPLIT_SEEDS = {True: 1984, False: 2020}

SAMPLES_PER_CLASS = 100
CLASSES = 3


def get_spiral(train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return the spiral data of one split as arrays ``(x, t)``.

    Arm ``c`` holds 100 points ``r * (sin a, cos a)`` with radius
    ``r = i / 100`` and angle ``a = 4 c + 4 r + 0.2 n`` for ``i = 0..99`` and
    Gaussian noise ``n``; the 300 points are then shuffled. The train and
    test splits draw from different fixed seeds, with a local generator, so
    each split is the same on every call and global random state is never
    touched.

    Args:
        train: True for the training split, False for the test split.

    Returns:
        ``x`` of shape ``(300, 2)`` float32 and ``t`` of shape ``(300,)``
        int64 holding the arm 0, 1 or 2 of each point.
    """
    rng = np.random.default_rng(SPLIT_SEEDS[bool(train)])
    label = np.repeat(np.arange(CLASSES), SAMPLES_PER_CLASS)
    radius = np.tile(np.arange(SAMPLES_PER_CLASS) / SAMPLES_PER_CLASS, CLASSES)
    angle = 4.0 * label + 4.0 * radius + 0.2 * rng.standard_normal(label.size)
    x = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    order = rng.permutation(label.size)
    return x[order].astype(DEFAULT_DTYPE), label[order].astype(np.int64)


class Spiral(Dataset):
    """The spiral dataset: 300 points of 2 float32 features in 3 classes.

    Args:
        train: True for the training split, False for the test split.
        transform: Applied to each point.
        target_transform: Applied to each label.
    """

    def prepare(self) -> None:
        """Generate the split's points and labels with :func:`get_spiral`."""
        self.data, self.label = get_spiral(self.train)
