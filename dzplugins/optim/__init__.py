"""dz-optim: the first-party optimizers of dz.

Registers SGD, MomentumSGD, AdaGrad, AdaDelta, Adam and AdamW with the
``dz_register_optimizers`` hook; each is imported only when first used
(``optimizers.SGD``, ``optimizers.get("adam")``). Update rules and
defaults follow DeZero; every optimizer takes its learning rate as ``lr``.

Metadata given to ``registry.add`` (readable without importing a class):

- ``has_momentum``: the rule keeps a running average of past gradients.
- ``has_betas``: it takes Adam's ``beta1`` and ``beta2``.
- ``moves_on_zero_grad``: from a fresh state, a zero gradient still
  changes the parameters (AdamW's decoupled decay); absent means False.
- ``defaults``: the hyperparameters a plain ``Cls()`` uses.
"""

from typing import Any

from dzcore import hookimpl

__version__ = "0.1.0"

# name, target, summary, aliases, metadata (readable without an import).
_OPTIMIZERS: tuple[tuple[str, str, str, tuple[str, ...], dict[str, Any]], ...] = (
    (
        "SGD",
        "dzplugins.optim.sgd:SGD",
        "plain stochastic gradient descent, w -= lr * g",
        (),
        {"has_momentum": False, "defaults": {"lr": 0.01}},
    ),
    (
        "MomentumSGD",
        "dzplugins.optim.sgd:MomentumSGD",
        "SGD with a velocity term (heavy-ball momentum)",
        ("momentum_sgd", "momentum"),
        {"has_momentum": True, "defaults": {"lr": 0.01, "momentum": 0.9}},
    ),
    (
        "AdaGrad",
        "dzplugins.optim.adaptive:AdaGrad",
        "per-element step sizes from the sum of squared gradients",
        ("ada_grad",),
        {"has_momentum": False, "defaults": {"lr": 0.001, "eps": 1e-8}},
    ),
    (
        "AdaDelta",
        "dzplugins.optim.adaptive:AdaDelta",
        "AdaGrad variant with decaying averages and no learning rate to tune",
        ("ada_delta",),
        {"has_momentum": False, "defaults": {"rho": 0.95, "eps": 1e-6, "lr": 1.0}},
    ),
    (
        "Adam",
        "dzplugins.optim.adam:Adam",
        "adaptive moment estimation with bias correction",
        (),
        {
            "has_momentum": True,
            "has_betas": True,
            "defaults": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        },
    ),
    (
        "AdamW",
        "dzplugins.optim.adam:AdamW",
        "Adam with decoupled weight decay",
        ("adam_w",),
        {
            "has_momentum": True,
            "has_betas": True,
            "moves_on_zero_grad": True,
            "defaults": {
                "lr": 0.001,
                "beta1": 0.9,
                "beta2": 0.999,
                "eps": 1e-8,
                "weight_decay": 0.01,
            },
        },
    ),
)


@hookimpl
def dz_register_optimizers(registry: Any) -> None:
    """Register the six optimizers of this plugin, imported on first use."""
    for name, target, summary, aliases, metadata in _OPTIMIZERS:
        registry.add(name, target, summary=summary, aliases=aliases, **metadata)
