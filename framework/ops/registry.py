"""The op registry: every primitive declared once, with all of its rules.

A primitive is a frozen dataclass deriving from `Op`. Its dataclass fields are its attributes, so
equality and hashing are on (op class, attributes): the graph compiler can merge duplicates and
key caches with them. The class holds, in one place:

- `name`: the op's public name;
- `infer(*inputs)`: the shape-and-dtype rule. It reads only `.shape` and `.dtype` of its inputs
  (arrays, eager tensors or graph nodes alike), returns a `Spec` (or a tuple of them for several
  outputs) and raises `ShapeError` / `DTypeError` on input the kernel must never see;
- `cpu(*arrays)`: the numba CPU kernel entry point; outputs come from `framework.device.empty`;
- `cuda`: the CUDA kernel entry point, or None until one is written;
- `scalar`: for elementwise ops, the scalar body the fuser can compose;
- `nopython(*specs)`: how the graph compiler runs the op inside one generated numba function
  (a `Lowered`), or None where it has no such entry yet;
- `vjp(g, inputs, out)`: the gradient rule, written with the neutral functions of
  `framework.ops.functions`, or `no_gradient = "why"` for ops without one.

`register` adds a class to the registry; `check_registry` runs at import and refuses an op that
lacks a rule.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import numpy as np

from framework.device import Device, device_of
from framework.errors import DeviceError, DTypeError
from framework.kernels.lowered import Lowered


class Spec:
    """The static description of a value: shape (ints, or None where unknown) and dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        # Built for every op call: skip conversions when the values are already canonical.
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)

    @classmethod
    def raw(cls, shape: tuple, dtype: np.dtype) -> Spec:
        """A Spec from a plain tuple and an np.dtype (an array's own, say), trusted as they are:
        no conversions, for hot paths such as the eager tape, which makes several per op.

        >>> a = np.zeros((2, 3), np.float32)
        >>> Spec.raw(a.shape, a.dtype)
        Spec((2, 3), float32)
        """
        spec = _new_spec(cls)
        spec.shape = shape
        spec.dtype = dtype
        return spec

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __eq__(self, other) -> bool:
        return isinstance(other, Spec) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))

    def __repr__(self) -> str:
        return f"Spec({self.shape}, {self.dtype})"


_new_spec = object.__new__


class Op:
    """Base class of every primitive. Subclasses are `@register`ed frozen dataclasses."""

    name: ClassVar[str] = ""
    # The CUDA kernel entry point, `cuda(self, *device_arrays)`, once one is written.
    cuda: ClassVar = None
    # Elementwise ops: the scalar body (a numba-compilable function) for fusion.
    scalar: ClassVar = None
    # Ops without a gradient say why, e.g. "integer output"; the registry checks one is given.
    no_gradient: ClassVar[str | None] = None
    # True for ops whose output may share the first input's memory (reshape, transpose, ...):
    # eager gives such an output its input's version counter, so an in-place change of one
    # is seen as a change of the other.
    is_view: ClassVar[bool] = False
    # False for ops whose result depends only on their inputs' shapes and dtypes (full_like,
    # shape): a compiler that knows every shape computes them once, when it compiles.
    reads_input_values: ClassVar[bool] = True
    # Which values the gradient rule reads, so eager can save only those for backward.
    vjp_needs_inputs: ClassVar[bool] = True
    vjp_needs_outputs: ClassVar[bool] = False
    # True where the gradient rule takes a fourth argument, `needs`: one bool per input saying
    # whether anyone wants that input's gradient, so it can skip the work (a GEMM per layer
    # for the data batch of a network's first Linear). Rules without it compute them all.
    vjp_takes_needs: ClassVar[bool] = False

    def infer(self, *inputs):
        raise NotImplementedError

    def cpu(self, *arrays):
        raise NotImplementedError

    vjp = None  # vjp(self, g, inputs, out) -> one gradient per input (None where there is none)

    def nopython(self, *specs) -> Lowered | None:
        """How compiled code runs this op on inputs of these specs (every shape known), or
        None: the compiled step then calls the CPU kernel from Python for this node."""
        return None

    @property
    def attributes(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def kernel(self, device: Device):
        """The kernel entry point for a device, or a clear error when none is written."""
        if device.type == "cpu":
            return self.cpu
        if device.type == "cuda" and self.cuda is not None:
            return self.cuda
        raise DeviceError(f"{self.name} has no {device.type} kernel yet")

    def __str__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in self.attributes.items())
        return f"{self.name}({attrs})" if attrs else self.name


@functools.lru_cache(maxsize=1024)
def cached_op(cls: type, *attributes) -> Op:
    """`cls(*attributes)`, one instance per distinct attributes: ops are immutable values, and
    building one costs about a microsecond, which the functions called on every op skip.
    Attributes must be hashable and already checked (True == 1 would find the int's op)."""
    return cls(*attributes)


REGISTRY: dict[str, type[Op]] = {}


