"""`eager.cuda`: PyTorch's CUDA queries.

`is_available()` is True where numba.cuda can run the CUDA kernels: an NVIDIA GPU with its
driver, or numba's simulator (NUMBA_ENABLE_CUDASIM=1 set before Python starts). Without either,
tutorial code's `"cuda" if eager.cuda.is_available() else "cpu"` falls back to the CPU.

>>> import eager
>>> eager.cuda.is_available() == (eager.cuda.device_count() > 0)
True
"""

from __future__ import annotations

from framework import device as _device
from framework.errors import DeviceError

__all__ = ["device_count", "is_available"]


def is_available() -> bool:
    """Whether tensors can be moved to 'cuda': a usable GPU, or numba's CUDA simulator."""
    try:
        _device.require_cuda()
    except DeviceError:
        return False
    return True


def device_count() -> int:
    """How many GPUs 'cuda:N' can name (the simulator has one; 0 where none is usable)."""
    if not is_available():
        return 0
    if _device._simulated():
        return 1
    return len(_device._cuda_module().gpus)
