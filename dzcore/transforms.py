"""The Transform protocol, :class:`Compose`, and the registry of transforms.

A transform is any callable that takes one sample (an array, or a label)
and returns the transformed sample; a plain function or a lambda is a
valid transform. Datasets apply ``transform`` to each input and
``target_transform`` to each label in ``__getitem__``.

A transform may also be *batchable*: it sets the attribute
``batchable = True`` and defines ``apply_batch(batch)``, which maps a whole
stacked batch (samples along axis 0) to the same result as stacking
``transform(sample)`` for every sample. Datasets holding in-memory arrays
then transform a whole batch in one NumPy call instead of one sample at a
time (see :meth:`dzcore.datasets.Dataset.get_batch`).

Concrete transforms (``Flatten``, ``ToFloat``, ``Normalize``, ``AsType``,
``ToInt``) come from plugins and are reached through this module:
``transforms.Flatten`` or ``transforms.get("flatten")``.
"""

import logging
from collections.abc import Callable, Iterable
from typing import Any

import dzcore.plugins

logger = logging.getLogger(__name__)

#: A transform: any callable from one sample to the transformed sample.
Transform = Callable[[Any], Any]

__all__ = ["Compose", "Transform", "is_batchable"]


def is_batchable(transform: Transform | None) -> bool:
    """Return True when ``transform`` can map a whole stacked batch at once.

    ``None`` (no transform) counts as batchable; any other callable counts
    only when it declares ``batchable = True``.
    """
    if transform is None:
        return True
    return bool(getattr(transform, "batchable", False))


class Compose:
    """Apply several transforms one after another.

    Args:
        transforms: The transforms, applied in order; ``None`` or an empty
            sequence gives the identity.

    Example:
        >>> double_then_negate = Compose([lambda x: 2 * x, lambda x: -x])
        >>> double_then_negate(3)
        -6

    A Compose is batchable when every transform in it is batchable.
    """

    def __init__(self, transforms: Iterable[Transform] | None = None) -> None:
        self.transforms = list(transforms or [])
        for position, transform in enumerate(self.transforms):
            if not callable(transform):
                raise TypeError(
                    f"Compose: transform {position} must be callable, got "
                    f"{type(transform).__name__} {transform!r}"
                )

    @property
    def batchable(self) -> bool:
        """True when every transform in the chain is batchable."""
        return all(is_batchable(transform) for transform in self.transforms)

    def __call__(self, sample: Any) -> Any:
        """Apply the transforms in order to one sample."""
        for transform in self.transforms:
            sample = transform(sample)
        return sample

    def apply_batch(self, batch: Any) -> Any:
        """Apply the transforms in order to a stacked batch.

        Raises:
            TypeError: if a transform in the chain is not batchable.
        """
        for transform in self.transforms:
            if not is_batchable(transform):
                raise TypeError(
                    f"Compose.apply_batch: {transform!r} is not batchable; "
                    "apply the Compose to one sample at a time instead"
                )
            batch = transform.apply_batch(batch)
        return batch

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        inner = ", ".join(repr(transform) for transform in self.transforms)
        return f"Compose([{inner}])"


dzcore.plugins.install_namespace(globals(), "transforms")
