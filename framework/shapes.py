"""Shapes: broadcasting and axis normalization, written once for every op.

A shape is a tuple of ints. The graph front-end also builds shapes with `None` for a dimension
not known until run time (TensorFlow's `placeholder(shape=(None, 784))`); every rule here accepts
`None` and keeps it unknown instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from framework.errors import ShapeError

Shape = tuple  # tuple[int | None, ...]


def as_shape(value) -> Shape:
    """Normalize an int or an iterable of ints into a shape tuple, with a clear error."""
    if isinstance(value, int):
        value = (value,)
    try:
        dims = tuple(value)
    except TypeError:
        raise ShapeError(f"a shape must be an int or a sequence of ints, got {value!r}") from None
    for dim in dims:
        if dim is None:
            continue
        if isinstance(dim, bool) or not hasattr(dim, "__index__") or dim.__index__() < 0:
            raise ShapeError(f"shape {value!r} has an invalid dimension {dim!r}")
    return tuple(None if d is None else int(d) for d in dims)


def is_known(shape: Shape) -> bool:
    return all(d is not None for d in shape)


def size_of(shape: Shape) -> int | None:
    """Number of elements, or None when a dimension is unknown."""
    total = 1
    for dim in shape:
        if dim is None:
            return None
        total *= dim
    return total


def broadcast_shapes(*shapes: Shape, op: str = "broadcast") -> Shape:
    """NumPy broadcasting of several shapes; the error names the op and every shape.

    >>> broadcast_shapes((3, 1), (4,))
    (3, 4)
    """
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(-ndim, 0):
        dim = 1
        for shape in shapes:
            if -axis > len(shape):
                continue
            other = shape[axis]
            if other == 1:
                continue
            if dim == 1:
                dim = other
            elif other is None or dim is None:
                dim = dim if other is None else other
            elif other != dim:
                listed = " and ".join(str(tuple(s)) for s in shapes)
                raise ShapeError(f"{op}: shapes {listed} cannot be broadcast together "
                                 f"(dimension {axis} is {dim} vs {other})")
        result.append(dim)
    return tuple(result)


def normalize_axis(axis: int, ndim: int, op: str = "op") -> int:
    """Map a possibly negative axis into range(ndim), or raise naming the op."""
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise ShapeError(f"{op}: axis must be an int, got {axis!r}")
    if ndim == 0:  # a scalar has one position: axis 0 or -1, as np.sum and np.argmax allow
        if axis not in (0, -1):
            raise ShapeError(f"{op}: axis {axis} is out of range for a 0-d input")
        return 0
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of range for a {ndim}-d input")
    return axis % ndim


def normalize_axes(axes, ndim: int, op: str = "op") -> tuple[int, ...]:
    """None -> all axes; an int or an iterable -> sorted unique non-negative axes."""
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, int):
        axes = (axes,)
    normalized = [normalize_axis(a, ndim, op) for a in axes]
    if len(set(normalized)) != len(normalized):
        raise ShapeError(f"{op}: axis {tuple(axes)} repeats an axis")
    return tuple(sorted(normalized))


def reduced_shape(shape: Shape, axes: Iterable[int], keepdims: bool) -> Shape:
    axes = set(axes)
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def broadcast_reduction_axes(from_shape: Sequence, to_shape: Sequence) -> tuple[tuple, tuple]:
    """Axes to sum so a gradient of `from_shape` folds back onto a broadcast input `to_shape`.

    Returns (leading axes to drop, kept axes that were stretched from 1).
    """
    lead = len(from_shape) - len(to_shape)
    dropped = tuple(range(lead))
    stretched = tuple(lead + i for i, d in enumerate(to_shape)
                      if d == 1 and from_shape[lead + i] != 1)
    return dropped, stretched
