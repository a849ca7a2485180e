"""The autograd engine: Variable, Parameter and Function.

A :class:`Function` computes on raw arrays in ``forward`` and records
itself as the creator of its outputs; ``Variable.backward`` then walks the
recorded graph from the output back to the inputs, newest generation first,
calling each Function's ``backward`` on Variables so that gradients can be
differentiated again (``create_graph=True``).
"""

from __future__ import annotations

import heapq
from typing import Any
from weakref import ref

import numpy as np

from dzcore import cuda
from dzcore.config import Config

# Python scalar types that are cast to the dtype of the Variable they meet.
_SCALAR_TYPES = (int, float, bool, np.number, np.bool_)


def _is_array(data: Any) -> bool:
    return isinstance(data, np.ndarray) or type(data).__module__.startswith("cupy")


def as_array(x: Any, dtype: Any = None) -> Any:
    """Return ``x`` as an array (NumPy unless it already is a CuPy array).

    Python and NumPy scalars become 0-d arrays of ``dtype`` when it is given,
    so that ``2.0 * x`` keeps ``x`` float32.
    """
    if type(x) is np.ndarray:
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    if _is_array(x):
        return x if dtype is None else x.astype(dtype, copy=False)
    if isinstance(x, _SCALAR_TYPES):
        return np.asarray(x, dtype=dtype)
    raise TypeError(
        f"expected a NumPy array, a scalar or a Variable, got {type(x).__name__}"
    )


def as_variable(x: Any) -> Variable:
    """Wrap ``x`` in a Variable unless it already is one."""
    if isinstance(x, Variable):
        return x
    return Variable(as_array(x))


class Variable:
    """An array that remembers the Function that created it.

    Attributes:
        data: the NumPy (or CuPy) array, or None.
        grad: the gradient as a Variable after ``backward()``, else None.
        creator: the Function whose output this is, or None for a leaf.
        generation: depth in the graph; backward visits newer ones first.
        name: an optional label shown in ``repr`` and in parameter names.
        requires_grad: True for every Variable you create. False marks a
            constant: ``backward()`` neither computes nor stores its
            gradient, nor passes one on to its creator. Calling a Function
            on a raw array or a scalar (``F.linear(x_batch, W)``) wraps it
            in such a constant, since no code holds the wrapper to read
            its gradient; this spares, for instance, the product
            ``gy @ W.T`` for a batch of inputs. Set it to False on your own
            Variable for the same saving.
    """

    __slots__ = (
        "data",
        "name",
        "grad",
        "creator",
        "generation",
        "requires_grad",
        "__weakref__",
    )

    # NumPy defers binary operators to Variable (np.ones(3) - x calls
    # Variable.__rsub__) instead of broadcasting over it element by element.
    __array_ufunc__ = None
    __array_priority__ = 200

    def __init__(self, data: Any, name: str | None = None) -> None:
        if data is not None and not _is_array(data):
            if not isinstance(data, np.generic):
                raise TypeError(
                    f"Variable: cannot hold data of type {type(data).__name__}; "
                    "expected a NumPy or CuPy array (wrap lists with np.array)"
                )
            data = np.asarray(data)
        self.data = data
        self.name = name
        self.grad: Variable | None = None
        self.creator: Function | None = None
        self.generation = 0
        self.requires_grad = True

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def T(self) -> Variable:
        from dzcore.functions import transpose

        return transpose(self)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d Variable")
        return len(self.data)

    def __repr__(self) -> str:
        if self.data is None:
            return "variable(None)"
        body = str(self.data).replace("\n", "\n" + " " * 9)
        return f"variable({body})"

    def set_creator(self, func: Function) -> None:
        """Record ``func`` as this Variable's creator, one generation below it."""
        self.creator = func
        self.generation = func.generation + 1

    def cleargrad(self) -> None:
        """Forget the gradient, before the next ``backward()``."""
        self.grad = None

    def unchain(self) -> None:
        """Cut the link to the creator, making this Variable a leaf."""
        self.creator = None

    def unchain_backward(self) -> None:
        """Cut every creator link below this Variable (truncated BPTT)."""
        funcs = [self.creator] if self.creator is not None else []
        while funcs:
            func = funcs.pop()
            for x in func.inputs:
                if x.creator is not None:
                    funcs.append(x.creator)
                    x.unchain()

    def reshape(self, *shape: Any) -> Variable:
        """Return the Variable reshaped; takes a tuple or separate ints."""
        from dzcore.functions import reshape

        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return reshape(self, tuple(shape))

    def transpose(self, *axes: Any) -> Variable:
        """Return the Variable with its axes permuted (reversed by default)."""
        from dzcore.functions import transpose

        if len(axes) == 0:
            axes = None
        elif len(axes) == 1 and isinstance(axes[0], (tuple, list)) or axes == (None,):
            axes = axes[0]
        return transpose(self, axes)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Variable:
        """Return the sum over ``axis`` (all axes by default)."""
        from dzcore.functions import sum as sum_

        return sum_(self, axis, keepdims)

    def to_cpu(self) -> None:
        """Move the data to the host, in place."""
        if self.data is not None:
            self.data = cuda.as_numpy(self.data)

    def to_gpu(self) -> None:
        """Move the data to the GPU, in place (needs CuPy)."""
        if self.data is not None:
            self.data = cuda.as_cupy(self.data)

    def backward(self, retain_grad: bool = False, create_graph: bool = False) -> None:
        """Compute the gradient of this Variable with respect to every leaf.

        Args:
            retain_grad: keep the gradients of intermediate Variables too;
                by default only leaves (inputs, parameters) keep theirs.
            create_graph: record the backward computation itself, so that
                the gradients can be differentiated again.
        """
        if self.grad is None:
            self.grad = _new_variable(_ones_like(self.data))

        creator = self.creator
        if creator is None:
            return
        old_backprop = Config.enable_backprop
        Config.enable_backprop = create_graph
        try:
            if create_graph:
                _run_backward(creator, retain_grad)
            else:
                _run_backward_arrays(creator, retain_grad)
        finally:
            Config.enable_backprop = old_backprop


