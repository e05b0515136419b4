"""Devices and the buffer allocator every kernel output goes through.

A `Device` names where a buffer lives: 'cpu' (NumPy arrays) or 'cuda' (numba.cuda device
arrays, on a GPU or under numba's simulator). Each device has an allocator that counts live and
peak bytes, like `torch.cuda.max_memory_allocated` but for every device, so memory can be
compared across front-ends and devices with one measure. A buffer counts as live until the last
array viewing it is garbage-collected. Copies between devices are explicit: `to_device`,
`to_host`.

numba.cuda is imported only when a CUDA device is first used: it reads NUMBA_ENABLE_CUDASIM
(run kernels in the simulator, without a GPU) when it is imported.
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
        if kind in _ALLOCATOR_FACTORIES and (not index or index.isdigit()):
            if kind == "cuda":
                require_cuda(value)
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


# ---------------------------------------------------------------------------------------------
# CUDA: numba.cuda device arrays, counted like NumPy buffers.

_cuda_problem: list = []  # [None] once numba.cuda is known usable, [reason] once known not


def _cuda_module():
    from numba import cuda  # here, not at import: see the module docstring

    return cuda


def _find_cuda_problem() -> str | None:
    try:
        cuda = _cuda_module()
    except Exception as error:  # any failure to import means the same to a user
        return f"numba.cuda cannot be imported ({error})"
    if cuda.is_available():  # True under the simulator
        return None
    try:
        cuda.get_current_device()
    except Exception as error:  # the driver says why, in its own words
        return f"no usable NVIDIA GPU ({' '.join(str(error).split()).rstrip(' :')})"
    return "no usable NVIDIA GPU"


def require_cuda(name="cuda") -> None:
    """Raise a DeviceError saying why, unless numba.cuda can run kernels here (a GPU, or the
    simulator: NUMBA_ENABLE_CUDASIM=1 set before Python starts)."""
    if not _cuda_problem:
        _cuda_problem.append(_find_cuda_problem())
    problem = _cuda_problem[0]
    if problem is not None:
        raise DeviceError(
            f"device {str(name)!r} is not available: {problem}. With an NVIDIA GPU and driver, "
            "install numba-cuda with `pip install -e '.[cuda]'`; without a GPU, run CUDA "
            "kernels under numba's simulator: set NUMBA_ENABLE_CUDASIM=1 before starting Python")


def _simulated() -> bool:
    from numba import config

    return bool(config.ENABLE_CUDASIM)


def _current_cuda_index() -> int:
    return 0 if _simulated() else _cuda_module().get_current_device().id


def _cuda_index(array) -> int:
    """The index of the GPU holding a device array (the simulator has one, index 0)."""
    try:
        return array.gpu_data.context.device.id
    except AttributeError:
        return 0


def _buffer_owner(array):
    """The object that lives exactly as long as a fresh device array's memory: the memory
    pointer that every view's pointer refers to as its owner (under the simulator: the NumPy
    array that every view's array has as its base)."""
    if _simulated():
        return array._ary
    return array.gpu_data.owner


_simulated_array_type: list = []


def _as_host_sees_it(array):
    """A simulated device array that behaves, in host code, as a real one: the simulator's
    arrays give shapes that refuse negative indices (as a shape inside a kernel does), while a
    real device array's shape is a plain tuple, which every shape rule indexes from the end."""
    if not _simulated_array_type:
        from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

        def rewrap(found):
            return HostView(found._ary, found.stream) if type(found) is FakeCUDAArray else found

        class HostView(FakeCUDAArray):
            @property
            def shape(self):
                return self._ary.shape

            @property
            def T(self):
                return rewrap(super().T)

            def __getitem__(self, index):
                return rewrap(super().__getitem__(index))

            def reshape(self, *args, **kwargs):
                return rewrap(super().reshape(*args, **kwargs))

            def ravel(self, *args, **kwargs):
                return rewrap(super().ravel(*args, **kwargs))

            def view(self, *args, **kwargs):
                return rewrap(super().view(*args, **kwargs))

            def transpose(self, axes=None):
                return rewrap(super().transpose(axes))

        _simulated_array_type.append(HostView)
    return _simulated_array_type[0](array._ary, array.stream)


