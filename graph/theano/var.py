"""Theano's symbolic variables, on the graph front-end's Tensors.

A `TensorVariable` wraps one graph `Tensor` (its `tensor`) and gives it Theano's face: a
`TensorType` (dtype and broadcastable pattern), `x.shape` as a *symbolic* int64 vector (the
graph Tensor's `shape` is the static one), Theano's operators and methods (`x.sum()`, `x.T`,
`x.dimshuffle(1, 'x', 0)`, `x[T.arange(n), y]`...), and `eval`. Every result is another
TensorVariable on the same Graph, so TensorFlow 1 code and Theano code can share one graph.

A `SharedVariable` is a graph `Variable` whose value lives in one hidden Session per graph,
shared by every Theano function of that graph: `theano.shared(value)` sets it at once, and
`get_value` / `set_value` read and write it there.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from framework import dtypes
from framework.errors import DualgraphError
from framework.ops import F
from graph.core import (
    GraphError,
    Tensor,
    as_array,
    constant,
    get_default_graph,
    site_of,
)
from graph.ops import Const, Placeholder
from graph.theano.configdefaults import config
from graph.theano.ops import (
    DynamicReshape,
    Slot,
    inc_subtensor_node,
    subtensor_node,
)

__all__ = ["SharedVariable", "TensorConstant", "TensorType", "TensorVariable",
           "TheanoTypeError", "as_tensor_variable", "hidden_session", "shared"]


class TheanoTypeError(DualgraphError, TypeError):
    """A value or variable of the wrong Theano type (dtype, number of dimensions, a shared
    variable where an input is expected...): a TypeError, as Theano raises, that names the
    user's line."""


# -- types ------------------------------------------------------------------------------------

_PATTERN_NAMES = {(): "scalar", (False,): "vector", (True, False): "row", (False, True): "col",
                  (False, False): "matrix", (False,) * 3: "3D", (False,) * 4: "4D"}