def _run_backward(start: Function, retain_grad: bool) -> None:
    """Visit the graph below ``start``, newest generation first, once per Function.

    A heap keyed on generation makes the order right for any graph shape and
    keeps the cost linear in the number of Functions for chains (the heap
    holds only the graph's current frontier). This pass records the graph
    of the gradients (``create_graph=True``); the first-order pass on
    arrays is :func:`_run_backward_arrays`.
    """
    queue = [(-start.generation, 0, start)]
    seen = {start}
    while queue:
        func = heapq.heappop(queue)[2]
        outputs = [ref() for ref in func.outputs]
        gxs = func.backward(*[None if y is None else y.grad for y in outputs])
        if not retain_grad:
            for y in outputs:
                if y is not None:
                    y.grad = None
        for x, gx in _pairs(func, gxs, arrays=False):
            if gx is None or not x.requires_grad:
                continue
            x.grad = gx if x.grad is None else x.grad + gx
            creator = x.creator
            if creator is not None and creator not in seen:
                seen.add(creator)
                heapq.heappush(queue, (-creator.generation, len(seen), creator))


def _run_backward_arrays(start: Function, retain_grad: bool) -> None:
    """The first-order pass: gradients flow as arrays between Functions.

    Each Function's ``backward_arrays`` is used when it has one, else its
    ``backward`` on Variables (with the graph not recorded). This loop is
    the hot path of every training step, hence the inlined steps and the
    one-output case handled apart from the general one.
    """
    queue = [(-start.generation, 0, start)]
    seen = {start}
    push, pop = heapq.heappush, heapq.heappop
    while queue:
        func = pop(queue)[2]
        refs = func.outputs
        if len(refs) == 1:
            # Reached through its output, so that output is alive and has
            # a gradient.
            output = refs[0]()
            fast = func.backward_arrays
            if fast is not None:
                gxs = fast(output.grad.data)
            else:
                gxs = _arrays_of(func.backward(output.grad))
            if not retain_grad:
                output.grad = None
        else:
            gxs = _multi_output_grads(func, retain_grad)
        for x, gx in _paired(func, gxs):
            if gx is None or not x.requires_grad:
                continue
            # A sum makes a new array, never an in-place add: the old
            # gradient may still be referenced (a retained output gradient).
            grad = x.grad
            x.grad = _new_variable(gx if grad is None else grad.data + gx)
            creator = x.creator
            if creator is not None and creator not in seen:
                seen.add(creator)
                push(queue, (-creator.generation, len(seen), creator))


