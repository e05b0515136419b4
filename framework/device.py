"""Devices and the buffer allocator every kernel output goes through.

A `Device` names where a buffer lives ('cpu' now; 'cuda' plugs into the same seam). Each device
has an allocator that counts live and peak bytes, like `torch.cuda.max_memory_allocated` but for
every device, so memory can be compared across front-ends and devices with one measure.
A buffer counts as live until the last array viewing it is garbage-collected.
"""

from __future__ import annotations

import collections
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from framework.errors import DeviceError


@dataclass(frozen=True)
class Device:
    """Where a buffer lives. `Device('cpu')`, later `Device('cuda', 0)`.

    >>> Device("cpu")
    device(type='cpu')
    """

    type: str
    index: int | None = None

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


cpu = Device("cpu")


def as_device(value) -> Device:
    """'cpu', 'cuda:0', or a Device -> Device, with a clear error for anything else."""
    if isinstance(value, Device):
        return value
    if isinstance(value, str):
        kind, _, index = value.partition(":")
        if kind in _ALLOCATOR_FACTORIES:
            return Device(kind, int(index) if index else None)
    known = ", ".join(sorted(_ALLOCATOR_FACTORIES))
    raise DeviceError(f"unknown device {value!r}; available device types: {known}")


@dataclass
class MemoryStats:
    """Byte counters of one device's allocator."""

    live_bytes: int = 0
    peak_bytes: int = 0
    allocations: int = 0


class _BufferRef(weakref.ref):
    """A weak reference to a buffer that remembers its size, for the release callback."""

    __slots__ = ("nbytes",)


# Fold the event log into the totals once it holds this many entries (and whenever asked).
_FOLD_AT = 4096


class CpuAllocator:
    """Hands out NumPy buffers and counts their bytes until they are freed.

    Runs on every kernel output, so the hot path takes no lock and runs no Python at release:
    an allocation appends its size to an event log (a deque, whose appends are atomic), and a
    freed buffer's weak reference appends itself to the log, the deque's own `append` being
    the callback. The log is folded, in order, into live, peak and count totals when it grows
    long or when the statistics are read, so the peak is exact whatever the threads did.
    """

    def __init__(self, device: Device):
        self.device = device
        self._totals = MemoryStats()
        self._events: collections.deque = collections.deque()
        self._log = self._events.append
        self._fold_lock = threading.Lock()
        # id(ref) -> ref: a weak reference must stay alive for its callback to fire.
        self._refs: dict[int, _BufferRef] = {}

    def empty(self, shape, dtype) -> np.ndarray:
        array = np.empty(shape, dtype)
        nbytes = array.nbytes
        if nbytes:
            log = self._log
            ref = _BufferRef(array, log)
            ref.nbytes = nbytes
            self._refs[id(ref)] = ref
            log(nbytes)
            if len(self._events) > _FOLD_AT:
                self._fold()
        return array

    def _fold(self) -> None:
        with self._fold_lock:
            totals, events, refs = self._totals, self._events, self._refs
            live, peak, count = totals.live_bytes, totals.peak_bytes, totals.allocations
            for _ in range(len(events)):  # entries appended meanwhile wait for the next fold
                event = events.popleft()
                if type(event) is int:  # an allocation of that many bytes
                    live += event
                    count += 1
                    if live > peak:
                        peak = live
                else:  # the weak reference of a freed buffer
                    live -= event.nbytes
                    del refs[id(event)]
            totals.live_bytes, totals.peak_bytes, totals.allocations = live, peak, count

    @property
    def stats(self) -> MemoryStats:
        """The totals, brought up to date."""
        self._fold()
        return self._totals

    def reset_peak(self) -> None:
        self._fold()
        self._totals.peak_bytes = self._totals.live_bytes


_ALLOCATOR_FACTORIES = {"cpu": CpuAllocator}
_allocators: dict[Device, CpuAllocator] = {}


def register_device_type(name: str, allocator_factory) -> None:
    """The seam for new devices: the CUDA layer registers its allocator here."""
    _ALLOCATOR_FACTORIES[name] = allocator_factory


def allocator(device: Device = cpu):
    """The allocator of a device, created on first use."""
    found = _allocators.get(device)
    if found is None:
        found = _allocators.setdefault(device, _ALLOCATOR_FACTORIES[device.type](device))
    return found


def empty(shape, dtype, device: Device = cpu) -> np.ndarray:
    """Allocate an uninitialized buffer on `device`, counted by its allocator.

    >>> empty((2, 3), np.float32).shape
    (2, 3)
    """
    if device is cpu:  # every kernel output: skip the allocator lookup
        return _cpu_empty(shape, dtype)
    return allocator(device).empty(shape, dtype)


def memory_allocated(device="cpu") -> int:
    """Bytes held by live buffers on the device."""
    return allocator(as_device(device)).stats.live_bytes


def max_memory_allocated(device="cpu") -> int:
    """The most bytes live at once since start or since `reset_peak_memory_stats`."""
    return allocator(as_device(device)).stats.peak_bytes


def reset_peak_memory_stats(device="cpu") -> None:
    allocator(as_device(device)).reset_peak()


def device_of(array) -> Device:
    """The device of a raw buffer (NumPy arrays are on the CPU)."""
    if isinstance(array, np.ndarray | np.generic):
        return cpu
    device = getattr(array, "device", None)
    if isinstance(device, Device):
        return device
    raise DeviceError(f"cannot tell the device of a {type(array).__name__}")


_cpu_empty = allocator(cpu).empty
