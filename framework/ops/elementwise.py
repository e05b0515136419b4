"""Elementwise primitives: one scalar body each, turned into kernels.

Each op is declared by its scalar body (a plain function numba can compile), its dtypes and its
gradient rule. From the body come the CPU kernels:

- generated loops over flat contiguous operands, serial for small sizes and `prange` over every
  core for large ones. An operand of one element (`x * 2.0`, `x + bias` with a 0-d bias) is
  read once, as a value, so it stays on this path;
- generated row loops for the common broadcasts of contiguous operands: a row repeated down a
  matrix (`(n, m) + (m,)`) or a column across it (`(n, m) / (n, 1)`);
- a NumPy ufunc built by `numba.vectorize`, which handles any other broadcast and any strides.

The loops come from the CPU backend's map templates (`framework.kernels.cpu`), which write
them out so numba's disk cache keeps them between runs. exp, log, tanh and sigmoid call the
kernels layer's vectorizable maths (`framework.kernels.maths`; NumPy's loops are SIMD, the C
library's functions, which numba calls, are not). The fuser (graph/compile) composes the same
scalar bodies into one kernel per fused group.

dtypes follow PyTorch where NumPy differs: float functions (exp, log, sqrt, sigmoid, ...) and
true division turn integer and bool inputs into the default float (float32) first, as
`torch.exp(torch.arange(3))` does, instead of NumPy's float64.
"""

from __future__ import annotations

import builtins
import functools
import math
from typing import ClassVar

import numba
import numpy as np
from numba import types
from numba.extending import overload

from framework import dtypes
from framework.device import empty
from framework.errors import ArgumentError, DTypeError, IntegerDivisionByZeroError
from framework.kernels import cpu, maths
from framework.kernels.lowered import Lowered, rebound
from framework.kernels.maths import as_type_of
from framework.ops.dispatch import as_operand, bind, promote
from framework.ops.registry import Op, Spec, register, require_dtype, require_same_dtype
from framework.shapes import broadcast_shapes

__all__ = [
    "exp", "log", "log1p", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "gelu", "erf", "sin",
    "cos", "abs", "neg", "sign", "square", "reciprocal",
    "add", "sub", "mul", "div", "pow", "maximum", "minimum",
    "eq", "ne", "lt", "le", "gt", "ge",
    "where", "clip", "cast",
]

_NUMBA_TYPE = {dtypes.bool_: "boolean", dtypes.int32: "int32", dtypes.int64: "int64",
               dtypes.float32: "float32", dtypes.float64: "float64"}


def scalar_body(function):
    """Compile a scalar body so kernels (and later the fuser) can inline it.

    IEEE semantics (error_model='numpy'): x / 0 is inf or NaN, not a Python exception. Not
    cached on disk: only the generated kernels, which inline it, are (see framework.kernels).

    >>> div_body(1.0, 0.0)
    inf
    """
    return numba.njit(inline="always", error_model="numpy")(function)


def broadcast_quickly(shapes: list, op: str) -> tuple:
    """`broadcast_shapes`, answering the common cases (equal shapes, a shape that is the
    other's trailing dimensions, a one-element operand) without the general loop.

    >>> broadcast_quickly([(4, 3), (3,)], "add"), broadcast_quickly([(None, 3), (1,)], "add")
    ((4, 3), (None, 3))
    """
    result = shapes[0]
    for shape in shapes[1:]:
        if shape == result:
            continue
        if len(shape) <= len(result):
            if result[len(result) - len(shape):] == shape or all(d == 1 for d in shape):
                continue
        elif shape[len(shape) - len(result):] == result or all(d == 1 for d in result):
            result = shape
            continue
        return broadcast_shapes(*shapes, op=op)
    return tuple(result)


_new_spec = object.__new__