def _paired(func: Function, gxs: Any) -> Any:
    """Pair each input of ``func`` with its gradient array from backward.

    The first-order pass's version of :func:`_pairs`, with the common
    cases (one, two or three inputs, nothing shared) written out.
    """
    inputs = func.inputs
    if type(gxs) is not tuple:
        if len(inputs) == 1:
            return ((inputs[0], gxs),)
    elif len(gxs) == 2 == len(inputs):
        x0, x1 = inputs
        gx0, gx1 = gxs
        # A gradient given to both inputs is copied (see _unshared); not
        # needed when the second input takes no gradient.
        if gx0 is gx1 and gx0 is not None and x1.requires_grad:
            gx1 = gx1.copy()
        return ((x0, gx0), (x1, gx1))
    elif len(gxs) == 3 == len(inputs):
        gx0, gx1, gx2 = gxs
        shared = (gx1 is not None and (gx1 is gx0 or gx1 is gx2)) or (
            gx2 is not None and gx2 is gx0
        )
        if not shared:
            return ((inputs[0], gx0), (inputs[1], gx1), (inputs[2], gx2))
    return _pairs(func, gxs, arrays=True)


def _ones_like(data: Any) -> Any:
    """A new array of ones (the seed gradient); quick for a scalar loss."""
    if type(data) is np.ndarray:
        if data.ndim == 0:
            return np.array(1, data.dtype)
        ones = np.empty(data.shape, data.dtype)
        ones.fill(1)
        return ones
    return cuda.get_array_module(data).ones(data.shape, data.dtype)


def _pairs(func: Function, gxs: Any, arrays: bool) -> Any:
    """Pair each input of ``func`` with its gradient from ``backward``."""
    inputs = func.inputs
    if type(gxs) is not tuple:
        gxs = (gxs,)
    if len(gxs) != len(inputs):
        raise RuntimeError(
            f"{type(func).__name__}.backward returned {len(gxs)} gradients "
            f"for {len(inputs)} inputs"
        )
    if len(gxs) > 1 and _shares(gxs):
        gxs = _unshared(gxs, arrays)
    return zip(inputs, gxs, strict=False)


def _multi_output_grads(func: Function, retain_grad: bool) -> Any:
    """First-order backward of a Function with several outputs, some maybe dead."""
    outputs = [ref() for ref in func.outputs]
    if func.backward_arrays is not None:
        gxs = func.backward_arrays(*[_grad_array(y) for y in outputs])
    else:
        gys = [None if y is None else y.grad for y in outputs]
        gxs = _arrays_of(func.backward(*gys))
    if not retain_grad:
        for y in outputs:
            if y is not None:
                y.grad = None
    return gxs


def _arrays_of(gxs: Any) -> Any:
    """The arrays of the Variables that a Variable ``backward`` returned."""
    if type(gxs) is tuple:
        return tuple([gx.data if isinstance(gx, Variable) else gx for gx in gxs])
    return gxs.data if isinstance(gxs, Variable) else gxs


def _shares(gxs: tuple) -> bool:
    """Whether one gradient object is given to two inputs."""
    for i in range(1, len(gxs)):
        gx = gxs[i]
        if gx is not None:
            for j in range(i):
                if gxs[j] is gx:
                    return True
    return False


