"""`theano.tensor` (`import graph.theano.tensor as T`): symbolic inputs and the tensor ops of
Theano's API, each built from the shared op layer's neutral functions on the graph front-end.

Symbolic inputs: `T.scalar`, `T.vector`, `T.row`, `T.col`, `T.matrix`, `T.tensor3`,
`T.tensor4`, `T.tensor5` (dtype floatX unless given), the typed ones (`f` float32, `d` float64,
`i` int32, `l` int64: `T.fmatrix`, `T.dvector`, `T.lvector`, `T.iscalar`...) and the plurals
(`T.matrices("x", "y")`). Ops keep Theano's names and dtype rules: integer operands of float
functions (exp, log, /, mean...) compute in float64; sums of integers are int64; comparisons
give bool.

>>> import graph as tf
>>> import graph.theano.tensor as T
>>> with tf.Graph().as_default():
...     x, y = T.dmatrix("x"), T.lvector("y")
...     nll = -T.mean(T.log(T.nnet.softmax(x))[T.arange(y.shape[0]), y])
...     print(nll.eval({x: np.zeros((2, 4)), y: [1, 3]}).round(4))
1.3863
"""

from __future__ import annotations

import builtins

import numpy as np

from framework import dtypes
from framework.ops import F
from graph.api import _tensordot_axes
from graph.core import Tensor
from graph.not_built import missing_names
from graph.theano.configdefaults import config
from graph.theano.gradient import grad
from graph.theano.ops import Alloc, ARange, Slot
from graph.theano.var import (
    SharedVariable,
    TensorConstant,
    TensorType,
    TensorVariable,
    TheanoTypeError,
    _constant_tensor,
    _graph_of,
    _int_or_symbolic,
    _supported_dtype,
    as_tensor_variable,
    binary_operands,
    dynamic_reshape,
    set_or_inc_subtensor,
    tensor_of,
    tensor_strict,
    true_div,
    wrap,
)

__all__ = [  # the symbolic-input constructors are added below, where they are made
    "SharedVariable", "TensorConstant", "TensorType", "TensorVariable", "abs_", "add",
    "alloc", "and_", "arange", "argmax", "argmin", "as_tensor", "as_tensor_variable", "cast",
    "clip", "concatenate", "constant", "cos", "cumprod", "cumsum", "isinf", "isnan",
    "max_and_argmax", "squeeze", "dimshuffle", "dot", "eq", "erf", "exp",
    "flatten", "ge", "grad", "gt", "inc_subtensor", "int_div", "inv", "invert", "join", "le",
    "log", "log1p", "log2", "log10", "lt", "max", "maximum", "mean", "min", "minimum", "mod",
    "mul", "neg", "neq", "nnet", "ones", "ones_like", "or_", "outer", "pow", "prod", "reshape",
    "set_subtensor", "sgn", "shape", "shape_padleft", "shape_padright", "sigmoid", "sin",
    "sqr", "sqrt", "stack", "std", "sub", "sum", "switch", "tanh", "tensor", "transpose",
    "true_div", "var", "where", "xor", "zeros", "zeros_like",
    "all", "any", "arctan", "argsort", "ceil", "eye", "floor", "nonzero", "repeat", "roll",
    "round", "sort", "tan", "tensordot", "tile",
]


# -- symbolic inputs --------------------------------------------------------------------------

_KINDS = {"scalar": (), "vector": (False,), "row": (True, False), "col": (False, True),
          "matrix": (False, False), "tensor3": (False,) * 3, "tensor4": (False,) * 4,
          "tensor5": (False,) * 5}
_PLURALS = {"scalar": "scalars", "vector": "vectors", "row": "rows", "col": "cols",
            "matrix": "matrices", "tensor3": "tensor3s", "tensor4": "tensor4s",
            "tensor5": "tensor5s"}
_PREFIXES = {"f": "float32", "d": "float64", "i": "int32", "l": "int64"}


def _constructor(kind: str, broadcastable: tuple, fixed_dtype: str | None):
    def make(name=None, dtype=None):
        if fixed_dtype is not None and dtype is not None and dtype != fixed_dtype:
            raise TheanoTypeError(f"{make.__name__} is of dtype {fixed_dtype}; use T.{kind}"
                                  f"(name, dtype={dtype!r}) for another")
        chosen = fixed_dtype or dtype or config.floatX
        if chosen == "floatX":
            chosen = config.floatX
        return TensorType(chosen, broadcastable)(name)

    dtype_text = fixed_dtype or "floatX unless `dtype` says otherwise"
    make.__doc__ = (f"A symbolic {kind} input (broadcastable {broadcastable}) of dtype "
                    f"{dtype_text}, named `name`.")
    return make