class Elementwise(Op):
    """Shared rule and kernels of elementwise ops; subclasses give `scalar` and dtypes.

    The kernels compute `scalar(*inputs, *self.kernel_params(dtype))` per element.
    """

    arity: ClassVar[int] = 1
    input_dtypes: ClassVar[tuple] = dtypes.NUMERIC
    output_dtype: ClassVar[np.dtype | None] = None  # None: the dtype of input `dtype_source`
    dtype_source: ClassVar[int] = 0
    params: ClassVar[int] = 0  # how many attribute values the body takes after the inputs
    # Costly bodies (a transcendental function) set a lower threshold.
    parallel_min_size: ClassVar[int] = cpu.MAP_PARALLEL_MIN_SIZE

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._ufunc = None
        cls._kernel_modules = {}
        cls._allowed = frozenset(cls.input_dtypes)
        cls._flat_layout = "f" * cls.arity
        cls._flat = None  # see _flat_plan
        # Whether one shared dtype is all the dtype rule asks (else infer always asks it).
        cls._plain_dtypes = cls.check_dtypes is Elementwise.check_dtypes

    def infer(self, *inputs):
        if len(inputs) != self.arity:
            raise TypeError(f"{self.name} takes {self.arity} inputs, got {len(inputs)}")
        first = inputs[0]
        dtype, shape = first.dtype, first.shape
        plain = self._plain_dtypes
        for x in inputs:
            # dtypes compared by identity first: NumPy shares one dtype object per type.
            if (x.shape != shape or (x.dtype is not dtype and x.dtype != dtype)
                    or not plain):
                dtype = self.check_dtypes(inputs)
                shape = broadcast_quickly([x.shape for x in inputs], self.name)
                break
        else:
            if dtype not in self._allowed:
                require_dtype(self.name, first, self.input_dtypes)
        if type(shape) is tuple:  # arrays' shapes (not a graph's TensorShape): no conversion
            spec = _new_spec(Spec)  # Spec.raw, inline: every elementwise op comes here
            spec.shape, spec.dtype = shape, self.output_dtype or dtype
            return spec
        return Spec(shape, self.output_dtype or dtype)

    def check_dtypes(self, inputs) -> np.dtype:
        """Raise unless the inputs share one supported dtype; return it."""
        dtype = inputs[0].dtype
        for x in inputs:
            if x.dtype != dtype:
                require_same_dtype(self.name, *inputs)
        if dtype not in self._allowed:
            require_dtype(self.name, inputs[0], self.input_dtypes)
        return dtype

    def kernel_params(self, dtype) -> np.ndarray:
        """The body's `params` attribute values, as an array of `dtype`."""
        return np.empty(0, dtype)

    def cuda(self, *arrays):
        """The CUDA kernel: the same scalar body through the CUDA backend's map template."""
        from framework.kernels import cuda  # numba.cuda: imported once a device array exists

        dtype = arrays[self.dtype_source].dtype
        params = tuple(self.kernel_params(dtype)) if self.params else ()
        return cuda.run_map(self.scalar, arrays, self.output_dtype or dtype, params, self.name)

    def cpu(self, *arrays):
        first = arrays[0]
        if (first.flags.c_contiguous
                and (len(arrays) == 1 or (len(arrays) == 2 and arrays[1].shape == first.shape
                                          and arrays[1].flags.c_contiguous))):
            # The common case (one or two contiguous operands of one shape), kept short:
            # at small sizes these lines, not the arithmetic, are the cost of an op.
            serial, parallel, parallel_min_size, output_dtype, dtype_source, params = (
                self._flat or self._flat_plan())
            dtype = arrays[dtype_source].dtype
            out = empty(first.shape, output_dtype or dtype)
            size = out.size
            if size:
                kernel = parallel if size >= parallel_min_size else serial
                flat = out if out.ndim == 1 else out.reshape(size)  # 1-D needs no view
                # One call per arity and params, without building a list: at 10 elements
                # an argument list costs a tenth of the op.
                if len(arrays) == 1:
                    x = first if flat is out else first.reshape(size)
                    if params:
                        kernel(x, flat, self.kernel_params(dtype))
                    else:
                        kernel(x, flat)
                else:
                    x, y = ((first, arrays[1]) if flat is out
                            else (first.reshape(size), arrays[1].reshape(size)))
                    if params:
                        kernel(x, y, flat, self.kernel_params(dtype))
                    else:
                        kernel(x, y, flat)
            return out
        shape = first.shape
        outer = 0
        layout = self._flat_layout
        for a in arrays:
            if a.shape != shape:
                shape, layout, outer, inner = cpu.map_plan(tuple(a.shape for a in arrays))
                break
        for a in arrays:
            if not a.flags.c_contiguous:
                layout = None
                break
        dtype = arrays[self.dtype_source].dtype
        out = empty(shape, self.output_dtype or dtype)
        size = out.size
        if not size:
            return out
        params = (self.kernel_params(dtype),) if self.params else ()
        if layout is None:
            # Comparisons with NaN raise the CPU's 'invalid' flag, which NumPy would turn into
            # a warning after a ufunc loop; the other paths never warn, so neither does this.
            with np.errstate(all="ignore"):
                type(self).ufunc()(*arrays, *(params[0] if params else ()), out=out)
            return out
        kernels = self._kernel_modules.get(layout) or self.kernels(layout)
        if outer:
            parallel = size >= self.parallel_min_size and outer > 1
            kernel = kernels.parallel if parallel else kernels.serial
            kernel(*[a.reshape(outer, inner) if code == "f" else a.reshape(-1)
                     for a, code in zip(arrays, layout)], out.reshape(outer, inner), *params)
            return out
        kernel = kernels.parallel if size >= self.parallel_min_size else kernels.serial
        # ravel() is a view here: every operand is contiguous.
        kernel(*[a.ravel() for a in arrays], out.ravel(), *params)
        return out

    def nopython(self, *specs):
        # The map loops the CPU kernel runs, on the same layouts (graph.compile's whole step).
        if type(self).cpu is not Elementwise.cpu and specs[0].dtype.kind != "f":
            return None  # the kernel checks values first (an integer division by zero)
        dtype = specs[self.dtype_source].dtype
        out_shape = broadcast_quickly([s.shape for s in specs], self.name)
        shapes = tuple(tuple(s.shape) for s in specs)
        layout = "f" * len(shapes) if len(set(shapes)) == 1 else cpu.map_plan(shapes)[1]
        if layout is None:
            return self._sliced_lowering(shapes, tuple(out_shape), dtype)
        return cpu.map_lowering(self.kernels(layout), shapes, out_shape,
                                self.output_dtype or dtype, self.parallel_min_size,
                                self.kernel_params(dtype) if self.params else None)

    def _sliced_lowering(self, shapes: tuple, out_shape: tuple, dtype):
        """A broadcast no one map layout covers (NCHW + a per-channel (C, 1, 1) bias), which
        the CPU kernel hands to the ufunc: a loop over leading axes along which each operand
        is whole or repeated, running the serial map kernel on each slice. The body is the
        ufunc's, applied to each element once, so the bits are the ufunc's. None when no
        split of the axes gives slices a map layout covers."""
        output_dtype = self.output_dtype or dtype
        if not math.prod(out_shape):
            return Lowered(f"{{o0}} = np.empty({cpu.shape_literal(out_shape)}, "
                           f"{cpu.dtype_literal(output_dtype)})", {})
        ndim = len(out_shape)
        padded = [(1,) * (ndim - len(s)) + s for s in shapes]
        for split in range(1, ndim):
            lead, tail_out = out_shape[:split], out_shape[split:]
            if not all(p[:split] in (lead, (1,) * split) for p in padded):
                continue
            tails = tuple(p[split:] for p in padded)
            layout = "f" * len(tails) if len(set(tails)) == 1 else cpu.map_plan(tails)[1]
            if layout is None:
                continue
            # Serial, as the ufunc is: its loops never run on threads.
            sliced = cpu.map_lowering(self.kernels(layout), tails, tail_out, output_dtype,
                                      math.inf,
                                      self.kernel_params(dtype) if self.params else None)
            count = math.prod(lead)
            inputs = [f"{{i{k}}}.reshape({cpu.shape_literal((count,) + tail)})[{{o0}}_slice]"
                      if p[:split] == lead else f"{{i{k}}}.reshape({cpu.shape_literal(tail)})"
                      for k, (p, tail) in enumerate(zip(padded, tails))]
            output = f"{{o0}}.reshape({cpu.shape_literal((count,) + tail_out)})[{{o0}}_slice]"
            call = rebound(Lowered(sliced.code.splitlines()[-1], {}), inputs, (output,))
            head = (f"{{o0}} = np.empty({cpu.shape_literal(out_shape)}, "
                    f"{cpu.dtype_literal(output_dtype)})")
            return Lowered(f"{head}\nfor {{o0}}_slice in range({count}):\n    {call}",
                           sliced.objects)
        return None

    @classmethod
    def _flat_plan(cls) -> tuple:
        """What the contiguous same-shape path reads, in one class attribute: (serial and
        parallel flat kernels, parallel threshold, output dtype, dtype source, params)."""
        kernels = cls.kernels(cls._flat_layout)
        cls._flat = (kernels.serial, kernels.parallel, cls.parallel_min_size, cls.output_dtype,
                     cls.dtype_source, cls.params)
        return cls._flat

    @classmethod
    def kernels(cls, layout: str):
        """The generated module (`serial`, `parallel`) of this op for an operand layout."""
        found = cls._kernel_modules.get(layout)
        if found is None:
            found = cpu.map_kernels(cls.scalar, layout, cls.params, cls.name)
            cls._kernel_modules[layout] = found
        return found

    @classmethod
    def signatures(cls) -> list[str]:
        """numba signatures of the ufunc, one per supported dtype."""
        found = []
        for dtype in cls.input_dtypes:
            arguments = ",".join([_NUMBA_TYPE[dtype]] * (cls.arity + cls.params))
            found.append(f"{_NUMBA_TYPE[cls.output_dtype or dtype]}({arguments})")
        return found

    @classmethod
    def ufunc(cls):
        """The vectorized kernel: a real NumPy ufunc, compiled once per class."""
        if cls._ufunc is None:
            cls._ufunc = cpu.map_ufunc(cls.scalar, tuple(cls.signatures()), cls.name)
        return cls._ufunc


# ---------------------------------------------------------------------------------------------
# Operands of the neutral functions.


def _as_float(x):
    """Integer and bool inputs of float functions become the default float, as in PyTorch."""
    x = as_operand(x)
    return x if x.dtype.kind == "f" else cast(x, dtypes.DEFAULT_FLOAT)