class TensorType:
    """A Theano tensor type: a dtype and a broadcastable pattern (one bool per dimension, True
    where the size is always 1). Calling it makes a new symbolic input of this type.

    >>> TensorType("float32", (False, False))
    TensorType(float32, matrix)
    >>> TensorType("float64", (True, False))("r").tensor.shape
    (1, None)
    """

    def __init__(self, dtype, broadcastable=None, shape=None):
        self.dtype = str(_supported_dtype(dtype, "TensorType"))
        if broadcastable is None and shape is not None:
            broadcastable = tuple(d == 1 for d in shape)
        if broadcastable is None:
            raise TheanoTypeError("TensorType needs a broadcastable pattern (one bool per "
                                  "dimension), e.g. TensorType('float64', (False, False))")
        self.broadcastable = tuple(bool(b) for b in broadcastable)

    @property
    def ndim(self) -> int:
        return len(self.broadcastable)

    @property
    def numpy_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def __call__(self, name=None) -> TensorVariable:
        shape = tuple(1 if b else None for b in self.broadcastable)
        op_name = _op_name(name, "input")
        tensor = _placeholder(self.numpy_dtype, shape, op_name)
        return TensorVariable(tensor, name, self)

    def __eq__(self, other) -> bool:
        return isinstance(other, TensorType) and (self.dtype, self.broadcastable) == (
            other.dtype, other.broadcastable)

    def __hash__(self) -> int:
        return hash((TensorType, self.dtype, self.broadcastable))

    def __repr__(self) -> str:
        pattern = _PATTERN_NAMES.get(self.broadcastable, str(self.broadcastable))
        return f"TensorType({self.dtype}, {pattern})"

    __str__ = __repr__

    def filter(self, data, strict: bool = False, allow_downcast=None) -> np.ndarray:
        """`data` as an array of this type, by Theano's rules for function inputs.

        Without `allow_downcast` (None), an array is taken only where this dtype holds every
        value of the array's dtype (an int64 array into a float32 input is refused), a Python
        float may become floatX, and other data (lists, Python numbers) only where the
        conversion keeps every value. `allow_downcast=True` converts whatever the precision;
        False refuses Python floats' downcast too. `strict` takes only arrays of this dtype.

        >>> TensorType("float32", (False,)).filter([1.0, 2.5]).dtype
        dtype('float32')
        >>> try:
        ...     TensorType("float32", (False,)).filter(np.array([1.0]))
        ... except TypeError as error:
        ...     print(error.problem.split(" without")[0])
        TensorType(float32, vector) cannot store a value of dtype float64
        """
        if isinstance(data, (TensorVariable, Tensor)):
            raise TheanoTypeError(
                "Expected an array-like object, but found a Variable: maybe you are trying to "
                "call a function on a (possibly shared) variable instead of a numeric array?")
        dtype = self.numpy_dtype
        if strict:
            if not isinstance(data, np.ndarray) or data.dtype != dtype:
                given = getattr(data, "dtype", type(data).__name__)
                raise TheanoTypeError(f"{self} expected an ndarray of dtype {self.dtype} "
                                      f"(strict), got {given}")
            array = data
        elif isinstance(data, np.ndarray) and data.dtype == dtype:
            array = data
        else:
            array = _as_numeric_array(data, self)
            if allow_downcast:
                array = array.astype(dtype)
            elif isinstance(data, np.ndarray):
                if np.promote_types(dtype, array.dtype) != dtype:
                    raise TheanoTypeError(
                        f"{self} cannot store a value of dtype {array.dtype} without risking "
                        f"loss of precision. If you do not mind this loss, you can: 1) "
                        f"explicitly cast your data to {self.dtype}, or 2) set "
                        f"\"allow_input_downcast=True\" when calling \"function\".")
                array = array.astype(dtype)
            elif (allow_downcast is None and isinstance(data, (float, np.floating))
                  and self.dtype == config.floatX):
                array = array.astype(dtype)
            else:
                converted = array.astype(dtype)
                if not _same_values(array, converted):
                    text = str(data)
                    text = text[:75] + "(...)" if len(text) > 80 else text
                    raise TheanoTypeError(
                        f"{self} cannot store accurately value {text}, it would be represented "
                        f"as {converted}. If you do not mind this precision loss, you can: 1) "
                        f"explicitly convert your data to a numpy array of dtype {self.dtype}, "
                        f"or 2) set \"allow_input_downcast=True\" when calling \"function\".")
                array = converted
        if array.ndim != self.ndim:
            raise TheanoTypeError(f"Wrong number of dimensions: expected {self.ndim}, got "
                                  f"{array.ndim} with shape {array.shape}.")
        for axis, (size, broadcastable) in enumerate(zip(array.shape, self.broadcastable)):
            if broadcastable and size != 1:
                raise TheanoTypeError(f"Non-unit value on shape on a broadcastable dimension: "
                                      f"axis {axis} of {self} must have size 1, the value has "
                                      f"shape {array.shape}")
        return array

    def make_variable(self, name=None) -> TensorVariable:
        return self(name)


def _as_numeric_array(data, what) -> np.ndarray:
    try:
        array = as_array(data, f"{what}: value")
    except (GraphError, TypeError, ValueError) as error:
        raise TheanoTypeError(f"{what} cannot store {data!r}: "
                              f"{getattr(error, 'problem', error)}") from None
    if array.dtype.kind not in "biuf":
        raise TheanoTypeError(f"{what} cannot store a value of dtype {array.dtype} "
                              f"({type(data).__name__})")
    return array


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    with np.errstate(invalid="ignore", over="ignore"):
        equal = a == b
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            equal |= np.isnan(a) & np.isnan(b)
    return bool(np.all(equal))


def _supported_dtype(dtype, what) -> np.dtype:
    try:
        return dtypes.as_dtype(dtype)
    except DualgraphError:
        raise TheanoTypeError(f"{what}: dtype {dtype!r} is not supported by the graph "
                              "front-end, which has bool, int32, int64, float32 and float64"
                              ) from None


def _op_name(name, default: str) -> str:
    """A graph op name for a Theano name (any string): characters a graph name cannot carry
    (':' separates a tensor's output index) become '_'."""
    if not name:
        return default
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "_" for c in str(name))
    return cleaned.lstrip("_.-") or default


