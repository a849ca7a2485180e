"""The optimizer protocol, and the gradient hooks that ship with the core.

An :class:`Optimizer` updates the parameters of a target (a Layer or Model,
anything with ``params()``, or a list of Parameters) from their gradients.
The concrete optimizers (SGD, Adam, ...) come from plugins and are reached
through this module as a registry-backed namespace::

    from dzcore import optimizers

    optimizer = optimizers.SGD(lr=0.1).setup(model)
    optimizer = optimizers.get("adam")(lr=1e-3).setup(model)
"""

from __future__ import annotations

import difflib
import logging
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np

from dzcore import _optim_state, cuda
from dzcore.core import Parameter, Variable
from dzcore.errors import DzError, WeightsError
from dzcore.plugins import install_namespace

logger = logging.getLogger(__name__)

#: A hook: called with the list of parameters that have a gradient, before
#: every update; it may change their gradients or set them to None.
Hook = Callable[[list[Parameter]], None]

_STATE_PREFIX = "state/"
_HYPER_PREFIX = "hyperparams/"


class HyperparameterError(DzError, ValueError):
    """An optimizer option that is unknown or outside its valid range."""


class Constraint(NamedTuple):
    """A rule a hyperparameter must satisfy, and the words that describe it.

    Attributes:
        text: what the value must be, as shown in errors ("must be >= 0").
        check: returns True for a valid value (a float).
    """

    text: str
    check: Callable[[float], bool]


NON_NEGATIVE = Constraint("must be >= 0", lambda v: v >= 0)
POSITIVE = Constraint("must be > 0", lambda v: v > 0)
UNIT_INTERVAL = Constraint("must be in [0, 1)", lambda v: 0 <= v < 1)


