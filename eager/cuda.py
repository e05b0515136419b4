"""`eager.cuda`: PyTorch's CUDA queries, answered for a build with no CUDA kernels yet.

The kernel layer has a seam for a CUDA device but no CUDA kernels are registered, so
`is_available()` is False and `device_count()` is 0: tutorial code falls back to the CPU.

>>> import eager
>>> eager.cuda.is_available(), eager.cuda.device_count()
(False, 0)
"""

from __future__ import annotations

__all__ = ["device_count", "is_available"]


def is_available() -> bool:
    """False: dualgraph has no CUDA kernels yet, so tensors and modules live on the CPU."""
    return False


def device_count() -> int:
    """0: no CUDA device can be used (there are no CUDA kernels yet)."""
    return 0