def _placeholder(dtype, shape, name) -> Tensor:
    graph = get_default_graph()
    return graph.add_operation(Placeholder(), [], name=name,
                               attrs={"shape": shape, "dtype": dtype}).outputs[0]


# -- conversions ------------------------------------------------------------------------------


def _graph_of(*values):
    for value in values:
        if isinstance(value, TensorVariable):
            return value.tensor.graph
        if isinstance(value, Tensor):
            return value.graph
    return get_default_graph()


def as_tensor_variable(x, name=None, ndim=None) -> TensorVariable:
    """`x` as a TensorVariable: itself, a graph Tensor wrapped, or a constant (Python floats
    become floatX, Python ints int64, arrays keep their dtype).

    >>> as_tensor_variable(1.5).dtype
    'float64'
    """
    if isinstance(x, TensorVariable):
        result = x
    elif isinstance(x, Tensor):
        result = TensorVariable(x)
    else:
        result = TensorConstant(_constant_tensor(x, name=name), name)
    if ndim is not None and result.ndim != ndim:
        raise TheanoTypeError(f"as_tensor_variable: {result} has {result.ndim} dimensions, "
                              f"{ndim} were asked for")
    return result


def _constant_tensor(value, dtype=None, name=None, graph=None) -> Tensor:
    if isinstance(value, (TensorVariable, Tensor)):
        raise TheanoTypeError(f"constant() takes a value, got the variable {value}")
    if dtype is None:
        dtype = _natural_dtype(value)
    else:
        dtype = _supported_dtype(dtype, "constant")
    array = as_array(value, "constant")
    if array.dtype.kind not in "biuf":
        raise TheanoTypeError(f"cannot make a constant of {value!r}: not a number or array of "
                              "numbers")
    return constant(array.astype(dtype), name=_op_name(name, "Const"),
                    graph=graph if graph is not None else get_default_graph())


