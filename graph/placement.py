"""Device placement in the graph: `tf.device`, where each op of a run executes, and the copies
between devices.

Building. `with tf.device("/gpu:0"):` (or "/device:GPU:0", the full
"/job:localhost/replica:0/task:0/device:GPU:0", "/cpu:0", and dualgraph's "cuda", "cuda:0",
"cpu") records a device on every op created inside, as TensorFlow 1 does: scopes nest and the
innermost wins, a partial spec ("/device:GPU:1" inside "/job:worker") fills in only what it
names, a function op -> device string is called for each new op, and `tf.device(None)` clears
the enclosing scopes. `op.device` is TF1's canonical string ("/device:GPU:0"; "" unplaced).

Running. A Session resolves, once per plan, the device each op runs on:

- an op placed on a GPU runs its CUDA kernel there; "/cpu:0" runs the CPU kernel;
- an op without a device runs where its inputs are: on the GPU when one of them is there and the
  op has a CUDA kernel, else on the CPU (TF1 puts such ops on the GPU whenever it can; dualgraph
  keeps graphs without any `tf.device` on the CPU, as they ran before);
- an assign runs on its variable's device (TF1 colocates them), so a variable made under a GPU
  scope stays resident there: its initial value is copied once, its updates happen there;
- constants, feeds and fetches live on the host: a constant read on the GPU is copied once per
  session, a feed once per run, and every fetch comes back as a NumPy array;
- the graph's own ops that are not kernels (cond and while, random draws of a shape known only
  when the graph runs or truncated, check_numerics, Print, Assert, summaries) run on the host
  wherever they are placed, as TF1 keeps such ops in host memory; the ops of a cond's branches
  and a loop's body run on their own devices.

A value read by an op of another device is copied explicitly (`to_device` / `to_host`), once per
run. A GPU device where CUDA cannot run, or an op without a CUDA kernel placed on one, is an
error naming the op, its device and its line, raised before anything runs, unless the Session's
`config=tf.ConfigProto(allow_soft_placement=True)` lets it fall back to the CPU, as TF1 does.

A plan without any op placed on a GPU runs exactly as it did before placement existed: the
Session never looks at devices on that path.

>>> import graph as tf
>>> with tf.Graph().as_default():
...     with tf.device("/gpu:0"):
...         a = tf.constant(1.0)
...         with tf.device("/cpu:0"):
...             b = a + 1.0
...     c = b * 2.0
>>> a.op.device, b.op.device, c.op.device
('/device:GPU:0', '/device:CPU:0', '')
"""

from __future__ import annotations

import contextlib
import dataclasses
import re

import numpy as np

from framework import device as devices
from framework.device import Device, cpu
from framework.errors import DeviceError, user_frame

__all__ = ["ConfigProto", "DeviceSpec", "Placement", "device", "device_scope", "plan_placement"]


# -- device strings -----------------------------------------------------------------------------

_TYPES = {"cpu": "CPU", "gpu": "GPU", "cuda": "GPU"}
_FORMS = ('"/gpu:0", "/GPU:0", "/device:GPU:0", "/job:localhost/replica:0/task:0/device:GPU:0", '
          '"/cpu:0", "/device:CPU:0", "cuda", "cuda:0", "cpu"')


def _graph_error(message: str, site=None):
    from graph.core import GraphError

    return GraphError(message, site)


