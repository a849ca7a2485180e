"""dz-datasets: Spiral, MNIST, lazy on-disk datasets and the common transforms.

Registers with ``dz_register_datasets`` and ``dz_register_transforms``;
each component is imported only when first used (``datasets.Spiral``,
``datasets.get("mnist")``, ``transforms.Flatten``).
"""

from typing import Any

from dzcore import hookimpl

__version__ = "0.1.0"

_HERE = "dzplugins.datasets"

# name, target, summary, aliases, metadata (readable without an import).
_DATASETS: tuple[tuple[str, str, str, tuple[str, ...], dict[str, Any]], ...] = (
    (
        "Spiral",
        f"{_HERE}.spiral:Spiral",
        "three interleaved 2-D spirals, 300 points per split (the book's toy set)",
        (),
        {"lazy": False, "samples": 300, "features": 2, "classes": 3},
    ),
    (
        "get_spiral",
        f"{_HERE}.spiral:get_spiral",
        "the spiral split as arrays (x, t), as the book's get_spiral",
        (),
        {"lazy": False, "returns": "arrays"},
    ),
    (
        "MNIST",
        f"{_HERE}.mnist:MNIST",
        "handwritten digits, 60,000 train and 10,000 test 28x28 images",
        (),
        {"lazy": False, "samples": 60000, "features": 784, "classes": 10},
    ),
    (
        "SampleFolder",
        f"{_HERE}.lazy:SampleFolder",
        "a folder of per-sample .npy/.npz files, read on access",
        ("sample_folder", "bigdata"),
        {"lazy": True},
    ),
    (
        "MemmapDataset",
        f"{_HERE}.lazy:MemmapDataset",
        "memory-mapped .npy arrays, read as batches need them",
        ("memmap",),
        {"lazy": True},
    ),
)

_TRANSFORMS: tuple[tuple[str, str, str], ...] = (
    ("Flatten", "flatten a sample to 1-D"),
    ("ToFloat", "convert to a float dtype (float32 by default)"),
    ("Normalize", "standardise: (x - mean) / std"),
    ("AsType", "convert to a given dtype"),
    ("ToInt", "convert to an integer dtype (int64 by default)"),
)


@hookimpl
def dz_register_datasets(registry: Any) -> None:
    """Register Spiral, get_spiral, MNIST and the lazy datasets."""
    for name, target, summary, aliases, metadata in _DATASETS:
        registry.add(name, target, summary=summary, aliases=aliases, **metadata)


@hookimpl
def dz_register_transforms(registry: Any) -> None:
    """Register Flatten, ToFloat, Normalize, AsType and ToInt."""
    for name, summary in _TRANSFORMS:
        target = f"{_HERE}.transforms:{name}"
        registry.add(name, target, summary=summary, batchable=True)