class Optimizer:
    """Base class of every optimizer: updates parameters from their gradients.

    Contract for a subclass:

    - It declares its hyperparameters in the class attribute
      ``hyperparams`` (name -> :class:`Constraint`, ``lr`` inherited) and
      passes their values to ``super().__init__(**values)``. They become
      attributes, checked whenever set (``optimizer.lr = 0.01`` in a
      schedule), and saved by :meth:`state_dict`. Unknown names and values
      out of range raise :class:`HyperparameterError` (a ValueError).
    - It overrides :meth:`update_one`, which changes ``param.data`` in place
      from ``param.grad.data``, keeping the parameter's dtype (use Python
      floats for scalars so that float32 stays float32).
    - It keeps per-parameter state only in arrays from :meth:`slot`, so that
      :meth:`state_dict` saves it and :meth:`load_state_dict` restores it
      (state kept elsewhere, such as DeZero's ``self.vs[id(param)]``,
      trains the same but is not saved).
      State is keyed by the parameter's dotted name from the target's
      ``namedparams()`` (``l0.W``), else by its position in ``params()``.
    - It may read ``self.t``: the number of ``update()`` calls so far,
      counting the one in progress.

    Call order: ``setup(target)`` once, then per step ``update()``, which
    increments ``t``, collects the parameters that have a gradient, runs
    each hook on that list in the order they were added, then calls
    ``update_one`` on each parameter whose gradient is still not None.

    Attributes:
        target: what ``setup`` was given, or None.
        hooks: the hooks, in call order.
        t: the number of ``update()`` calls so far.
    """

    hyperparams: ClassVar[dict[str, Constraint]] = {"lr": NON_NEGATIVE}

    def __init__(self, lr: float | None = None, **hyperparams: float) -> None:
        if lr is not None:
            hyperparams["lr"] = lr
        self._reject_unknown(hyperparams)
        self.target: Any = None
        self.hooks: list[Hook] = []
        self.t = 0
        self._source: Callable[[], list[tuple[str, Parameter]]] | None = None
        self._state: dict[str, dict[str, Any]] = {}
        self._keys: dict[int, str] = {}
        self._keyed: list[tuple[str, Parameter]] | None = None
        for name, value in hyperparams.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        rule = type(self).hyperparams.get(name)
        if rule is not None:
            value = self._checked(name, value, rule)
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        values = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.hyperparams
            if hasattr(self, name)
        )
        return f"{type(self).__name__}({values})"

    def setup(self, target: Any) -> Optimizer:
        """Choose the parameters to update; returns self, for chaining.

        Args:
            target: a Layer or Model (anything with ``namedparams()`` or
                ``params()``, read again on every update, so lazily created
                parameters are found), or an iterable of Parameters.

        Raises:
            TypeError: if ``target`` is none of these.
        """
        self._source = _optim_state.param_source(type(self).__name__, target)
        self.target = target
        self._keys = {}
        self._keyed = None
        return self

    def add_hook(self, f: Hook) -> None:
        """Add a hook, called with the parameter list before every update."""
        if not callable(f):
            raise TypeError(
                f"{type(self).__name__}.add_hook: expected a callable taking the "
                f"list of parameters (e.g. WeightDecay(1e-4)), got "
                f"{type(f).__name__}"
            )
        self.hooks.append(f)

    def update(self) -> None:
        """Run the hooks, then update every parameter that has a gradient."""
        named = self._named_params()
        if named is not self._keyed:
            # A Layer target hands back the same list until it changes.
            self._keys = {id(param): name for name, param in named}
            self._keyed = named
        self.t += 1
        if self.hooks:
            params = [param for _, param in named if param.grad is not None]
            for hook in self.hooks:
                hook(params)
        for name, param in named:
            grad = param.grad
            if grad is not None:
                if grad.data is None or grad.data.shape != param.data.shape:
                    _optim_state.check_grad(type(self).__name__, name, param)
                self.update_one(param)

    def update_one(self, param: Parameter) -> None:
        """Update one parameter in place from its gradient (subclasses)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define update_one(param)"
        )

    def slot(self, param: Parameter, name: str) -> Any:
        """Return the state array ``name`` of ``param``, zeros on first use.

        The array has the parameter's shape, dtype and device; update it in
        place (``v *= momentum``), and it is saved with the optimizer.
        """
        slots = self._state.setdefault(self._key_of(param), {})
        array = slots.get(name)
        if array is None:
            xp = cuda.get_array_module(param.data)
            array = slots[name] = xp.zeros_like(param.data)
        elif type(array) is not type(param.data):  # the model moved device
            array = slots[name] = _optim_state.to_device_of(param.data, array)
        return array

    def state_dict(self) -> dict[str, Any]:
        """Return the whole state as a flat dict of NumPy arrays and scalars.

        Keys: ``optimizer`` (the class name), ``t``, ``hyperparams/<name>``
        and ``state/<param name>/<slot>``. It can be saved with
        ``np.savez`` and read back without pickle. Hooks are not included:
        add them again after loading.
        """
        state: dict[str, Any] = {"optimizer": type(self).__name__, "t": self.t}
        for name in self.hyperparams:
            if hasattr(self, name):
                state[_HYPER_PREFIX + name] = getattr(self, name)
        for key, slots in self._state.items():
            for slot_name, array in slots.items():
                state[f"{_STATE_PREFIX}{key}/{slot_name}"] = cuda.as_numpy(array).copy()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`, so training resumes exactly.

        Everything is checked before anything changes: on error the
        optimizer keeps its current state.

        Raises:
            RuntimeError: if ``setup()`` has not been called yet.
            WeightsError: if the state belongs to another optimizer class, or
                holds parameters the target lacks or of other shapes.
            HyperparameterError: if a saved hyperparameter is invalid.
        """
        if self._source is None:
            raise RuntimeError(
                f"{type(self).__name__}.load_state_dict: call setup(model) first, "
                "so that the saved state can be matched to the parameters"
            )
        where = f"{type(self).__name__}.load_state_dict"
        _optim_state.check_class(where, type(self).__name__, state)
        hyper, slots, t = self._parse_state(where, state)
        params = dict(self._named_params())
        new_state = _optim_state.match_slots(where, slots, params)
        for name, value in hyper.items():
            setattr(self, name, value)
        self.t = t
        self._state = new_state

    def _parse_state(
        self, where: str, state: Mapping[str, Any]
    ) -> tuple[dict[str, float], dict[str, dict[str, Any]], int]:
        hyper: dict[str, float] = {}
        slots: dict[str, dict[str, Any]] = {}
        for key in state:
            if key.startswith(_HYPER_PREFIX):
                name = key[len(_HYPER_PREFIX) :]
                self._reject_unknown({name: None}, where)
                rule = self.hyperparams[name]
                hyper[name] = self._checked(name, np.asarray(state[key]).item(), rule)
            elif key.startswith(_STATE_PREFIX):
                param_name, _, slot_name = key[len(_STATE_PREFIX) :].rpartition("/")
                slots.setdefault(param_name, {})[slot_name] = state[key]
            elif key not in ("optimizer", "t"):
                raise WeightsError(f"{where}: unexpected key {key!r} in the state")
        return hyper, slots, _optim_state.step_count(where, state)

    def _named_params(self) -> list[tuple[str, Parameter]]:
        if self._source is None:
            raise RuntimeError(
                f"{type(self).__name__}: no parameters to update; call "
                "setup(model) before update()"
            )
        return self._source()

    def _key_of(self, param: Parameter) -> str:
        # The id() map is rebuilt on every update() and only translates a
        # parameter object to its name; the state itself is keyed by name.
        key = self._keys.get(id(param))
        if key is None:
            self._keys = {id(p): name for name, p in self._named_params()}
            key = self._keys.get(id(param))
        if key is None:
            raise RuntimeError(
                f"{type(self).__name__}: got a parameter that is not in the "
                "target given to setup(); call setup() with the model that owns it"
            )
        return key

    def _reject_unknown(self, options: Mapping[str, Any], where: str = "") -> None:
        unknown = sorted(set(options) - set(self.hyperparams))
        if not unknown:
            return
        valid = ", ".join(self.hyperparams)
        close = difflib.get_close_matches(unknown[0], self.hyperparams, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise HyperparameterError(
            f"{where or type(self).__name__}: unknown option {unknown[0]!r} "
            f"(valid options: {valid}){hint}"
        )

    def _checked(self, name: str, value: Any, rule: Constraint) -> float:
        cls = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"{cls}: option {name!r} must be a real number, "
                f"got {type(value).__name__} {value!r}"
            )
        number = float(value)
        if not (math.isfinite(number) and rule.check(number)):
            raise HyperparameterError(
                f"{cls}: option {name!r} {rule.text}, got {value!r}"
            )
        return number