@dataclasses.dataclass(frozen=True)
class DeviceSpec:
    """A (possibly partial) device name, TensorFlow 1's `tf.DeviceSpec`: job, replica, task,
    device type ("CPU" or "GPU") and index; None where unspecified.

    >>> spec = DeviceSpec.from_string("/job:localhost/replica:0/task:0/gpu:1")
    >>> spec.device_type, spec.device_index, spec.to_string()
    ('GPU', 1, '/job:localhost/replica:0/task:0/device:GPU:1')
    >>> DeviceSpec.from_string("cuda").to_string(), DeviceSpec.from_string("cpu:0").to_string()
    ('/device:GPU:*', '/device:CPU:0')
    """

    job: str | None = None
    replica: int | None = None
    task: int | None = None
    device_type: str | None = None
    device_index: int | None = None

    @classmethod
    def from_string(cls, spec: str) -> DeviceSpec:
        """Parse TF1's spellings and dualgraph's ("cuda", "cuda:0", "cpu"); a clear GraphError
        for anything else."""
        if not isinstance(spec, str):
            raise _graph_error(f"a device must be a string such as {_FORMS}, a DeviceSpec, a "
                               f"function or None; got {type(spec).__name__} {spec!r}")
        fields: dict = {}

        def bad(problem: str):
            return _graph_error(f"malformed device {spec!r}: {problem}. Accepted forms: "
                                f"{_FORMS}")

        text = spec.strip()
        if text and not text.startswith("/"):  # dualgraph's own: "cuda", "cuda:0", "cpu"
            kind, _, index = text.partition(":")
            if kind.lower() not in ("cuda", "cpu", "gpu") or (index and not index.isdigit()):
                raise bad("expected '/'-separated parts or 'cuda', 'cuda:N', 'cpu'")
            fields["device_type"] = _TYPES[kind.lower()]
            fields["device_index"] = int(index) if index else None
            return cls(**fields)
        for part in text.split("/")[1:] if text else ():
            if not part:
                raise bad("an empty part between '/'")
            pieces = part.split(":")
            key = pieces[0].lower()
            if key == "job" and len(pieces) == 2 and re.fullmatch(r"[A-Za-z0-9_\-]+", pieces[1]):
                fields["job"] = pieces[1]
            elif key in ("replica", "task") and len(pieces) == 2 and pieces[1].isdigit():
                fields[key] = int(pieces[1])
            elif key == "device" and len(pieces) in (2, 3):
                fields.update(cls._device_part(pieces[1], pieces[2:], bad))
            elif key in _TYPES and len(pieces) in (1, 2):
                fields.update(cls._device_part(pieces[0], pieces[1:], bad))
            else:
                raise bad(f"cannot read the part {part!r}")
        return cls(**fields)

    @staticmethod
    def _device_part(kind: str, index: list, bad) -> dict:
        device_type = _TYPES.get(kind.lower())
        if device_type is None:
            raise bad(f"unknown device type {kind!r} (dualgraph has CPU and GPU)")
        if index and index[0] != "*" and not index[0].isdigit():
            raise bad(f"the device index {index[0]!r} is not a number")
        number = int(index[0]) if index and index[0] != "*" else None
        return {"device_type": device_type, "device_index": number}

    def merged_onto(self, base: DeviceSpec) -> DeviceSpec:
        """`base` with every field this spec names replaced (TF1's `merge_from`)."""
        return DeviceSpec(*(mine if mine is not None else theirs for mine, theirs in
                            zip(dataclasses.astuple(self), dataclasses.astuple(base))))

    @property
    def is_empty(self) -> bool:
        return self == _EMPTY

    def to_string(self) -> str:
        """TF1's canonical form: "/job:j/replica:r/task:t/device:TYPE:N" with only the parts
        given ("*" for a device of unspecified index)."""
        parts = []
        if self.job is not None:
            parts.append(f"/job:{self.job}")
        if self.replica is not None:
            parts.append(f"/replica:{self.replica}")
        if self.task is not None:
            parts.append(f"/task:{self.task}")
        if self.device_type is not None:
            index = "*" if self.device_index is None else self.device_index
            parts.append(f"/device:{self.device_type}:{index}")
        return "".join(parts)

    def __str__(self) -> str:
        return self.to_string()


_EMPTY = DeviceSpec()


def canonical(spec) -> str:
    """A device string, DeviceSpec or None as TF1's canonical string ("" for none)."""
    if spec is None:
        return ""
    if isinstance(spec, DeviceSpec):
        return spec.to_string()
    return DeviceSpec.from_string(spec).to_string()


# -- scopes -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Scope:
    """One open `device` scope: a spec to merge, a function, or a stop (None)."""

    spec: DeviceSpec | None
    function: object = None
    site: object = None


def device(device_name_or_function):
    """Place the ops created inside on a device (TensorFlow 1's `tf.device`).

    Accepts TF1's strings ("/gpu:0", "/device:GPU:0", "/cpu:0", ...), dualgraph's ("cuda",
    "cuda:0", "cpu"), a `DeviceSpec`, a function called with each new op that returns its
    device string, or None, which clears the enclosing scopes. A malformed string is an error
    here, at the `with` line.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     with tf.device("/job:localhost"), tf.device("/device:GPU:1"):
    ...         x = tf.constant(1.0)
    >>> x.op.device
    '/job:localhost/device:GPU:1'
    """
    from graph.core import get_default_graph

    return device_scope(get_default_graph(), device_name_or_function)


@contextlib.contextmanager
def _scoped(graph, scope: _Scope):
    graph._device_stack.append(scope)
    try:
        yield
    finally:
        graph._device_stack.remove(scope)


