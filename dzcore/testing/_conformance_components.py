"""Conformance checks of functions, datasets and transforms (private).

Functions are checked by their :class:`~dzcore.testing.spec.FunctionSpec`
(registry metadata ``spec=``) with Hypothesis-generated cases, through
:func:`dzcore.testing.speccheck.check_function_spec`. Datasets are built
with their defaults (test split, no download) and indexed; transforms are
built with their defaults and applied to a small array.
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dzcore.testing._conformance_base import CheckSkippedError, fail


def function_spec(comp: Any) -> Any:
    """Returns the component's FunctionSpec, or raises naming what is wrong."""
    from dzcore.testing.spec import resolve_spec

    spec = comp.metadata.get("spec")
    if spec is None:
        raise fail(
            f"function {comp.qualified_id} is registered without a spec, so "
            "its gradients cannot be checked; pass spec='module:SPEC' (a "
            "dzcore.testing.FunctionSpec) to registry.add"
        )
    return resolve_spec(spec)


def check_spec(comp: Any) -> None:
    """The function declares a FunctionSpec (and it resolves)."""
    spec = function_spec(comp)
    if spec.name.lower() not in {n.lower() for n in (comp.name, *comp.aliases)}:
        raise fail(
            f"function {comp.qualified_id}: its spec is named {spec.name!r}, "
            "which is not one of its registered names"
        )


def spec_runner(comp: Any, spec: Any, check: str, examples: int) -> Callable[[], None]:
    """Returns the body of check ``check`` of a specced function."""

    def run() -> None:
        _run_generated(comp.load(), spec, check, examples)

    return run


def _run_generated(fn: Any, spec: Any, check: str, examples: int) -> None:
    from hypothesis import HealthCheck, given, reporting, settings
    from hypothesis import strategies as st

    from dzcore.testing.speccheck import check_function_spec
    from dzcore.testing.strategies import spec_inputs

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(data=st.data())
    def generated(data: Any) -> None:
        case = data.draw(spec_inputs(spec, grad=check != "forward"), label="case")
        check_function_spec(fn, spec, case, check)

    notes: list[str] = []
    with reporting.with_reporter(notes.append):
        try:
            generated()
        except Exception as exc:
            for note in notes:
                if hasattr(exc, "add_note"):
                    exc.add_note(str(note))
            raise


def check_dataset(comp: Any, factory: Callable[[Path], Any] | None = None) -> None:
    """``len`` and item access agree: valid indices work, the next one raises.

    Args:
        comp: The dataset component.
        factory: Builds the dataset in a temporary folder it is given, for
            datasets whose constructor needs arguments; None builds the
            component with its defaults (test split, no download).
    """
    with tempfile.TemporaryDirectory(prefix="dz-conformance-") as folder:
        if factory is not None:
            call, made = f"{comp.name} (from its factory)", factory(Path(folder))
        else:
            call, made = _build_with_defaults(comp)
        if isinstance(made, tuple) and all(hasattr(a, "__len__") for a in made):
            _check_arrays(call, made)
        else:
            _check_items(call, made)


def _build_with_defaults(comp: Any) -> tuple[str, Any]:
    target = comp.load()
    if not callable(target):
        raise fail(f"dataset {comp.qualified_id} is {target!r}, not callable")
    kwargs = _default_kwargs(comp, target)
    call = f"{comp.name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    try:
        return call, target(**kwargs)
    except FileNotFoundError as exc:
        raise CheckSkippedError(
            f"{call} needs files that are not here ({exc}); provide them to "
            "check its samples"
        ) from exc


def _default_kwargs(comp: Any, target: Any) -> dict[str, Any]:
    params = inspect.signature(target).parameters
    required = [
        p.name
        for p in params.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    # Limitation: the kit cannot invent the arguments (a folder, a file) of
    # a dataset whose constructor needs them; unless a factory is given
    # (parametrize_plugin_checks(factories=...)), the check is skipped.
    if required:
        raise CheckSkippedError(
            f"dataset {comp.qualified_id} needs arguments ({', '.join(required)}) "
            "that the kit cannot invent; pass a factory for it "
            "(factories={name: build}) to check its samples"
        )
    kwargs = {}
    if "train" in params:
        kwargs["train"] = False
    if "download" in params:
        kwargs["download"] = False
    return kwargs


def _check_arrays(call: str, arrays: tuple[Any, ...]) -> None:
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) != 1 or lengths[0] == 0:
        raise fail(f"{call} returned arrays of lengths {lengths}; expected one length")


def _check_items(call: str, dataset: Any) -> None:
    for method in ("__len__", "__getitem__"):
        if not hasattr(dataset, method):
            raise fail(f"{call} returned a {type(dataset).__name__} without {method}")
    size = len(dataset)
    if size == 0:
        raise fail(f"{call} is empty (len 0); a registered dataset needs samples")
    indices = sorted({0, size // 2, size - 1})
    for index in indices:
        _check_item(call, dataset, index)
    _same(call, dataset[-1], dataset[size - 1], "[-1]", f"[{size - 1}]")
    try:
        dataset[size]
    except IndexError:
        pass
    else:
        raise fail(f"{call}[{size}] did not raise IndexError although len is {size}")
    if hasattr(dataset, "get_batch"):
        _check_batch(call, dataset, indices)


def _check_item(call: str, dataset: Any, index: int) -> None:
    item = dataset[index]
    if not (isinstance(item, tuple) and len(item) == 2):
        raise fail(
            f"{call}[{index}] returned {type(item).__name__}; expected a pair (x, t)"
        )
    _same(call, item, dataset[index], f"[{index}]", f"[{index}] again")


def _check_batch(call: str, dataset: Any, indices: list[int]) -> None:
    x_batch, t_batch = dataset.get_batch(np.array(indices))
    for row, index in enumerate(indices):
        x, t = dataset[index]
        batch_t = None if t_batch is None else t_batch[row]
        _same(call, (x, t), (x_batch[row], batch_t), f"[{index}]", ".get_batch")


def _same(call: str, first: Any, second: Any, one: str, other: str) -> None:
    for part, (a, b) in zip("xt", zip(first, second, strict=True), strict=True):
        if (a is None) != (b is None) or (
            a is not None and not np.array_equal(np.asarray(a), np.asarray(b))
        ):
            raise fail(f"{call}{one} and {call}{other} disagree on {part}")


def check_transform(comp: Any) -> None:
    """The transform (built with defaults) maps a sample, leaving it unchanged."""
    target = comp.load()
    if inspect.isclass(target):
        try:
            target = target()
        except TypeError as exc:
            raise CheckSkippedError(
                f"transform {comp.qualified_id} needs constructor arguments ({exc})"
            ) from exc
    if not callable(target):
        raise fail(
            f"transform {comp.qualified_id} is a {type(target).__name__}, which "
            "is not callable; a transform maps one sample to another"
        )
    sample = np.arange(12, dtype=np.float32).reshape(3, 4)
    before = sample.copy()
    first, second = target(sample), target(sample)
    if not np.array_equal(sample, before):
        raise fail(f"transform {comp.qualified_id} modified its input sample")
    if first is None or not np.array_equal(np.asarray(first), np.asarray(second)):
        raise fail(
            f"transform {comp.qualified_id} returned {first!r} and then "
            f"{second!r} for the same sample; expected the same new sample"
        )
