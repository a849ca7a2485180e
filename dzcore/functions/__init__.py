"""The core ops: ``import dzcore.functions as F``.

Each op is a :class:`~dzcore.Function` subclass (``Exp``) with a lowercase
wrapper (``exp``). Activations such as ``relu`` and ``sigmoid`` are not
core ops: plugins register them, and ``F.relu`` or ``F.get("relu")``
resolve them through the registry on first use.
"""

from dzcore.core import Variable
from dzcore.functions.arith import (
    Add,
    Div,
    Mul,
    Neg,
    Pow,
    Sub,
    add,
    div,
    mul,
    neg,
    pow,
    rdiv,
    rsub,
    sub,
)
from dzcore.functions.elementwise import (
    Clip,
    Cos,
    Exp,
    Log,
    Sin,
    Tanh,
    clip,
    cos,
    exp,
    log,
    sin,
    tanh,
)
from dzcore.functions.linalg import Linear, MatMul, linear, matmul
from dzcore.functions.loss import (
    LogSoftmax,
    Softmax,
    SoftmaxCrossEntropy,
    accuracy,
    dropout,
    log_softmax,
    mean_squared_error,
    softmax,
    softmax_cross_entropy,
)
from dzcore.functions.reduce import Max, Min, Sum, max, mean, min, sum
from dzcore.functions.shape import (
    BroadcastTo,
    GetItem,
    GetItemGrad,
    Reshape,
    SumTo,
    Transpose,
    broadcast_to,
    get_item,
    reshape,
    sum_to,
    transpose,
)

__all__ = [
    "Add", "BroadcastTo", "Clip", "Cos", "Div", "Exp", "GetItem", "GetItemGrad",
    "Linear", "Log", "LogSoftmax", "MatMul", "Max", "Min", "Mul", "Neg", "Pow",
    "Reshape", "Sin", "Softmax", "SoftmaxCrossEntropy", "Sub", "Sum", "SumTo",
    "Tanh", "Transpose", "accuracy", "add", "broadcast_to", "clip", "cos", "div",
    "dropout", "exp", "get_item", "linear", "log", "log_softmax", "matmul", "max",
    "mean", "mean_squared_error", "min", "mul", "neg", "pow", "reshape", "sin",
    "softmax", "softmax_cross_entropy", "sub", "sum", "sum_to", "tanh",
    "transpose",
]  # fmt: skip


def _rmatmul(x, y):
    return matmul(y, x)


def _install_operators() -> None:
    """Give Variable its arithmetic operators, in both operand orders."""
    Variable.__add__ = add
    Variable.__radd__ = add
    Variable.__sub__ = sub
    Variable.__rsub__ = rsub
    Variable.__mul__ = mul
    Variable.__rmul__ = mul
    Variable.__truediv__ = div
    Variable.__rtruediv__ = rdiv
    Variable.__neg__ = neg
    Variable.__pow__ = pow
    Variable.__matmul__ = matmul
    Variable.__rmatmul__ = _rmatmul
    Variable.__getitem__ = get_item
    Variable.max = max
    Variable.min = min
    Variable.mean = mean


_install_operators()


def _install_registry() -> None:
    """Resolve names missing here (``F.relu``) through the plugin registry."""
    try:
        from dzcore.plugins import install_namespace
    except ImportError:  # the plugin manager is not built yet
        return
    install_namespace(globals(), "functions")


_install_registry()