def _unshared(gxs: tuple, arrays: bool) -> tuple:
    """Copy any gradient that is handed to two inputs.

    Two inputs must never share one gradient array: an in-place update of
    one (gradient clipping) would change the other. This holds for
    intermediates too, since pass-through ops hand a gradient on unchanged.
    The backward loop inlines this for two and three inputs.
    """
    if len(gxs) == 2:
        gx0, gx1 = gxs
        if gx0 is not gx1 or gx0 is None:
            return gxs
        return gx0, (gx1.copy() if arrays else _graph_copy(gx1))
    given: set[int] = set()
    result = []
    for gx in gxs:
        if gx is not None and id(gx) in given:
            gx = gx.copy() if arrays else _graph_copy(gx)
        given.add(id(gx))
        result.append(gx)
    return tuple(result)


def _graph_copy(gx: Variable) -> Variable:
    """A copy of ``gx`` that stays in the graph, so it can be differentiated.

    Multiplying by one makes a new array through a recorded op, where a
    plain ``Variable(gx.data.copy())`` would cut ``create_graph``'s graph.
    """
    return gx * 1.0


def _grad_array(y: Variable | None) -> Any:
    return None if y is None or y.grad is None else y.grad.data


class Parameter(Variable):
    """A Variable that a Layer owns and an Optimizer updates."""

    __slots__ = ()


class Function:
    """Base class of every differentiable operation.

    Subclasses override ``forward(*xs)``, which receives and returns arrays
    (a tuple of arrays for several outputs), and ``backward(*gys)``, which
    receives the output gradients as Variables (None for an output that got
    no gradient) and returns one Variable, or None, per input. Writing
    backward with dz functions on Variables is what makes higher-order
    gradients work.

    Calling a Function wraps non-Variable inputs (Python scalars and
    floating arrays are cast to the dtype of the first floating Variable
    input), runs forward, and, unless inside ``no_grad()``, records the
    inputs and weak references to the outputs for backward.
    """

    generation = 0

    #: Optional first-order backward on raw arrays: ``backward_arrays(*gys)``
    #: takes the output gradients as arrays and returns arrays. Core ops
    #: define it as a fast path for ``backward()`` without ``create_graph``;
    #: when it is None, ``backward`` on Variables is used for both.
    backward_arrays: Any = None

    def __call__(self, *inputs: Any) -> Any:
        # The hot path of every op: one, two and three Variable inputs with
        # one array output are handled without building lists or tuples.
        n_inputs = len(inputs)
        if n_inputs == 2:
            x0, x1 = inputs
            if not (isinstance(x0, Variable) and isinstance(x1, Variable)):
                inputs = _as_variables(inputs)
                x0, x1 = inputs
            ys = self.forward(x0.data, x1.data)
            if type(ys) is not tuple:
                g0, g1 = x0.generation, x1.generation
                return self._link(inputs, ys, g0 if g0 >= g1 else g1)
        elif n_inputs == 1:
            x0 = inputs[0]
            if not isinstance(x0, Variable):
                inputs = _as_variables(inputs)
                x0 = inputs[0]
            ys = self.forward(x0.data)
            if type(ys) is not tuple:
                return self._link(inputs, ys, x0.generation)
        elif n_inputs == 3:
            x0, x1, x2 = inputs
            if not (
                isinstance(x0, Variable)
                and isinstance(x1, Variable)
                and isinstance(x2, Variable)
            ):
                inputs = _as_variables(inputs)
                x0, x1, x2 = inputs
            ys = self.forward(x0.data, x1.data, x2.data)
            if type(ys) is not tuple:
                generation = max(x0.generation, x1.generation, x2.generation)
                return self._link(inputs, ys, generation)
        else:
            return self._call_any(inputs)
        return self._record(inputs, [_new_variable(_array_of(y)) for y in ys])

    def _call_any(self, inputs: tuple) -> Any:
        """``__call__`` for any number of inputs and outputs."""
        for x in inputs:
            if not isinstance(x, Variable):
                inputs = _as_variables(inputs)
                break
        ys = self.forward(*[x.data for x in inputs])
        if type(ys) is not tuple:
            generation = max([x.generation for x in inputs], default=0)
            return self._link(inputs, ys, generation)
        return self._record(inputs, [_new_variable(_array_of(y)) for y in ys])

    def _link(self, inputs: tuple, y: Any, generation: int) -> Variable:
        """Wrap the one output ``y``; record the graph unless in no_grad()."""
        # _new_variable, inlined: this runs once per op.
        output = object.__new__(Variable)
        output.data = y if type(y) is np.ndarray else _array_of(y)
        output.name = None
        output.grad = None
        output.requires_grad = True
        if Config.enable_backprop:
            self.generation = generation
            self.inputs = inputs
            self.outputs = (ref(output),)
            output.creator = self
            output.generation = generation + 1
        else:
            output.creator = None
            output.generation = 0
        return output

    def _record(self, inputs: tuple, outputs: list[Variable]) -> list[Variable]:
        """Record the graph for a Function with several outputs."""
        if Config.enable_backprop:
            generation = max([x.generation for x in inputs], default=0)
            self.generation = generation
            self.inputs = inputs
            self.outputs = tuple([ref(output) for output in outputs])
            for output in outputs:
                output.creator = self
                output.generation = generation + 1
        return outputs if len(outputs) > 1 else outputs[0]

    def forward(self, *xs: Any) -> Any:
        """Compute the outputs from input arrays."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, *gys: Variable) -> Any:
        """Return the input gradients (Variables) from the output gradients."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define backward, so it cannot be "
            "differentiated"
        )