def _all_true(a, b):
    return F.where(a, b, a)  # a AND b for bool values, without a logical primitive


# ---------------------------------------------------------------------------------------------
# Unary ops. Gradient rules use the neutral functions (F), so they work on any front-end.


class FloatUnary(Elementwise):
    """A float function: its neutral function casts integer and bool inputs to float32."""

    input_dtypes = dtypes.FLOATS


@scalar_body
def exp_body(x):
    return maths.exp(x)


@register
class Exp(FloatUnary):
    name = "exp"
    scalar = exp_body
    parallel_min_size = 1 << 14
    vjp_needs_inputs, vjp_needs_outputs = False, True

    def vjp(self, g, inputs, out):
        return F.mul(g, out)


def exp(x):
    """e to the power of x, elementwise.

    >>> exp(np.zeros(2, np.float32))
    array([1., 1.], dtype=float32)
    """
    return bind(_EXP, _as_float(x))


@scalar_body
def log_body(x):
    return maths.log(x)


@register
class Log(FloatUnary):
    name = "log"
    scalar = log_body
    parallel_min_size = 1 << 14

    def vjp(self, g, inputs, out):
        return F.div(g, inputs[0])


def log(x):
    """Natural logarithm; log(0) = -inf, log of a negative number is NaN.

    >>> log(np.array([1.0, np.e]))
    array([0., 1.])
    """
    return bind(_LOG, _as_float(x))


@scalar_body
def log1p_body(x):
    return math.log1p(x)


@register
class Log1p(FloatUnary):
    name = "log1p"
    scalar = log1p_body
    parallel_min_size = 1 << 13

    def vjp(self, g, inputs, out):
        return F.div(g, F.add(inputs[0], 1))


def log1p(x):
    """log(1 + x), exact for tiny x where 1 + x would round to 1.

    >>> float(log1p(np.float64(1e-20)))
    1e-20
    """
    return bind(_LOG1P, _as_float(x))


@scalar_body
def sqrt_body(x):
    return math.sqrt(x)


@register
class Sqrt(FloatUnary):
    name = "sqrt"
    scalar = sqrt_body
    vjp_needs_inputs, vjp_needs_outputs = False, True

    def vjp(self, g, inputs, out):
        return F.div(F.mul(g, 0.5), out)  # inf at 0, as in PyTorch


def sqrt(x):
    """Square root; NaN for negative inputs.

    >>> sqrt(np.array([4.0, 9.0], np.float32))
    array([2., 3.], dtype=float32)
    """
    return bind(_SQRT, _as_float(x))


@scalar_body
def rsqrt_body(x):
    return as_type_of(1, x) / math.sqrt(x)


@register
class Rsqrt(FloatUnary):
    name = "rsqrt"
    scalar = rsqrt_body
    vjp_needs_inputs, vjp_needs_outputs = False, True

    def vjp(self, g, inputs, out):
        # d/dx x**-0.5 = -0.5 * x**-1.5 = -0.5 * out**3
        return F.mul(F.mul(g, -0.5), F.mul(out, F.square(out)))


def rsqrt(x):
    """1 / sqrt(x).

    >>> rsqrt(np.array([4.0, 0.25], np.float32))
    array([0.5, 2. ], dtype=float32)
    """
    return bind(_RSQRT, _as_float(x))


@scalar_body
def tanh_body(x):
    return maths.tanh(x)


@register
class Tanh(FloatUnary):
    name = "tanh"
    scalar = tanh_body
    parallel_min_size = 1 << 14
    vjp_needs_inputs, vjp_needs_outputs = False, True

    def vjp(self, g, inputs, out):
        return F.mul(g, F.sub(1, F.square(out)))


def tanh(x):
    """Hyperbolic tangent.

    >>> tanh(np.array([0.0, 100.0], np.float32))
    array([0., 1.], dtype=float32)
    """
    return bind(_TANH, _as_float(x))


@scalar_body
def sigmoid_body(x):
    # e**-|x| never overflows; for x < 0, e**x / (1 + e**x) keeps tiny results exact.
    z = maths.exp(-builtins.abs(x))
    s = as_type_of(1, x) / (as_type_of(1, x) + z)
    return s if x >= as_type_of(0, x) else z * s


@register
class Sigmoid(FloatUnary):
    name = "sigmoid"
    scalar = sigmoid_body
    parallel_min_size = 1 << 14
    vjp_needs_inputs, vjp_needs_outputs = False, True

    def vjp(self, g, inputs, out):
        return F.mul(g, F.mul(out, F.sub(1, out)))


def sigmoid(x):
    """The logistic function 1 / (1 + e**-x), stable for any x.

    >>> sigmoid(np.array([0.0, -200.0, 200.0], np.float32))
    array([0.5, 0. , 1. ], dtype=float32)
    """
    return bind(_SIGMOID, _as_float(x))


@scalar_body
def relu_body(x):
    zero = as_type_of(0, x)
    return zero if x <= zero else x  # NaN stays NaN


@register
class Relu(Elementwise):
    name = "relu"
    scalar = relu_body
    vjp_needs_inputs, vjp_needs_outputs = False, True

    def vjp(self, g, inputs, out):
        return bind(_RELU_GRAD, g, out)  # 0 at x = 0, as in PyTorch


@scalar_body
def relu_grad_body(g, y):
    return g if y > 0 else as_type_of(0, g)


@register
class ReluGrad(Elementwise):
    """relu's gradient, g where the output y is positive, else 0, as one op (it would be a
    comparison and a select). Its own gradient passes through the same mask; y carries none
    (the mask is piecewise constant)."""

    name = "relu_grad"
    arity = 2
    scalar = relu_grad_body
    input_dtypes = dtypes.FLOATS

    def vjp(self, g, inputs, out):
        return bind(_RELU_GRAD, g, inputs[1]), None


_RELU_GRAD = ReluGrad()


def relu(x):
    """max(x, 0); its gradient at 0 is 0, as in PyTorch.

    >>> relu(np.array([-1.0, 0.0, 2.0], np.float32))
    array([0., 0., 2.], dtype=float32)
    """
    return bind(_RELU, as_operand(x))


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@scalar_body
def gelu_body(x):
    half = as_type_of(0.5, x)
    return x * half * (as_type_of(1, x) + math.erf(x * as_type_of(_SQRT_HALF, x)))


@register
class Gelu(FloatUnary):
    name = "gelu"
    scalar = gelu_body
    parallel_min_size = 1 << 13

    def vjp(self, g, inputs, out):
        # d/dx x * Phi(x) = Phi(x) + x * phi(x), Phi the normal CDF and phi its density.
        (x,) = inputs
        cdf = F.mul(F.add(F.erf(F.mul(x, _SQRT_HALF)), 1), 0.5)
        density = F.mul(F.exp(F.mul(F.square(x), -0.5)), _INV_SQRT_2PI)
        return F.mul(g, F.add(cdf, F.mul(x, density)))


def gelu(x):
    """x * Phi(x), Phi the standard normal CDF: the exact (erf) form, PyTorch's default.

    >>> gelu(np.array([0.0, 10.0], np.float32))
    array([ 0., 10.], dtype=float32)
    """
    return bind(_GELU, _as_float(x))


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@scalar_body
def erf_body(x):
    return math.erf(x)