def _natural_dtype(value) -> np.dtype:
    """The dtype Theano gives a Python value: floats floatX, ints int64, bools bool; arrays
    keep theirs (if supported)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return _supported_dtype(value.dtype, "constant")
    array = as_array(value, "constant")
    if array.dtype.kind == "f":
        return np.dtype(config.floatX)
    if array.dtype.kind in "iu":
        return dtypes.int64
    return _supported_dtype(array.dtype, "constant")


def tensor_of(x, graph=None) -> Tensor | int | float | bool:
    """The graph Tensor behind `x` (a TensorVariable, a Tensor, an array or a list); a Python
    number is left as it is, for the ops to promote weakly."""
    if isinstance(x, TensorVariable):
        return x.tensor
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        return x
    return _constant_tensor(x, graph=graph)


def tensor_strict(x, graph=None) -> Tensor:
    """`tensor_of`, with Python numbers made constants too (of Theano's dtypes)."""
    if isinstance(x, TensorVariable):
        return x.tensor
    if isinstance(x, Tensor):
        return x
    return _constant_tensor(x, graph=graph)


def binary_operands(a, b):
    """The graph operands of a binary op. A Python float meeting an integer or bool tensor
    becomes a floatX constant (Theano computes int * 0.5 in floats); other Python numbers stay
    weak, taking the tensor's dtype."""
    graph = _graph_of(a, b)
    left, right = tensor_of(a, graph), tensor_of(b, graph)
    if isinstance(left, float) and isinstance(right, Tensor) and right.dtype.kind != "f":
        left = _constant_tensor(left, graph=graph)
    if isinstance(right, float) and isinstance(left, Tensor) and left.dtype.kind != "f":
        right = _constant_tensor(right, graph=graph)
    if not isinstance(left, Tensor) and not isinstance(right, Tensor):
        left = _constant_tensor(left, graph=graph)
    return left, right


def wrap(result):
    """Graph results as TensorVariables (tuples and lists element by element)."""
    if isinstance(result, Tensor):
        return TensorVariable(result)
    if isinstance(result, (tuple, list)):
        return type(result)(wrap(r) for r in result)
    return result


def _int_or_symbolic(value, what):
    """An index or size: an int stays an int; a 0-d integer variable becomes its Tensor."""
    if isinstance(value, (bool, np.bool_)):
        raise TheanoTypeError(f"{what} must be an integer, got the bool {value}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (TensorVariable, Tensor)):
        tensor = value.tensor if isinstance(value, TensorVariable) else value
        if tensor.dtype.kind not in "iu" or tensor.shape.ndims != 0:
            raise TheanoTypeError(f"{what} must be an integer scalar, got {value} of dtype "
                                  f"{tensor.dtype} and shape {tensor.shape}")
        return tensor
    raise TheanoTypeError(f"{what} must be an int or an integer scalar variable, got "
                          f"{type(value).__name__} {value!r}")


# -- variables --------------------------------------------------------------------------------


class TensorVariable:
    """A symbolic tensor of the Theano API: a graph Tensor with Theano's type, operators and
    methods. `x.shape` is symbolic (`x.shape[0]` is an int64 scalar the graph computes);
    `x.tensor` is the graph Tensor, for TensorFlow 1 code on the same graph.

    >>> import graph as tf
    >>> import graph.theano.tensor as T
    >>> with tf.Graph().as_default():
    ...     x = T.matrix("x")
    ...     print(x.type, (x * 2).sum(axis=1).ndim, x.T.dimshuffle(0, "x", 1).ndim)
    TensorType(float64, matrix) 1 3
    """

    __slots__ = ("tensor", "name", "_type", "_subtensor", "_evals", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, tensor: Tensor, name=None, type=None):  # noqa: A002  (Theano's name)
        if not isinstance(tensor, Tensor):
            raise TheanoTypeError(f"TensorVariable wraps a graph Tensor, got {tensor!r}")
        self.tensor = tensor
        self.name = name
        self._type = type
        self._subtensor = None  # (base, template, slots) where made by indexing
        self._evals = None

    # -- what it is ----------------------------------------------------------------------------

    @property
    def type(self) -> TensorType:
        if self._type is None:
            self._type = TensorType(self.tensor.dtype, tuple(d == 1 for d in self._static()))
        return self._type

    def _static(self) -> tuple:
        shape = self.tensor.shape
        if shape.ndims is None:
            raise GraphError(f"{self} has an unknown number of dimensions, which the Theano "
                             "API needs; give the graph tensor a shape (tensor.set_shape)")
        return tuple(shape)

    @property
    def dtype(self) -> str:
        return str(self.tensor.dtype)

    @property
    def ndim(self) -> int:
        return len(self._static())

    @property
    def broadcastable(self) -> tuple:
        return self.type.broadcastable

    @property
    def owner(self):
        """The graph Operation that computes it; None for an input, a shared variable or a
        constant (what Theano calls a graph's roots)."""
        op = self.tensor.op
        if isinstance(op.kind, (Placeholder, Const)) or op.kind.is_variable:
            return None
        return op

    @property
    def shape(self) -> TensorVariable:
        """The shape as a symbolic int64 vector, computed when the graph runs."""
        return TensorVariable(F.shape_of(self.tensor, dtypes.int64))

    @property
    def size(self) -> TensorVariable:
        return TensorVariable(F.prod(F.shape_of(self.tensor, dtypes.int64)))

    @property
    def T(self) -> TensorVariable:  # noqa: N802  (Theano's name)
        return self.transpose()

    def __repr__(self) -> str:
        if self.name:
            return str(self.name)
        return f"<{self.type} {self.tensor.name!r}>" if self.tensor.shape.ndims is not None \
            else f"<TensorVariable {self.tensor.name!r}>"

    __str__ = __repr__

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self):
        raise TheanoTypeError("Variables do not support boolean operations: the value exists "
                              "only when a theano.function runs. Use T.switch or "
                              "theano.ifelse.ifelse to choose inside the graph")

    def __iter__(self):
        raise TheanoTypeError("TensorType does not support iteration. Maybe you are using "
                              "builtins.sum instead of theano.tensor.sum? (Maybe .max?)")

    # -- arithmetic ----------------------------------------------------------------------------

    def __add__(self, other):
        return wrap(F.add(*binary_operands(self, other)))

    def __radd__(self, other):
        return wrap(F.add(*binary_operands(other, self)))

    def __sub__(self, other):
        return wrap(F.sub(*binary_operands(self, other)))

    def __rsub__(self, other):
        return wrap(F.sub(*binary_operands(other, self)))

    def __mul__(self, other):
        return wrap(F.mul(*binary_operands(self, other)))

    def __rmul__(self, other):
        return wrap(F.mul(*binary_operands(other, self)))

    def __truediv__(self, other):
        return true_div(self, other)

    def __rtruediv__(self, other):
        return true_div(other, self)

    def __floordiv__(self, other):
        return wrap(F.floor_divide(*binary_operands(self, other)))

    def __rfloordiv__(self, other):
        return wrap(F.floor_divide(*binary_operands(other, self)))

    def __mod__(self, other):
        return wrap(F.remainder(*binary_operands(self, other)))

    def __rmod__(self, other):
        return wrap(F.remainder(*binary_operands(other, self)))

    def __pow__(self, other):
        return wrap(F.pow(*binary_operands(self, other)))

    def __rpow__(self, other):
        return wrap(F.pow(*binary_operands(other, self)))

    def __matmul__(self, other):
        from graph.theano.tensor import dot

        return dot(self, other)

    def __rmatmul__(self, other):
        from graph.theano.tensor import dot

        return dot(other, self)

    def __neg__(self):
        return wrap(F.neg(self.tensor))

    def __abs__(self):
        return wrap(F.abs(self.tensor))

    def __lt__(self, other):
        return wrap(F.lt(*binary_operands(self, other)))

    def __le__(self, other):
        return wrap(F.le(*binary_operands(self, other)))

    def __gt__(self, other):
        return wrap(F.gt(*binary_operands(self, other)))

    def __ge__(self, other):
        return wrap(F.ge(*binary_operands(self, other)))

    def __and__(self, other):
        return _logical(F.logical_and, "&", self, other)

    __rand__ = __and__

    def __or__(self, other):
        return _logical(F.logical_or, "|", self, other)

    __ror__ = __or__

    def __xor__(self, other):
        return _logical(F.logical_xor, "^", self, other)

    __rxor__ = __xor__

    def __invert__(self):
        if self.tensor.dtype != np.bool_:
            raise TheanoTypeError(f"~ is defined here on bool tensors only; {self} has dtype "
                                  f"{self.dtype}")
        return wrap(F.logical_not(self.tensor))

    # -- indexing ------------------------------------------------------------------------------

    def __getitem__(self, index):
        base = self.tensor
        template, slots, symbolic = _index_template(index, base.graph)
        if symbolic:
            result = TensorVariable(subtensor_node(base, template, slots))
        else:
            result = TensorVariable(F.getitem(base, template))
        result._subtensor = (base, template, slots)
        return result

    # -- methods -------------------------------------------------------------------------------

    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        from graph.theano.tensor import sum as sum_

        return sum_(self, axis, dtype, keepdims, acc_dtype)

    def mean(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        from graph.theano.tensor import mean

        return mean(self, axis, dtype, keepdims, acc_dtype)

    def max(self, axis=None, keepdims=False):
        from graph.theano.tensor import max as max_

        return max_(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        from graph.theano.tensor import min as min_

        return min_(self, axis, keepdims)

    def prod(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        from graph.theano.tensor import prod

        return prod(self, axis, dtype, keepdims, acc_dtype)

    def var(self, axis=None, ddof=0, keepdims=False):
        from graph.theano.tensor import var

        return var(self, axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        from graph.theano.tensor import std

        return std(self, axis, ddof=ddof, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        from graph.theano.tensor import argmax

        return argmax(self, axis, keepdims)

    def argmin(self, axis=None, keepdims=False):
        from graph.theano.tensor import argmin

        return argmin(self, axis, keepdims)

    def norm(self, L, axis=None, keepdims=False):  # noqa: N803  (Theano's name)
        from graph.theano.tensor import abs_, sqr, sqrt

        if L == 1:
            return abs_(self).sum(axis=axis, keepdims=keepdims)
        if L == 2:
            return sqrt(sqr(self).sum(axis=axis, keepdims=keepdims))
        return (abs_(self) ** L).sum(axis=axis, keepdims=keepdims) ** (1.0 / L)

    def dot(self, other):
        from graph.theano.tensor import dot

        return dot(self, other)

    def transpose(self, *axes):
        from graph.theano.tensor import transpose

        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = tuple(axes[0])
        return transpose(self, axes or None)

    def dimshuffle(self, *pattern):
        from graph.theano.tensor import dimshuffle

        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return dimshuffle(self, pattern)

    def reshape(self, shape, ndim=None):
        from graph.theano.tensor import reshape

        return reshape(self, shape, ndim)

    def flatten(self, ndim=1, outdim=None):
        from graph.theano.tensor import flatten

        return flatten(self, ndim if outdim is None else outdim)

    def astype(self, dtype):
        from graph.theano.tensor import cast

        return cast(self, dtype)

    def clip(self, a_min, a_max):
        from graph.theano.tensor import clip

        return clip(self, a_min, a_max)

    def copy(self, name=None):
        from graph.gradients import identity

        return TensorVariable(identity(self.tensor), name)

    def round(self, mode=None):
        from graph.theano.tensor import round as round_

        return round_(self, mode)

    def sort(self, axis=-1, kind="quicksort", order=None):
        from graph.theano.tensor import sort

        return sort(self, axis, kind, order)

    def argsort(self, axis=-1, kind="quicksort", order=None):
        from graph.theano.tensor import argsort

        return argsort(self, axis, kind, order)

    def repeat(self, repeats, axis=None):
        from graph.theano.tensor import repeat

        return repeat(self, repeats, axis)

    def nonzero(self, return_matrix=False):
        from graph.theano.tensor import nonzero

        return nonzero(self, return_matrix)

    def squeeze(self):
        from graph.theano.tensor import squeeze

        return squeeze(self)

    def eval(self, inputs_to_values=None):
        """The value of this variable, computing what it needs; `inputs_to_values` maps the
        inputs it depends on to values. The function is made once per set of inputs.

        >>> import graph as tf
        >>> import graph.theano.tensor as T
        >>> with tf.Graph().as_default():
        ...     x = T.dvector("x")
        ...     print((x * 2).eval({x: [1.0, 2.0]}))
        [2. 4.]
        """
        from graph.theano.function_module import function

        inputs_to_values = dict(inputs_to_values or {})
        keys = list(inputs_to_values)
        if self._evals is None:
            self._evals = {}
        key = tuple(id(k) for k in keys)
        compiled = self._evals.get(key)
        if compiled is None:
            compiled = self._evals[key] = (function(keys, self), keys)
        return compiled[0](*(inputs_to_values[k] for k in compiled[1]))


def true_div(a, b) -> TensorVariable:
    """a / b; integer and bool operands divide as float64, as in Theano."""
    left, right = binary_operands(a, b)
    if all(not isinstance(v, Tensor) or v.dtype.kind in "biu" for v in (left, right)):
        left = F.cast(left, dtypes.float64) if isinstance(left, Tensor) else float(left)
        right = F.cast(right, dtypes.float64) if isinstance(right, Tensor) else float(right)
    return wrap(F.div(left, right))


def _logical(function, symbol, a, b):
    left, right = binary_operands(a, b)
    for value in (left, right):
        if isinstance(value, Tensor) and value.dtype != np.bool_:
            raise TheanoTypeError(f"{symbol} is defined here on bool tensors only (Theano's "
                                  f"bitwise ops on integers are not built); got dtype "
                                  f"{value.dtype}")
    return wrap(function(left, right))


def _index_template(index, graph):
    """(template, slot tensors, whether any part is symbolic) for a Python index: symbolic
    scalars, slice bounds and integer arrays (variables, NumPy arrays, lists) become slots."""
    parts = index if isinstance(index, tuple) else (index,)
    slots: list = []
    symbolic = False

    def slot(value, what, scalar_only):
        nonlocal symbolic
        tensor = value.tensor if isinstance(value, TensorVariable) else value
        if not isinstance(tensor, Tensor):
            array = as_array(value, "index")
            if array.dtype == np.bool_:
                raise TheanoTypeError("boolean mask indexing is not built in the graph "
                                      "front-end's Theano API; use T.switch, or the indices "
                                      "of the True entries")
            if array.dtype.kind not in "iu":
                raise TheanoTypeError(f"an index must hold integers, got {value!r}")
            tensor = constant(array.astype(dtypes.int64), name="index", graph=graph)
        if tensor.dtype == np.bool_:
            raise TheanoTypeError("boolean mask indexing is not built in the graph front-end's "
                                  "Theano API; use T.switch, or the indices of the True "
                                  "entries")
        if tensor.dtype.kind not in "iu":
            raise TheanoTypeError(f"{what} must hold integers, got {value} of dtype "
                                  f"{tensor.dtype}")
        if tensor.shape.ndims is None or (scalar_only and tensor.shape.ndims != 0):
            raise TheanoTypeError(f"{what} must be an integer scalar, got {value} of shape "
                                  f"{tensor.shape}")
        slots.append(tensor)
        symbolic = True
        return Slot(len(slots))

    def bound(value):
        if value is None or (isinstance(value, (int, np.integer))
                             and not isinstance(value, (bool, np.bool_))):
            return None if value is None else int(value)
        return slot(value, "a slice bound", True)

    template = []
    for part in parts:
        if part is None or part is Ellipsis:
            template.append(part)
        elif isinstance(part, slice):
            template.append(slice(bound(part.start), bound(part.stop), bound(part.step)))
        elif isinstance(part, (bool, np.bool_)):
            raise TheanoTypeError("a bool is not an index here (NumPy would read it as a "
                                  "mask); use an int")
        elif isinstance(part, (int, np.integer)):
            template.append(int(part))
        elif isinstance(part, (TensorVariable, Tensor, np.ndarray, list)):
            template.append(slot(part, "an index", False))
        else:
            raise TheanoTypeError(f"cannot index with {type(part).__name__} {part!r}: use "
                                  "ints, slices, None, Ellipsis, integer variables or arrays")
    return tuple(template), slots, symbolic


def set_or_inc_subtensor(x, y, set_instead: bool) -> TensorVariable:
    """`x` being `t[index]`: a copy of `t` with `y` written (or added) at that index."""
    what = "set_subtensor" if set_instead else "inc_subtensor"
    if not isinstance(x, TensorVariable) or x._subtensor is None:
        raise TheanoTypeError(f"{what}: x must be the result of a subtensor operation "
                              f"(t[index]), got {x!r}")
    base, template, slots = x._subtensor
    graph = base.graph
    value = y if isinstance(y, (TensorVariable, Tensor)) else _constant_tensor(
        y, dtype=base.dtype, graph=graph)
    value = value.tensor if isinstance(value, TensorVariable) else value
    if value.dtype != base.dtype:
        if not np.can_cast(value.dtype, base.dtype, "same_kind"):
            raise TheanoTypeError(f"{what}: a value of dtype {value.dtype} cannot go into a "
                                  f"tensor of dtype {base.dtype}")
        value = F.cast(value, base.dtype)
    if value.shape.ndims is not None and x.tensor.shape.ndims is not None and \
            value.shape.ndims > x.tensor.shape.ndims:
        raise TheanoTypeError(f"{what}: y has {value.shape.ndims} dimensions, more than the "
                              f"{x.tensor.shape.ndims} of x")
    return TensorVariable(inc_subtensor_node(base, value, template, slots, set_instead))


def dynamic_reshape(tensor: Tensor, dims) -> Tensor:
    """`tensor` reshaped to `dims` (ints, -1, or int scalar Tensors)."""
    template, slots = [], []
    for d in dims:
        if isinstance(d, Tensor):
            slots.append(d)
            template.append(Slot(len(slots)))
        else:
            template.append(d)
    return tensor.graph.add_operation(DynamicReshape(), [tensor, *slots], name="Reshape",
                                      attrs={"shape": tuple(template)}).outputs[0]


class TensorConstant(TensorVariable):
    """A constant of the Theano API: `data` is its value.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     print(as_tensor_variable([1, 2]).data)
    [1 2]
    """

    __slots__ = ()

    @property
    def data(self) -> np.ndarray:
        return self.tensor.op.attrs["value"]

    value = data


# -- shared variables -------------------------------------------------------------------------

_sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_sessions_lock = threading.Lock()


def hidden_session(graph):
    """The one Session of `graph` that holds shared variables' values and runs every Theano
    function of the graph (compiling their steps)."""
    from graph.session import Session

    with _sessions_lock:
        session = _sessions.get(graph)
        if session is None:
            session = _sessions[graph] = Session(graph, compile=True)
        return session


class SharedVariable(TensorVariable):
    """A variable with a value that persists between calls of every function that uses it
    (`theano.shared`). It is a graph `Variable` (`variable`); its value lives in the graph's
    hidden Session. Its shape is fixed when it is made: `set_value` with another shape raises
    ValueError (Theano would take it; the graph's variables have static shapes).
    """

    __slots__ = ("variable", "allow_downcast")

    def __init__(self, variable, name=None, allow_downcast=None):
        super().__init__(variable, name, TensorType(variable.dtype,
                                                    (False,) * len(variable.shape)))
        self.variable = variable
        self.allow_downcast = allow_downcast

    @property
    def owner(self):
        return None

    def get_value(self, borrow=False, return_internal_type=False):
        """A copy of the current value (`borrow` is accepted; the copy is always made, which
        Theano allows)."""
        del borrow, return_internal_type
        return np.array(hidden_session(self.variable.graph).run(self.variable))

    def set_value(self, value, borrow=False):
        """Replace the value; `value` is checked as a function input of this variable's type
        is (a float64 array into a float32 variable is refused unless the variable was made
        with allow_downcast=True). Every function of the graph sees the new value."""
        del borrow
        if isinstance(value, (TensorVariable, Tensor)):
            raise TheanoTypeError(f"set_value takes a value (an array), got the symbolic {value}")
        array = self.type.filter(value, allow_downcast=self.allow_downcast)
        if array.shape != tuple(self.variable.shape):
            raise GraphError(f"set_value: {self} has shape {tuple(self.variable.shape)}, fixed "
                             f"when it was made (at {site_of(self.variable.op)}); the new value "
                             f"has shape {array.shape}. Make a new shared variable for a value "
                             "of another shape")
        hidden_session(self.variable.graph).set_variable(self.variable, array)

    def clone(self):
        return self

    def __repr__(self) -> str:
        return str(self.name) if self.name else f"<SharedVariable {self.variable.op.name!r}>"

    __str__ = __repr__


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False):
    """A SharedVariable holding `value` (a NumPy array or a Python number; its dtype is the
    value's, Python floats float64 and ints int64, as Theano's `shared`).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     w = shared(np.zeros(3), name="w")
    ...     w.set_value(np.ones(3))
    ...     print(w.get_value(), w.dtype)
    [1. 1. 1.] float64
    """
    del strict, borrow
    if isinstance(value, (TensorVariable, Tensor)):
        raise TheanoTypeError(f"shared() takes a value, not the symbolic {value}; use it as "
                              "it is, or .eval() it first")
    if not isinstance(value, (np.ndarray, np.generic, bool, int, float)):
        raise TheanoTypeError(f"No suitable SharedVariable constructor could be found for a "
                              f"{type(value).__name__}: give a NumPy array (np.asarray(value)) "
                              "or a number")
    array = np.array(value)
    if array.dtype.kind not in "biuf":
        raise TheanoTypeError(f"shared(): cannot hold a value of dtype {array.dtype}")
    array = array.astype(_supported_dtype(array.dtype, "shared"))
    from graph.variables import Variable

    graph = get_default_graph()
    with graph.as_default():
        variable = Variable(array, name=_op_name(name, "shared"),
                            trainable=array.dtype.kind == "f")
    hidden_session(graph).run(variable.initializer)
    return SharedVariable(variable, name, allow_downcast)
