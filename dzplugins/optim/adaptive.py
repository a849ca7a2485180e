"""Optimizers with per-element step sizes: AdaGrad and AdaDelta."""

from typing import Any, ClassVar

from dzcore import Parameter, cuda
from dzcore.optimizers import (
    NON_NEGATIVE,
    POSITIVE,
    UNIT_INTERVAL,
    Constraint,
    Optimizer,
)


class AdaGrad(Optimizer):
    """AdaGrad: each element's step shrinks with its summed squared gradients.

    Per parameter, with ``h`` starting at zero (element-wise operations)::

        h <- h + g * g
        w <- w - lr * g / (sqrt(h) + eps)

    Args:
        lr: the learning rate (>= 0).
        eps: added to the denominator to avoid dividing by zero (>= 0).
        **options: none are accepted; an unknown name raises
            ``HyperparameterError`` (a ValueError).
    """

    hyperparams: ClassVar[dict[str, Constraint]] = {
        **Optimizer.hyperparams,
        "eps": NON_NEGATIVE,
    }

    def __init__(self, lr: float = 0.001, eps: float = 1e-8, **options: Any) -> None:
        super().__init__(lr=lr, eps=eps, **options)

    def update_one(self, param: Parameter) -> None:
        """Accumulate the squared gradient, then take the scaled step."""
        xp = cuda.get_array_module(param.data)
        grad = param.grad.data
        h = self.slot(param, "h")
        h += grad * grad
        param.data -= self.lr * grad / (xp.sqrt(h) + self.eps)


class AdaDelta(Optimizer):
    """AdaDelta: steps sized by decaying averages of squared gradients and steps.

    Per parameter, with ``msg`` and ``msdx`` starting at zero::

        msg  <- rho * msg + (1 - rho) * g * g
        dx   <- sqrt((msdx + eps) / (msg + eps)) * g
        msdx <- rho * msdx + (1 - rho) * dx * dx
        w    <- w - lr * dx

    DeZero's AdaDelta has no learning rate; ``lr`` (default 1.0) only
    scales the step, so the defaults give DeZero's rule exactly.

    Args:
        rho: the decay rate of both averages, in [0, 1).
        eps: keeps the ratio finite at the start (> 0).
        lr: a factor on the step (>= 0).
        **options: none are accepted; an unknown name raises
            ``HyperparameterError`` (a ValueError).
    """

    hyperparams: ClassVar[dict[str, Constraint]] = {
        **Optimizer.hyperparams,
        "rho": UNIT_INTERVAL,
        "eps": POSITIVE,
    }

    def __init__(
        self, rho: float = 0.95, eps: float = 1e-6, lr: float = 1.0, **options: Any
    ) -> None:
        super().__init__(rho=rho, eps=eps, lr=lr, **options)

    def update_one(self, param: Parameter) -> None:
        """Update both averages and take the step, in place."""
        xp = cuda.get_array_module(param.data)
        grad = param.grad.data
        msg, msdx = self.slot(param, "msg"), self.slot(param, "msdx")
        msg *= self.rho
        msg += (1 - self.rho) * grad * grad
        dx = xp.sqrt((msdx + self.eps) / (msg + self.eps)) * grad
        msdx *= self.rho
        msdx += (1 - self.rho) * dx * dx
        param.data -= self.lr * dx