@register
class Erf(FloatUnary):
    name = "erf"
    scalar = erf_body
    parallel_min_size = 1 << 13

    def vjp(self, g, inputs, out):
        (x,) = inputs
        return F.mul(g, F.mul(F.exp(F.neg(F.square(x))), _TWO_OVER_SQRT_PI))


def erf(x):
    """The error function, 2/sqrt(pi) * integral of e**-t**2 from 0 to x.

    >>> erf(np.array([0.0, 10.0]))
    array([0., 1.])
    """
    return bind(_ERF, _as_float(x))


@scalar_body
def sin_body(x):
    return math.sin(x)


@register
class Sin(FloatUnary):
    name = "sin"
    scalar = sin_body
    parallel_min_size = 1 << 13

    def vjp(self, g, inputs, out):
        return F.mul(g, F.cos(inputs[0]))


def sin(x):
    """Sine (radians).

    >>> sin(np.array([0.0]))
    array([0.])
    """
    return bind(_SIN, _as_float(x))


@scalar_body
def cos_body(x):
    return math.cos(x)


@register
class Cos(FloatUnary):
    name = "cos"
    scalar = cos_body
    parallel_min_size = 1 << 13

    def vjp(self, g, inputs, out):
        return F.mul(g, F.neg(F.sin(inputs[0])))


def cos(x):
    """Cosine (radians).

    >>> cos(np.array([0.0]))
    array([1.])
    """
    return bind(_COS, _as_float(x))


@scalar_body
def abs_body(x):
    return builtins.abs(x)


@register
class Abs(Elementwise):
    name = "abs"
    scalar = abs_body

    def vjp(self, g, inputs, out):
        return F.mul(g, F.sign(inputs[0]))  # 0 at x = 0, as in PyTorch


def abs(x):
    """|x|; the gradient at 0 is 0.

    >>> abs(np.array([-2, 3], np.int32))
    array([2, 3], dtype=int32)
    """
    return bind(_ABS, as_operand(x))


@scalar_body
def neg_body(x):
    return -x


@register
class Neg(Elementwise):
    name = "neg"
    scalar = neg_body
    vjp_needs_inputs = False

    def vjp(self, g, inputs, out):
        return F.neg(g)


def neg(x):
    """-x.

    >>> neg(np.array([1, -2], np.int64))
    array([-1,  2])
    """
    return bind(_NEG, as_operand(x))


@scalar_body
def sign_body(x):
    zero = as_type_of(0, x)
    if x > zero:
        return as_type_of(1, x)
    if x < zero:
        return as_type_of(-1, x)
    return x  # 0 (keeping its sign) and NaN, as NumPy


@register
class Sign(Elementwise):
    name = "sign"
    scalar = sign_body
    vjp_needs_inputs = False

    def vjp(self, g, inputs, out):
        # Zero almost everywhere. PyTorch also gives zeros (not an error), so a loss built
        # with sign() still backpropagates through its other terms.
        return F.zeros_like(g)


def sign(x):
    """-1, 0 or 1 by the sign of x (NaN stays NaN); its gradient is zero.

    >>> sign(np.array([-3.0, 0.0, 2.0], np.float32))
    array([-1.,  0.,  1.], dtype=float32)
    """
    return bind(_SIGN, as_operand(x))


@scalar_body
def square_body(x):
    return x * x


@register
class Square(Elementwise):
    name = "square"
    scalar = square_body

    def vjp(self, g, inputs, out):
        return F.mul(g, F.mul(inputs[0], 2))


def square(x):
    """x * x.

    >>> square(np.array([3, -2], np.int32))
    array([9, 4], dtype=int32)
    """
    return bind(_SQUARE, as_operand(x))


@scalar_body
def reciprocal_body(x):
    return as_type_of(1, x) / x


@register
class Reciprocal(FloatUnary):
    name = "reciprocal"
    scalar = reciprocal_body
    vjp_needs_inputs, vjp_needs_outputs = False, True

    def vjp(self, g, inputs, out):
        return F.mul(F.neg(g), F.square(out))


def reciprocal(x):
    """1 / x (inf at 0); integer inputs give float32, as in PyTorch.

    >>> reciprocal(np.array([2, 4]))
    array([0.5 , 0.25], dtype=float32)
    """
    return bind(_RECIPROCAL, _as_float(x))


# ---------------------------------------------------------------------------------------------
# Binary ops. Both inputs have one dtype: the neutral functions promote and cast first.


@scalar_body
def add_body(x, y):
    return x + y


@register
class Add(Elementwise):
    name = "add"
    arity = 2
    scalar = add_body
    vjp_needs_inputs = False

    def vjp(self, g, inputs, out):
        return g, g


def add(x, y):
    """x + y with broadcasting; dtypes promote (Python scalars are weak).

    >>> add(np.ones(2, np.float32), 1)
    array([2., 2.], dtype=float32)
    """
    return bind(_ADD, *promote(x, y))


@scalar_body
def sub_body(x, y):
    return x - y


@register
class Sub(Elementwise):
    name = "sub"
    arity = 2
    scalar = sub_body
    vjp_needs_inputs = False

    def vjp(self, g, inputs, out):
        return g, F.neg(g)


def sub(x, y):
    """x - y with broadcasting (not for bool, as in NumPy and PyTorch).

    >>> sub(np.ones(2, np.float32), 3)
    array([-2., -2.], dtype=float32)
    """
    return bind(_SUB, *promote(x, y))


@scalar_body
def mul_body(x, y):
    return x * y


@register
class Mul(Elementwise):
    name = "mul"
    arity = 2
    scalar = mul_body

    def vjp(self, g, inputs, out):
        x, y = inputs
        return F.mul(g, y), F.mul(g, x)


def mul(x, y):
    """x * y with broadcasting.

    >>> mul(np.arange(3, dtype=np.float32), 2.0)
    array([0., 2., 4.], dtype=float32)
    """
    return bind(_MUL, *promote(x, y))


@scalar_body
def div_body(x, y):
    return x / y


@register
class Div(Elementwise):
    name = "div"
    arity = 2
    scalar = div_body
    input_dtypes = dtypes.FLOATS

    def vjp(self, g, inputs, out):
        x, y = inputs
        gx = F.div(g, y)
        return gx, F.neg(F.div(F.mul(gx, x), y))  # -g * x / y**2


def div(x, y):
    """True division x / y; x / 0 is inf or NaN.

    Integer and bool inputs divide as float32 (PyTorch's rule; NumPy would give float64).

    >>> div(np.array([1, 3]), 2)
    array([0.5, 1.5], dtype=float32)
    """
    x, y = promote(x, y)
    if x.dtype.kind != "f":
        x, y = cast(x, dtypes.DEFAULT_FLOAT), cast(y, dtypes.DEFAULT_FLOAT)
    return bind(_DIV, x, y)


@scalar_body
def pow_body(x, y):
    return x ** y


@register
class Pow(Elementwise):
    name = "pow"
    arity = 2
    scalar = pow_body
    input_dtypes = dtypes.FLOATS
    parallel_min_size = 1 << 13
    vjp_needs_outputs = True

    def vjp(self, g, inputs, out):
        x, y = inputs
        # Masks as in PyTorch: y * x**(y-1) is 0 where y = 0 (not 0 * inf at x = 0), and
        # out * log(x) is 0 where x = 0 and y >= 0 (not 0 * -inf).
        gx = F.where(F.eq(y, 0), 0, F.mul(y, F.pow(x, F.sub(y, 1))))
        gy = F.where(_all_true(F.eq(x, 0), F.ge(y, 0)), 0, F.mul(out, F.log(x)))
        return F.mul(g, gx), F.mul(g, gy)


