"""The testing kit: gradient checks, function specs, and (with Hypothesis) strategies.

``import dzcore.testing`` needs neither Hypothesis nor pytest: the checks
and the spec classes are plain NumPy. :mod:`dzcore.testing.strategies`
(Hypothesis strategies, ``spec_inputs``) needs Hypothesis, which comes
with the ``testing`` extra: ``pip install dzcore[testing]``.
"""

from dzcore.testing.consistency import check_double_grad, check_float32
from dzcore.testing.gradcheck import check_grad
from dzcore.testing.report import DomainError, GradcheckError, GradcheckReport
from dzcore.testing.spec import (
    ArgSpec,
    Case,
    FunctionSpec,
    Interval,
    bounded,
    labels,
    nonzero,
    open_unit,
    positive,
    real,
    resolve_spec,
    static,
)
from dzcore.testing.speccheck import check_forward, check_function_spec, supports

__all__ = [
    "ArgSpec",
    "Case",
    "DomainError",
    "FunctionSpec",
    "GradcheckError",
    "GradcheckReport",
    "Interval",
    "bounded",
    "check_double_grad",
    "check_float32",
    "check_forward",
    "check_function_spec",
    "check_grad",
    "labels",
    "nonzero",
    "open_unit",
    "positive",
    "real",
    "resolve_spec",
    "static",
    "supports",
]
