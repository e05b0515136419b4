"""Timing that stays honest on a shared, noisy machine.

Ours and the reference are timed interleaved (A, B, A, B, ...) in one process, so a burst of
load from a neighbour hits both alike; each reports the median of its repeats, and the ratio is
ours / reference (below 1.0 means we are faster).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median


@dataclass
class Comparison:
    label: str
    ours_s: float
    reference_s: float

    @property
    def ratio(self) -> float:
        return self.ours_s / self.reference_s if self.reference_s else float("inf")


def time_call(function: Callable, min_time: float = 2e-3) -> float:
    """Seconds per call, looping enough calls to make the clock's resolution negligible."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            function()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or calls >= 1 << 20:
            return elapsed / calls
        calls *= 2 if elapsed == 0 else max(2, int(min_time / elapsed * 1.5))


def compare(label: str, ours: Callable, reference: Callable, repeats: int = 15,
            min_time: float = 2e-3) -> Comparison:
    """Median time per call of `ours` and `reference`, measured interleaved.

    >>> compare("noop", lambda: None, lambda: None, repeats=3).ratio > 0
    True
    """
    ours()
    reference()  # warm up: compile, fill caches
    ours_times, reference_times = [], []
    for _ in range(repeats):
        ours_times.append(time_call(ours, min_time))
        reference_times.append(time_call(reference, min_time))
    return Comparison(label, median(ours_times), median(reference_times))


def format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join([line, rule, *body])