class WeightDecay:
    """Hook adding L2 weight decay to the gradients: ``g <- g + rate * w``.

    Args:
        rate: the decay coefficient (>= 0).
    """

    def __init__(self, rate: float) -> None:
        self.rate = _hook_number("WeightDecay", "rate", rate, NON_NEGATIVE)

    def __call__(self, params: list[Parameter]) -> None:
        """Add ``rate * param.data`` to each parameter's gradient."""
        for param in params:
            param.grad = Variable(param.grad.data + self.rate * param.data)


class ClipGrad:
    """Hook rescaling all gradients together so their global norm is at most max_norm.

    With ``n = sqrt(sum of g**2 over every gradient)``, each gradient becomes
    ``g * max_norm / (n + 1e-6)`` when that factor is below 1; otherwise the
    gradients are left alone. The norm is summed in float64.

    Args:
        max_norm: the largest global norm allowed (> 0).
    """

    def __init__(self, max_norm: float) -> None:
        self.max_norm = _hook_number("ClipGrad", "max_norm", max_norm, POSITIVE)

    def __call__(self, params: list[Parameter]) -> None:
        """Rescale the gradients of ``params`` when their global norm is too large."""
        squares = 0.0
        for param in params:
            grad = param.grad.data
            squares += float((grad.astype(np.float64) ** 2).sum())
        factor = self.max_norm / (math.sqrt(squares) + 1e-6)
        if factor < 1:
            for param in params:
                param.grad = Variable(param.grad.data * factor)


class FreezeParam:
    """Hook keeping some parameters fixed by dropping their gradients.

    Args:
        *layers_or_params: Parameters, or Layers whose ``params()`` are all
            frozen (read at every update, so lazily created ones count).
    """

    def __init__(self, *layers_or_params: Any) -> None:
        for index, item in enumerate(layers_or_params):
            if not isinstance(item, Parameter) and not callable(
                getattr(item, "params", None)
            ):
                raise TypeError(
                    "FreezeParam: expected Parameters or Layers, got "
                    f"{type(item).__name__} at position {index}"
                )
        self.frozen = layers_or_params

    def __call__(self, params: list[Parameter]) -> None:
        """Set the gradient of every frozen parameter to None."""
        for item in self.frozen:
            for param in [item] if isinstance(item, Parameter) else item.params():
                param.grad = None


def _hook_number(hook: str, name: str, value: Any, rule: Constraint) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{hook}: {name} must be a real number, got {value!r}")
    if not (math.isfinite(value) and rule.check(float(value))):
        raise HyperparameterError(f"{hook}: {name} {rule.text}, got {value!r}")
    return float(value)


# optimizers.SGD, optimizers.get("adam"): resolved through the registry.
install_namespace(globals(), "optimizers")
