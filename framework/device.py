"""Devices and the buffer allocator every kernel output goes through.

A `Device` names where a buffer lives ('cpu' now; 'cuda' plugs into the same seam). Each device
has an allocator that counts live and peak bytes, like `torch.cuda.max_memory_allocated` but for
every device, so memory can be compared across front-ends and devices with one measure.
A buffer counts as live until the last array viewing it is garbage-collected.
"""

from __future__ import annotations

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


class CpuAllocator:
    """Hands out NumPy buffers and counts their bytes until they are freed.

    Runs on every kernel output, so the bookkeeping is kept to one weak reference per buffer.
    """

    def __init__(self, device: Device):
        self.device = device
        self.stats = MemoryStats()
        # Re-entrant: garbage collection can run inside `empty` (while the lock is held) and
        # free another buffer, whose `_release` callback then takes the lock on this thread.
        self._lock = threading.RLock()
        # id(ref) -> ref: a weak reference must stay alive for its callback to fire.
        self._refs: dict[int, _BufferRef] = {}

    def empty(self, shape, dtype) -> np.ndarray:
        array = np.empty(shape, dtype)
        nbytes = array.nbytes
        if nbytes:
            ref = _BufferRef(array, self._release)
            ref.nbytes = nbytes
            stats = self.stats
            with self._lock:
                self._refs[id(ref)] = ref
                live = stats.live_bytes + nbytes
                stats.live_bytes = live
                stats.allocations += 1
                if live > stats.peak_bytes:
                    stats.peak_bytes = live
        return array

    def _release(self, ref: _BufferRef) -> None:
        with self._lock:
            del self._refs[id(ref)]
            self.stats.live_bytes -= ref.nbytes

    def reset_peak(self) -> None:
        with self._lock:
            self.stats.peak_bytes = self.stats.live_bytes


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
