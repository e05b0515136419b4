"""LLVM-level helpers for kernels: the few operations numba cannot express so that they vectorize.

Each one is an `@intrinsic`: numba calls it like a function and pastes its LLVM instructions
into the caller, where the loop vectorizer sees plain arithmetic instead of a call.

- `float_bits` and `float_from_bits` reinterpret a float's bits as an integer and back, so
  kernels can read and build exponents (what frexp and ldexp do, as calls LLVM cannot
  vectorize);
- `maximum` and `minimum` are LLVM's NaN-propagating llvm.maximum / llvm.minimum;
- `scan_max`, `scan_min`, `scan_argmax` and `scan_argmin` scan a contiguous row with explicit
  vectors: numba vectorizes neither an argmax loop nor a max that must keep NaN;
- `madvise` is the C library's madvise(2), called by name (so a function calling it can be
  cached on disk: no address is baked into its code), for `cpu.advise_huge_pages`.
"""

from __future__ import annotations

import math

import llvmlite.ir as llvm_ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# The scans read this many bytes of values per step: four AVX2 registers' worth of lanes, each
# lane keeping its own best value (and index).
SCAN_BYTES = 64

# The unsigned integer type of each float type's width.
_BITS_TYPE = {types.float32: types.uint32, types.float64: types.uint64}
_FLOAT_TYPE = {32: types.float32, 64: types.float64}


@intrinsic
def float_bits(typingctx, value):
    """The bits of a float32 or float64, as an unsigned integer of the same width (a bitcast,
    no conversion)."""
    if value not in _BITS_TYPE:
        return None
    bits_type = _BITS_TYPE[value]

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(bits_type))

    return bits_type(value), codegen


@intrinsic
def float_from_bits(typingctx, bits):
    """The float32 or float64 whose bits are `bits`, an integer of 32 or 64 bits (a bitcast)."""
    if not isinstance(bits, types.Integer) or bits.bitwidth not in _FLOAT_TYPE:
        return None
    float_type = _FLOAT_TYPE[bits.bitwidth]

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(float_type))

    return float_type(bits), codegen


