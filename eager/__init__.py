"""dualgraph's eager front-end: define-by-run tensors with PyTorch's names and semantics.

>>> import eager
>>> w = eager.tensor([2.0], requires_grad=True)
>>> loss = (w * 3.0 - 1.0) ** 2
>>> loss.backward()
>>> w.grad.tolist()
[30.0]
"""

from eager import accelerator, backends, cuda, data, linalg, nn, optim, utils, viz
from eager.autograd import (
    AnomalyError,
    detect_anomaly,
    enable_grad,
    grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from eager.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    is_tensor,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from eager.devices import device
from eager.functions import *  # noqa: F403
from eager.serialization import load, save
from eager.tensor import Tensor
from framework import dtypes as _dtypes
from framework.device import max_memory_allocated, memory_allocated, reset_peak_memory_stats
from framework.ops.random import Generator

float32 = _dtypes.float32
float64 = _dtypes.float64
int32 = _dtypes.int32
int64 = _dtypes.int64
bool = _dtypes.bool_  # noqa: A001  (PyTorch's name)
float = float32  # noqa: A001
double = float64
long = int64

__all__ = [
    "AnomalyError", "Tensor", "arange", "data", "detect_anomaly", "empty", "enable_grad",
    "from_numpy", "full", "full_like", "grad", "is_grad_enabled", "linspace", "load",
    "manual_seed", "max_memory_allocated", "memory_allocated", "nn", "no_grad", "ones",
    "ones_like", "optim", "rand", "randint", "randn", "reset_peak_memory_stats", "save",
    "set_grad_enabled", "tensor", "zeros", "zeros_like", "float32", "float64", "int32", "int64",
    "bool", "viz", "float", "double", "long", "Generator", "utils", "linalg",
    "accelerator", "backends", "cuda", "device", "as_tensor", "empty_like", "eye",
    "get_default_dtype", "is_tensor", "rand_like", "randn_like", "randperm",
]
