"""One table of op specs, expanded by test_ops.py over op x dtype x shape x layout.

An `OpSpec` says how to call an op through the neutral functions (`call`), what NumPy computes
for it (`reference`), which input shapes and dtypes to try, where inputs may be drawn from, and
whether to check gradients (float64 central differences, and second order when the rule is
written in differentiable ops). Each op family keeps its table in `specs_<family>.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from framework import dtypes

FLOAT_TOLERANCE = {dtypes.float32: (2e-5, 1e-5), dtypes.float64: (1e-12, 1e-12)}


@dataclass
class OpSpec:
    name: str
    call: Callable  # call(*inputs) through the neutral functions
    reference: Callable  # reference(*numpy_inputs) -> numpy result(s)
    shapes: list  # a list of tuples of input shapes
    dtypes: tuple = dtypes.FLOATS
    # Input i is drawn from make_input(rng, shape, dtype, i); default: uniform in `domain`.
    domain: tuple = (-2.0, 2.0)
    make_input: Callable | None = None
    grad: bool = True
    second_order: bool = True
    # Which inputs to differentiate (None: every float input).
    wrt: tuple | None = None
    tolerance: dict = field(default_factory=dict)  # dtype -> (rtol, atol)
    # Shapes/dtypes that must raise our error before any kernel runs: (shapes, dtype, match).
    bad: list = field(default_factory=list)
    exact_dtype: bool = True  # the result dtype must equal NumPy's
    fd_eps: float = 1e-6

    def __str__(self) -> str:
        return self.name

    def inputs(self, rng: np.random.Generator, shapes, dtype) -> list[np.ndarray]:
        made = []
        for i, shape in enumerate(shapes):
            if self.make_input is not None:
                made.append(self.make_input(rng, shape, dtype, i))
            elif np.dtype(dtype).kind == "f":
                low, high = self.domain
                made.append(rng.uniform(low, high, size=shape).astype(dtype))
            elif np.dtype(dtype).kind == "b":
                made.append(rng.random(size=shape) < 0.5)
            else:
                low, high = self.domain
                made.append(rng.integers(int(low) - 1, int(high) + 2, size=shape).astype(dtype))
        # 0-d draws come back as NumPy scalars, which are immutable: finite differences
        # perturb their inputs in place, so every input is an array.
        return [np.asarray(x) for x in made]

    def tol(self, dtype) -> tuple[float, float]:
        return self.tolerance.get(np.dtype(dtype), FLOAT_TOLERANCE.get(np.dtype(dtype), (0, 0)))


def non_contiguous(array: np.ndarray) -> np.ndarray:
    """The same values in a strided view (every other element of a larger buffer)."""
    if array.ndim == 0:
        return array
    padded = np.empty(array.shape[:-1] + (array.shape[-1] * 2,), array.dtype)
    view = padded[..., ::2]
    view[...] = array
    return view


def away_from(points, margin):
    """make_input that keeps samples at least `margin` from kinks (relu at 0, abs at 0...)."""

    def make(rng, shape, dtype, i):
        values = rng.uniform(-2, 2, size=shape)
        for point in points:
            close = np.abs(values - point) < margin
            values[close] = point + margin * np.sign(values[close] - point + 1e-12) * 2
        return values.astype(dtype)

    return make