def _plural(single):
    def make(*names, dtype=None):
        if len(names) == 1 and isinstance(names[0], int):
            names = [None] * names[0]
        variables = [single(name, dtype) if dtype is not None else single(name)
                     for name in names]
        return variables[0] if len(variables) == 1 else variables

    make.__doc__ = f"One {single.__name__} per name given (or per count, given an int)."
    return make


for _kind, _pattern in _KINDS.items():
    for _prefix, _dtype in [("", None), *_PREFIXES.items()]:
        _single = _constructor(_kind, _pattern, _dtype)
        _single.__name__ = _single.__qualname__ = _prefix + _kind
        _many = _plural(_single)
        _many.__name__ = _many.__qualname__ = _prefix + _PLURALS[_kind]
        globals()[_single.__name__] = _single
        globals()[_many.__name__] = _many
        __all__ += [_single.__name__, _many.__name__]


def tensor(dtype=None, broadcastable=None, name=None, shape=None):
    """A symbolic input of any rank: `T.tensor("float32", (False,) * 5, "x")`, or with
    PyTensor's `shape=(None, 3)` (a 1 in `shape` is broadcastable)."""
    dtype = config.floatX if dtype in (None, "floatX") else dtype
    return TensorType(dtype, broadcastable, shape)(name)


as_tensor = as_tensor_variable


def constant(x, name=None, ndim=None, dtype=None) -> TensorConstant:
    """A constant: Python floats floatX, ints int64, arrays their own dtype (or `dtype`)."""
    result = TensorConstant(_constant_tensor(x, dtype=dtype, name=name), name)
    if ndim is not None and result.ndim != ndim:
        raise TheanoTypeError(f"constant: {x!r} has {result.ndim} dimensions, not {ndim}")
    return result


# -- elementwise ------------------------------------------------------------------------------


def _float_operand(x) -> Tensor:
    """`x` as a Tensor a float function can take: integers and bools become float64."""
    t = tensor_strict(x)
    return F.cast(t, dtypes.float64) if t.dtype.kind in "biu" else t


def _unary_float(function, doc):
    def op(x):
        return wrap(function(_float_operand(x)))

    op.__doc__ = doc
    return op


exp = _unary_float(F.exp, "e ** x, elementwise.")
log = _unary_float(F.log, "The natural logarithm, elementwise.")
log1p = _unary_float(F.log1p, "log(1 + x), accurate for small x.")
sqrt = _unary_float(F.sqrt, "The square root, elementwise.")
tanh = _unary_float(F.tanh, "The hyperbolic tangent, elementwise.")
sigmoid = _unary_float(F.sigmoid, "1 / (1 + exp(-x)), elementwise.")
sin = _unary_float(F.sin, "The sine, elementwise.")
cos = _unary_float(F.cos, "The cosine, elementwise.")
erf = _unary_float(F.erf, "The error function, elementwise.")
inv = _unary_float(F.reciprocal, "1 / x, elementwise.")
exp.__name__, log.__name__, log1p.__name__, sqrt.__name__ = "exp", "log", "log1p", "sqrt"
tanh.__name__, sigmoid.__name__, sin.__name__, cos.__name__ = "tanh", "sigmoid", "sin", "cos"
erf.__name__, inv.__name__ = "erf", "inv"


def log2(x) -> TensorVariable:
    """The base-2 logarithm, elementwise."""
    return log(x) / np.log(2.0)


def log10(x) -> TensorVariable:
    """The base-10 logarithm, elementwise."""
    return log(x) / np.log(10.0)


def sqr(x) -> TensorVariable:
    """x * x, elementwise (dtype kept)."""
    return wrap(F.square(tensor_strict(x)))


def abs_(x) -> TensorVariable:
    """|x|, elementwise."""
    return wrap(F.abs(tensor_strict(x)))


def neg(x) -> TensorVariable:
    return wrap(F.neg(tensor_strict(x)))


def sgn(x) -> TensorVariable:
    """-1, 0 or 1 by the sign of x, elementwise."""
    return wrap(F.sign(tensor_strict(x)))


def isnan(x) -> TensorVariable:
    """Where x is NaN, elementwise, as bool."""
    return wrap(F.isnan(tensor_strict(x)))


def isinf(x) -> TensorVariable:
    """Where x is infinite, elementwise, as bool."""
    return wrap(F.isinf(tensor_strict(x)))


def _binary(function, name, doc):
    def op(a, b):
        return wrap(function(*binary_operands(a, b)))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