def device_scope(graph, device_name_or_function):
    """`graph.device(...)`: the scope, checked now (the error names the `with` line)."""
    site = user_frame()
    value = device_name_or_function
    if value is None:
        scope = _Scope(None, None, site)
    elif isinstance(value, DeviceSpec):
        scope = _Scope(value, None, site)
    elif isinstance(value, str):
        scope = _Scope(DeviceSpec.from_string(value), None, site)
    elif isinstance(value, Device):
        scope = _Scope(DeviceSpec.from_string(str(value)), None, site)
    elif callable(value):
        scope = _Scope(_EMPTY, value, site)
    else:
        raise _graph_error(f"tf.device takes a device string such as {_FORMS}, a DeviceSpec, "
                           f"a function op -> device string, or None; got "
                           f"{type(value).__name__} {value!r}", site)
    return _scoped(graph, scope)


def apply_device_scopes(stack: list, op) -> None:
    """Set `op.device` from the open scopes, innermost first as TF1 applies them: a string
    scope fills in what the op's device does not name yet, a function returns the op's device
    (seeing what the inner scopes set), a None scope stops the walk."""
    current = _EMPTY
    for scope in reversed(stack):
        if scope.function is not None:
            op.device = current.to_string()
            try:
                result = scope.function(op)
            except Exception as error:
                if hasattr(error, "add_note"):
                    error.add_note(f"in the device function {scope.function!r} of the "
                                   "tf.device scope opened at "
                                   f"{_describe(scope.site)}, placing {op.name!r}")
                raise
            try:
                current = DeviceSpec.from_string(canonical(result)) if result else _EMPTY
            except Exception as error:
                problem = getattr(error, "problem", error)
                raise _graph_error(f"the device function {scope.function!r} returned "
                                   f"{result!r} for {op.name!r}: {problem}", op.site) from None
        elif scope.spec is None:
            break
        elif not scope.spec.is_empty:
            current = current.merged_onto(scope.spec)
    op.device = current.to_string()


def _describe(site) -> str:
    from framework.errors import describe_site

    return describe_site(site)


# -- the Session's configuration ----------------------------------------------------------------


class ConfigProto:
    """A Session's configuration, TensorFlow 1's `tf.ConfigProto` (the fields dualgraph uses):

    - `allow_soft_placement`: an op placed on a GPU runs on the CPU where it cannot run on the
      GPU (no CUDA kernel for it, or no usable GPU), instead of raising;
    - `log_device_placement`: print each op's device when a run's placement is worked out.

    >>> ConfigProto(allow_soft_placement=True)
    ConfigProto(allow_soft_placement=True, log_device_placement=False)
    """

    def __init__(self, allow_soft_placement: bool = False, log_device_placement: bool = False,
                 **others):
        if others:
            raise _graph_error(f"tf.ConfigProto: dualgraph has no {', '.join(sorted(others))} "
                               "setting; it takes allow_soft_placement and "
                               "log_device_placement")
        self.allow_soft_placement = bool(allow_soft_placement)
        self.log_device_placement = bool(log_device_placement)

    def __repr__(self) -> str:
        return (f"ConfigProto(allow_soft_placement={self.allow_soft_placement}, "
                f"log_device_placement={self.log_device_placement})")


# -- where each op of a run executes ------------------------------------------------------------

# Graph op kinds that run on either device as they are: they pass values through or have none.
_PASS_THROUGH = frozenset({"Identity", "StopGradient", "PlaceholderWithDefault", "NoOp"})
# Kinds whose values always live on the host: constants and feeds (copied where they are read).
_ON_HOST = frozenset({"Const", "Placeholder"})
_ASSIGNS = frozenset({"Assign", "AssignAdd", "AssignSub"})


def requested_device(op) -> Device | None:
    """The framework Device an op asks for, None when it names no device type."""
    if not op.device:
        return None
    spec = DeviceSpec.from_string(op.device)
    if spec.device_type == "GPU":
        return Device("cuda", spec.device_index)
    if spec.device_type == "CPU":
        return cpu
    return None


def _wants_gpu(op) -> bool:
    return bool(op.device) and "GPU" in op.device


def _ops_with_bodies(ops):
    """The ops and, recursively, the ops of the cond branches and loop bodies they run."""
    for op in ops:
        yield op
        for context in op.kind.contexts(op):
            for sub in context.subtree():
                yield from sub.ops


