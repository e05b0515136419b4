"""Movement and indexing ops: reshape, broadcast_to, ... (views where the layout allows).

A view shares its input's buffer and allocates nothing; when a layout cannot be viewed, the
copy goes through the allocator like any other kernel output.
"""

from __future__ import annotations

import numpy as np

from framework.device import empty
from framework.errors import ShapeError
from framework.ops.dispatch import as_operand, bind
from framework.ops.registry import Op, Spec, register
from framework.shapes import as_shape, broadcast_shapes, size_of

__all__ = ["reshape", "broadcast_to", "expand_to", "contiguous"]


def contiguous(x: np.ndarray) -> np.ndarray:
    """`x` itself when C-contiguous, else a contiguous copy from the allocator."""
    if x.flags.c_contiguous:
        return x
    out = empty(x.shape, x.dtype)
    out[...] = x  # a strided gather; NumPy's copy loop is the kernel here
    return out


def resolve_shape(op: str, in_shape, shape) -> tuple:
    """Fill one -1 in a requested shape; check the element count when it is known."""
    shape = tuple(shape)
    if sum(1 for d in shape if d == -1) > 1:
        raise ShapeError(f"{op}: only one dimension can be -1, got {shape}")
    for d in shape:
        if d is not None and d < -1:
            raise ShapeError(f"{op}: invalid dimension {d} in {shape}")
    total = size_of(in_shape)
    known = size_of(tuple(d for d in shape if d != -1))
    if -1 in shape:
        if total is None or known is None:
            return tuple(None if d == -1 else d for d in shape)
        if known == 0 or total % known:
            raise ShapeError(f"{op}: cannot reshape {tuple(in_shape)} into {shape}")
        return tuple(total // known if d == -1 else d for d in shape)
    if total is not None and known is not None and total != known:
        raise ShapeError(f"{op}: cannot reshape {tuple(in_shape)} ({total} elements) into "
                         f"{shape} ({known} elements)")
    return shape


@register
class Reshape(Op):
    name = "reshape"
    shape: tuple = ()
    vjp_needs_inputs = False

    def infer(self, x):
        return Spec(resolve_shape(self.name, x.shape, self.shape), x.dtype)

    def cpu(self, x):
        return contiguous(x).reshape(self.shape)

    def vjp(self, g, inputs, out):
        (x,) = inputs
        return reshape(g, _static_or_inferred(x.shape))


def _static_or_inferred(shape):
    unknown = sum(1 for d in shape if d is None)
    if unknown > 1:
        raise ShapeError(f"reshape gradient: input shape {shape} has more than one unknown "
                         "dimension")
    return tuple(-1 if d is None else d for d in shape)


def reshape(x, shape):
    """The same elements in a new shape (one dimension may be -1).

    >>> reshape(np.arange(6), (2, -1)).shape
    (2, 3)
    """
    return bind(Reshape(as_shape_with_minus_one(shape)), as_operand(x))


def as_shape_with_minus_one(shape) -> tuple:
    if isinstance(shape, int):
        shape = (shape,)
    return tuple(-1 if d == -1 else as_shape((d,))[0] for d in shape)


@register
class BroadcastTo(Op):
    name = "broadcast_to"
    shape: tuple = ()
    vjp_needs_inputs = False

    def infer(self, x):
        target = as_shape(self.shape)
        if len(x.shape) > len(target) or broadcast_shapes(x.shape, target,
                                                          op=self.name) != target:
            raise ShapeError(f"{self.name}: cannot broadcast {tuple(x.shape)} to {target}")
        return Spec(target, x.dtype)

    def cpu(self, x):
        return np.broadcast_to(x, self.shape)

    def vjp(self, g, inputs, out):
        return g  # the shared reverse-mode code sums the stretched axes


def broadcast_to(x, shape):
    """A read-only view of `x` stretched to `shape` by the broadcasting rules."""
    return bind(BroadcastTo(as_shape(shape)), as_operand(x))


def expand_to(g, like):
    """Broadcast `g` to the shape of `like`, even where that shape is known only at run time."""
    if all(d is not None for d in like.shape):
        return broadcast_to(g, like.shape)
    from framework.ops import functions as F

    return F.add(g, F.zeros_like(like, g.dtype))
