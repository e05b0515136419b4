"""The eager Tensor: a device buffer plus what autograd needs, with PyTorch's API.

Ops on Tensors go through the neutral functions (`framework.ops.functions`), which hand them to
`EagerFrontend.apply` below: validate with the op's rule, run its kernel now, and, when grad mode
is on and an input requires grad, record a backward `Node` on the tape.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from operator import attrgetter

import numpy as np

from eager import autograd
from eager.autograd import AccumulateGrad, AnomalyError, Node, _state, record_site
from eager.devices import ToDevice, host_copy
from eager.hooks import RemovableHandle
from framework import device as framework_device
from framework import dtypes
from framework.device import (
    Device,
    allocator,
    as_device,
    cpu,
    device_of,
    empty,
    to_device,
)
from framework.errors import (
    ArgumentError,
    CastError,
    DeviceError,
    DTypeError,
    DualgraphError,
    IndexingError,
    ShapeError,
)
from framework.ops import F, register_frontend
from framework.ops import random as framework_random
from framework.ops.dispatch import bind, is_device_array
from framework.ops.reduction import Sum
from framework.ops.registry import cached_op, run_op
from framework.ops.registry import primitive as registered
from framework.shapes import as_shape, normalize_axis

_MaxResult = namedtuple("max", ["values", "indices"])
_MinResult = namedtuple("min", ["values", "indices"])

_SUPPORTED = frozenset(dtypes.ALL)
_SUM_ALL = {False: Sum(None, False), True: Sum(None, True)}  # x.sum(), x.sum(keepdim=True)


class Tensor:
    """An n-dimensional array on a device that can record the ops applied to it.

    >>> import eager
    >>> x = eager.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> loss = (x * x).sum()
    >>> loss.backward()
    >>> x.grad.tolist()
    [[2.0, 4.0], [6.0, 8.0]]
    """

    __slots__ = ("_array", "requires_grad", "grad", "grad_fn", "output_nr", "_version",
                 "_accumulator", "_retains_grad", "_leaf_hooks", "name", "__weakref__")
    __array_priority__ = 1000  # numpy_array * tensor -> Tensor.__rmul__, not an object array

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if not is_device_array(data):  # a device buffer is kept where it is, never copied
            data = np.asarray(data)
        if data.dtype not in dtypes.ALL:
            data = data.astype(dtypes.result_type(data.dtype) if data.dtype.kind in "biuf"
                               else dtypes.as_dtype(data.dtype))
        if requires_grad and data.dtype.kind != "f":
            raise RuntimeError(f"only floating point tensors can require gradients, not "
                               f"{data.dtype}")
        self._array = data
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.grad_fn = None
        self.output_nr = 0
        self._version = [0]
        self._accumulator = None
        self._retains_grad = False
        self._leaf_hooks = None
        self.name = name

    @classmethod
    def _wrap(cls, data, version_box, grad_fn, output_nr):
        """A Tensor around a kernel output (no checks, no copy)."""
        tensor = cls.__new__(cls)
        tensor._array = data
        tensor.requires_grad = grad_fn is not None
        tensor.grad = None
        tensor.grad_fn = grad_fn
        tensor.output_nr = output_nr
        tensor._version = version_box if version_box is not None else [0]
        tensor._accumulator = None
        tensor._retains_grad = False
        tensor._leaf_hooks = None
        tensor.name = None
        return tensor

    # -- basic properties ---------------------------------------------------------------------

    # The buffer's own attributes, read through C getters: shape rules read them on every op.
    shape = property(attrgetter("_array.shape"))
    dtype = property(attrgetter("_array.dtype"))
    ndim = property(attrgetter("_array.ndim"))
    device = property(lambda self: cpu if type(self._array) is np.ndarray
                      else device_of(self._array))
    is_cuda = property(lambda self: self.device.type == "cuda")
    is_leaf = property(lambda self: self.grad_fn is None)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    mT = property(lambda self: self.transpose(-2, -1))

    @property
    def data(self) -> Tensor:
        """This tensor's values as a new Tensor sharing its memory, outside autograd: it does
        not require grad, has no history, and keeps its own version counter (PyTorch's
        `.data`). Assigning a Tensor to `.data` makes this tensor use that tensor's memory
        instead (its shape and dtype may differ), keeping its grad, history and version.

        In-place changes through `.data` (`p.data.add_(-lr * p.grad)`,
        `m.weight.data.fill_(0.01)`) change this tensor without autograd knowing: a backward
        through an op that saved this tensor earlier then computes with the new values and
        raises no error, so its gradients are silently wrong. That is PyTorch's behaviour,
        kept on purpose; the same change through `detach()`, which shares the version
        counter, is caught at backward.

        >>> import eager
        >>> w = eager.ones(2, requires_grad=True)
        >>> _ = w.data.mul_(3)
        >>> w.tolist(), w.data.requires_grad
        ([3.0, 3.0], False)
        >>> w.data = eager.zeros(3)
        >>> w.shape, w.requires_grad
        ((3,), True)
        """
        return Tensor._wrap(self._array, None, None, 0)

    @data.setter
    def data(self, value) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got "
                            f"{type(value).__name__}")
        array = value._array
        if self.requires_grad and array.dtype.kind != "f":
            raise RuntimeError(f"only floating point tensors can require gradients: this "
                               f"tensor requires grad, so its data cannot become "
                               f"{array.dtype}")
        self._array = array

    def size(self, dim: int | None = None):
        """The shape, or the length of dimension `dim` (negative counts from the end)."""
        if dim is None:
            return self.shape
        return self.shape[self._checked_dim(dim)]

    def _checked_dim(self, dim) -> int:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"dim must be an int, got {type(dim).__name__}")
        ndim = self.ndim
        if ndim == 0:
            raise IndexingError(f"Dimension specified as {dim} but tensor has no dimensions")
        if not -ndim <= dim < ndim:
            raise IndexingError(f"Dimension out of range (expected to be in range of "
                                f"[{-ndim}, {ndim - 1}], but got {dim})")
        return int(dim) % ndim

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return self._array.size

    nelement = numel

    def element_size(self) -> int:
        """Bytes per element."""
        return self._array.itemsize

    def is_contiguous(self) -> bool:
        return self._array.flags.c_contiguous

    def is_floating_point(self) -> bool:
        return self._array.dtype.kind == "f"

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(host_copy(self._array), separator=", ", prefix="tensor(",
                               precision=4)
        extras = [] if type(self._array) is np.ndarray else [f"device='{self.device}'"]
        if self.dtype != dtypes.float32 and self.dtype != dtypes.int64:
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    # -- conversion -----------------------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._host_array("numpy")

    def __array__(self, dtype=None, copy=None):
        array = self._host_array("numpy")
        return array if dtype is None else array.astype(dtype)

    def _host_array(self, function: str) -> np.ndarray:
        """The NumPy buffer of a CPU tensor; for a tensor on another device, PyTorch's
        TypeError: a copy to the host is never made silently."""
        array = self._array
        if type(array) is not np.ndarray:
            raise TypeError(f"can't convert {self.device} device type tensor to {function}. "
                            "Use Tensor.cpu() to copy the tensor to host memory first.")
        return array

    def item(self):
        if self._array.size != 1:
            raise RuntimeError(f"a Tensor with {self._array.size} elements cannot be converted "
                               "to a Python scalar")
        return host_copy(self._array).reshape(()).item()

    def tolist(self):
        return host_copy(self._array).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self._array.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __hash__(self):
        return id(self)

    # -- autograd -------------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (PyTorch's semantics)."""
        if inputs is not None:
            raise NotImplementedError("backward(inputs=...) is not supported; use eager.grad")
        retain = create_graph if retain_graph is None else retain_graph
        autograd.run_backward([self], [gradient], retain, create_graph)

    def grad_edge(self) -> tuple:
        """(node, output index) that receives this tensor's gradient."""
        if self.grad_fn is not None:
            return (self.grad_fn, self.output_nr)
        if not self.requires_grad:
            raise RuntimeError("tensor does not require grad")
        return self._leaf_edge()

    def _leaf_edge(self) -> tuple:
        """(this leaf's AccumulateGrad, 0), made once and kept: every op on a parameter
        reads it."""
        edge = self._accumulator
        if edge is None:
            edge = self._accumulator = (AccumulateGrad(self), 0)
        return edge

    def _accumulate(self, g, create_graph: bool, owned: bool = False):
        """Add the gradient `g` into `.grad`. `owned`: nothing else holds g's buffer, so a
        first gradient is kept as it is instead of copied (unless a hook sees it first)."""
        if self._leaf_hooks:
            owned = False
            replaced = autograd.run_hooks(self._leaf_hooks, g, self._describe_leaf)
            if replaced is not None:
                g = replaced
        with autograd.GRAD_LOCK:  # threads backpropagating into one leaf take turns
            if create_graph:
                self.grad = g if self.grad is None else self.grad + g
            elif self.grad is None and owned and g._array.dtype == self._array.dtype:
                self.grad = g
            elif self.grad is None:
                # A fresh buffer, from the allocator so it counts: the gradient may alias a
                # saved or seed value, or another leaf's gradient (x + y passes one to both).
                source = g._array
                if type(source) is np.ndarray:
                    buffer = empty(source.shape, source.dtype)
                    np.copyto(buffer, source)
                else:  # on a GPU: a contiguous copy there (the gradient may be a broadcast)
                    buffer = _copied(source)
                self.grad = Tensor._wrap(buffer, None, None, 0)
            else:
                self.grad = Tensor._wrap(F.add(self.grad._array, g._array), None, None, 0)

    def _describe_leaf(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"the leaf tensor{name} of shape {self.shape} and dtype {self.dtype}"

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory and version counter)."""
        return Tensor._wrap(self._array, self._version, None, 0)

    def detach_(self) -> Tensor:
        self.grad_fn, self.requires_grad = None, False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records ops on this leaf; returns it. A non-leaf already
        requires grad, so only turning that off is refused, as in PyTorch."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if requires_grad and self.dtype.kind != "f":
            raise RuntimeError(f"only floating point tensors can require gradients, not "
                               f"{self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor after backward."""
        if self.is_leaf or self._retains_grad:
            return
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = True
        import weakref

        ref = weakref.ref(self)

        def store(g):
            tensor = ref()
            if tensor is not None:
                with autograd.GRAD_LOCK:
                    tensor.grad = g.detach() if tensor.grad is None else Tensor(
                        tensor.grad._array + g._array)

        self.grad_fn.register_output_hook(self.output_nr, store, autograd.record_site())

    def register_hook(self, hook) -> RemovableHandle:
        """Call `hook(grad)` whenever this tensor's gradient is computed. A hook may return a
        replacement of the same shape and dtype (anything else is refused at backward, naming
        the hook and this tensor). Returns a handle whose `.remove()` unregisters the hook.

        >>> import eager
        >>> x = eager.ones(2, requires_grad=True)
        >>> handle = x.register_hook(lambda g: g * 2)
        >>> (x * 3).sum().backward()
        >>> x.grad.tolist()
        [6.0, 6.0]
        >>> handle.remove()
        """
        if not callable(hook):
            raise TypeError(f"register_hook needs a callable, got {type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require grad")
        site = autograd.record_site()
        if self.grad_fn is not None:
            return self.grad_fn.register_output_hook(self.output_nr, hook, site)
        if self._leaf_hooks is None:
            self._leaf_hooks = OrderedDict()
        handle = RemovableHandle(self._leaf_hooks)
        self._leaf_hooks[handle.id] = (hook, site)
        return handle

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment")
        copied = Tensor(_copied(self._array), self.requires_grad, self.name)
        if self.grad is not None:
            copied.grad = Tensor(_copied(self.grad._array))
        memo[id(self)] = copied
        return copied

    def __reduce_ex__(self, protocol):
        if not self.is_leaf:
            raise RuntimeError("only leaf tensors can be pickled; detach() it first")
        if type(self._array) is not np.ndarray:  # its values, and the device to restore them on
            return (_unpickled_on, (host_copy(self._array), self.requires_grad, self.name,
                                    str(self.device)))
        return (Tensor, (self._array, self.requires_grad, self.name))

    def all(self, dim=None, keepdim=False):
        """True where every element (along `dim`) is non-zero; True for no elements."""
        return F.eq(F.sum(F.logical_not(self), _dims(dim), keepdim), 0)

    def any(self, dim=None, keepdim=False):
        """True where some element (along `dim`) is non-zero; False for no elements."""
        return F.ne(F.sum(F.cast(self, dtypes.bool_), _dims(dim), keepdim), 0)

    def clone(self) -> Tensor:
        return F.add(self, F.zeros_like(self)) if self.requires_grad else Tensor._wrap(
            _copied(self._array), None, None, 0)

    def contiguous(self) -> Tensor:
        return self if self._array.flags.c_contiguous else self.clone()

    # -- new tensors like this one (PyTorch's new_*: this tensor's dtype unless told) ----------

    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        """A new tensor holding a copy of `data`, with this tensor's dtype unless told.

        >>> import eager
        >>> eager.ones(1, dtype=eager.float64).new_tensor([1, 2]).dtype
        dtype('float64')
        """
        from eager.creation import tensor as make_tensor  # creation imports this module

        return make_tensor(data, self.dtype if dtype is None else dtype, requires_grad,
                           device=self.device if device is None else device)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        """A new tensor of zeros of `size`, with this tensor's dtype unless told."""
        return self._new_filled(size, 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        """A new tensor of ones of `size`, with this tensor's dtype unless told."""
        return self._new_filled(size, 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        """A new tensor of `size` whose values are whatever its memory held."""
        return self._new_filled(size, None, dtype, device, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None,
                 requires_grad: bool = False) -> Tensor:
        """A new tensor of `size` filled with `fill_value`, with this tensor's dtype unless
        told (a number that dtype cannot hold is refused).

        >>> import eager
        >>> eager.tensor([1, 2]).new_full((2,), 7).tolist()
        [7, 7]
        """
        if isinstance(fill_value, Tensor):
            fill_value = fill_value.item()
        if not isinstance(fill_value, (bool, int, float, np.number, np.bool_)):
            raise TypeError(f"new_full(): fill_value must be a number, not "
                            f"{type(fill_value).__name__}")
        return self._new_filled((size,), fill_value, dtype, device, requires_grad)

    def _new_filled(self, size, value, dtype, device, requires_grad) -> Tensor:
        shape = as_shape(_shape_args(size))
        if None in shape:
            raise ShapeError(f"a new tensor's size must be fully known, got {shape}")
        dtype = self._array.dtype if dtype is None else dtypes.as_dtype(dtype)
        device = self.device if device is None else _check_device(device)
        if value is None:
            array = np.empty(shape, dtype)
        else:
            array = np.full(shape, dtypes.checked_scalar(value, dtype), dtype)
        return placed(Tensor(array, requires_grad), device)

    # -- in-place ops ---------------------------------------------------------------------------

    def _check_inplace(self):
        if autograd.is_grad_enabled() and self.is_leaf and self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation. Wrap the update in `with eager.no_grad():`.")

    def _assign(self, result) -> Tensor:
        """Write `result` into this tensor's buffer and take over its history."""
        result = result if isinstance(result, Tensor) else Tensor(result)
        if result.shape != self.shape:
            try:
                np.broadcast_to(result._array, self.shape)
            except ValueError:
                raise DualgraphError(f"in-place op: the result has shape {result.shape}, which "
                                     f"cannot be written into shape {self.shape}") from None
        if type(self._array) is np.ndarray:  # (a device source only from copy_: PyTorch's
            # copy_ crosses devices; an op mixing them was refused before it ran)
            np.copyto(self._array, host_copy(result._array), casting="unsafe")
        else:
            self._write_on_device(result._array)
        self._version[0] += 1
        if result.requires_grad and autograd.is_grad_enabled():
            if result.shape != self.shape:
                result = F.broadcast_to(result, self.shape)
            if self.dtype != result.dtype:
                result = F.cast(result, self.dtype)
            self.grad_fn, self.output_nr = result.grad_fn, result.output_nr
            self.requires_grad = True
        return self

    def _write_on_device(self, values) -> None:
        """`_assign`'s copy into a device buffer: values cast and broadcast on the device (a
        host source, which only `copy_` passes, is copied there: PyTorch's copy_ crosses
        devices), then one device-to-device copy."""
        if type(values) is np.ndarray or isinstance(values, np.generic):
            values = to_device(np.asarray(values), self.device)
        if values.dtype != self._array.dtype:
            values = F.cast(values, self._array.dtype)
        if values.shape != self._array.shape:
            values = F.broadcast_to(values, self._array.shape)
        if not values.is_c_contiguous():  # a device copy moves one contiguous block
            values = F.contiguous_copy(values)
        if self._array.size:
            self._array.copy_to_device(values)

    def _original(self) -> Tensor:
        """What an in-place op reads: the op may save its input for backward, and this buffer
        is about to be overwritten, so a recorded op reads a copy (PyTorch's "original self")
        with its own version counter."""
        if self.requires_grad and autograd.is_grad_enabled():
            return Tensor._wrap(_copied(self._array), None, self.grad_fn, self.output_nr)
        return self

    def _inplace(self, function, *args) -> Tensor:
        self._check_inplace()
        return self._assign(function(self._original(), *args))

    def _check_result_dtype(self, op: str, *operands, division: bool = False) -> None:
        """PyTorch's rule for in-place ops, checked before anything runs: the result may
        change precision but not kind, since a float result written into an integer tensor
        would lose its fractions (and a number written into a bool tensor, its value)."""
        dtype = self._array.dtype
        if dtype.kind == "f":
            return  # every real result has a float tensor's kind
        result = dtypes.result_type(self._array, *[
            o if dtypes.is_weak_scalar(o) or hasattr(o, "dtype") else np.asarray(o)
            for o in operands if o is not None])
        if division and result.kind != "f":
            result = dtypes.DEFAULT_FLOAT  # true division of integers gives floats
        if not np.can_cast(result, dtype, "same_kind"):
            raise CastError(f"{op}: result type {result} can't be cast to the desired output "
                            f"type {dtype}; use the out-of-place op, or convert the tensor "
                            f"with .to() first")

    def add_(self, other, alpha=1):
        self._check_result_dtype("add_", other, None if alpha == 1 else alpha)
        return self._inplace(lambda s, o: F.add(s, o if alpha == 1 else F.mul(o, alpha)), other)

    def sub_(self, other, alpha=1):
        self._check_result_dtype("sub_", other, None if alpha == 1 else alpha)
        return self._inplace(lambda s, o: F.sub(s, o if alpha == 1 else F.mul(o, alpha)), other)

    def mul_(self, other):
        self._check_result_dtype("mul_", other)
        return self._inplace(F.mul, other)

    def div_(self, other):
        self._check_result_dtype("div_", other, division=True)
        return self._inplace(F.div, other)

    def clamp_(self, min=None, max=None):
        self._check_result_dtype("clamp_", min, max)
        return self._inplace(lambda s: s.clamp(min, max))

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_inplace()
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise ShapeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                                 f"with {value.ndim} dimensions.")
            value = value.item()
        if not isinstance(value, (bool, int, float, np.number, np.bool_)):
            raise TypeError(f"fill_(): value must be a number, not {type(value).__name__}")
        self._overwrite(dtypes.checked_scalar(value, self.dtype))
        return self

    def _overwrite(self, values) -> None:
        """Write `values` (checked already) over every element: the old contents and their
        history are gone, so a non-leaf becomes a constant (a leaf keeps requires_grad)."""
        array = self._array
        if type(array) is not np.ndarray:  # on a GPU: the values made here, copied there
            host = np.empty(array.shape, array.dtype)
            np.copyto(host, values, casting="unsafe")
            if host.size:
                array.copy_to_device(host)
        elif np.ndim(values) == 0:
            array.fill(values)
        else:
            np.copyto(array, values)
        self._version[0] += 1
        if autograd.is_grad_enabled() and self.grad_fn is not None:
            self.grad_fn, self.output_nr = None, 0
            self.requires_grad = False

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
        """Fill in place with draws from N(mean, std**2), from `generator` or the shared
        seeded one, so `eager.manual_seed` makes them reproducible (and `nn.init.normal_`
        draws the same numbers).

        >>> import eager
        >>> _ = eager.manual_seed(0)
        >>> a = eager.empty(3).normal_(0.0, 0.1)
        >>> _ = eager.manual_seed(0)
        >>> eager.empty(3).normal_(0.0, 0.1).tolist() == a.tolist()
        True
        """
        self._check_random_fill("normal_", mean=mean, std=std)
        if std < 0:
            raise ArgumentError(f"normal_ expects std >= 0.0, but found std {std}")
        self._overwrite(_generator(generator).normal(self.shape, mean, std, self.dtype))
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None, **bounds) -> Tensor:
        """Fill in place with draws from U[a, b) (PyTorch's keywords `from` and `to` name a
        and b too), from `generator` or the shared seeded one, like `normal_`.

        >>> import eager
        >>> w = eager.empty(100).uniform_(-0.1, 0.1)
        >>> bool((w.abs() <= 0.1).all())
        True
        """
        unknown = set(bounds) - {"from", "to"}
        if unknown:
            raise TypeError(f"uniform_() got an unexpected keyword argument "
                            f"{sorted(unknown)[0]!r}")
        a, b = bounds.get("from", a), bounds.get("to", b)
        self._check_random_fill("uniform_", a=a, b=b)
        if a > b:
            raise ArgumentError(f"uniform_ expects to return a [from, to) range, but found "
                                f"from={a} > to={b}")
        source = _generator(generator)
        if a == b:  # still one seed, so that later draws do not depend on a and b
            source.next_seed()
            self._overwrite(self._array.dtype.type(a))
        else:
            self._overwrite(source.uniform(self.shape, a, b, self.dtype))
        return self

    def _check_random_fill(self, function: str, **parameters) -> None:
        self._check_inplace()
        if self._array.dtype.kind != "f":
            raise DTypeError(f"{function} draws floating point values; this tensor has dtype "
                             f"{self.dtype}")
        for name, value in parameters.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"{function}(): {name} must be a number, not "
                                f"{type(value).__name__}")
            if not np.isfinite(value):
                raise ArgumentError(f"{function}: {name} must be finite, got {value}")

    def copy_(self, source):
        self._check_inplace()
        if isinstance(source, Tensor):
            return self._assign(F.cast(source, self.dtype))
        if isinstance(source, np.ndarray):
            return self._assign(np.asarray(source, self.dtype))
        return self._assign(dtypes.array_from_python(source, self.dtype))

    def __setitem__(self, index, value):
        self._check_inplace()
        index = _unwrap_index(index)
        if not isinstance(value, (Tensor, np.ndarray)):
            value = dtypes.array_from_python(value, self.dtype)  # Python numbers: checked
        if isinstance(value, Tensor) and value.device != self.device and value.ndim:
            raise DeviceError(f"setitem: the value is on {value.device} but the tensor is on "
                              f"{self.device}; move one with .to() first")
        value_requires_grad = isinstance(value, Tensor) and value.requires_grad
        if autograd.is_grad_enabled() and (self.requires_grad or value_requires_grad):
            # Recorded as out = where(window, value spread into place, self): gradients flow
            # to `value` inside the window and to the old contents outside it, as in PyTorch.
            if _is_advanced(index):
                raise DualgraphError("assigning through an array index is not differentiable "
                                     "here; use a basic index (ints, slices)")
            window = np.zeros(self.shape, bool)
            window[index] = True
            window = placed(Tensor(window), self.device)  # (a Python number's too, below)
            shape = self._array[index].shape
            value = value if isinstance(value, Tensor) else placed(
                Tensor(np.asarray(value, self.dtype)), self.device)
            spread = F.slice_grad(F.broadcast_to(F.cast(value, self.dtype), shape), index,
                                  self.shape)
            self._assign(F.where(window, spread, self._original()))
            return
        if isinstance(value, Tensor):  # (a 0-d value on another device: through the host)
            value = value._array if value.device == self.device else host_copy(value._array)
        self._array[index] = value
        self._version[0] += 1

    # -- indexing and shape ----------------------------------------------------------------------

    def __getitem__(self, index):
        index = _unwrap_index(index)
        if _is_advanced(index):
            return _advanced_index(self, index)
        return F.getitem(self, index)

    def reshape(self, *shape):
        return F.reshape(self, _shape_args(shape))

    def view(self, *shape):
        if not self._array.flags.c_contiguous:
            raise RuntimeError("view size is not compatible with input tensor's size and "
                               "stride; use .reshape(...) instead")
        return F.reshape(self, _shape_args(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % self.ndim, end_dim % self.ndim
        shape = self.shape[:start] + (-1,) + self.shape[end + 1:]
        return self.reshape(shape)

    def permute(self, *dims):
        return F.permute(self, *dims)

    def transpose(self, dim0: int, dim1: int):
        return F.swapaxes(self, dim0, dim1)

    def t(self):
        """This matrix transposed (0-D and 1-D: as it is); more dimensions raise, as in
        PyTorch (`eager.maths.t`)."""
        from eager.maths import t

        return t(self)

    def squeeze(self, dim=None):
        return F.squeeze(self, dim)

    def unsqueeze(self, dim: int):
        return F.unsqueeze(self, dim)

    def expand(self, *sizes):
        """A read-only view stretched to `sizes`: -1 keeps a dimension's size, new leading
        dimensions may be added (not as -1), size-1 dimensions stretch.

        >>> import eager
        >>> eager.tensor([[1], [2]]).expand(2, -1, 3).shape
        (2, 2, 3)
        """
        sizes = _shape_args(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ShapeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                             f"greater or equal to the number of dimensions in the tensor "
                             f"({self.ndim})")
        if -1 in sizes[:lead]:
            raise ShapeError(f"expand: the expanded size of the tensor (-1) isn't allowed in a "
                             f"leading, non-existing dimension {sizes.index(-1)} (sizes "
                             f"{sizes}, tensor shape {self.shape})")
        target = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return F.broadcast_to(self, target)

    def expand_as(self, other):
        return F.broadcast_to(self, other.shape)

    def split(self, split_size_or_sections, dim: int = 0):
        """Views of consecutive pieces along `dim`: `split_size` long each (the last may be
        shorter), or as long as the sizes in a list.

        >>> import eager
        >>> [piece.tolist() for piece in eager.arange(5).split(2)]
        [[0, 1], [2, 3], [4]]
        """
        size = split_size_or_sections
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool):
            if isinstance(size, (list, tuple)) and any(
                    isinstance(s, (int, np.integer)) and s < 0 for s in size):
                raise ArgumentError(f"split_with_sizes expects split_sizes have only "
                                    f"non-negative entries, but got split_sizes={list(size)}")
            return F.split(self, size, dim)
        total = self._length_to_split("split", dim)
        if size < 0:
            raise ArgumentError(f"split expects split_size be non-negative, but got "
                                f"split_size={size}")
        if size == 0 and total:
            raise ArgumentError(f"split_size can only be 0 if dimension size is 0, but "
                                f"dimension {dim} has size {total}")
        if total == 0:
            return F.split(self, [0], dim)  # one empty piece, as in PyTorch
        size = int(size)
        return F.split(self, [size] * (total // size) + ([total % size] if total % size
                                                          else []), dim)

    def chunk(self, chunks: int, dim: int = 0):
        """At most `chunks` views along `dim`, all of one size but perhaps the last.

        >>> import eager
        >>> [piece.tolist() for piece in eager.arange(5).chunk(2)]
        [[0, 1, 2], [3, 4]]
        """
        total = self._length_to_split("chunk", dim)
        if not isinstance(chunks, (int, np.integer)) or isinstance(chunks, bool) or chunks <= 0:
            raise ArgumentError(f"chunk expects `chunks` to be an int greater than 0, got: "
                                f"{chunks!r}")
        if total == 0:
            return F.split(self, [0] * int(chunks), dim)
        return self.split(-(-total // int(chunks)), dim)

    def _length_to_split(self, function: str, dim) -> int:
        if self.ndim == 0:
            raise ShapeError(f"{function} expects at least a 1-dimensional tensor")
        return self.shape[normalize_axis(dim, self.ndim, function)]

    # -- reductions -------------------------------------------------------------------------------

    def sum(self, dim=None, keepdim=False, dtype=None):
        if dim is None and dtype is None and type(keepdim) is bool:  # the loss's sum, say
            return _run(_SUM_ALL[keepdim], [self], [self._array], self.requires_grad)
        x = self if dtype is None else F.cast(self, dtype)
        return F.sum(x, _dims(dim), keepdim)

    def mean(self, dim=None, keepdim=False):
        return F.mean(self, _dims(dim), keepdim)

    def prod(self, dim=None, keepdim=False):
        return F.prod(self, _dims(dim), keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """Variance over `dim` (None: all), divided by n - correction: 1 by default (the
        unbiased estimate), 0 with unbiased=False. PyTorch's overloads: var(dim, unbiased,
        keepdim), var(unbiased) and var(dim, *, correction, keepdim).

        >>> import eager
        >>> x = eager.tensor([1.0, 2.0, 3.0, 4.0])
        >>> x.var().item(), x.var(False).item(), x.var(0, correction=0).item()
        (1.6666666269302368, 1.25, 1.25)
        """
        if isinstance(dim, (bool, np.bool_)):  # var(unbiased): the overload without dim
            if unbiased is not None:
                raise TypeError(f"var(): unbiased given twice ({dim!r} and {unbiased!r})")
            dim, unbiased = None, bool(dim)
        if correction is None:
            correction = 0 if unbiased is not None and not unbiased else 1
        elif unbiased is not None:
            raise TypeError("var(): give unbiased or correction, not both")
        return F.var(self, _dims(dim), keepdim, correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """Standard deviation: the square root of `var` with the same arguments."""
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def logsumexp(self, dim, keepdim=False):
        return F.logsumexp(self, _dims(dim), keepdim)

    def max(self, dim=None, keepdim=False):
        if dim is None:
            return F.max(self)
        if isinstance(dim, Tensor):
            return F.maximum(self, dim)
        return _MaxResult(F.max(self, dim, keepdim), F.argmax(self, dim, keepdim))

    def min(self, dim=None, keepdim=False):
        if dim is None:
            return F.min(self)
        if isinstance(dim, Tensor):
            return F.minimum(self, dim)
        return _MinResult(F.min(self, dim, keepdim), F.argmin(self, dim, keepdim))

    def amax(self, dim=None, keepdim=False):
        return F.max(self, _dims(dim), keepdim)

    def amin(self, dim=None, keepdim=False):
        return F.min(self, _dims(dim), keepdim)

    def argmax(self, dim=None, keepdim=False):
        return F.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return F.argmin(self, dim, keepdim)

    def softmax(self, dim: int):
        return F.softmax(self, dim)

    def log_softmax(self, dim: int):
        return F.log_softmax(self, dim)

    # -- elementwise ----------------------------------------------------------------------------

    def clamp(self, min=None, max=None):
        """Values limited to [min, max]; either bound may be None (open), a number or a tensor
        that broadcasts (and gets gradients where it binds). min > max gives max everywhere,
        NaN stays NaN; the dtype promotes with the bounds, as in PyTorch.

        >>> import eager
        >>> eager.arange(5).clamp(min=2).tolist(), eager.arange(4).clamp(eager.tensor(1), 2)
        ([2, 2, 2, 3, 4], tensor([1, 1, 2, 2]))
        """
        if min is None and max is None:
            raise ArgumentError("clamp: at least one of 'min' or 'max' must not be None")
        if isinstance(min, (Tensor, np.ndarray)) or isinstance(max, (Tensor, np.ndarray)):
            return F.clip_between(self, min, max)
        return F.clip(self, min, max)

    clip = clamp

    def pow(self, exponent):
        return F.pow(self, exponent)

    def to(self, *args, **kwargs) -> Tensor:
        """This tensor with another dtype (on another device, once there is one): `to(dtype)`,
        `to(device)`, `to(device, dtype)`, `to(other)` for other's dtype and device, and the
        keywords `dtype`, `device`, `copy` and `non_blocking`. As in PyTorch, `self` itself
        comes back when nothing changes, unless `copy=True`; a conversion is recorded for
        autograd like any op.

        >>> import eager
        >>> x = eager.tensor([1, 2])
        >>> x.to("cpu") is x, x.to(eager.float64).dtype, x.to(eager.ones(1)).dtype
        (True, dtype('float64'), dtype('float32'))
        """
        dtype, device, copy = _to_arguments(args, kwargs)
        result = self if dtype is None else F.cast(self, dtype)
        if device is not None and resolved(device) != self.device:
            # A copy on the other device, recorded for autograd: the gradient comes back to
            # this tensor's device.
            return bind(cached_op(ToDevice, resolved(device), self.device), result)
        return result.clone() if copy and result is self else result

    def cpu(self) -> Tensor:
        """This tensor if it is on the CPU, else a copy there.

        >>> import eager
        >>> x = eager.ones(2)
        >>> x.cpu() is x
        True
        """
        return self.to(cpu)

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        """A copy on a GPU ('cuda', or `device`: an index, 'cuda:1' or a device), or this tensor
        if it is there already; a DeviceError says why where no GPU can be used."""
        if device is None:
            device = "cuda"
        elif isinstance(device, int) and not isinstance(device, bool):
            device = f"cuda:{device}"
        target = _check_device(device)
        if target.type != "cuda":
            raise DeviceError(f"cuda(): expected a cuda device, got {str(target)!r}")
        return self.to(target)

    def type(self, dtype=None, non_blocking: bool = False):
        """Without `dtype`, PyTorch's name of this tensor's type ('torch.FloatTensor': the
        names PyTorch code compares against); with one (a dtype, or such a name), this tensor
        converted to it, or `self` when it already has it.

        >>> import eager
        >>> x = eager.tensor([1.5])
        >>> x.type(), x.type("torch.LongTensor").tolist(), x.type(eager.float32) is x
        ('torch.FloatTensor', [1], True)
        """
        if dtype is None:
            return _TYPE_NAMES[self._array.dtype]
        return F.cast(self, _dtype_of_type(dtype))

    def type_as(self, other) -> Tensor:
        """This tensor converted to `other`'s dtype (`self` when it already has it)."""
        if not isinstance(other, Tensor):
            raise TypeError(f"type_as(): argument 'other' must be Tensor, not "
                            f"{type(other).__name__}")
        return F.cast(self, other._array.dtype)

    def float(self):
        return F.cast(self, dtypes.float32)

    def double(self):
        return F.cast(self, dtypes.float64)

    def half(self):
        raise DTypeError("half(): float16 is not supported; dualgraph's dtypes are "
                         f"{', '.join(str(d) for d in dtypes.ALL)}")

    def long(self):
        return F.cast(self, dtypes.int64)

    def int(self):
        return F.cast(self, dtypes.int32)

    def bool(self):
        return F.cast(self, dtypes.bool_)

    # gather, scatter(_), scatter_add(_), index_select, masked_fill(_), where, nonzero, sort,
    # argsort, topk, cumsum, cumprod, flip, roll, tril and triu: see eager/indexing.py.

    # -- operators ------------------------------------------------------------------------------

    # __add__, __sub__ and __mul__ are made by _arithmetic below the class.
    __radd__ = lambda self, other: F.add(other, self)  # noqa: E731
    __rsub__ = lambda self, other: F.sub(other, self)  # noqa: E731
    __rmul__ = lambda self, other: F.mul(other, self)  # noqa: E731
    __truediv__ = lambda self, other: F.div(self, other)  # noqa: E731
    __rtruediv__ = lambda self, other: F.div(other, self)  # noqa: E731
    __pow__ = lambda self, other: F.pow(self, other)  # noqa: E731
    __rpow__ = lambda self, other: F.pow(other, self)  # noqa: E731
    __rmatmul__ = lambda self, other: F.matmul(other, self)  # noqa: E731
    __neg__ = lambda self: F.neg(self)  # noqa: E731
    __pos__ = lambda self: self  # noqa: E731
    __abs__ = lambda self: F.abs(self)  # noqa: E731
    __eq__ = lambda self, other: F.eq(self, other)  # noqa: E731
    __ne__ = lambda self, other: F.ne(self, other)  # noqa: E731
    __lt__ = lambda self, other: F.lt(self, other)  # noqa: E731
    __le__ = lambda self, other: F.le(self, other)  # noqa: E731
    __gt__ = lambda self, other: F.gt(self, other)  # noqa: E731
    __ge__ = lambda self, other: F.ge(self, other)  # noqa: E731

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __invert__(self):
        if self.dtype != dtypes.bool_:
            raise TypeError("~ is defined for bool tensors only")
        return F.eq(self, False)

    # //, %, &, |, ^, their reflected and in-place forms, and the methods floor_divide,
    # remainder, fmod, isnan, nan_to_num, logical_*, isclose, norm, outer, bmm, unbind, repeat,
    # tile, view_as, ...: see eager/maths.py.


_UNARY_METHODS = ["exp", "log", "log1p", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "sin",
                  "cos", "sign", "square", "reciprocal", "abs", "neg"]


def _unary_method(name):
    """The method for F.<name>, which binds its primitive to the input made float (or taken
    as it is): a float Tensor, which neither conversion changes, goes straight to the
    front-end, as Tensor methods bind straight to their kernels in PyTorch."""
    function = getattr(F, name)
    primitive = registered(name)

    def method(self):
        data = self._array
        if data.dtype.kind == "f":
            return _run(primitive, [self], [data], self.requires_grad)
        return function(self)

    method.__name__ = name
    method.__doc__ = f"Elementwise {name} (see framework.ops.functions.{name})."
    return method


for _name in _UNARY_METHODS:
    setattr(Tensor, _name, _unary_method(_name))


def _binary_method(name):
    function = getattr(F, name)

    def method(self, other):
        return function(self, other)

    method.__name__ = name
    return method


for _name in ("eq", "ne", "lt", "le", "gt", "ge", "maximum", "minimum"):
    setattr(Tensor, _name, _binary_method(_name))


def _arithmetic(name, primitive, function):
    """x + y, x - y, x * y, x @ y: two Tensors of one dtype go straight to the front-end (dtype
    promotion and front-end lookup, `function`'s first steps, would leave them as they are)."""

    def method(self, other):
        if isinstance(other, Tensor):
            a, b = self._array, other._array
            if a.dtype is b.dtype or a.dtype == b.dtype:
                return _run(primitive, [self, other], [a, b],
                            self.requires_grad or other.requires_grad)
        return function(self, other)

    method.__name__ = name
    return method


for _name, _op in (("__add__", "add"), ("__sub__", "sub"), ("__mul__", "mul"),
                   ("__matmul__", "matmul"), ("matmul", "matmul")):
    setattr(Tensor, _name, _arithmetic(_name, registered(_op), getattr(F, _op)))
Tensor.gelu = lambda self: F.gelu(self)
Tensor.negative = Tensor.neg


# -- helpers for PyTorch argument conventions ---------------------------------------------------


# Tensor.type()'s answers: the names PyTorch gives these dtypes' CPU tensors.
_TYPE_NAMES = {dtypes.float32: "torch.FloatTensor", dtypes.float64: "torch.DoubleTensor",
               dtypes.int32: "torch.IntTensor", dtypes.int64: "torch.LongTensor",
               dtypes.bool_: "torch.BoolTensor"}
_TYPES_BY_NAME = {name: dtype for dtype, name in _TYPE_NAMES.items()}


def _generator(generator):
    return framework_random.default_generator if generator is None else generator


def _dtype_of_type(value):
    """A dtype, or a tensor type's name ('torch.FloatTensor'), as a dtype."""
    if isinstance(value, str) and value.endswith("Tensor"):
        module, _, name = value.rpartition(".")
        if module.endswith(".cuda"):
            raise DeviceError(f"{value}: cuda tensors are not available yet; tensors live on "
                              "cpu")
        if module in ("torch", "eager") and f"torch.{name}" in _TYPES_BY_NAME:
            return _TYPES_BY_NAME[f"torch.{name}"]
        raise DTypeError(f"invalid tensor type {value!r}; the types are "
                         f"{', '.join(_TYPES_BY_NAME)}")
    return dtypes.as_dtype(value)


_TO_KEYWORDS = frozenset({"dtype", "device", "copy", "non_blocking", "memory_format"})


def _to_arguments(args: tuple, kwargs: dict) -> tuple:
    """(dtype or None, copy) from Tensor.to's arguments, in any of PyTorch's forms; a device
    other than the CPU is refused, as is anything that is neither dtype, device nor tensor."""
    unknown = set(kwargs) - _TO_KEYWORDS
    if unknown:
        raise TypeError(f"to() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    dtype, device = kwargs.get("dtype"), kwargs.get("device")
    flags = []  # non_blocking, copy: PyTorch also takes them positionally, after a dtype
    for arg in args:
        if isinstance(arg, Tensor):
            dtype, device = arg._array.dtype, arg.device
        elif isinstance(arg, bool):
            flags.append(arg)
        elif isinstance(arg, Device) or (isinstance(arg, str)
                                         and arg.partition(":")[0] in ("cpu", "cuda")):
            device = arg
        elif arg is not None:
            dtype = arg
    if len(flags) > 2:
        raise TypeError(f"to() received {len(args)} positional arguments; it takes a dtype, "
                        "device or tensor, then at most non_blocking and copy")
    copy = kwargs.get("copy", flags[1] if len(flags) == 2 else False)
    device = None if device is None else _check_device(device)
    return (None if dtype is None else dtypes.as_dtype(dtype)), device, bool(copy)


def _check_device(device) -> Device:
    """`device` ('cpu', 'cuda', 'cuda:0' or a device) as a Device; a DeviceError for anything
    that is no device, or a CUDA device where no GPU (nor numba's simulator) can be used."""
    device = as_device(device)
    if device.type == "cuda":
        allocator(device)  # says why no GPU can be used, or that this index does not exist
    return device


def resolved(device: Device) -> Device:
    """'cuda' as the GPU it means now ('cuda:0'); any other device as it is."""
    if device.type == "cuda" and device.index is None:
        return allocator(device).device
    return device


def placed(tensor: Tensor, device) -> Tensor:
    """A new CPU leaf `tensor` (a creation function's result) moved to `device` (None: left
    on the CPU), still a leaf with its own requires_grad."""
    if device is None:
        return tensor
    device = resolved(_check_device(device))
    if device == cpu:
        return tensor
    with autograd.no_grad():
        moved = tensor.to(device)
    moved.requires_grad = tensor.requires_grad
    return moved


def _dims(dim):
    if dim is None or isinstance(dim, int):
        return dim
    return tuple(dim)


def _shape_args(shape):
    if len(shape) == 1 and not isinstance(shape[0], int):
        return tuple(shape[0])
    return tuple(shape)


def _unwrap_index(index):
    if isinstance(index, Tensor):
        return index._array
    if isinstance(index, tuple):
        return tuple(i._array if isinstance(i, Tensor) else i for i in index)
    return index


def _is_advanced(index) -> bool:
    entries = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (np.ndarray, list)) for i in entries)


def _advanced_index(tensor, index):
    """x[int_tensor] / x[bool_mask] / x[:, idx]: gather along one axis (PyTorch's index)."""
    entries = index if isinstance(index, tuple) else (index,)
    arrays = [(k, np.asarray(e)) for k, e in enumerate(entries)
              if isinstance(e, (np.ndarray, list))]
    if len(arrays) != 1 or any(e is Ellipsis or e is None for e in entries):
        raise DualgraphError("only one integer/bool array index (along one axis) is supported")
    axis, array = arrays[0]
    if any(not (isinstance(e, slice) and e == slice(None)) for k, e in enumerate(entries)
           if k != axis):
        raise DualgraphError("an array index can only be combined with full slices ':'")
    if array.dtype == np.bool_:
        if array.shape != tensor.shape[axis:axis + array.ndim]:
            raise DualgraphError(f"boolean mask of shape {array.shape} does not match the "
                                 f"indexed shape {tensor.shape[axis:axis + array.ndim]}")
        if array.ndim > 1:
            flat = tensor.reshape(tensor.shape[:axis] + (-1,) + tensor.shape[axis + array.ndim:])
            return F.gather(flat, np.flatnonzero(array), axis)
        return F.gather(tensor, np.flatnonzero(array), axis)
    return F.gather(tensor, array.astype(np.int64), axis)


# -- the front-end --------------------------------------------------------------------------------


class EagerFrontend:
    """Runs each op at once and records a backward Node when a gradient may be needed."""

    name = "eager"

    def apply(self, op, args):
        # The hot path of every eager op: plain loops, local names and attribute reads.
        inputs, arrays, needs_grad, constants = [], [], False, False
        for arg in args:
            if not isinstance(arg, Tensor):  # a constant operand
                arg = (Tensor._wrap(arg, None, None, 0) if type(arg) is np.ndarray
                       and arg.dtype in _SUPPORTED else Tensor(np.asarray(arg)))
                constants = True
            inputs.append(arg)
            arrays.append(arg._array)
            if arg.requires_grad:
                needs_grad = True
        if constants:
            _constants_to_device(args, inputs, arrays)
        return self.run(op, inputs, arrays, needs_grad)

    def run(self, op, inputs: list, arrays: list, needs_grad: bool):
        """Run `op` on Tensors `inputs` (their buffers `arrays`; `needs_grad`: whether one
        requires grad) and record a node where a gradient may be needed. Tensor methods
        whose operands need no conversion call this directly."""
        spec, result = run_op(op, arrays)  # the shape rule, then the device's kernel
        state = _state
        record = needs_grad and state.grad_enabled and op.no_gradient is None
        if type(result) is tuple:
            outputs = self._outputs(op, inputs, arrays, list(spec), result, record)
        else:
            # One output, the common case: no lists, and a node only for a float result.
            out = _new_tensor(Tensor)
            out._array = result
            out.grad = out.grad_fn = out._accumulator = out._leaf_hooks = out.name = None
            out.output_nr = 0
            out._retains_grad = False
            out._version = (inputs[0]._version if op.is_view
                            and _aliases(result, arrays[0]) else [0])
            if record and result.dtype.kind == "f":
                # Frames: record_site, run, then apply or a Tensor method: all our own.
                out.grad_fn = Node(op, inputs, arrays, [spec], (out,), _edges_of(inputs),
                                   record_site(3))
                out.requires_grad = True
            else:
                out.requires_grad = False
            outputs = (out,)
        if state.anomaly and not state.in_backward:
            _check_outputs(op, outputs)
        return outputs if type(result) is tuple else outputs[0]

    @staticmethod
    def _outputs(op, inputs, arrays, specs, results, record) -> tuple:
        """The Tensors of a multi-output op, and its node when one is recorded."""
        version = inputs[0]._version if op.is_view else None
        outputs = tuple(Tensor._wrap(r, version if version is not None and _aliases(r, arrays[0])
                                     else None, None, 0) for r in results)
        if record and any(r.dtype.kind == "f" for r in results):
            node = Node(op, inputs, arrays, specs, outputs, _edges_of(inputs), record_site(4))
            for i, y in enumerate(outputs):
                if y._array.dtype.kind == "f":
                    y.grad_fn, y.output_nr, y.requires_grad = node, i, True
        return outputs


_new_tensor = object.__new__


def _unpickled_on(values, requires_grad: bool, name, device: str) -> Tensor:
    """A pickled GPU tensor, back on its device (as PyTorch restores one)."""
    tensor = Tensor._wrap(to_device(values, device), None, None, 0)
    tensor.requires_grad, tensor.name = requires_grad, name
    return tensor


def _copied(array):
    """A copy of a buffer on its own device."""
    return array.copy() if type(array) is np.ndarray else F.contiguous_copy(array)


def _constants_to_device(args, inputs: list, arrays: list) -> None:
    """Beside a tensor on a GPU, a Python number or 0-d constant (what `x * 2.0` promotes 2.0
    to) goes to that GPU, as PyTorch takes scalars with a CUDA tensor. Other host constants,
    and CPU tensors, stay where they are: the seam refuses the mix, naming both devices."""
    device = next((t.device for t in inputs if type(t._array) is not np.ndarray), None)
    if device is None:
        return
    for i, arg in enumerate(args):
        if not isinstance(arg, Tensor) and arrays[i].ndim == 0:
            arrays[i] = to_device(arrays[i], device)
            inputs[i] = Tensor._wrap(arrays[i], None, None, 0)


def _edges_of(inputs) -> list:
    """Where each input's gradient goes: its producer's (node, output), its leaf's
    AccumulateGrad, or None for an input that does not require grad."""
    edges = []
    for t in inputs:
        if not t.requires_grad:
            edges.append(None)
        elif t.grad_fn is not None:
            edges.append((t.grad_fn, t.output_nr))
        else:  # a leaf: its kept edge, read inline (every op on a parameter comes here)
            edges.append(t._accumulator or t._leaf_edge())
    return edges


def _check_outputs(op, outputs) -> None:
    """Anomaly mode: a NaN in a float output fails here, naming the op and the user's line."""
    for y in outputs:
        if y.dtype.kind == "f" and np.isnan(host_copy(y._array)).any():  # (a GPU's: a copy)
            from eager.autograd import site_text

            site = record_site()
            raise AnomalyError(f"{op.name} produced NaN at {site_text(site)}", op.name, site)


def _aliases(result: np.ndarray, source: np.ndarray) -> bool:
    if type(result) is not np.ndarray:
        return type(source) is not np.ndarray and _device_aliases(result, source)
    return result.base is not None and np.may_share_memory(result, source)


def _device_aliases(result, source) -> bool:
    """Whether two device arrays view one buffer (a device array has no NumPy `.base`)."""
    if framework_device._simulated():  # the simulator's arrays wrap NumPy arrays
        return np.may_share_memory(result._ary, source._ary)
    return framework_device._buffer_owner(result) is framework_device._buffer_owner(source)


_EAGER = EagerFrontend()
_run = _EAGER.run
register_frontend(Tensor, _EAGER)
