"""`Parameter`: the Tensor a Module registers as trainable state."""

from __future__ import annotations

import numpy as np

from eager.creation import tensor as make_tensor
from eager.tensor import Tensor
from framework import dtypes


class Parameter(Tensor):
    """A leaf Tensor that a Module registers when it is assigned as an attribute.

    `Parameter(data)` shares `data`'s memory when it is a Tensor or a NumPy array, and requires
    grad unless told otherwise; ops on a Parameter give plain Tensors.

    >>> import eager
    >>> from eager.nn import Parameter
    >>> w = Parameter(eager.ones(2))
    >>> w.requires_grad, w.is_leaf, type(w * 2).__name__
    (True, True, 'Tensor')
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            array = np.empty((0,), dtypes.float32)
        elif isinstance(data, Tensor):
            array = data._array
        elif isinstance(data, np.ndarray):
            array = data
        else:
            array = make_tensor(data)._array  # PyTorch's defaults: float32, int64
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        # A fresh leaf: copying Tensor's slots would share the autograd accumulator, and a copy
        # trained later would then send its gradients to this parameter.
        copied = Parameter(self._array.copy(), self.requires_grad)
        if self.grad is not None:
            copied.grad = Tensor(self.grad._array.copy())
        copied.name = self.name
        memo[id(self)] = copied
        return copied

    def __reduce_ex__(self, protocol):
        return (Parameter, (self._array, self.requires_grad))