def pow(x, y):
    """x ** y for float inputs; NaN for a negative base with a non-integer exponent.

    >>> pow(np.array([2.0, 9.0], np.float32), 0.5)
    array([1.4142135, 3.       ], dtype=float32)
    """
    return bind(_POW, *promote(x, y))


@scalar_body
def maximum_body(x, y):
    return x if x >= y or x != x else y  # NaN wins, as in NumPy and PyTorch


@scalar_body
def minimum_body(x, y):
    return x if x <= y or x != x else y


def _split_on_ties(g, first_wins, tie, second_wins):
    """Send g to the winning input; on a tie each gets half (PyTorch's choice)."""
    half = F.mul(g, 0.5)
    return (F.where(first_wins, g, F.where(tie, half, 0)),
            F.where(second_wins, g, F.where(tie, half, 0)))


@register
class Maximum(Elementwise):
    name = "maximum"
    arity = 2
    scalar = maximum_body
    input_dtypes = dtypes.ALL

    def vjp(self, g, inputs, out):
        x, y = inputs
        return _split_on_ties(g, F.gt(x, y), F.eq(x, y), F.lt(x, y))


def maximum(x, y):
    """The larger of x and y, elementwise; NaN if either is NaN. On ties the gradient is split
    half and half.

    >>> maximum(np.array([1.0, 5.0], np.float32), 3)
    array([3., 5.], dtype=float32)
    """
    return bind(_MAXIMUM, *promote(x, y))


@register
class Minimum(Elementwise):
    name = "minimum"
    arity = 2
    scalar = minimum_body
    input_dtypes = dtypes.ALL

    def vjp(self, g, inputs, out):
        x, y = inputs
        return _split_on_ties(g, F.lt(x, y), F.eq(x, y), F.gt(x, y))


def minimum(x, y):
    """The smaller of x and y, elementwise; NaN if either is NaN. On ties the gradient is split
    half and half.

    >>> minimum(np.array([1.0, 5.0], np.float32), 3)
    array([1., 3.], dtype=float32)
    """
    return bind(_MINIMUM, *promote(x, y))


# ---------------------------------------------------------------------------------------------
# Comparisons: any dtype in (after promotion), bool out, no gradient.


class Comparison(Elementwise):
    arity = 2
    input_dtypes = dtypes.ALL
    output_dtype = dtypes.bool_
    vjp_needs_inputs = False
    no_gradient = "boolean output"


@scalar_body
def eq_body(x, y):
    return x == y


@scalar_body
def ne_body(x, y):
    return x != y


@scalar_body
def lt_body(x, y):
    return x < y


@scalar_body
def le_body(x, y):
    return x <= y


@scalar_body
def gt_body(x, y):
    return x > y


@scalar_body
def ge_body(x, y):
    return x >= y


@register
class Eq(Comparison):
    name = "eq"
    scalar = eq_body


@register
class Ne(Comparison):
    name = "ne"
    scalar = ne_body


@register
class Lt(Comparison):
    name = "lt"
    scalar = lt_body


@register
class Le(Comparison):
    name = "le"
    scalar = le_body


@register
class Gt(Comparison):
    name = "gt"
    scalar = gt_body


@register
class Ge(Comparison):
    name = "ge"
    scalar = ge_body


def eq(x, y):
    """x == y elementwise, as bool (NaN equals nothing).

    >>> eq(np.array([1, 2]), 2.0)
    array([False,  True])
    """
    return bind(_EQ, *promote(x, y))


def ne(x, y):
    """x != y elementwise, as bool (NaN differs from everything).

    >>> ne(np.array([1, 2]), 2)
    array([ True, False])
    """
    return bind(_NE, *promote(x, y))


def lt(x, y):
    """x < y elementwise, as bool.

    >>> lt(np.array([1, 2]), 2)
    array([ True, False])
    """
    return bind(_LT, *promote(x, y))


def le(x, y):
    """x <= y elementwise, as bool.

    >>> le(np.array([1, 3]), 2)
    array([ True, False])
    """
    return bind(_LE, *promote(x, y))


def gt(x, y):
    """x > y elementwise, as bool.

    >>> gt(np.array([1, 3]), 2)
    array([False,  True])
    """
    return bind(_GT, *promote(x, y))


def ge(x, y):
    """x >= y elementwise, as bool.

    >>> ge(np.array([1, 2]), 2)
    array([False,  True])
    """
    return bind(_GE, *promote(x, y))


# ---------------------------------------------------------------------------------------------
# where and clip.


@scalar_body
def where_body(condition, x, y):
    return x if condition else y


@register
class Where(Elementwise):
    name = "where"
    arity = 3
    scalar = where_body
    input_dtypes = dtypes.ALL
    dtype_source = 1

    def check_dtypes(self, inputs) -> np.dtype:
        condition, x, y = inputs
        if condition.dtype != dtypes.bool_:
            require_dtype(self.name, condition, (dtypes.bool_,), "condition")
        if x.dtype != y.dtype:
            require_same_dtype(self.name, x, y)
        return x.dtype

    @classmethod
    def signatures(cls) -> list[str]:
        return [f"{_NUMBA_TYPE[d]}(boolean,{_NUMBA_TYPE[d]},{_NUMBA_TYPE[d]})"
                for d in cls.input_dtypes]

    def vjp(self, g, inputs, out):
        condition = inputs[0]
        return None, F.where(condition, g, 0), F.where(condition, 0, g)


def where(condition, x, y):
    """x where `condition` (bool) holds, else y; all three broadcast, x and y promote.

    >>> where(np.array([True, False]), 1.0, np.zeros(2, np.float32))
    array([1., 0.], dtype=float32)
    """
    return bind(_WHERE, as_operand(condition), *promote(x, y))


@scalar_body
def clip_body(x, low, high):
    clipped = low if x < low else x
    return high if clipped > high else clipped  # min(max(x, low), high); NaN stays NaN


@register
class Clip(Elementwise):
    """Clamp to [min, max]; None leaves that side open. With min > max, every value becomes
    max (PyTorch's rule)."""

    name = "clip"
    min: float | int | None = None
    max: float | int | None = None
    scalar = clip_body
    params = 2

    def kernel_params(self, dtype) -> np.ndarray:
        return _clip_bounds(self.min, self.max, dtype)

    def vjp(self, g, inputs, out):
        (x,) = inputs
        inside = None
        if self.min is not None:
            inside = F.ge(x, self.min)
        if self.max is not None:
            below_max = F.le(x, self.max)
            inside = below_max if inside is None else _all_true(inside, below_max)
        return g if inside is None else F.where(inside, g, 0)  # bounds pass, as in PyTorch