def _array_of(y: Any) -> Any:
    # Reductions of NumPy arrays return NumPy scalars; keep everything arrays.
    if isinstance(y, np.generic):
        return np.asarray(y)
    return y if _is_array(y) else as_array(y)


def _new_variable(data: Any) -> Variable:
    """A Variable around an array known to be valid, skipping the type checks."""
    v = object.__new__(Variable)
    v.data = data
    v.name = None
    v.grad = None
    v.creator = None
    v.generation = 0
    v.requires_grad = True
    return v


def _as_variables(inputs: tuple) -> tuple[Variable, ...]:
    """Wrap inputs as Variables, casting loose scalars and floats to the graph dtype.

    The wrappers are constants (``requires_grad`` False): only the Function
    holds them, so nothing could read their gradients.
    """
    dtype = None
    for x in inputs:
        if isinstance(x, Variable) and x.data.dtype.kind == "f":
            dtype = x.data.dtype
            break
    wrapped = []
    for x in inputs:
        if isinstance(x, Variable):
            wrapped.append(x)
        elif type(x) is np.ndarray and (x.dtype == dtype or x.dtype.kind in "iub"):
            # The common cases: a batch of data or of labels beside a parameter.
            constant = _new_variable(x)
            constant.requires_grad = False
            wrapped.append(constant)
        else:
            wrapped.append(_wrap(x, dtype))
    return tuple(wrapped)


def _wrap(x: Any, dtype: Any) -> Variable:
    if isinstance(x, Variable):
        return x
    if type(x) is np.ndarray and (
        dtype is None or x.dtype == dtype or x.dtype.kind != "f"
    ):
        data = x
    elif dtype is not None and (
        isinstance(x, (int, float, np.floating))
        or getattr(x, "dtype", None) is not None
        and x.dtype.kind == "f"
    ):
        data = as_array(x, dtype)
    elif isinstance(x, (float, np.floating)):
        # A lone Python float, with no Variable to follow: dz's default dtype.
        from dzcore.config import DEFAULT_DTYPE

        data = as_array(x, DEFAULT_DTYPE)
    else:
        data = as_array(x)
    constant = _new_variable(data)
    constant.requires_grad = False
    return constant