def plan_placement(ops, config: ConfigProto | None):
    """The Placement of a plan, or None where no op (nor any op of its bodies) is placed on a
    GPU: such a plan runs exactly as before, with no device logic at all. Raises, naming the
    op, for a GPU placement that cannot run (unless soft placement is allowed)."""
    if not any(_wants_gpu(op) for op in _ops_with_bodies(ops)):
        return None
    placement = Placement(config or ConfigProto())
    for op in _ops_with_bodies(ops):
        pred = getattr(op.attrs.get("loop"), "pred", None)
        if pred is not None:  # a loop reads its cond's result on the host, every iteration
            placement.on_host.add(pred.op)
    for op in _ops_with_bodies(ops):
        placement.device_for(op)
    if not placement.uses_gpu:
        return None  # every GPU request fell back to the CPU (soft placement)
    if placement.config.log_device_placement:
        for op in _ops_with_bodies(ops):
            print(f"{op.name}: ({op.type}): {_tf_name(placement.device_for(op))}")
    return placement


def _tf_name(device: Device) -> str:
    if device.type == "cuda":
        return f"/job:localhost/replica:0/task:0/device:GPU:{device.index}"
    return "/job:localhost/replica:0/task:0/device:CPU:0"


class Placement:
    """The device of each op of a plan (resolved once, then looked up), and the copies between
    devices that one run makes."""

    def __init__(self, config: ConfigProto):
        self.config = config
        self.devices: dict = {}  # Operation -> Device
        self.on_host: set = set()  # ops whose value the host reads (a while loop's cond)
        self.uses_gpu = False

    # -- resolution -----------------------------------------------------------------------------

    def device_for(self, op) -> Device:
        """Where `op` runs (see the module docstring); its inputs' producers are resolved first,
        without recursion (a long chain would exceed Python's limit)."""
        found = self.devices.get(op)
        if found is not None:
            return found
        pending = [op]
        while pending:
            top = pending[-1]
            if top in self.devices:
                pending.pop()
                continue
            waiting = [t.op for t in self._sources(top) if t.op not in self.devices]
            if waiting:
                pending.extend(waiting)
                continue
            pending.pop()
            self.devices[top] = self._resolve(top)
        return self.devices[op]

    @staticmethod
    def _sources(op):
        """The tensors whose devices decide an unplaced op's device."""
        if op.kind.name in _ASSIGNS:
            return op.inputs[:1]  # an assign runs where its variable lives
        if op.device and op.kind.name not in _PASS_THROUGH:
            return ()
        return op.inputs

    def value_device(self, op) -> Device:
        """Where `op`'s outputs live: on the host for constants and feeds, where the input is
        for a pass-through op, else where the op runs."""
        name = op.kind.name
        if name in _ON_HOST:
            return cpu
        if name in _PASS_THROUGH and op not in self.on_host:
            return self.value_device(op.inputs[0].op) if op.inputs else cpu
        return self.device_for(op)

    def _resolve(self, op) -> Device:
        name = op.kind.name
        if op in self.on_host:
            return cpu
        if name in _ON_HOST or name in _PASS_THROUGH:
            return cpu if name in _ON_HOST or not op.inputs else \
                self.value_device(op.inputs[0].op)
        if name in _ASSIGNS:
            device = self.devices[op.inputs[0].op]
        elif op.primitive is None and name != "VariableV2":
            return cpu  # a graph-level op, not a kernel: it runs on the host
        else:
            device = requested_device(op)
            if device is None:  # unplaced: where its inputs are, when it can run there
                device = next((found for found in (self.value_device(t.op) for t in op.inputs)
                               if found.type == "cuda"), cpu)
                if device.type == "cuda" and not self._has_cuda_kernel(op):
                    device = cpu
                return self._note(device)
        if device.type == "cpu":
            return device
        problem = self._cannot_run(op)
        if problem is None:
            if device.index is None:
                device = Device("cuda", devices._current_cuda_index())
            return self._note(device)
        if self.config.allow_soft_placement:
            return cpu
        raise DeviceError(
            f"cannot place {op.name!r} ({op.type}) on {op.device or _tf_name(device)}: "
            f"{problem}. Place it with tf.device('/cpu:0'), or let the Session fall back to the "
            "CPU: tf.Session(config=tf.ConfigProto(allow_soft_placement=True))\n"
            f"  {op.name!r} was created at {_describe(op.site)}", op.site)

    def _note(self, device: Device) -> Device:
        if device.type == "cuda":
            self.uses_gpu = True
        return device

    @staticmethod
    def _has_cuda_kernel(op) -> bool:
        name = op.kind.name
        if op.primitive is not None:
            return type(op.primitive).cuda is not None
        return name in _ASSIGNS or name == "VariableV2" or name in _PASS_THROUGH

    def _cannot_run(self, op) -> str | None:
        try:
            devices.require_cuda("/device:GPU")
        except DeviceError as error:
            return error.problem
        if not self._has_cuda_kernel(op):
            what = op.primitive.name if op.primitive is not None else op.kind.name
            return f"{what} has no CUDA kernel"
        return None

    # -- one run's copies -----------------------------------------------------------------------

    def moved(self, run, tensor, value, device: Device):
        """`value` (of `tensor`) on `device`: itself when it is there, else a copy, made once
        per run (once per session for a constant)."""
        if device.type == "cpu":
            if type(value) is np.ndarray:
                return value
            cache = run.copies
        else:
            if not isinstance(value, np.ndarray | np.generic) and \
                    devices.device_of(value) == device:
                return value
            cache = run.session._constant_copies if tensor.op.kind.name == "Const" else \
                run.copies
        key = (id(value), device)
        found = cache.get(key)
        if found is None or found[0] is not value:
            copy = devices.to_host(value) if device.type == "cpu" else \
                devices.to_device(value, device)
            found = cache[key] = (value, copy)
        return found[1]