@functools.lru_cache(maxsize=256)
def _clip_bounds(low, high, dtype) -> np.ndarray:
    if dtype.kind == "f":
        lowest, highest = -np.inf, np.inf
    else:
        lowest, highest = int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
    # Bounds beyond an integer dtype's range clip nothing on that side.
    bounds = np.array([lowest if low is None else np.clip(low, lowest, highest),
                       highest if high is None else np.clip(high, lowest, highest)], dtype)
    bounds.flags.writeable = False  # shared by every call with these bounds
    return bounds


def clip(x, min=None, max=None):
    """Clamp x to [min, max] (either may be None); the dtype promotes with the bounds.

    The gradient passes where min <= x <= max, bounds included, as in PyTorch.

    >>> clip(np.array([-2.0, 0.5, 3.0], np.float32), 0, 1)
    array([0. , 0.5, 1. ], dtype=float32)
    """
    low, high = _clip_bound(min, "min"), _clip_bound(max, "max")
    x = as_operand(x)
    dtype = dtypes.result_type(x, *[b for b in (low, high) if b is not None])
    if x.dtype != dtype:
        x = cast(x, dtype)
    to_python = float if dtype.kind == "f" else int
    return bind(Clip(*(None if b is None else to_python(b) for b in (low, high))), x)


def _clip_bound(value, name):
    """A bound is an attribute: a Python number (NumPy scalars become one) or None."""
    if value is None or dtypes.is_weak_scalar(value):
        return value
    array = np.asarray(value)
    if array.ndim or array.dtype.kind not in "biuf":
        raise DTypeError(f"clip: {name} must be a number or None, got {value!r}")
    return array.item()


# ---------------------------------------------------------------------------------------------
# Cast: the only elementwise op whose output dtype is an attribute.


@scalar_body
def identity_body(x):
    return x  # the store into the output array converts the dtype


@numba.njit(cache=True)
def _cast_strided(x, out):
    i = 0
    for value in x.flat:
        out[i] = value
        i += 1


@register
class Cast(Op):
    """Convert to `dtype`: numbers to bool are `!= 0`, bool to numbers 0 or 1, floats to ints
    truncate toward zero."""

    name = "cast"
    dtype: np.dtype = dtypes.float32
    vjp_needs_inputs = False

    def infer(self, x):
        require_dtype(self.name, x, dtypes.ALL)
        return Spec(x.shape, self.dtype)

    def cpu(self, x):
        out = empty(x.shape, self.dtype)
        if out.size:
            if x.flags.c_contiguous:
                module = cpu.map_kernels(identity_body, "f", 0, "cast")
                kernel = (module.parallel if out.size >= cpu.MAP_PARALLEL_MIN_SIZE
                          else module.serial)
                kernel(x.ravel(), out.reshape(-1))
            else:
                _cast_strided(x, out.reshape(-1))
        return out

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.cast(x, self.dtype)

    def vjp(self, g, inputs, out):
        return g  # the shared reverse-mode code casts it back to the input's dtype


def cast(x, dtype):
    """Convert to another dtype (a no-op when it already has it).

    >>> cast(np.array([0.0, 2.5]), "bool")
    array([False,  True])
    """
    dtype = dtypes.as_dtype(dtype)
    x = as_operand(x)
    return x if x.dtype == dtype else bind(Cast(dtype), x)



# ---------------------------------------------------------------------------------------------
# expm1, atan and atan2: primitives because no composite of the ops above is accurate (exp(x) - 1
# loses every digit for tiny x; the arctangents have no inverse-trig op to build on).

__all__ += ["expm1", "atan", "atan2"]


@scalar_body
def expm1_body(x):
    return math.expm1(x)


@register
class Expm1(FloatUnary):
    name = "expm1"
    scalar = expm1_body
    vjp_needs_inputs, vjp_needs_outputs = False, True

    def vjp(self, g, inputs, out):
        return F.mul(g, F.add(out, 1))


def expm1(x):
    """e**x - 1, exact for tiny x where e**x would round to 1.

    >>> float(expm1(np.float64(1e-20)))
    1e-20
    """
    return bind(_EXPM1, _as_float(x))


@scalar_body
def atan_body(x):
    return math.atan(x)


@register
class Atan(FloatUnary):
    name = "atan"
    scalar = atan_body

    def vjp(self, g, inputs, out):
        return F.div(g, F.add(F.square(inputs[0]), 1))


def atan(x):
    """The arctangent, in (-pi/2, pi/2).

    >>> atan(np.array([0.0, 1.0]))
    array([0.        , 0.78539816])
    """
    return bind(_ATAN, _as_float(x))


@scalar_body
def atan2_body(y, x):
    return math.atan2(y, x)


@register
class Atan2(Elementwise):
    name = "atan2"
    arity = 2
    scalar = atan2_body
    input_dtypes = dtypes.FLOATS

    def vjp(self, g, inputs, out):
        y, x = inputs
        scale = F.div(g, F.add(F.square(x), F.square(y)))
        return F.mul(scale, x), F.mul(F.neg(scale), y)


def atan2(y, x):
    """The angle of the point (x, y), in [-pi, pi], with the quadrant from both signs.

    >>> atan2(np.array([1.0, 1.0]), np.array([1.0, -1.0]))
    array([0.78539816, 2.35619449])
    """
    return bind(_ATAN2, *promote(_as_float(y), _as_float(x)))


_EXPM1, _ATAN, _ATAN2 = Expm1(), Atan(), Atan2()


# One instance per attribute-free op: the neutral functions reuse them.
_EXP, _LOG, _LOG1P, _SQRT, _RSQRT = Exp(), Log(), Log1p(), Sqrt(), Rsqrt()
_TANH, _SIGMOID, _RELU, _GELU, _ERF = Tanh(), Sigmoid(), Relu(), Gelu(), Erf()
_SIN, _COS, _ABS, _NEG, _SIGN, _SQUARE, _RECIPROCAL = (Sin(), Cos(), Abs(), Neg(), Sign(),
                                                      Square(), Reciprocal())
_ADD, _SUB, _MUL, _DIV, _POW, _MAXIMUM, _MINIMUM = (Add(), Sub(), Mul(), Div(), Pow(),
                                                   Maximum(), Minimum())
_EQ, _NE, _LT, _LE, _GT, _GE = Eq(), Ne(), Lt(), Le(), Gt(), Ge()
_WHERE = Where()


# ---------------------------------------------------------------------------------------------
# Rounding division: floor_divide, remainder and fmod, with PyTorch's (and Python's) rules.
# Floats follow IEEE (x // 0 is +-inf or NaN, x % 0 is NaN). An integer divisor holding a 0 is
# refused before the loop, as PyTorch refuses it: numba would quietly give 0.

__all__ += ["floor_divide", "remainder", "fmod", "isnan", "isinf", "isfinite", "logical_and",
            "logical_or", "logical_xor", "logical_not", "clip_between", "nan_to_num", "isclose"]


class IntegerDivision(Elementwise):
    """A binary op that divides: an integer divisor must hold no zero. Checked in `cpu`, the
    kernel entry point, since the shape rule sees no values."""

    arity = 2

    def cpu(self, x, y):
        if y.dtype.kind != "f" and x.size and y.size and not y.all():
            self.refuse_zero_divisor(y)
        return super().cpu(x, y)

    def cuda(self, x, y):
        if y.dtype.kind != "f" and x.size and y.size:
            from framework.device import to_host

            host = to_host(y)  # the values live on the GPU: the check reads a copy
            if not host.all():
                self.refuse_zero_divisor(host)
        return super().cuda(x, y)

    def refuse_zero_divisor(self, y: np.ndarray):
        position = tuple(int(i) for i in np.argwhere(y == 0)[0])
        raise IntegerDivisionByZeroError(
            f"{self.name}: integer division by zero (the divisor of shape {y.shape} is 0 at "
            f"index {position})")


