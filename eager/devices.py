"""`eager.device`: PyTorch's device objects, for the idioms every tutorial starts with.

Tensors and modules live on the CPU; `device("cuda")` can still be named (PyTorch allows it
without a GPU), and moving anything there raises a `DeviceError` saying it is not available.

>>> import eager
>>> device = eager.device("cuda" if eager.cuda.is_available() else "cpu")
>>> device, eager.ones(2).to(device).device == device
(device(type='cpu'), True)
"""

from __future__ import annotations

from framework.device import Device
from framework.errors import DeviceError

__all__ = ["device"]

# PyTorch's device types that a program may name even where it cannot use them.
_NAMEABLE_TYPES = ("cpu", "cuda", "mps")


def device(type, index: int | None = None) -> Device:  # noqa: A002  (PyTorch's name)
    """A device from 'cpu', 'cuda', 'cuda:1', ('cuda', 1) or another device.

    >>> device("cuda:1")
    device(type='cuda', index=1)
    """
    if isinstance(type, Device):
        if index is not None:
            raise TypeError("device(): index must not be given with a device object")
        return type
    if not isinstance(type, str):
        raise TypeError(f"device(): argument 'type' must be str, not {type.__class__.__name__}")
    kind, colon, text_index = type.partition(":")
    if kind not in _NAMEABLE_TYPES:
        raise DeviceError(f"device(): expected one of {', '.join(_NAMEABLE_TYPES)} device "
                          f"type at start of device string: {type!r}")
    if colon:
        if index is not None:
            raise DeviceError(f"device(): type {type!r} already has an index; do not also "
                              f"pass index={index}")
        if not text_index.isdigit():
            raise DeviceError(f"device(): invalid device string {type!r}")
        index = int(text_index)
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)
                              or index < 0):
        raise DeviceError(f"device(): device index must be a non-negative int, got {index!r}")
    return Device(kind, index)