add = _binary(F.add, "add", "a + b, elementwise, broadcasting.")
sub = _binary(F.sub, "sub", "a - b, elementwise, broadcasting.")
mul = _binary(F.mul, "mul", "a * b, elementwise, broadcasting.")
int_div = _binary(F.floor_divide, "int_div", "a // b, elementwise.")
mod = _binary(F.remainder, "mod", "a % b, elementwise (the sign of b, as Python).")
pow = _binary(F.pow, "pow", "a ** b, elementwise.")  # noqa: A001  (Theano's name)
maximum = _binary(F.maximum, "maximum", "The larger of a and b, elementwise.")
minimum = _binary(F.minimum, "minimum", "The smaller of a and b, elementwise.")
eq = _binary(F.eq, "eq", "a == b, elementwise, as bool (Python's == on variables is identity).")
neq = _binary(F.ne, "neq", "a != b, elementwise, as bool.")
lt = _binary(F.lt, "lt", "a < b, elementwise, as bool.")
le = _binary(F.le, "le", "a <= b, elementwise, as bool.")
gt = _binary(F.gt, "gt", "a > b, elementwise, as bool.")
ge = _binary(F.ge, "ge", "a >= b, elementwise, as bool.")


def and_(a, b) -> TensorVariable:
    """a & b for bool tensors."""
    return as_tensor_variable(a) & b


def or_(a, b) -> TensorVariable:
    """a | b for bool tensors."""
    return as_tensor_variable(a) | b


def xor(a, b) -> TensorVariable:
    """a ^ b for bool tensors."""
    return as_tensor_variable(a) ^ b


def invert(a) -> TensorVariable:
    """~a for a bool tensor."""
    return ~as_tensor_variable(a)


def switch(cond, ift, iff) -> TensorVariable:
    """ift where cond holds (is non-zero), else iff, elementwise with broadcasting. Both sides
    are computed; for a lazy choice of whole values use theano.ifelse.ifelse.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = dvector("x")
    ...     print(switch(x > 0, x, 0.0).eval({x: [-1.0, 2.0]}))
    [0. 2.]
    """
    condition = tensor_strict(cond)
    if condition.dtype != np.bool_:
        condition = F.ne(condition, 0)
    left, right = binary_operands(ift, iff)
    return wrap(F.where(condition, left, right))


where = switch


def clip(x, min, max) -> TensorVariable:  # noqa: A002  (Theano's names)
    """x limited to [min, max], elementwise (bounds may be variables)."""
    result = maximum(x, min)
    return minimum(result, max)


def cast(x, dtype) -> TensorVariable:
    """x as `dtype` ('floatX' is config.floatX); a float to int cast truncates, as Theano's."""
    target = _supported_dtype(config.floatX if dtype == "floatX" else dtype, "cast")
    t = tensor_strict(x)
    return wrap(t if t.dtype == target else F.cast(t, target))


# -- reductions -------------------------------------------------------------------------------


def _axis(axis):
    if axis is None or isinstance(axis, (int, np.integer)):
        return None if axis is None else int(axis)
    return tuple(int(a) for a in axis)


def sum(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):  # noqa: A001
    """The sum over `axis` (all by default); integers and bools sum as int64, as Theano."""
    del acc_dtype
    t = tensor_strict(x)
    if dtype is not None:
        t = cast(t, dtype).tensor
    elif t.dtype.kind in "biu":
        t = F.cast(t, dtypes.int64)
    return wrap(F.sum(t, _axis(axis), bool(keepdims)))