class CudaAllocator(CpuAllocator):
    """Hands out numba.cuda device arrays on one GPU, counted as the CPU allocator counts."""

    def __init__(self, device: Device):
        require_cuda(device)
        count = 1 if _simulated() else len(_cuda_module().gpus)
        if device.index is not None and device.index >= count:
            raise DeviceError(f"device {str(device)!r} does not exist: {count} CUDA device"
                              f"{'s' if count != 1 else ''} here")
        super().__init__(device)
        self._cuda = _cuda_module()

    def empty(self, shape, dtype):
        cuda, index = self._cuda, self.device.index
        if _simulated():
            array = _as_host_sees_it(cuda.device_array(shape, dtype))
        elif index == _current_cuda_index():
            array = cuda.device_array(shape, dtype)
        else:
            with cuda.gpus[index]:
                array = cuda.device_array(shape, dtype)
        nbytes = array.nbytes
        if nbytes:
            ref = _BufferRef(_buffer_owner(array), self._log)
            ref.nbytes = nbytes
            self._refs[id(ref)] = ref
            self._log(nbytes)
            if len(self._events) > _FOLD_AT:
                self._fold()
        return array


_ALLOCATOR_FACTORIES = {"cpu": CpuAllocator, "cuda": CudaAllocator}
_allocators: dict[Device, CpuAllocator] = {}


def register_device_type(name: str, allocator_factory) -> None:
    """The seam for new devices: the CUDA layer registers its allocator here."""
    _ALLOCATOR_FACTORIES[name] = allocator_factory


def allocator(device: Device = cpu):
    """The allocator of a device, created on first use."""
    found = _allocators.get(device)
    if found is None:
        if device.type == "cuda" and device.index is None:  # 'cuda': the current GPU
            require_cuda(device)
            return allocator(Device("cuda", _current_cuda_index()))
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
    """The device of a raw buffer (NumPy arrays are on the CPU, numba.cuda device arrays on
    their GPU)."""
    if isinstance(array, np.ndarray | np.generic):
        return cpu
    device = getattr(array, "device", None)
    if isinstance(device, Device):
        return device
    if getattr(array, "__cuda_ndarray__", False):  # numba.cuda's arrays, simulated ones too
        return Device("cuda", _cuda_index(array))
    raise DeviceError(f"cannot tell the device of a {type(array).__name__}")


def to_device(array, device):
    """A copy of `array` on `device` (the array itself if it is there already), counted by that
    device's allocator. Host arrays of any layout are accepted.

    >>> to_device(np.arange(3), "cpu")
    array([0, 1, 2])
    """
    device = as_device(device)
    if device.type == "cpu":
        return to_host(array)
    target = allocator(device)  # checks the device is usable; resolves 'cuda' to its GPU
    if not isinstance(array, np.ndarray | np.generic):
        if device_of(array) == target.device:
            return array
        array = to_host(array)
    host = np.asarray(array)
    if not host.flags.c_contiguous:  # (np.ascontiguousarray would make a 0-d array 1-d)
        host = np.ascontiguousarray(host)
    out = target.empty(host.shape, host.dtype)
    if out.size:
        out.copy_to_device(host)
    return out


def to_host(array) -> np.ndarray:
    """`array` as a NumPy array: a device array is copied back (waiting for the kernels that
    write it), a NumPy array is returned as it is. A strided device view (a transpose, a
    slice with a step) is first made contiguous on its device, as a copy to the host moves one
    contiguous block.

    >>> to_host(np.float32([1.5]))
    array([1.5], dtype=float32)
    """
    if isinstance(array, np.ndarray):
        return array
    if isinstance(array, np.generic):
        return np.asarray(array)
    device_of(array)  # a clear error for anything that is not a buffer
    if not array.is_c_contiguous():
        from framework.kernels import cuda  # numba.cuda: imported once a device array exists

        array = cuda.contiguous(array)
    out = _cpu_empty(array.shape, array.dtype)
    if out.size:
        array.copy_to_host(out)
    return out


_cpu_empty = allocator(cpu).empty
