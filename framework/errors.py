"""Errors that name the problem and the user's line.

Every error raised on bad input derives from `DualgraphError`. It records the first stack frame
outside dualgraph's own packages, so a message always ends with the place in the user's code that
caused it, even when the check ran deep inside the op layer.
"""

from __future__ import annotations

import os
import sys
import traceback

_PACKAGE_DIRS = tuple(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), name) + os.sep
    for name in ("framework", "eager", "graph")
)


def user_frame(skip_dirs: tuple[str, ...] = _PACKAGE_DIRS) -> traceback.FrameSummary | None:
    """The innermost stack frame that belongs to the user's code, not to dualgraph.

    >>> user_frame().filename  # doctest: +SKIP
    '<stdin>'
    """
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(skip_dirs):
            return traceback.FrameSummary(filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None


def describe_site(site: traceback.FrameSummary | None) -> str:
    """'file.py:12 in fn: source line' for a frame summary (or '<unknown>')."""
    if site is None:
        return "<unknown location>"
    text = f"{site.filename}:{site.lineno} in {site.name}"
    if site.line:
        text += f": {site.line.strip()}"
    return text


class DualgraphError(Exception):
    """Base class: the message names the problem; `site` is the user's frame that caused it."""

    def __init__(self, message: str, site: traceback.FrameSummary | None = None):
        self.problem = message
        self.site = site if site is not None else user_frame()
        super().__init__(f"{message}\n  at {describe_site(self.site)}")


class ShapeError(DualgraphError, ValueError):
    """Shapes that an op cannot accept (mismatched, out-of-range axis, bad reshape...)."""


class DTypeError(DualgraphError, TypeError):
    """A dtype an op does not support, or an unknown dtype."""


class DeviceError(DualgraphError, RuntimeError):
    """Values on different devices, or an op with no kernel for a device."""


class ArgumentError(DualgraphError, ValueError):
    """A value argument out of its range (a probability above 1, a negative std...)."""


class IndexingError(ShapeError, IndexError):
    """An index an op cannot accept: out of range, too many, or not a basic index.

    Both a `ShapeError` (so `except DualgraphError` catches it) and an `IndexError`, like the
    error NumPy raises for the same index.
    """


class IndexValueError(IndexingError, RuntimeError):
    """An index value outside the dimension it addresses, in the ops that gather or scatter
    along an axis (PyTorch's gather, scatter, scatter_add): an `IndexingError`, and a
    `RuntimeError` as PyTorch raises it for those ops."""


class CastError(DTypeError, RuntimeError):
    """A conversion between dtypes that would lose information, refused rather than done
    silently: a float result written in place into an integer tensor, integer inputs to a layer
    with float weights. A `DTypeError`, and a `RuntimeError` as PyTorch raises it."""


class DTypeOverflowError(DualgraphError, RuntimeError, OverflowError):
    """A number that the dtype it must become cannot hold (2**31 as int32, 2**63 or NaN as
    int64). A `RuntimeError` as in PyTorch, and an `OverflowError` as Python and NumPy raise."""


class IntegerDivisionByZeroError(ArgumentError, RuntimeError, ZeroDivisionError):
    """An integer floor_divide, remainder or fmod whose divisor holds a zero, which has no
    integer result. A `RuntimeError` as PyTorch raises it, and a `ZeroDivisionError` as Python
    raises for `7 // 0`."""
