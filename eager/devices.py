"""`eager.device`: PyTorch's device objects, for the idioms every tutorial starts with.

Tensors and modules live on the CPU unless moved; `device("cuda")` can always be named (PyTorch
allows it without a GPU), and moving anything there raises a `DeviceError` saying why where no
GPU (nor numba's simulator) can be used.

>>> import eager
>>> device = eager.device("cuda" if eager.cuda.is_available() else "cpu")
>>> eager.ones(2).to(device).device.type == device.type
True
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from framework.device import Device, to_device, to_host
from framework.errors import DeviceError
from framework.ops.dispatch import bind
from framework.ops.registry import Op, Spec, cached_op, primitive

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


@dataclasses.dataclass(frozen=True)
class ToDevice(Op):
    """A copy of a tensor on `target` (`Tensor.to(device)`), recorded for autograd as PyTorch
    records it: the gradient is copied back to `source`, the input's device. Not a registered
    primitive: a transfer between devices, not arithmetic, and only eager moves one tensor at a
    time (the graph front-end places whole ops).

    >>> import numpy as np
    >>> from framework.device import cpu
    >>> ToDevice(cpu, cpu).cpu(np.ones(2))
    array([1., 1.])
    """

    name: ClassVar[str] = "to_device"
    vjp_needs_inputs: ClassVar[bool] = False

    target: Device
    source: Device

    def infer(self, x):
        return Spec(x.shape, x.dtype)

    def cpu(self, x):
        return to_device(x, self.target)

    def cuda(self, x):
        return host_copy(x) if self.target.type == "cpu" else to_device(x, self.target)

    def vjp(self, g, inputs, out):
        return [bind(cached_op(ToDevice, self.source, self.target), g)]


def host_copy(array) -> np.ndarray:
    """A buffer's values as a NumPy array (a NumPy array as it is). A strided device view (a
    transpose, a broadcast gradient) is made contiguous on its device first: a copy to the host
    moves one contiguous block.

    >>> host_copy(np.arange(2))
    array([0, 1])
    """
    if type(array) is np.ndarray:
        return array
    if not array.is_c_contiguous():
        array = bind(primitive("contiguous_copy"), array)
    return to_host(array)

