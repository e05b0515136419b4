"""Turning a list of samples into one batch: `default_collate` and `default_convert`.

Both follow `torch.utils.data`'s rules, odd corners included, so a PyTorch training loop unpacks
eager batches the same way: samples that are tuples give a *list* of batched fields (PyTorch
keeps that for backwards compatibility), named tuples and dict subclasses keep their type.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence

import numpy as np

from eager.creation import tensor as _tensor
from eager.tensor import Tensor
from framework import dtypes
from framework.errors import IndexingError

__all__ = ["default_collate", "default_convert"]

_NOT_NUMERIC = "SUOV"  # NumPy dtype kinds a Tensor cannot hold: strings, objects, records


def default_collate(batch):
    """Stack a list of samples into one batch, field by field, as PyTorch's `default_collate`.

    - Tensors and NumPy arrays of equal shapes are stacked along a new first dimension; NumPy
      scalars become a 1-d Tensor of their dtype.
    - Python floats become a float64 Tensor; ints (and bools) a Tensor of the type
      `eager.tensor` infers (int64, bool).
    - Strings and bytes are left as a list.
    - Dicts are collated key by key, keeping their type; named tuples keep theirs; other
      sequences are collated position by position. Tuples give a list (as in PyTorch).

    >>> import eager
    >>> xb, yb = default_collate([(eager.ones(2), 1), (eager.zeros(2), 0)])
    >>> xb.shape, yb.tolist(), yb.dtype
    ((2, 2), [1, 0], dtype('int64'))
    >>> batch = default_collate([{"x": 0.5, "name": "a"}, {"x": 1.5, "name": "b"}])
    >>> batch["x"].tolist(), batch["x"].dtype, batch["name"]
    ([0.5, 1.5], dtype('float64'), ['a', 'b'])
    """
    if not isinstance(batch, Sequence) or isinstance(batch, (str, bytes)):
        raise TypeError(f"default_collate expects a list of samples, got {type(batch).__name__}")
    if len(batch) == 0:
        raise IndexingError("default_collate got an empty batch: a batch needs at least one "
                            "sample (does the batch_sampler yield an empty list?)")
    first = batch[0]
    if isinstance(first, Tensor):
        _check_all(batch, Tensor, "Tensor")
        _check_equal_shapes([sample.shape for sample in batch])
        return Tensor(np.stack([sample._array for sample in batch]))
    if isinstance(first, np.ndarray) and first.dtype.kind not in _NOT_NUMERIC:
        _check_all(batch, np.ndarray, "NumPy array")
        _check_equal_shapes([sample.shape for sample in batch])
        return Tensor(np.stack(batch))
    if isinstance(first, np.generic) and first.dtype.kind not in _NOT_NUMERIC:
        return Tensor(np.array(batch))
    if isinstance(first, float):
        return _tensor(batch, dtype=dtypes.float64)
    if isinstance(first, numbers.Integral) and not isinstance(first, np.generic):
        return _tensor(batch)
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, Mapping):
        fields = {key: default_collate(_values_of(batch, key)) for key in first}
        if isinstance(first, MutableMapping):
            clone = copy.copy(first)
            clone.update(fields)
            return clone
        try:
            return type(first)(fields)
        except TypeError:  # a mapping type that cannot be built from a dict
            return fields
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a named tuple
        _check_equal_lengths(batch)
        return type(first)(*(default_collate(list(column)) for column in zip(*batch)))
    if isinstance(first, Sequence):
        _check_equal_lengths(batch)
        columns = [default_collate(list(column)) for column in zip(*batch)]
        if isinstance(first, tuple):
            return columns
        if isinstance(first, MutableSequence):
            try:
                clone = copy.copy(first)
                clone[:] = columns
                return clone
            except TypeError:
                return columns
        try:
            return type(first)(columns)
        except TypeError:  # e.g. range
            return columns
    raise TypeError(f"default_collate: a batch must hold Tensors, NumPy arrays, numbers, "
                    f"strings, dicts or lists; got {type(first).__name__}")


def default_convert(data):
    """Turn NumPy arrays inside `data` into Tensors without batching (DataLoader's `collate_fn`
    when `batch_size=None`): arrays become Tensors sharing their memory, dicts and sequences
    are converted element by element (tuples become lists, as in PyTorch), anything else is
    returned as it is.

    >>> import numpy as np
    >>> image, label = default_convert((np.zeros((2, 2), np.float32), 3))
    >>> type(image).__name__, image.shape, label
    ('Tensor', (2, 2), 3)
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        return data if data.dtype.kind in _NOT_NUMERIC else Tensor(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, Mapping):
        fields = {key: default_convert(value) for key, value in data.items()}
        if isinstance(data, MutableMapping):
            clone = copy.copy(data)
            clone.update(fields)
            return clone
        try:
            return type(data)(fields)
        except TypeError:
            return fields
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(value) for value in data))
    if isinstance(data, tuple):
        return [default_convert(value) for value in data]
    if isinstance(data, Sequence):
        values = [default_convert(value) for value in data]
        if isinstance(data, MutableSequence):
            try:
                clone = copy.copy(data)
                clone[:] = values
                return clone
            except TypeError:
                return values
        try:
            return type(data)(values)
        except TypeError:
            return values
    return data


def _check_all(batch, kind: type, name: str) -> None:
    for position, sample in enumerate(batch):
        if not isinstance(sample, kind):
            raise TypeError(f"default_collate: sample 0 is a {name}, so every sample must be "
                            f"one, but sample {position} is a {type(sample).__name__}")


def _check_equal_shapes(shapes: list) -> None:
    for position, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shapes[0])} at entry 0 and {list(shape)} at entry "
                               f"{position}")


def _check_equal_lengths(batch) -> None:
    size = len(batch[0])
    for position, sample in enumerate(batch):
        if not isinstance(sample, Sequence) or len(sample) != size:
            found = len(sample) if isinstance(sample, Sequence) else type(sample).__name__
            raise RuntimeError(f"each element in list of batch should be of equal size: "
                               f"sample 0 has {size} fields, sample {position} has {found}")


def _values_of(batch, key) -> list:
    values = []
    for position, sample in enumerate(batch):
        if not isinstance(sample, Mapping) or key not in sample:
            raise KeyError(f"default_collate: sample 0 has the key {key!r}, sample {position} "
                           "does not")
        values.append(sample[key])
    return values
