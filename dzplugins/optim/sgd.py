"""Gradient descent without and with momentum."""

from typing import Any, ClassVar

from dzcore import Parameter
from dzcore.optimizers import UNIT_INTERVAL, Constraint, Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent: ``w <- w - lr * g``.

    Args:
        lr: the learning rate (>= 0).
        **options: none are accepted; an unknown name raises
            ``HyperparameterError`` (a ValueError).

    Example:
        >>> optimizer = SGD(lr=0.1).setup(model)  # doctest: +SKIP
    """

    def __init__(self, lr: float = 0.01, **options: Any) -> None:
        super().__init__(lr=lr, **options)

    def update_one(self, param: Parameter) -> None:
        """Take one step down the gradient, in place."""
        param.data -= self.lr * param.grad.data


class MomentumSGD(Optimizer):
    """SGD with a velocity that accumulates past steps (heavy-ball momentum).

    Per parameter, with velocity ``v`` starting at zero::

        v <- momentum * v - lr * g
        w <- w + v

    Args:
        lr: the learning rate (>= 0).
        momentum: how much of the previous velocity is kept, in [0, 1).
        **options: none are accepted; an unknown name raises
            ``HyperparameterError`` (a ValueError).
    """

    hyperparams: ClassVar[dict[str, Constraint]] = {
        **Optimizer.hyperparams,
        "momentum": UNIT_INTERVAL,
    }

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, **options: Any) -> None:
        super().__init__(lr=lr, momentum=momentum, **options)

    def update_one(self, param: Parameter) -> None:
        """Update the velocity, then move the parameter by it, in place."""
        v = self.slot(param, "v")
        v *= self.momentum
        v -= self.lr * param.grad.data
        param.data += v
