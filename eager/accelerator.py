"""`eager.accelerator`: PyTorch 2.6's device-neutral accelerator queries.

There is no accelerator yet (no CUDA or MPS kernels), so the quickstart's
`torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"`
picks the CPU.

>>> import eager
>>> eager.accelerator.is_available(), eager.accelerator.current_accelerator()
(False, None)
"""

from __future__ import annotations

__all__ = ["current_accelerator", "device_count", "is_available"]


def is_available() -> bool:
    """False: there are no accelerator kernels yet; everything runs on the CPU."""
    return False


def current_accelerator():
    """None, as PyTorch answers when no accelerator is available."""
    return None


def device_count() -> int:
    """0: no accelerator device is available."""
    return 0