@scalar_body
def floor_divide_body(x, y):
    return x // y  # rounds toward -inf, as Python does (NumPy's and PyTorch's float rule too)


@register
class FloorDivide(IntegerDivision):
    name = "floor_divide"
    scalar = floor_divide_body
    no_gradient = "piecewise constant; PyTorch has no gradient for it either"


def floor_divide(x, y):
    """x / y rounded toward minus infinity: `//` in Python, PyTorch (1.13 on) and NumPy.

    Integer inputs give integers (a zero divisor is refused); floats give IEEE results for a
    zero divisor (inf, -inf or NaN). Piecewise constant, so it records no gradient.

    >>> floor_divide(np.array([7, -7]), 2)
    array([ 3, -4])
    """
    return bind(_FLOOR_DIVIDE, *promote(x, y))


@scalar_body
def remainder_body(x, y):
    return x % y  # the divisor's sign, as Python: -7 % 3 == 2


@register
class Remainder(IntegerDivision):
    name = "remainder"
    scalar = remainder_body

    def vjp(self, g, inputs, out):
        # x - y * floor(x / y): the floor is constant almost everywhere.
        x, y = inputs
        return g, F.mul(F.neg(g), floor_divide(x, y))


def remainder(x, y):
    """x - y * floor(x / y), which has the sign of the divisor, as Python's `%`.

    >>> remainder(np.array([7, -7]), 3), remainder(np.array([7.5]), -2.0)
    (array([1, 2]), array([-0.5]))
    """
    return bind(_REMAINDER, *promote(x, y))


def truncated_remainder(x, y):
    """x - y * trunc(x / y) (C's fmod), the sign of the dividend; numba compiles the overload
    below: its own fmod is wrong for negative integers."""
    return np.fmod(x, y)


@overload(truncated_remainder, inline="always")
def _truncated_remainder_typed(x, y):
    if isinstance(x, types.Float):
        return lambda x, y: np.fmod(x, y)

    def integer(x, y):
        floored = x % y
        return floored - y if floored != 0 and (floored < 0) != (x < 0) else floored

    return integer


@overload(truncated_remainder, target="cuda", inline="always")
def _truncated_remainder_on_gpu(x, y):
    if isinstance(x, types.Float):
        return lambda x, y: math.fmod(x, y)  # np.fmod has no GPU version; the same C fmod
    return _truncated_remainder_typed(x, y)


@scalar_body
def fmod_body(x, y):
    return truncated_remainder(x, y)


@register
class Fmod(IntegerDivision):
    name = "fmod"
    scalar = fmod_body

    def vjp(self, g, inputs, out):
        # x - y * trunc(x / y), with trunc(x / y) = sign(x) sign(y) floor(|x| / |y|).
        x, y = inputs
        quotient = F.mul(floor_divide(F.abs(x), F.abs(y)), F.mul(F.sign(x), F.sign(y)))
        return g, F.mul(F.neg(g), quotient)


def fmod(x, y):
    """x - y * trunc(x / y) (C's fmod), which has the sign of the dividend.

    >>> fmod(np.array([7, -7]), 3), fmod(np.array([-7.5]), 2.0)
    (array([ 1, -1]), array([-1.5]))
    """
    return bind(_FMOD, *promote(x, y))


# ---------------------------------------------------------------------------------------------
# Float predicates (isnan, isinf, isfinite) and logical ops: bool out, no gradient.


class FloatPredicate(Elementwise):
    """A property of float values. The neutral functions answer for integer and bool inputs
    themselves (never NaN, never infinite), as PyTorch does."""

    input_dtypes = dtypes.FLOATS
    output_dtype = dtypes.bool_
    vjp_needs_inputs = False
    no_gradient = "boolean output"


@scalar_body
def isnan_body(x):
    return x != x


@scalar_body
def isinf_body(x):
    return math.isinf(x)


@scalar_body
def isfinite_body(x):
    return math.isfinite(x)


@register
class IsNan(FloatPredicate):
    name = "isnan"
    scalar = isnan_body


@register
class IsInf(FloatPredicate):
    name = "isinf"
    scalar = isinf_body


@register
class IsFinite(FloatPredicate):
    name = "isfinite"
    scalar = isfinite_body


def _float_predicate(op, x, otherwise: bool):
    x = as_operand(x)
    if x.dtype.kind != "f":
        return F.full_like(x, otherwise, dtypes.bool_)
    return bind(op, x)


def isnan(x):
    """True where x is NaN (never for integers and bool).

    >>> isnan(np.array([1.0, np.nan]))
    array([False,  True])
    """
    return _float_predicate(_ISNAN, x, False)


def isinf(x):
    """True where x is +inf or -inf.

    >>> isinf(np.array([1.0, -np.inf, np.nan]))
    array([False,  True, False])
    """
    return _float_predicate(_ISINF, x, False)


def isfinite(x):
    """True where x is neither infinite nor NaN (always for integers and bool).

    >>> isfinite(np.array([1.0, np.inf, np.nan]))
    array([ True, False, False])
    """
    return _float_predicate(_ISFINITE, x, True)


class Logical(Elementwise):
    """Truth values of any dtype (non-zero is true, NaN included), bool out."""

    input_dtypes = dtypes.ALL
    output_dtype = dtypes.bool_
    vjp_needs_inputs = False
    no_gradient = "boolean output"


@scalar_body
def logical_and_body(x, y):
    return (x != as_type_of(0, x)) & (y != as_type_of(0, y))


@scalar_body
def logical_or_body(x, y):
    return (x != as_type_of(0, x)) | (y != as_type_of(0, y))


@scalar_body
def logical_xor_body(x, y):
    return (x != as_type_of(0, x)) != (y != as_type_of(0, y))


@scalar_body
def logical_not_body(x):
    return x == as_type_of(0, x)


@register
class LogicalAnd(Logical):
    name = "logical_and"
    arity = 2
    scalar = logical_and_body


@register
class LogicalOr(Logical):
    name = "logical_or"
    arity = 2
    scalar = logical_or_body


@register
class LogicalXor(Logical):
    name = "logical_xor"
    arity = 2
    scalar = logical_xor_body


@register
class LogicalNot(Logical):
    name = "logical_not"
    scalar = logical_not_body


def logical_and(x, y):
    """x and y, elementwise, of any dtypes (non-zero is true), as bool.

    >>> logical_and(np.array([0.0, 2.0, 3.0]), np.array([1, 0, 5]))
    array([False, False,  True])
    """
    return bind(_LOGICAL_AND, *promote(x, y))


def logical_or(x, y):
    """x or y, elementwise, as bool.

    >>> logical_or(np.array([0, 0, 2]), np.array([False, True, False]))
    array([False,  True,  True])
    """
    return bind(_LOGICAL_OR, *promote(x, y))


