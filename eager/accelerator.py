"""`eager.accelerator`: PyTorch 2.6's device-neutral accelerator queries.

The one accelerator is CUDA (a GPU, or numba's simulator): where `eager.cuda.is_available()`,
the quickstart's
`torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"`
picks 'cuda', elsewhere the CPU.

>>> import eager
>>> eager.accelerator.is_available() == (eager.accelerator.current_accelerator() is not None)
True
"""

from __future__ import annotations

from eager import cuda
from framework.device import Device

__all__ = ["current_accelerator", "device_count", "is_available"]


def is_available() -> bool:
    """Whether an accelerator (CUDA) can be used."""
    return cuda.is_available()


def current_accelerator():
    """device(type='cuda') where CUDA can be used, else None, as PyTorch answers."""
    return Device("cuda") if cuda.is_available() else None


def device_count() -> int:
    """How many accelerator devices can be used (0 where none)."""
    return cuda.device_count()
