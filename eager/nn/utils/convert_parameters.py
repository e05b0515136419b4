"""One flat vector for many parameters and back: `parameters_to_vector`, `vector_to_parameters`.
"""

from __future__ import annotations

from eager.nn.utils.clip_grad import as_tensor_list
from eager.tensor import Tensor
from framework.errors import ShapeError
from framework.ops import F

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """All `parameters` flattened and joined into one 1-d Tensor, in order.

    The result is a new Tensor, differentiable with respect to the parameters (like PyTorch's
    `torch.cat` of their views).

    >>> import eager
    >>> from eager import nn
    >>> layer = nn.Linear(3, 2)
    >>> parameters_to_vector(layer.parameters()).shape
    (8,)
    """
    params = as_tensor_list(parameters, "parameters_to_vector")
    if not params:
        raise RuntimeError("parameters_to_vector: expected a non-empty list of parameters")
    return F.concat([F.reshape(param, (-1,)) for param in params], 0)


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Point each parameter's data at its slice of the 1-d `vec`, in order (the inverse of
    `parameters_to_vector`).

    As in PyTorch, the parameters then share `vec`'s memory (an in-place change to one shows in
    the other) and take its dtype, autograd does not see the change, and entries of `vec`
    beyond the parameters' total size are ignored. A `vec` that is too short raises before any
    parameter changes.

    >>> import eager
    >>> from eager import nn
    >>> layer = nn.Linear(2, 1)
    >>> vector_to_parameters(eager.tensor([1.0, 2.0, 3.0]), layer.parameters())
    >>> layer.weight.tolist(), layer.bias.tolist()
    ([[1.0, 2.0]], [3.0])
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = as_tensor_list(parameters, "vector_to_parameters")
    if vec.ndim != 1:
        raise ShapeError(f"vector_to_parameters: vec must be 1-d, got shape {vec.shape}")
    if vec.dtype.kind != "f" and any(param.requires_grad for param in params):
        raise TypeError(f"vector_to_parameters: vec has dtype {vec.dtype}, but parameters "
                        "that require grad need floating point data")
    needed = sum(param.numel() for param in params)
    if vec.shape[0] < needed:
        raise RuntimeError(f"vector_to_parameters: vec has {vec.shape[0]} elements, but the "
                           f"parameters need {needed}")
    start = 0
    for param in params:
        stop = start + param.numel()
        param._array = vec._array[start:stop].reshape(param.shape)
        start = stop

