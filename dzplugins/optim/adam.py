"""Adam and AdamW."""

import math
from typing import Any, ClassVar

from dzcore import Parameter, cuda
from dzcore.optimizers import (
    NON_NEGATIVE,
    UNIT_INTERVAL,
    Constraint,
    HyperparameterError,
    Optimizer,
)

_DEFAULT_LR = 0.001


class Adam(Optimizer):
    """Adam: steps from bias-corrected averages of the gradient and its square.

    With ``t`` the number of updates so far (this one included), and ``m``,
    ``v`` starting at zero (element-wise operations)::

        m  <- m + (1 - beta1) * (g - m)
        v  <- v + (1 - beta2) * (g * g - v)
        lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
        w  <- w - lr_t * m / (sqrt(v) + eps)

    As in DeZero, ``t`` counts calls to ``update()``, and ``eps`` is added
    to ``sqrt(v)`` before the bias correction is folded into ``lr_t``.
    Reference: Kingma and Ba, "Adam: A Method for Stochastic
    Optimization", ICLR 2015.

    Args:
        alpha: the learning rate, DeZero's name for it (default 0.001).
        beta1: decay of the first-moment average, in [0, 1).
        beta2: decay of the second-moment average, in [0, 1).
        eps: added to the denominator (>= 0).
        lr: the same learning rate under its usual name; give ``alpha`` or
            ``lr``, not both.
        **options: none are accepted; an unknown name raises
            ``HyperparameterError`` (a ValueError).
    """

    hyperparams: ClassVar[dict[str, Constraint]] = {
        **Optimizer.hyperparams,
        "beta1": UNIT_INTERVAL,
        "beta2": UNIT_INTERVAL,
        "eps": NON_NEGATIVE,
    }

    def __init__(
        self,
        alpha: float | None = None,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        *,
        lr: float | None = None,
        **options: Any,
    ) -> None:
        lr = _one_rate(type(self).__name__, alpha, lr)
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps, **options)

    @property
    def alpha(self) -> float:
        """The learning rate, under DeZero's name (same as ``lr``)."""
        return self.lr

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.lr = value

    @property
    def step_size(self) -> float:
        """The bias-corrected learning rate ``lr_t`` of the current step."""
        t = max(self.t, 1)
        fix1 = 1.0 - self.beta1**t
        fix2 = 1.0 - self.beta2**t
        return self.lr * math.sqrt(fix2) / fix1

    def update_one(self, param: Parameter) -> None:
        """Update both moment averages and take the corrected step, in place."""
        self._adam_step(param)

    def _adam_step(self, param: Parameter) -> None:
        xp = cuda.get_array_module(param.data)
        grad = param.grad.data
        m, v = self.slot(param, "m"), self.slot(param, "v")

        # One scratch array serves every step below: written out, the
        # formulas would make six temporaries the size of the parameter.
        scratch = grad - m
        scratch *= 1 - self.beta1
        m += scratch

        xp.multiply(grad, grad, out=scratch)
        scratch -= v
        scratch *= 1 - self.beta2
        v += scratch

        xp.sqrt(v, out=scratch)
        scratch += self.eps
        xp.divide(m, scratch, out=scratch)
        scratch *= self.step_size
        param.data -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay: the decay does not pass through m, v.

    Each step first shrinks the weights, then takes Adam's step::

        w <- w * (1 - lr * weight_decay)
        w <- Adam's update of w (see :class:`Adam`)

    The decay uses ``lr``, not the bias-corrected ``lr_t``, and applies to
    every parameter the optimizer updates (biases included); use a second
    optimizer with ``weight_decay=0`` for parameters to leave undecayed.
    Reference: Loshchilov and Hutter, "Decoupled Weight Decay
    Regularization", ICLR 2019.

    Args:
        alpha: the learning rate, DeZero's name for it (default 0.001).
        beta1: decay of the first-moment average, in [0, 1).
        beta2: decay of the second-moment average, in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: the decoupled decay rate (>= 0, default 0.01).
        lr: the same learning rate under its usual name; give ``alpha`` or
            ``lr``, not both.
        **options: none are accepted; an unknown name raises
            ``HyperparameterError`` (a ValueError).
    """

    hyperparams: ClassVar[dict[str, Constraint]] = {
        **Adam.hyperparams,
        "weight_decay": NON_NEGATIVE,
    }

    def __init__(
        self,
        alpha: float | None = None,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        *,
        lr: float | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            alpha, beta1, beta2, eps, lr=lr, weight_decay=weight_decay, **options
        )

    def update_one(self, param: Parameter) -> None:
        """Shrink the weights, then take Adam's step, in place."""
        param.data *= 1.0 - self.lr * self.weight_decay
        self._adam_step(param)


def _one_rate(where: str, alpha: float | None, lr: float | None) -> float:
    """Return the learning rate given as ``alpha`` or ``lr`` (not both)."""
    if alpha is not None and lr is not None:
        raise HyperparameterError(
            f"{where}: got both alpha={alpha!r} and lr={lr!r}; they are the same "
            "learning rate, so give only one"
        )
    if alpha is not None:
        return alpha
    return _DEFAULT_LR if lr is None else lr