def primitive(name: str, *attributes) -> Op:
    """The op registered as `name` with these attributes (else its defaults): one shared
    instance. Front-ends bind their methods through this, never through an op module's
    private names.

    >>> import framework.ops
    >>> primitive("add") is primitive("add"), primitive("linear", False)
    (True, Linear(has_bias=False))
    """
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise KeyError(f"no op named {name!r} is registered") from None
    return cached_op(cls, *attributes)


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: make `cls` a frozen dataclass and add it to the registry."""
    # Checked on the class itself: a subclass of a registered op inherits its dataclass
    # fields, but the fields it adds only count once the subclass is made a dataclass too.
    if "__dataclass_fields__" not in cls.__dict__:
        cls = dataclasses.dataclass(frozen=True)(cls)
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a `name`")
    if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
        raise TypeError(f"op name {cls.name!r} is declared twice")
    REGISTRY[cls.name] = cls
    return cls


def check_registry(registry: dict[str, type] = REGISTRY, base: type = Op, kernel: str = "cpu",
                   gradient: str = "vjp", kernel_text: str = "CPU kernel") -> None:
    """Refuse an op that lacks a shape rule, a way to run (its CPU kernel), or a gradient rule
    (or a stated reason for none). The graph front-end checks its own ops (constants,
    variables, control flow) with the same rules: their way to run is `run`, their gradient
    rule `gradient`."""
    problems = []
    for name, cls in registry.items():
        if cls.infer is base.infer:
            problems.append(f"{name}: no shape-and-dtype rule (infer)")
        if getattr(cls, kernel) is getattr(base, kernel):
            problems.append(f"{name}: no {kernel_text} ({kernel})")
        rule = getattr(cls, gradient)
        if rule is None and not cls.no_gradient:
            problems.append(f"{name}: neither a gradient rule ({gradient}) nor `no_gradient` "
                            "reason")
        if rule is not None and cls.no_gradient:
            problems.append(f"{name}: has both a gradient rule and a `no_gradient` reason")
    if problems:
        raise TypeError("op registry check failed:\n  " + "\n  ".join(problems))


def run_op(op: Op, arrays):
    """The one execution seam: run the op's shape rule once, then its kernel for the device
    the arrays live on. Returns (the rule's Spec or Specs, the result: one array, or a tuple
    for ops with several outputs).

    Every way of running an op comes here: `bind` on plain arrays, the eager front-end, the
    graph Session. So the rule always runs first (kernels never see input it did not
    accept), the device is chosen in this one place, and a missing kernel for a device is one
    clear error (`Op.kernel`).

    >>> from framework.ops.elementwise import Exp
    >>> run_op(Exp(), [np.zeros(2, np.float32)])
    (Spec((2,), float32), array([1., 1.], dtype=float32))
    """
    spec = op.infer(*arrays)
    for a in arrays:
        if type(a) is not np.ndarray:
            return spec, op.kernel(common_device(op, arrays))(*arrays)
    return spec, op.cpu(*arrays)  # NumPy arrays, the common case, all live on the CPU


def run_on_cpu(op: Op, arrays):
    """The seam's CPU branch, for a caller that has already seen every input is a NumPy array
    (`bind`, on every op of the Session and of eager's backward): the rule, then the CPU
    kernel; the result alone. One call less than `run_op` on the hottest path.

    >>> from framework.ops.elementwise import Exp
    >>> run_on_cpu(Exp(), (np.zeros(2, np.float32),))
    array([1., 1.], dtype=float32)
    """
    op.infer(*arrays)
    return op.cpu(*arrays)


def execute(op: Op, *arrays):
    """`run_op`'s result alone: one array, or a tuple of arrays for several outputs.

    >>> from framework.ops.elementwise import Exp
    >>> execute(Exp(), np.zeros(2, np.float32))
    array([1., 1.], dtype=float32)
    """
    return run_op(op, arrays)[1]


def common_device(op: Op, arrays) -> Device:
    devices = {device_of(a) for a in arrays}
    if len(devices) > 1:
        names = ", ".join(sorted(str(d) for d in devices))
        raise DeviceError(f"{op.name}: inputs are on different devices ({names})")
    return devices.pop() if devices else Device("cpu")


def require_same_dtype(op_name: str, *inputs) -> np.dtype:
    """Binary primitives take one dtype; the neutral functions insert casts before them."""
    dtypes = {x.dtype for x in inputs}
    if len(dtypes) != 1:
        listed = ", ".join(str(x.dtype) for x in inputs)
        raise DTypeError(f"{op_name}: inputs have different dtypes ({listed})")
    return inputs[0].dtype


def require_dtype(op_name: str, x, allowed, what: str = "input") -> None:
    if x.dtype not in allowed:
        names = ", ".join(str(d) for d in allowed)
        raise DTypeError(f"{op_name}: {what} has dtype {x.dtype}; supported: {names}")


def registry_table(registry: dict[str, type[Op]] = REGISTRY) -> str:
    """One row per op: name, attributes, kernels written, gradient rule (or why none)."""
    rows = [("op", "attributes", "CPU", "CUDA", "gradient")]
    for name in sorted(registry):
        cls = registry[name]
        attrs = ", ".join(f.name for f in dataclasses.fields(cls)) or "-"
        gradient = "rule" if cls.vjp is not None else f"none ({cls.no_gradient})"
        rows.append((name, attrs, "numba", "numba.cuda" if cls.cuda else "not yet", gradient))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + f"\n\n{len(registry)} primitives; registry check passed."
