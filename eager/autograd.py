"""The eager autograd: a tape of backward nodes recorded while ordinary Python runs.

Every op applied to a Tensor that requires grad records a `Node`: the op, edges to the nodes
that produced its inputs, and only the values its gradient rule needs (as declared by the op).
`backward` walks the nodes with the shared reverse-mode code (`framework.ops.autodiff`), runs
each op's gradient rule (the same rule the graph front-end uses) and accumulates into the
leaves' `.grad`. Rules are written in ops, so with `create_graph=True` the backward pass is
itself recorded and can be differentiated again.

The safety checks a PyTorch user knows are here: backward through a freed graph, a non-scalar
backward without `gradient`, an in-place change of a saved value (version counters), and an
anomaly mode that names the op and the line that produced a NaN.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from eager.devices import host_copy
from eager.hooks import RemovableHandle
from framework.device import empty, to_device
from framework.errors import DualgraphError, describe_site
from framework.ops.autodiff import apply_vjp, backprop
from framework.ops.registry import Spec

_new_spec = object.__new__


class _ThreadState(threading.local):
    """Per-thread autograd switches. Class-level defaults: read on every op, they must not
    cost a failed attribute lookup in threads that never set them."""

    grad_enabled = True
    anomaly = False
    in_backward = False
    scope = ()  # the dotted module path ops are recorded under (see eager.viz.module_scopes)


_state = _ThreadState()


def is_grad_enabled() -> bool:
    return _state.grad_enabled


def _set_grad_mode(mode: bool) -> None:
    _state.grad_enabled = bool(mode)


class _GradMode:
    """Context manager and decorator that sets grad mode for the current thread."""

    mode = True

    def __enter__(self):
        self.previous = is_grad_enabled()
        _set_grad_mode(self.mode)
        return self

    def __exit__(self, *exc):
        _set_grad_mode(self.previous)
        return False

    def _fresh(self):
        """A new manager like this one, for one call of a decorated function."""
        return type(self)()

    def __call__(self, function):
        def wrapper(*args, **kwargs):
            with self._fresh():
                return function(*args, **kwargs)

        wrapper.__name__ = function.__name__
        wrapper.__doc__ = function.__doc__
        return wrapper


class no_grad(_GradMode):  # noqa: N801  (PyTorch's name)
    """Ops inside record nothing: for inference and for updating parameters.

    >>> import eager
    >>> x = eager.ones(2, requires_grad=True)
    >>> with eager.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Re-enable recording inside a `no_grad` block."""

    mode = True


class set_grad_enabled(_GradMode):  # noqa: N801  (PyTorch's name)
    """Turn recording on or off for this thread, at once, as PyTorch's `set_grad_enabled`
    does: called plainly it just switches; as a context manager or a decorator it also
    switches back to the previous mode at the end of the block or of each call.

    >>> import eager
    >>> with eager.set_grad_enabled(False):
    ...     eager.is_grad_enabled()
    False
    >>> eager.is_grad_enabled()
    True
    """

    def __init__(self, mode: bool):
        self.previous = is_grad_enabled()
        self.mode = bool(mode)
        _set_grad_mode(self.mode)

    def __enter__(self):
        _set_grad_mode(self.mode)
        return self

    def _fresh(self):
        return type(self)(self.mode)

    def __call__(self, function):
        _set_grad_mode(self.previous)  # decorating must not leave the mode switched
        return super().__call__(function)


def is_anomaly_enabled() -> bool:
    return _state.anomaly


@contextmanager
def detect_anomaly():
    """Check every op's outputs and every gradient for NaN, naming the op and the user's line.

    >>> import eager
    >>> with eager.detect_anomaly():
    ...     eager.tensor([-1.0]).log()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eager.autograd.AnomalyError: log produced NaN...
    """
    previous = is_anomaly_enabled()
    _state.anomaly = True
    try:
        yield
    finally:
        _state.anomaly = previous


def in_backward() -> bool:
    """True while a backward pass runs (anomaly mode then checks gradients, not op outputs)."""
    return _state.in_backward


class AnomalyError(RuntimeError):
    """A NaN appeared, in the forward pass or in a gradient, while `detect_anomaly` was on.

    `op` names the op and `site` is the user's (filename, lineno, function) that called it.
    """

    def __init__(self, message: str, op: str | None = None, site: tuple | None = None):
        super().__init__(message)
        self.op = op
        self.site = site


_IS_OWN_CODE: dict = {}


def record_site(skip: int = 2) -> tuple:
    """(filename, lineno, function) of the user's frame, cheaply: no source is read here.

    Runs for every recorded op, so whether a code object is dualgraph's own is cached, and the
    caller may `skip` frames it knows are its own (each frame looked at costs a frame object).
    """
    frame = sys._getframe(skip)
    while frame is not None:
        code = frame.f_code
        own = _IS_OWN_CODE.get(code)
        if own is None:
            own = _IS_OWN_CODE[code] = code.co_filename.startswith(_OWN_DIRS)
        if not own:
            return (code.co_filename, frame.f_lineno, code.co_name)
        frame = frame.f_back
    return ("<unknown>", 0, "")


def site_text(site: tuple) -> str:
    import traceback

    return describe_site(traceback.FrameSummary(*site))


def _own_dirs() -> tuple:
    from framework.errors import _PACKAGE_DIRS

    return _PACKAGE_DIRS


_OWN_DIRS = _own_dirs()


class Node:
    """A backward node: one recorded op application (PyTorch's `grad_fn`).

    Introspectable for drawing and debugging: `op`, `name` ("MulBackward"), `next_functions`
    (the producing nodes of the inputs), `saved_shapes`, `site` (the user's line), `scope`
    (the module path it ran under, while `eager.viz.module_scopes` records them; else ()).
    """

    # Instance attributes are set only where they differ from these defaults: a node is
    # built for every recorded op.
    saved_inputs = saved_input_versions = saved_outputs = output_versions = None
    _input_specs = None
    released = False
    output_hooks = None

    def __init__(self, op, inputs, input_arrays, output_specs, outputs, next_edges, site):
        self.op = op
        self.next_edges = next_edges
        self.output_specs = output_specs
        self.site = site
        self.scope = _state.scope
        if op.vjp_needs_inputs:
            # The saved inputs give their shapes and dtypes when they are asked for.
            self.saved_inputs = inputs
            versions = []
            for t in inputs:  # a loop, not a comprehension: that would be a function call
                versions.append(t._version[0])
            self.saved_input_versions = versions
        else:
            specs = []
            like = output_specs[0]  # an elementwise input is often described by it already
            for a in input_arrays:
                shape, dtype = a.shape, a.dtype
                if shape == like.shape and dtype is like.dtype:
                    specs.append(like)
                else:
                    spec = _new_spec(Spec)
                    spec.shape, spec.dtype = shape, dtype
                    specs.append(spec)
            self._input_specs = specs
        if op.vjp_needs_outputs:
            # Outputs are saved as data plus version box, never as Tensors: a Tensor would
            # point back at this node and make a reference cycle only the GC could free.
            saved, versions = [], []
            for t in outputs:
                saved.append(t._array)
                versions.append((t._version, t._version[0]))
            self.saved_outputs, self.output_versions = saved, versions

    @property
    def input_specs(self) -> list:
        """The shape and dtype of each input, as the op saw them."""
        specs = self._input_specs
        if specs is None:
            specs = self._input_specs = [Spec.raw(t._array.shape, t._array.dtype)
                                         for t in self.saved_inputs]
        return specs

    @property
    def name(self) -> str:
        return "".join(part.capitalize() for part in self.op.name.split("_")) + "Backward"

    @property
    def num_outputs(self) -> int:
        return len(self.output_specs)

    @property
    def next_functions(self) -> tuple:
        return tuple((edge[0], edge[1]) if edge else (None, 0) for edge in self.next_edges)

    @property
    def saved_shapes(self) -> list[tuple]:
        """Shapes of the values this node keeps for backward."""
        shapes = []
        if self.saved_inputs is not None and not self.released:
            shapes += [t.shape for t in self.saved_inputs]
        if self.saved_outputs is not None and not self.released:
            shapes += [a.shape for a in self.saved_outputs]
        return shapes

    def __repr__(self) -> str:
        return f"<{self.name} at {self.site[0]}:{self.site[1]}>"

    def register_output_hook(self, index: int, hook, site: tuple = ("<unknown>", 0, "")):
        """Call `hook(grad)` on the gradient of output `index`; returns a RemovableHandle."""
        if self.output_hooks is None:
            self.output_hooks = {}
        hooks = self.output_hooks.setdefault(index, OrderedDict())
        handle = RemovableHandle(hooks)
        hooks[handle.id] = (hook, site)
        return handle

    def describe_output(self, index: int) -> str:
        spec = self.output_specs[index]
        return (f"output {index} of {self.name} (created at {site_text(self.site)}, shape "
                f"{spec.shape}, dtype {spec.dtype})")

    def release(self) -> None:
        self._input_specs = self.input_specs  # kept: drawings still show the shapes
        self.saved_inputs = None
        self.saved_outputs = None
        self.released = True

    def run_vjp(self, cotangents, create_graph: bool):
        """The input gradients, given one cotangent per output. With `create_graph` they are
        Tensors and the rule's ops are recorded; else the rule runs on the buffers (arrays),
        as there is nothing to record: the same kernels, without the Tensor bookkeeping."""
        op = self.op
        if self.released and (op.vjp_needs_inputs or op.vjp_needs_outputs):
            raise RuntimeError(
                f"Trying to backward through the graph a second time (or to use saved values "
                f"after they were freed): {self.name} from {site_text(self.site)} already ran "
                "its backward. Pass retain_graph=True to the first backward() if you need to "
                "backward through the graph again."
            )
        inputs = self.saved_inputs
        if inputs is None:
            inputs = self.input_specs
        else:
            versions = self.saved_input_versions
            values = []
            for i, tensor in enumerate(inputs):
                if tensor._version[0] != versions[i]:
                    raise _modified_error(self, f"input {i}", tensor._version[0], versions[i])
                values.append(tensor._array)
            if not create_graph:
                inputs = values
        outputs = None
        if self.saved_outputs is not None:
            outputs = []
            for i, data in enumerate(self.saved_outputs):
                box, version = self.output_versions[i]
                if box[0] != version:
                    raise _modified_error(self, f"output {i}", box[0], version)
                outputs.append(_tensor_type()._wrap(data, box, self, i) if create_graph
                               else data)
        needs = None  # every input wants its gradient, unless an edge says otherwise
        for edge in self.next_edges:
            if edge is None:
                needs = [edge is not None for edge in self.next_edges]
                break
        return apply_vjp(op, cotangents, inputs, outputs, self.input_specs, self.output_specs,
                         needs)


# Accumulation into a leaf's `.grad` is a read-modify-write: threads running backward into
# one shared leaf take turns at it, or an update would be lost (PyTorch locks there too).
GRAD_LOCK = threading.Lock()


class HookError(DualgraphError, RuntimeError):
    """A gradient hook returned something that cannot stand for the gradient it was given."""


def run_hooks(hooks: dict, g, owner):
    """Pass the gradient `g` (a Tensor) through `hooks` ({id: (hook, site)}) in order; each
    sees the previous one's replacement. Returns the last replacement, or None if no hook
    returned one. A replacement must keep the gradient's shape and dtype: anything else would
    end up in `.grad` or flow on as a gradient of the wrong size, so it is refused (PyTorch
    refuses it too), naming the hook, where it was registered, and `owner()`, the tensor."""
    replaced = None
    for hook, site in tuple(hooks.values()):  # a copy: a hook may remove itself
        result = hook(g)
        if result is None:
            continue
        Tensor = _tensor_type()  # noqa: N806  (the class, under its own name)
        if isinstance(result, np.ndarray):
            result = Tensor._wrap(result, None, None, 0)
        what = None
        if not isinstance(result, Tensor):
            what = f"returned a {type(result).__name__}, not a Tensor"
        elif result._array.shape != g._array.shape:
            what = f"changed the shape of the gradient from {g.shape} to {result.shape}"
        elif result._array.dtype != g._array.dtype:
            what = f"changed the dtype of the gradient from {g.dtype} to {result.dtype}"
        if what is not None:
            name = getattr(hook, "__name__", type(hook).__name__)
            raise HookError(f"hook {name!r} (registered at {site_text(site)}) on {owner()} "
                            f"{what}; a hook must return None or a gradient of the same shape "
                            f"and dtype")
        g = replaced = result
    return replaced


_TENSOR: list = []


def _tensor_type():
    """eager.tensor.Tensor, imported once (that module imports this one)."""
    if not _TENSOR:
        from eager.tensor import Tensor

        _TENSOR.append(Tensor)
    return _TENSOR[0]


def _modified_error(node: Node, which: str, now: int, expected: int) -> RuntimeError:
    return RuntimeError(
        f"one of the values needed for gradient computation has been modified by an in-place "
        f"operation: {which} of {node.name} (created at {site_text(node.site)}) is at version "
        f"{now}; expected version {expected} instead. Use an out-of-place op, or .clone() "
        f"the value before changing it."
    )


class AccumulateGrad:
    """The node at a leaf: stores the incoming gradient into the leaf's `.grad`.

    The leaf holds its AccumulateGrad (so every op on it finds the same one at once) and the
    AccumulateGrad holds the leaf weakly, so the pair is no reference cycle. A leaf that is
    gone by the time backward runs has nobody left to read its `.grad`, and is skipped.
    """

    __slots__ = ("_variable", "__weakref__")
    num_outputs = 1
    next_edges = ()
    name = "AccumulateGrad"
    output_hooks = None

    def __init__(self, variable):
        self._variable = weakref.ref(variable)

    @property
    def variable(self):
        """The leaf Tensor, or None once it has been freed."""
        return self._variable()

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        variable = self.variable
        if variable is None:
            return "<AccumulateGrad of a freed leaf>"
        return f"<AccumulateGrad of {variable.name or 'a leaf'} {variable.shape}>"


def _edges(node):
    return node.next_edges


def _num_outputs(node):
    return node.num_outputs


def run_backward(outputs, grad_outputs, retain_graph: bool, create_graph: bool,
                 inputs=None, allow_unused: bool = False):
    """Shared by `Tensor.backward` and `grad`: one reverse sweep from `outputs`.

    With `inputs`, returns their gradients instead of accumulating into leaves' `.grad`.
    """
    Tensor = _tensor_type()  # noqa: N806  (the class, under its own name)
    wanted = {}
    if inputs is not None:
        for i, x in enumerate(inputs):
            if not x.requires_grad:
                raise RuntimeError(f"input {i} of grad() does not require grad")
            wanted[x.grad_edge()] = i
    captured = [None] * len(inputs or ())

    seeds = []
    for k, (y, g) in enumerate(zip(outputs, grad_outputs)):
        if not y.requires_grad:
            raise RuntimeError(
                f"element {k} of tensors does not require grad and does not have a grad_fn: "
                "backward() needs a result computed from tensors with requires_grad=True "
                "(and outside no_grad)"
            )
        if g is None:
            if y._array.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; this output has "
                    f"shape {y.shape}: pass gradient= (a tensor of that shape) to backward()"
                )
            seed = empty(y._array.shape, y._array.dtype)  # counted, like every buffer
            seed.fill(1)
            if type(y._array) is not np.ndarray:  # on y's device, as y's gradient must be
                seed = to_device(seed, y.device)
            g = Tensor._wrap(seed, None, None, 0)
        elif not isinstance(g, Tensor):
            g = Tensor(np.asarray(g, y.dtype))
        if g.shape != y.shape:
            raise RuntimeError(f"gradient has shape {g.shape} but output {k} has shape "
                               f"{y.shape}; they must match")
        edge = y.grad_edge()
        seeds.append((edge[0], edge[1], g))

    anomaly = is_anomaly_enabled()
    if create_graph:
        as_tensor = as_value = _same
    else:
        # The sweep runs on buffers (see Node.run_vjp); hooks and leaves still get Tensors.
        seeds = [(node, index, g._array) for node, index, g in seeds]
        as_tensor, as_value = _wrapped, _unwrapped

    def vjp(node, cotangents):
        if node.output_hooks:
            cotangents = list(cotangents)
            for index, hooks in tuple(node.output_hooks.items()):
                if hooks and cotangents[index] is not None:
                    replaced = run_hooks(hooks, as_tensor(cotangents[index]),
                                         lambda: node.describe_output(index))  # noqa: B023
                    if replaced is not None:
                        cotangents[index] = as_value(replaced)
        if wanted:
            for index, g in enumerate(cotangents):
                slot = wanted.get((node, index))
                if slot is not None:
                    captured[slot] = g
        if type(node) is AccumulateGrad:
            variable = node.variable
            if inputs is None and variable is not None:
                owned = not create_graph and _exclusive(cotangents)  # before any new reference
                variable._accumulate(as_tensor(cotangents[0]), create_graph, owned)
            return ()
        grads = node.run_vjp(cotangents, create_graph)
        if anomaly:
            for i, g in enumerate(grads):
                if g is not None and np.isnan(host_copy(getattr(g, "_array", g))).any():
                    raise AnomalyError(
                        f"gradient {i} of {node.name} is NaN; the op {node.op.name} was "
                        f"called at {site_text(node.site)}", node.op.name, node.site)
        if not retain_graph:
            node.release()
        return grads

    previous, previous_in_backward = is_grad_enabled(), in_backward()
    set_grad_enabled(create_graph)
    _state.in_backward = True
    try:
        backprop(seeds, _edges, vjp, _num_outputs)
    finally:
        set_grad_enabled(previous)
        _state.in_backward = previous_in_backward
    if inputs is not None:
        for i, g in enumerate(captured):
            if g is None and not allow_unused:
                raise RuntimeError(
                    f"input {i} of grad() was not used to compute the outputs; pass "
                    "allow_unused=True to get None for it")
        return tuple(None if g is None else as_tensor(g) for g in captured)
    return None


def _exclusive(slots) -> bool:
    """Whether the buffer slots[0] is referenced by nothing but that slot: no other slot or
    Tensor, no view, no saved value, not the caller's. A leaf may then keep it as its `.grad`
    without a copy, as PyTorch's AccumulateGrad takes a gradient nobody else holds."""
    value = slots[0]
    if type(value) is not np.ndarray or value.base is not None or not value.flags.writeable:
        return False
    del value  # this function's own reference must not count
    return _reference_count(slots) <= _SOLE_REFERENCES


def _reference_count(slots) -> int:
    return sys.getrefcount(slots[0])


# What `_reference_count` reports for a buffer held by its slot alone: measured, not assumed,
# as interpreters differ in the temporary references they count.
_SOLE_REFERENCES = _reference_count([np.empty(1)])


def _same(value):
    return value


def _wrapped(value):
    """A gradient buffer as a Tensor (for hooks, leaves and grad()'s results)."""
    return _tensor_type()._wrap(value, None, None, 0)


def _unwrapped(value):
    """What a hook returned (a Tensor, checked by `run_hooks`), as a buffer for the sweep."""
    return value._array


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of `outputs` with respect to `inputs` (like `torch.autograd.grad`).

    >>> import eager
    >>> x = eager.tensor([3.0], requires_grad=True)
    >>> (g,) = eager.grad(x * x, x, grad_outputs=eager.ones(1))
    >>> g.tolist()
    [6.0]
    """
    Tensor = _tensor_type()  # noqa: N806  (the class, under its own name)
    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    retain = create_graph if retain_graph is None else retain_graph
    return run_backward(outputs, list(grad_outputs), retain, create_graph, inputs, allow_unused)
