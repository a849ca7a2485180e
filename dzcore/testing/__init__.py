"""The testing kit: gradient checks, function specs, and (with Hypothesis) strategies.

``import dzcore.testing`` needs neither Hypothesis nor pytest: the checks
and the spec classes are plain NumPy. :mod:`dzcore.testing.strategies`
(Hypothesis strategies, ``spec_inputs``) needs Hypothesis, which comes
with the ``testing`` extra: ``pip install dzcore[testing]``.

Example::

    import numpy as np
    import dzcore.functions as F
    from dzcore.testing import check_grad, check_double_grad

    x = np.random.default_rng(0).normal(size=(3, 4))
    check_grad(F.tanh, x)         # raises GradcheckError on a wrong gradient
    check_double_grad(F.tanh, x)  # the gradient of the gradient

Generated tests of a function: draw ``case = spec_inputs(spec)`` with
Hypothesis (:mod:`dzcore.testing.strategies`) and run
``check_function_spec(fn, spec, case, check)`` for each check in
``dzcore.testing.spec.CHECKS`` that ``supports(spec, check)``.
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