def run_on(run, op, device: Device, inputs, kind=None) -> tuple:
    """Run `op` on `device` with `inputs` already there: as the interpreter runs it, except
    where running on a GPU needs more (a primitive without array inputs, an assign). `kind`:
    the op kind a compiler pass gave the op's node, where it differs from the op's own."""
    if kind is not None and kind is not op.kind:
        if device.type == "cpu" or kind.name not in _ASSIGNS:
            return kind.run(run, op, inputs)
        return (assign_on_device(run, op, inputs[1], kind.name),)
    if device.type == "cpu":
        return op.kind.run(run, op, inputs)
    name = op.kind.name
    if op.primitive is not None and not op.inputs:  # nothing on the device says where to run
        from framework.kernels.cuda import on_device

        primitive = op.primitive
        if getattr(primitive, "seed", None) is not None:
            primitive = run.reseeded(primitive)
        primitive.infer()
        with on_device(device):
            result = primitive.kernel(device)()
        return result if type(result) is tuple else (result,)
    if name in _ASSIGNS:
        return (assign_on_device(run, op, inputs[1], name),)
    return op.kind.run(run, op, inputs)


def assign_on_device(run, op, value, name: str):
    """An assign (`name`: Assign, AssignAdd or AssignSub) to a variable resident on a GPU: the
    new value computed there and staged."""
    from framework.ops.registry import primitive, run_op

    variable = op.inputs[0].op
    expected = variable.outputs[0].shape
    if tuple(value.shape) != tuple(expected):
        raise _graph_error(f"{name} to {variable.name!r}: value of shape "
                           f"{tuple(value.shape)} for a variable of shape {expected} (created "
                           f"at {_describe(op.site)})")
    dtype = op.outputs[0].dtype
    if value.dtype != dtype:
        value = run_op(primitive("cast", dtype), [value])[1]
    if name != "Assign":
        run.lock_for_update()
        current = run.variable_value(variable)
        value = run_op(primitive("add" if name == "AssignAdd" else "sub"), [current, value])[1]
    # Device buffers are never changed in place (a commit replaces the table): the staged
    # value may be a buffer another value also holds.
    return run.stage(variable, value)


# -- the compiled step --------------------------------------------------------------------------


def move(run, value, device: Device):
    """`value` on `device` (the compiled step's copy between devices), once per run."""
    if device.type == "cpu":
        if type(value) is np.ndarray:
            return value
    elif not isinstance(value, np.ndarray | np.generic) and devices.device_of(value) == device:
        return value
    key = (id(value), device)
    found = run.copies.get(key)
    if found is None or found[0] is not value:
        copy = devices.to_host(value) if device.type == "cpu" else \
            devices.to_device(value, device)
        found = run.copies[key] = (value, copy)
    return found[1]


def program_devices(program, placement: Placement) -> dict:
    """Node -> the GPU Device it runs on, for the nodes of a compiled program that run on a
    GPU: a node keeps the device of the op it came from (a fused group its root's), a node a
    pass made runs where its inputs are, and a node whose kernel has no CUDA version (after a
    rewrite) runs on the CPU."""
    on_gpu: dict = {}
    for node in program.nodes:
        if node.feed is not None or node.kind is None or node.kind.name in _ON_HOST:
            continue
        if node.kind.is_variable:
            device = placement.device_for(node.op)
        elif node.op is not None:
            device = placement.device_for(node.op)
        else:
            device = next((on_gpu[v[0]] for v in node.inputs
                           if v is not None and v[0] in on_gpu), cpu)
        if device.type != "cuda":
            continue
        if node.primitive is not None and getattr(node.primitive, "cuda", None) is None:
            continue
        on_gpu[node] = device
    return on_gpu