@intrinsic
def madvise(typingctx, address, length, advice):
    """madvise(2) on `length` bytes at the integer `address` (both page-aligned); returns its
    result (0, or -1 where the kernel refused the advice). Linux and other POSIX systems only."""
    if not (isinstance(address, types.Integer) and isinstance(length, types.Integer)
            and isinstance(advice, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        bytes_pointer = llvm_ir.IntType(8).as_pointer()
        size_t = llvm_ir.IntType(64)
        function_type = llvm_ir.FunctionType(llvm_ir.IntType(32),
                                             [bytes_pointer, size_t, llvm_ir.IntType(32)])
        function = cgutils.get_or_insert_function(builder.module, function_type, "madvise")
        start, size, how = (context.cast(builder, value, kind, target) for value, kind, target
                            in zip(args, signature.args, (types.uintp, types.uintp, types.int32)))
        result = builder.call(function, [builder.inttoptr(start, bytes_pointer), size, how])
        return builder.sext(result, llvm_ir.IntType(64))

    return types.int64(address, length, advice), codegen


def _extremum(a, b, float_name: str, signed_name: str, unsigned_name: str):
    if a != b or not isinstance(a, (types.Float, types.Integer)):
        return None
    if isinstance(a, types.Float):
        name = f"llvm.{float_name}.f{a.bitwidth}"
    else:
        name = f"llvm.{signed_name if a.signed else unsigned_name}.i{a.bitwidth}"

    def codegen(context, builder, signature, args):
        return _call(builder, name, args[0].type, args)

    return a(a, b), codegen


@intrinsic
def maximum(typingctx, a, b):
    """The larger of a and b; NaN if either is NaN (LLVM's llvm.maximum, which vectorizes)."""
    return _extremum(a, b, "maximum", "smax", "umax")


@intrinsic
def minimum(typingctx, a, b):
    """The smaller of a and b; NaN if either is NaN (LLVM's llvm.minimum, which vectorizes)."""
    return _extremum(a, b, "minimum", "smin", "umin")


def _vector_scan(values, largest: bool, with_index: bool):
    """Typing and LLVM code of the `scan_*` intrinsics, for a 1-d C-contiguous array.

    numba vectorizes neither an argmax loop (the index rides along with the value) nor a
    NaN-propagating max reduction without fast-math flags that would let it ignore NaN. These
    loops are therefore written with LLVM vectors of SCAN_BYTES: each lane keeps the best value
    (and its index) of its stride with a plain compare-and-select (one vmaxps, say), while a
    second mask records whether any lane met a NaN. The lanes are then reduced to the extreme and,
    for the arg scans, the lowest index holding it.

    Only whole vectors are scanned; the caller finishes the few elements left (`covered` says
    how many were scanned: 0 when not even one vector fits). A NaN anywhere in the scanned part
    makes the value NaN, and the index -1 (the caller then finds the first NaN). Indices are
    int32 lanes: the caller scans at most 2**31 - 1 elements per call.
    """
    if not (isinstance(values, types.Array) and values.ndim == 1 and values.layout == "C"
            and isinstance(values.dtype, (types.Float, types.Integer))):
        return None
    dtype = values.dtype
    is_float = isinstance(dtype, types.Float)
    lanes = SCAN_BYTES // (dtype.bitwidth // 8)
    direction = ">" if largest else "<"
    if is_float:
        reduce_name = f"llvm.vector.reduce.f{'max' if largest else 'min'}.v{lanes}f{dtype.bitwidth}"
    else:
        kind = ("s" if dtype.signed else "u") + ("max" if largest else "min")
        reduce_name = f"llvm.vector.reduce.{kind}.v{lanes}i{dtype.bitwidth}"
    result_type = types.int64 if with_index else dtype

    def codegen(context, builder, signature, args):
        array = context.make_array(values)(context, builder, args[0])
        bit, int32, int64 = llvm_ir.IntType(1), llvm_ir.IntType(32), llvm_ir.IntType(64)
        element = context.get_data_type(dtype)
        vector = llvm_ir.VectorType(element, lanes)
        index_vector = llvm_ir.VectorType(int32, lanes)
        mask_vector = llvm_ir.VectorType(bit, lanes)
        step = llvm_ir.Constant(int64, lanes)
        covered = builder.sub(array.nitems, builder.urem(array.nitems, step))
        best = cgutils.alloca_once(builder, vector)
        best_index = cgutils.alloca_once(builder, index_vector)
        position = cgutils.alloca_once(builder, index_vector)
        nan_seen = cgutils.alloca_once(builder, mask_vector)
        result = cgutils.alloca_once_value(builder, llvm_ir.Constant(context.get_value_type(
            result_type), 0))
        stride = llvm_ir.Constant(index_vector, [lanes] * lanes)

        def load(offset):
            address = builder.bitcast(builder.gep(array.data, [offset]), vector.as_pointer())
            return builder.load(address, align=dtype.bitwidth // 8)

        def is_nan(vector_value):
            return builder.fcmp_unordered("uno", vector_value, vector_value)

        def splat(scalar, vector_type):
            one = builder.insert_element(llvm_ir.Constant(vector_type, llvm_ir.Undefined), scalar,
                                         llvm_ir.Constant(int32, 0))
            return builder.shuffle_vector(one, llvm_ir.Constant(vector_type, llvm_ir.Undefined),
                                          llvm_ir.Constant(index_vector, [0] * lanes))

        with builder.if_then(builder.icmp_unsigned(">", covered, llvm_ir.Constant(int64, 0))):
            first = load(llvm_ir.Constant(int64, 0))
            builder.store(first, best)
            lane_ids = llvm_ir.Constant(index_vector, list(range(lanes)))
            builder.store(lane_ids, best_index)
            builder.store(builder.add(lane_ids, stride), position)
            builder.store(is_nan(first) if is_float else llvm_ir.Constant(mask_vector, None),
                          nan_seen)
            with cgutils.for_range_slice(builder, step, covered, step) as (offset, _):
                new, old, here = load(offset), builder.load(best), builder.load(position)
                if is_float:
                    better = builder.fcmp_ordered(direction, new, old)
                    builder.store(builder.or_(builder.load(nan_seen), is_nan(new)), nan_seen)
                elif dtype.signed:
                    better = builder.icmp_signed(direction, new, old)
                else:
                    better = builder.icmp_unsigned(direction, new, old)
                builder.store(builder.select(better, new, old), best)
                if with_index:
                    builder.store(builder.select(better, here, builder.load(best_index)),
                                  best_index)
                    builder.store(builder.add(here, stride), position)
            found = builder.load(best)
            # The lanes hold no NaN that matters: a NaN seen overrides the result below.
            extreme = _call(builder, reduce_name, element, [found],
                            fastmath=("nnan",) if is_float else ())
            if with_index:
                holds = (builder.fcmp_ordered("==", found, splat(extreme, vector)) if is_float
                         else builder.icmp_signed("==", found, splat(extreme, vector)))
                candidates = builder.select(holds, builder.load(best_index),
                                            llvm_ir.Constant(index_vector, [2**31 - 1] * lanes))
                answer = builder.sext(_call(builder, f"llvm.vector.reduce.smin.v{lanes}i32",
                                            int32, [candidates]), int64)
            else:
                answer = extreme
            if is_float:
                any_nan = _call(builder, f"llvm.vector.reduce.or.v{lanes}i1", bit,
                                [builder.load(nan_seen)])
                nan_answer = llvm_ir.Constant(int64 if with_index else element,
                                              -1 if with_index else math.nan)
                answer = builder.select(any_nan, nan_answer, answer)
            builder.store(answer, result)
        return context.make_tuple(builder, signature.return_type,
                                  [builder.load(result), covered])

    return types.Tuple((result_type, types.int64))(values), codegen


def _call(builder, name: str, return_type, args, fastmath=()):
    function_type = llvm_ir.FunctionType(return_type, [a.type for a in args])
    function = cgutils.get_or_insert_function(builder.module, function_type, name)
    return builder.call(function, args, fastmath=fastmath)


def _scan(name: str, largest: bool, with_index: bool, doc: str):
    def scan(typingctx, values):
        return _vector_scan(values, largest=largest, with_index=with_index)

    scan.__name__ = scan.__qualname__ = name  # how generated kernels import it
    scan.__doc__ = doc
    return intrinsic(scan)


scan_argmax = _scan("scan_argmax", True, True,
                    "(index of the first largest element or -1 after a NaN, elements scanned).")
scan_argmin = _scan("scan_argmin", False, True,
                    "(index of the first smallest element or -1 after a NaN, elements scanned).")
scan_max = _scan("scan_max", True, False, "(largest element, NaN if any is NaN; elements scanned).")
scan_min = _scan("scan_min", False, False,
                 "(smallest element, NaN if any is NaN; elements scanned).")