def logical_xor(x, y):
    """Exactly one of x and y is true, elementwise, as bool.

    >>> logical_xor(np.array([0, 1, 1]), np.array([1, 1, 0]))
    array([ True, False,  True])
    """
    return bind(_LOGICAL_XOR, *promote(x, y))


def logical_not(x):
    """True where x is zero (or False), as bool.

    >>> logical_not(np.array([0.0, -1.0]))
    array([ True, False])
    """
    return bind(_LOGICAL_NOT, as_operand(x))


# ---------------------------------------------------------------------------------------------
# clip with value bounds, nan_to_num, isclose.


@scalar_body
def clip_between_body(x, low, high):
    # NaN in x or in a bound gives NaN; low > high gives high: PyTorch's clamp.
    return minimum_body(maximum_body(x, low), high)


@register
class ClipBetween(Elementwise):
    """clip with bounds that are values (tensors, graph nodes), not attributes: all three
    broadcast. `clip_between` fills a missing bound with the dtype's extreme."""

    name = "clip_between"
    arity = 3
    scalar = clip_between_body
    vjp_takes_needs = True

    def vjp(self, g, inputs, out, needs=(True, True, True)):
        # PyTorch's rule: x takes g where low <= x <= high; low where x is below it (and low
        # < high); high where x is above it or high < low (then every value is high).
        x, low, high = inputs
        grads = [None, None, None]
        if needs[0]:
            grads[0] = F.where(logical_and(F.ge(x, low), F.le(x, high)), g, 0)
        if needs[1]:
            grads[1] = F.where(logical_and(F.lt(x, low), F.lt(low, high)), g, 0)
        if needs[2]:
            grads[2] = F.where(logical_or(F.gt(x, high), F.lt(high, low)), g, 0)
        return tuple(grads)


def clip_between(x, min=None, max=None):
    """Clamp x to [min, max] where the bounds are values (arrays, tensors, graph nodes) or
    numbers; they broadcast with x, dtypes promote, and a None bound leaves that side open.
    NaN in x or in a bound gives NaN; min > max gives max (PyTorch's clamp). The gradient
    reaches x where min <= x <= max, and each bound where it binds.

    >>> clip_between(np.arange(4), np.array([1, 1, 0, 0]), 2)
    array([1, 1, 2, 2])
    """
    present = [b for b in (min, max) if b is not None]
    if not present:
        raise ArgumentError("clip_between: at least one of min and max must not be None")
    operands = promote(x, *present)
    x, dtype = operands[0], operands[0].dtype
    given = iter(operands[1:])
    if dtype.kind == "f":
        lowest, highest = -np.inf, np.inf
    elif dtype.kind == "i":
        lowest, highest = np.iinfo(dtype).min, np.iinfo(dtype).max
    else:
        lowest = highest = False  # bool: refused by the op's dtype rule
    low = next(given) if min is not None else np.array(lowest, dtype)
    high = next(given) if max is not None else np.array(highest, dtype)
    return bind(_CLIP_BETWEEN, x, low, high)


@scalar_body
def nan_to_num_body(x, nan, posinf, neginf):
    if x != x:
        return nan
    if math.isinf(x):
        return posinf if x > as_type_of(0, x) else neginf
    return x


@register
class NanToNum(Elementwise):
    """NaN, +inf and -inf replaced by numbers; None: the dtype's largest and lowest finite
    values (PyTorch's defaults)."""

    name = "nan_to_num"
    nan: float = 0.0
    posinf: float | None = None
    neginf: float | None = None
    scalar = nan_to_num_body
    params = 3
    input_dtypes = dtypes.FLOATS

    def kernel_params(self, dtype) -> np.ndarray:
        return _replacements(self.nan, self.posinf, self.neginf, dtype)

    def vjp(self, g, inputs, out):
        return F.where(isfinite(inputs[0]), g, 0)  # the replaced values are constants


@functools.lru_cache(maxsize=256)
def _replacements(nan, posinf, neginf, dtype) -> np.ndarray:
    info = np.finfo(dtype)
    with np.errstate(over="ignore"):  # a replacement beyond the dtype's range becomes inf
        values = np.array([nan, info.max if posinf is None else posinf,
                           info.min if neginf is None else neginf], dtype)
    values.flags.writeable = False  # shared by every call with these replacements
    return values


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """x with NaN, +inf and -inf replaced: by `nan` (0.0), and by `posinf` and `neginf`, which
    default to the dtype's largest and lowest finite values. Integers and bool come back as a
    copy, as in PyTorch. The gradient passes where x is finite.

    >>> nan_to_num(np.array([np.nan, np.inf, -1.0], np.float32), posinf=9.0)
    array([ 0.,  9., -1.], dtype=float32)
    """
    replacements = [_replacement(v, name) for v, name in
                    ((nan, "nan"), (posinf, "posinf"), (neginf, "neginf"))]
    x = as_operand(x)
    if x.dtype.kind != "f":
        return F.contiguous_copy(x)
    return bind(NanToNum(*replacements), x)


def _replacement(value, name):
    """A nan_to_num replacement is an attribute: a Python float, or None."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise DTypeError(f"nan_to_num: {name} must be a number or None, got {value!r}")
    return float(value)


def isclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|x - y| <= atol + rtol * |y| elementwise, as bool (PyTorch's and NumPy's test).

    Equal values are close (inf to inf included); NaN is close to NaN only with `equal_nan`.
    x and y must have one dtype, as in PyTorch.

    >>> isclose(np.array([1.0, 1.1, np.nan]), np.array([1.0 + 1e-9, 1.0, np.nan]))
    array([ True, False, False])
    """
    x, y = as_operand(x), as_operand(y)
    if x.dtype != y.dtype:
        raise DTypeError(f"isclose: x has dtype {x.dtype} but y has dtype {y.dtype}; convert "
                         "one of them first")
    for value, name in ((rtol, "rtol"), (atol, "atol")):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise DTypeError(f"isclose: {name} must be a number, got {value!r}")
        if not value >= 0:
            raise ArgumentError(f"isclose: {name} must be greater than or equal to zero, but "
                                f"got {value}")
    close = F.eq(x, y)
    if equal_nan and x.dtype.kind == "f":
        close = logical_or(close, logical_and(isnan(x), isnan(y)))
    if rtol == 0 and atol == 0:
        return close  # a plain equality: no tolerance can make unequal values close
    if x.dtype.kind == "b":
        x, y = cast(x, dtypes.DEFAULT_FLOAT), cast(y, dtypes.DEFAULT_FLOAT)
    allowed = F.add(F.abs(F.mul(y, float(rtol))), float(atol))
    actual = F.abs(F.sub(x, y))
    return logical_or(close, logical_and(isfinite(actual), F.le(actual, allowed)))


_FLOOR_DIVIDE, _REMAINDER, _FMOD = FloorDivide(), Remainder(), Fmod()
_ISNAN, _ISINF, _ISFINITE = IsNan(), IsInf(), IsFinite()
_LOGICAL_AND, _LOGICAL_OR, _LOGICAL_XOR, _LOGICAL_NOT = (LogicalAnd(), LogicalOr(), LogicalXor(),
                                                         LogicalNot())
_CLIP_BETWEEN = ClipBetween()


from framework.ops import functions as F  # noqa: E402  (rules call back into the functions)