def mean(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """The mean over `axis`; integers and bools give float64, as Theano."""
    del acc_dtype
    t = tensor_strict(x)
    t = cast(t, dtype).tensor if dtype is not None else _float_operand(t)
    return wrap(F.mean(t, _axis(axis), bool(keepdims)))


def prod(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    del acc_dtype
    t = tensor_strict(x)
    if dtype is not None:
        t = cast(t, dtype).tensor
    elif t.dtype.kind in "biu":
        t = F.cast(t, dtypes.int64)
    return wrap(F.prod(t, _axis(axis), bool(keepdims)))


def max(x, axis=None, keepdims=False):  # noqa: A001
    """The largest element over `axis` (all by default)."""
    return wrap(F.max(tensor_strict(x), _axis(axis), bool(keepdims)))


def min(x, axis=None, keepdims=False):  # noqa: A001
    """The smallest element over `axis` (all by default)."""
    return wrap(F.min(tensor_strict(x), _axis(axis), bool(keepdims)))


def var(x, axis=None, ddof=0, keepdims=False, corrected=False):
    """The variance over `axis` (divided by n - ddof)."""
    del corrected
    return wrap(F.var(_float_operand(x), _axis(axis), bool(keepdims), correction=int(ddof)))


def std(x, axis=None, ddof=0, keepdims=False, corrected=False):
    """The standard deviation over `axis`."""
    return sqrt(var(x, axis, ddof, keepdims, corrected))


def _arg_reduction(function, x, axis, keepdims):
    t = tensor_strict(x)
    if axis is None:
        result = function(t, None)
        if keepdims:
            result = F.reshape(result, (1,) * len(t.shape))
        return wrap(result)
    if not isinstance(axis, (int, np.integer)):
        axes = tuple(axis)
        if len(axes) != 1:
            raise TheanoTypeError(f"argmax/argmin over several axes ({axes}) is not built; "
                                  "reshape first")
        axis = axes[0]
    return wrap(function(t, int(axis), keepdims=bool(keepdims)))


def argmax(x, axis=None, keepdims=False) -> TensorVariable:
    """The index of the largest element along `axis` (of the flattened x when None), int64."""
    return _arg_reduction(F.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False) -> TensorVariable:
    """The index of the smallest element along `axis`, int64."""
    return _arg_reduction(F.argmin, x, axis, keepdims)


def max_and_argmax(x, axis=None, keepdims=False) -> tuple:
    """(the largest elements along `axis`, their indices), as two variables."""
    return max(x, axis, keepdims), argmax(x, axis, keepdims)


def cumsum(x, axis=None) -> TensorVariable:
    """Running sums along `axis` (of the flattened x when None)."""
    t = tensor_strict(x)
    if axis is None:
        t, axis = F.reshape(t, (-1,)), 0
    return wrap(F.cumsum(t, int(axis)))


def cumprod(x, axis=None) -> TensorVariable:
    """Running products along `axis` (of the flattened x when None)."""
    t = tensor_strict(x)
    if axis is None:
        t, axis = F.reshape(t, (-1,)), 0
    return wrap(F.cumprod(t, int(axis)))


# -- linear algebra ---------------------------------------------------------------------------


def dot(a, b) -> TensorVariable:
    """The matrix product of vectors and matrices (a scalar for two vectors); a tensor times a
    matrix sums over the tensor's last axis, as NumPy's dot.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     print(dot(np.ones((2, 3)), np.ones(3)).eval())
    [3. 3.]
    """
    left, right = binary_operands(a, b)
    left, right = (v if isinstance(v, Tensor) else _constant_tensor(v) for v in (left, right))
    if left.shape.ndims == 0 or right.shape.ndims == 0:
        return wrap(F.mul(left, right))
    if right.shape.ndims is not None and right.shape.ndims > 2:
        raise TheanoTypeError(f"dot of a {left.shape.ndims}-d and a {right.shape.ndims}-d "
                              "tensor is not built (only a second operand of 1 or 2 "
                              "dimensions); use T.batched_dot-like reshapes")
    if left.dtype.kind in "biu" and right.dtype.kind in "biu":
        left, right = F.cast(left, dtypes.float64), F.cast(right, dtypes.float64)
    elif left.dtype != right.dtype:
        common = np.promote_types(left.dtype, right.dtype)
        left, right = F.cast(left, common), F.cast(right, common)
    return wrap(F.matmul(left, right))


def outer(x, y) -> TensorVariable:
    """The outer product of two vectors."""
    left, right = binary_operands(x, y)
    return wrap(F.mul(F.getitem(left, (slice(None), None)), F.getitem(right, (None,
                                                                             slice(None)))))


# -- shapes -----------------------------------------------------------------------------------


def shape(x) -> TensorVariable:
    """x's shape as a symbolic int64 vector."""
    return as_tensor_variable(x).shape


def _dims(shape_value, ndim, what):
    """A shape given as a tuple/list of ints and int scalars, or as a symbolic vector (whose
    length must be known, or given as `ndim`): ints and int scalar Tensors."""
    if isinstance(shape_value, (TensorVariable, Tensor)):
        vector = tensor_strict(shape_value)
        if vector.shape.ndims == 0:
            return [_int_or_symbolic(vector, what)]
        length = vector.shape[0] if vector.shape.ndims == 1 else None
        length = ndim if length is None else length
        if length is None:
            raise TheanoTypeError(f"{what}: the length of the symbolic shape {shape_value} is "
                                  "not known; pass ndim=")
        return [F.getitem(vector, k) for k in range(length)]
    if isinstance(shape_value, (int, np.integer)):
        shape_value = (shape_value,)
    return [_int_or_symbolic(d, what) for d in shape_value]


def reshape(x, newshape, ndim=None) -> TensorVariable:
    """x with the shape `newshape`: ints (one -1 at most) and symbolic int scalars, or a
    symbolic vector such as `y.shape`.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = dmatrix("x")
    ...     print(reshape(x, (x.shape[0], -1)).eval({x: np.zeros((2, 3))}).shape)
    (2, 3)
    """
    t = tensor_strict(x)
    dims = _dims(newshape, ndim, "reshape")
    if builtins.all(isinstance(d, int) for d in dims):
        return wrap(F.reshape(t, tuple(dims)))
    return wrap(dynamic_reshape(t, dims))


def flatten(x, ndim=1, outdim=None) -> TensorVariable:
    """x with its trailing axes merged into one, keeping `ndim` - 1 leading axes."""
    ndim = ndim if outdim is None else outdim
    t = tensor_strict(x)
    rank = len(t.shape)
    if not 1 <= ndim <= builtins.max(rank, 1):
        raise ValueError(f"flatten: ndim must be in [1, {rank}], got {ndim}")
    kept = []
    sizes = None
    for axis in range(ndim - 1):
        size = t.shape[axis]
        if size is None:
            sizes = F.shape_of(t, dtypes.int64) if sizes is None else sizes
            size = F.getitem(sizes, axis)
        kept.append(size)
    dims = [*kept, -1]
    if builtins.all(isinstance(d, int) for d in dims):
        return wrap(F.reshape(t, tuple(dims)))
    return wrap(dynamic_reshape(t, dims))


def transpose(x, axes=None) -> TensorVariable:
    """x with its axes reversed, or put in the order `axes`."""
    t = tensor_strict(x)
    return wrap(F.transpose(t, None if axes is None else tuple(axes)))


def dimshuffle(x, pattern) -> TensorVariable:
    """Theano's dimshuffle: `pattern` lists x's axes in their new order, 'x' for a new axis of
    size 1; an axis left out must be broadcastable (of size 1).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     b = dvector("b")
    ...     print(b.dimshuffle("x", 0).eval({b: [1.0, 2.0]}))
    [[1. 2.]]
    """
    variable = as_tensor_variable(x)
    t = variable.tensor
    rank = variable.ndim
    pattern = tuple(pattern)
    axes = [p for p in pattern if p != "x"]
    for p in pattern:
        if p != "x" and (not isinstance(p, (int, np.integer)) or isinstance(p, bool)
                         or not 0 <= p < rank):
            raise ValueError(f"dimshuffle: pattern entries are 'x' or axes of the input "
                             f"(0 to {rank - 1}), got {p!r} in {pattern}")
    if len(set(axes)) != len(axes):
        raise ValueError(f"dimshuffle: an axis appears twice in {pattern}")
    dropped = [axis for axis in range(rank) if axis not in axes]
    for axis in dropped:
        if t.shape[axis] != 1:
            raise ValueError(f"You cannot drop a non-broadcastable dimension: axis {axis} of "
                             f"{variable} (shape {t.shape}) is left out of {pattern}")
    if dropped:
        t = F.getitem(t, tuple(0 if axis in dropped else slice(None) for axis in range(rank)))
        remaining = [axis for axis in range(rank) if axis not in dropped]
        axes = [remaining.index(a) for a in axes]
    if axes != sorted(axes):
        t = F.transpose(t, tuple(axes))
    if "x" in pattern:
        t = F.getitem(t, tuple(None if p == "x" else slice(None) for p in pattern))
    return wrap(t)


def squeeze(x) -> TensorVariable:
    """x without its broadcastable axes (those of static size 1)."""
    t = tensor_strict(x)
    axes = tuple(axis for axis, size in enumerate(t.shape) if size == 1)
    return wrap(F.squeeze(t, axes) if axes else t)


def shape_padleft(x, n_ones=1) -> TensorVariable:
    """x with `n_ones` new axes of size 1 in front."""
    return wrap(F.getitem(tensor_strict(x), (None,) * n_ones + (Ellipsis,)))


def shape_padright(x, n_ones=1) -> TensorVariable:
    """x with `n_ones` new axes of size 1 at the end."""
    return wrap(F.getitem(tensor_strict(x), (Ellipsis,) + (None,) * n_ones))


def _common(tensors):
    tensors = [tensor_strict(t) for t in tensors]
    common = np.result_type(*(t.dtype for t in tensors))
    return [t if t.dtype == common else F.cast(t, common) for t in tensors]


def concatenate(tensor_list, axis=0) -> TensorVariable:
    """The tensors joined along an existing `axis`."""
    return wrap(F.concat(_common(tensor_list), int(axis)))


def join(axis, *tensors_list) -> TensorVariable:
    """Theano's join: concatenate with the axis first."""
    return concatenate(tensors_list, axis)


def stack(*tensors, axis=0) -> TensorVariable:
    """The tensors (a list, or several arguments) stacked along a new `axis`."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return wrap(F.stack(_common(tensors), int(axis)))


# -- creation ---------------------------------------------------------------------------------


def zeros_like(x, dtype=None) -> TensorVariable:
    """Zeros of x's shape (and dtype, unless `dtype`)."""
    return wrap(F.zeros_like(tensor_strict(x), None if dtype is None else
                             dtypes.as_dtype(config.floatX if dtype == "floatX" else dtype)))


def ones_like(x, dtype=None) -> TensorVariable:
    """Ones of x's shape (and dtype, unless `dtype`)."""
    return wrap(F.ones_like(tensor_strict(x), None if dtype is None else
                            dtypes.as_dtype(config.floatX if dtype == "floatX" else dtype)))


def alloc(value, *shape) -> TensorVariable:
    """An array of `shape` (ints and symbolic int scalars) filled with `value`.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     n = lscalar("n")
    ...     print(alloc(0.5, n, 2).eval({n: 3}).shape)
    (3, 2)
    """
    dims = _dims(shape, None, "alloc")
    fill = tensor_strict(value)
    if builtins.all(isinstance(d, int) for d in dims):
        return wrap(F.add(F.zeros(tuple(dims), fill.dtype), fill))
    template, slots = [], []
    for d in dims:
        if isinstance(d, Tensor):
            slots.append(d)
            template.append(Slot(len(slots)))
        else:
            template.append(d)
    graph = _graph_of(fill, *slots)
    op = graph.add_operation(Alloc(), [fill, *slots], name="Alloc",
                             attrs={"shape": tuple(template), "dtype": fill.dtype})
    return wrap(op.outputs[0])


def _filled(value, shape, dtype):
    dtype = config.floatX if dtype in (None, "floatX") else dtype
    dims = _dims(shape, None, "zeros")
    return alloc(_constant_tensor(value, dtype=dtype, graph=_graph_of(*dims)), *dims)


def zeros(shape, dtype=None) -> TensorVariable:
    """Zeros of `shape` (ints, symbolic int scalars, or a symbolic shape vector)."""
    return _filled(0, shape, dtype)


def ones(shape, dtype=None) -> TensorVariable:
    """Ones of `shape`."""
    return _filled(1, shape, dtype)


def arange(start, stop=None, step=1, dtype=None) -> TensorVariable:
    """[start, start + step, ...) below stop, like np.arange; bounds may be symbolic scalars
    (`T.arange(y.shape[0])`). Integer bounds give int64, float bounds floatX.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     n = lscalar("n")
    ...     print(arange(n).eval({n: 4}))
    [0 1 2 3]
    """
    if stop is None:
        start, stop = 0, start
    parts = [tensor_of(v) for v in (start, stop, step)]
    if dtype is None:
        floats = builtins.any((isinstance(p, Tensor) and p.dtype.kind == "f")
                              or isinstance(p, float) for p in parts)
        dtype = config.floatX if floats else "int64"
    dtype = dtypes.as_dtype(config.floatX if dtype == "floatX" else dtype)
    if not builtins.any(isinstance(p, Tensor) and p.op.kind.name != "Const" for p in parts):
        values = [p.op.attrs["value"] if isinstance(p, Tensor) else p for p in parts]
        return wrap(_constant_tensor(np.arange(*values, dtype=dtype)))
    graph = _graph_of(*parts)
    inputs = []
    for p in parts:
        t = p if isinstance(p, Tensor) else _constant_tensor(p, graph=graph)
        if t.shape.ndims not in (0, None):
            raise TheanoTypeError(f"arange: start, stop and step must be scalars, got {t.name!r} "
                                  f"of shape {t.shape}")
        inputs.append(t)
    op = graph.add_operation(ARange(), inputs, name="ARange",
                             attrs={"dtype": dtype, "length": None})
    return wrap(op.outputs[0])


# -- subtensors -------------------------------------------------------------------------------


def set_subtensor(x, y, inplace=False, tolerate_inplace_aliasing=False) -> TensorVariable:
    """`x` being `t[index]`: a copy of t with y written at index (t itself is unchanged).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     t = dvector("t")
    ...     print(set_subtensor(t[1:], 5.0).eval({t: [1.0, 2.0, 3.0]}))
    [1. 5. 5.]
    """
    del inplace, tolerate_inplace_aliasing
    return set_or_inc_subtensor(x, y, set_instead=True)


def inc_subtensor(x, y, inplace=False, set_instead_of_inc=False,
                  tolerate_inplace_aliasing=False) -> TensorVariable:
    """`x` being `t[index]`: a copy of t with y added at index; a repeated index adds once per
    time it appears.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     t = dvector("t")
    ...     print(inc_subtensor(t[[0, 0, 2]], 1.0).eval({t: [0.0, 0.0, 0.0]}))
    [2. 0. 1.]
    """
    del inplace, tolerate_inplace_aliasing
    return set_or_inc_subtensor(x, y, set_instead=bool(set_instead_of_inc))


# -- more elementwise, reductions and shapes ------------------------------------------------


tan = _unary_float(lambda t: F.div(F.sin(t), F.cos(t)), "The tangent, elementwise.")
arctan = _unary_float(F.atan, "The arc tangent, elementwise, in (-pi/2, pi/2).")
tan.__name__, arctan.__name__ = "tan", "arctan"


def _floor_of(t):
    return F.floor_divide(t, 1.0)  # constant almost everywhere: the gradient is 0


def floor(x) -> TensorVariable:
    """The largest integer not above x, elementwise (as floats; integers become float64).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     print(floor(constant([-1.5, 2.5])).eval())
    [-2.  2.]
    """
    return wrap(_floor_of(_float_operand(x)))


def ceil(x) -> TensorVariable:
    """The smallest integer not below x, elementwise (as floats; integers become float64)."""
    return wrap(F.neg(_floor_of(F.neg(_float_operand(x)))))


def round(x, mode=None) -> TensorVariable:  # noqa: A001  (Theano's name)
    """x rounded to the nearest integer, elementwise; ties go away from zero (mode None or
    "half_away_from_zero", Theano's default) or to the even neighbour ("half_to_even").

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = constant([0.5, 1.5, -2.5])
    ...     print(round(x).eval(), round(x, "half_to_even").eval())
    [ 1.  2. -3.] [ 0.  2. -2.]
    """
    t = _float_operand(x)
    if mode in (None, "half_away_from_zero"):
        return wrap(F.mul(F.sign(t), _floor_of(F.add(F.abs(t), 0.5))))
    if mode == "half_to_even":
        return wrap(_half_to_even(t))
    raise TheanoTypeError(f"round: mode must be 'half_away_from_zero' or 'half_to_even', got "
                          f"{mode!r}")


def _half_to_even(t):
    nearest = _floor_of(F.add(t, 0.5))
    tie_to_odd = F.logical_and(F.eq(F.sub(nearest, t), 0.5), F.ne(F.remainder(nearest, 2.0), 0))
    return F.where(tie_to_odd, F.sub(nearest, 1.0), nearest)


def all(x, axis=None, keepdims=False) -> TensorVariable:  # noqa: A001
    """Whether every element over `axis` is non-zero, as bool."""
    nonzero_ = F.cast(F.ne(tensor_strict(x), 0), dtypes.int32)
    return wrap(F.cast(F.min(nonzero_, _axis(axis), bool(keepdims)), dtypes.bool_))


def any(x, axis=None, keepdims=False) -> TensorVariable:  # noqa: A001
    """Whether some element over `axis` is non-zero, as bool."""
    nonzero_ = F.cast(F.ne(tensor_strict(x), 0), dtypes.int32)
    return wrap(F.cast(F.max(nonzero_, _axis(axis), bool(keepdims)), dtypes.bool_))


def eye(n, m=None, k=0, dtype=None) -> TensorVariable:
    """An n x m matrix with ones on diagonal `k` (floatX unless `dtype`)."""
    sizes = [_int_or_symbolic(v, what) for v, what in ((n, "eye: n"), (m if m is not None
                                                                       else n, "eye: m"))]
    if not builtins.all(isinstance(v, int) for v in sizes):
        raise TheanoTypeError("eye: n and m must be Python ints here (symbolic sizes are not "
                              "built)")
    dtype = config.floatX if dtype in (None, "floatX") else dtype
    return constant(np.eye(sizes[0], sizes[1], int(k), dtype=_supported_dtype(dtype, "eye")))


def _stretch(t, axis, count, before):
    """t with each slice along `axis` repeated `count` times: all the copies of the whole axis
    one after another (before=True, as tile) or each slice's copies together (as repeat). Built
    from a broadcast and a reshape that reads unknown sizes when run, so it works on inputs of
    unknown shape and the gradient sums the copies."""
    where_ = axis if before else axis + 1
    stretched = F.unsqueeze(t, where_)
    copies = [1] * len(stretched.shape)
    copies[where_] = count
    stretched = F.add(stretched, F.zeros(tuple(copies), t.dtype))
    sizes = F.shape_of(t, dtypes.int64)
    dims = [size if size is not None else F.getitem(sizes, i) for i, size in enumerate(t.shape)]
    dims[axis] = -1
    return dynamic_reshape(stretched, dims)


def _count(value, what):
    count = _int_or_symbolic(value, what)
    if not isinstance(count, int) or count < 0:
        raise TheanoTypeError(f"{what} must be a non-negative int, got {value!r}")
    return count


def tile(x, reps, ndim=None) -> TensorVariable:
    """x repeated reps[i] times along axis i (NumPy's tile; reps are ints, and with fewer reps
    than axes the leading axes are not repeated).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     print(tile(constant([[1, 2]]), (2, 2)).eval())
    [[1 2 1 2]
     [1 2 1 2]]
    """
    t = tensor_strict(x)
    counts = [_count(r, "tile: reps") for r in reps]
    while len(counts) > len(t.shape):
        t = F.unsqueeze(t, 0)
    offset = len(t.shape) - len(counts)
    for i, count in enumerate(counts):
        if count != 1:
            t = _stretch(t, offset + i, count, before=True)
    return wrap(t)


def repeat(x, repeats, axis=None) -> TensorVariable:
    """Each element of x `repeats` times in a row along `axis` (of the flattened x when None),
    as NumPy's repeat with one int count.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     print(repeat(constant([[1, 2]]), 2, axis=1).eval())
    [[1 1 2 2]]
    """
    count = _count(repeats, "repeat: repeats")
    t = tensor_strict(x)
    if axis is None:
        t, axis = F.reshape(t, (-1,)), 0
    rank = len(t.shape)
    if isinstance(axis, builtins.bool) or not -rank <= int(axis) < rank:
        raise TheanoTypeError(f"repeat: axis {axis!r} is out of range for {rank} dimensions")
    return wrap(_stretch(t, int(axis) % rank, count, before=False))


def roll(x, shift, axis=None) -> TensorVariable:
    """x rotated by `shift` along `axis` (the flattened x when None); the size there must be
    known when building."""
    return wrap(F.roll(tensor_strict(x), shift, axis))


def sort(a, axis=-1, kind="quicksort", order=None) -> TensorVariable:
    """a sorted in ascending order along `axis` (the flattened a when None)."""
    t = tensor_strict(a)
    if axis is None:
        t, axis = F.reshape(t, (-1,)), 0
    return wrap(F.sort(t, int(axis))[0])


def argsort(a, axis=-1, kind="quicksort", order=None) -> TensorVariable:
    """The int64 indices that sort a along `axis` (the flattened a when None); equal values
    keep their order."""
    t = tensor_strict(a)
    if axis is None:
        t, axis = F.reshape(t, (-1,)), 0
    return wrap(F.cast(F.argsort(t, int(axis)), dtypes.int64))


def nonzero(a, return_matrix=False):
    """The coordinates of the non-zero elements of `a`: a tuple with one int64 vector per
    dimension, or with return_matrix=True one matrix of shape (a.ndim, count).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     rows, columns = nonzero(constant([[0, 3], [4, 0]]))
    ...     print(rows.eval(), columns.eval())
    [0 1] [1 0]
    """
    t = tensor_strict(a)
    coordinates = F.cast(F.nonzero(t), dtypes.int64)
    if return_matrix:
        return wrap(F.transpose(coordinates))
    return tuple(wrap(F.getitem(coordinates, (slice(None), d)))
                 for d in builtins.range(len(t.shape)))


def tensordot(a, b, axes=2) -> TensorVariable:
    """Sums of products over `axes`: an int n (a's last n axes with b's first n) or a pair of
    axis lists, as NumPy's tensordot; the result has a's remaining axes, then b's.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     print(tensordot(constant([[1.0, 2.0], [3.0, 4.0]]), constant([1.0, 1.0]), 1).eval())
    [3. 7.]
    """
    left, right = binary_operands(a, b)
    left, right = (v if isinstance(v, Tensor) else _constant_tensor(v) for v in (left, right))
    if left.dtype != right.dtype:
        common = np.promote_types(left.dtype, right.dtype)
        left, right = F.cast(left, common), F.cast(right, common)
    left_axes, right_axes = _tensordot_axes(axes, len(left.shape), len(right.shape))
    free_left = [i for i in builtins.range(len(left.shape)) if i not in left_axes]
    free_right = [i for i in builtins.range(len(right.shape)) if i not in right_axes]
    left_sizes, right_sizes = F.shape_of(left, dtypes.int64), F.shape_of(right, dtypes.int64)
    # One matrix product, with sizes read when run, so unknown shapes work too.
    inner = F.prod(F.gather(left_sizes, np.array(left_axes, np.int64), 0)) if left_axes \
        else 1
    matrix_left = dynamic_reshape(F.transpose(left, tuple(free_left + left_axes)), [-1, inner])
    matrix_right = dynamic_reshape(F.transpose(right, tuple(right_axes + free_right)),
                                   [inner, -1])
    product = F.matmul(matrix_left, matrix_right)
    dims = [F.getitem(left_sizes, i) for i in free_left] + \
        [F.getitem(right_sizes, i) for i in free_right]
    return wrap(dynamic_reshape(product, dims))


__getattr__ = missing_names(__name__, "theano.tensor", "Theano", "Theano API", "Theano's")


from graph.theano import nnet  # noqa: E402  (nnet builds on the functions above)
