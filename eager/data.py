"""Datasets and a DataLoader with PyTorch's names (`torch.utils.data`), for the eager front-end.

A dataset maps an index to a sample, usually a tuple like (image, label); `DataLoader` draws
samples in order or shuffled, and collates each batch into Tensors. Shuffling is reproducible:
each pass over the loader (each epoch) uses a new permutation, and the sequence of permutations
depends only on the seed (or the generator) the loader was given.

>>> import numpy as np
>>> import eager
>>> from eager.data import DataLoader, TensorDataset
>>> x, y = eager.arange(10).float().reshape(5, 2), eager.tensor([0, 1, 0, 1, 1])
>>> loader = DataLoader(TensorDataset(x, y), batch_size=2)
>>> [tuple(xb.shape) for xb, yb in loader], len(loader)
([(2, 2), (2, 2), (1, 2)], 3)
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from eager.tensor import Tensor
from framework import dtypes
from framework.errors import ArgumentError, ShapeError
from framework.ops import random as framework_random

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate"]


class Dataset:
    """Base class of map-style datasets: implement `__getitem__(index)` and `__len__()`.

    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, index):
    ...         return float(index), float(index * index)
    >>> [y.tolist() for x, y in DataLoader(Squares(), batch_size=2)]
    [[0.0, 1.0], [4.0, 9.0]]
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class TensorDataset(Dataset):
    """Samples are rows of the given tensors: `dataset[i] == (t[i] for t in tensors)`.

    NumPy arrays are accepted and wrapped as Tensors sharing their memory.

    >>> import eager
    >>> ds = TensorDataset(eager.ones(3, 2), eager.tensor([7, 8, 9]))
    >>> len(ds), ds[2][1].item()
    (3, 9)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ArgumentError("TensorDataset needs at least one tensor")
        wrapped = []
        for position, value in enumerate(tensors):
            tensor = value if isinstance(value, Tensor) else Tensor(np.asarray(value))
            if tensor.ndim == 0:
                raise ShapeError(f"TensorDataset: tensor {position} is 0-d; each tensor needs a "
                                 "first dimension of samples")
            wrapped.append(tensor)
        sizes = [t.shape[0] for t in wrapped]
        if len(set(sizes)) != 1:
            raise ShapeError(f"Size mismatch between tensors: TensorDataset needs the same "
                             f"number of samples (first dimension) in each, got {sizes}")
        self.tensors = tuple(wrapped)

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _batch(self, indices: np.ndarray) -> tuple:
        """Rows `indices` of every tensor at once: one gather per tensor, not one per sample."""
        return tuple(Tensor(np.take(tensor.data, indices, axis=0)) for tensor in self.tensors)


def default_collate(samples: list):
    """Stack a list of samples into one batch, keeping the samples' structure.

    Tensors and NumPy arrays are stacked along a new first dimension; Python floats become a
    float64 tensor and ints an int64 tensor (as in PyTorch); tuples, lists and dicts are
    collated field by field; strings are left as a list.

    >>> import eager
    >>> batch = default_collate([(eager.ones(2), 1), (eager.zeros(2), 0)])
    >>> batch[0].shape, batch[1].tolist(), batch[1].dtype
    ((2, 2), [1, 0], dtype('int64'))
    """
    first = samples[0]
    if isinstance(first, Tensor):
        return Tensor(np.stack([s.data for s in samples]))
    if isinstance(first, (np.ndarray, np.generic)):
        return Tensor(np.stack([np.asarray(s) for s in samples]))
    if isinstance(first, bool):
        return Tensor(np.array(samples, dtypes.bool_))
    if isinstance(first, numbers.Integral):
        return Tensor(np.array(samples, dtypes.int64))
    if isinstance(first, numbers.Real):
        return Tensor(np.array(samples, dtypes.float64))
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, Mapping):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, Sequence):
        if any(len(s) != len(first) for s in samples):
            raise ShapeError("each sample in a batch should have the same number of fields")
        fields = [default_collate(list(column)) for column in zip(*samples)]
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: samples must be Tensors, arrays, numbers, strings, or "
                    f"tuples, lists or dicts of those; got {type(first).__name__}")


class DataLoader:
    """Iterate over a dataset in batches, optionally shuffled, as `torch.utils.data.DataLoader`.

    - `batch_size`: samples per batch; the last batch may be smaller unless `drop_last=True`.
    - `shuffle`: a new permutation each epoch (each `iter(loader)`). The permutations come from
      `generator` (a `framework.ops.random.Generator`), or a private one seeded with `seed`,
      or the shared default generator that `eager.manual_seed` seeds.
    - `collate_fn`: turns a list of samples into a batch (default: `default_collate`).

    >>> import eager
    >>> ds = TensorDataset(eager.arange(6))
    >>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
    >>> first, second = [[b.tolist() for (b,) in loader] for _ in range(2)]
    >>> first != second, sorted(sum(first, [])) == list(range(6))
    (True, True)
    >>> [[b.tolist() for (b,) in DataLoader(ds, 4, shuffle=True, seed=0)]] == [first]
    True
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, *, seed: int | None = None, generator=None,
                 collate_fn=None, num_workers: int = 0):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ArgumentError(f"batch_size should be a positive integer value, but got "
                                f"batch_size={batch_size!r}")
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(f"a DataLoader needs a dataset with __getitem__ and __len__, got "
                            f"{type(dataset).__name__}")
        if seed is not None and generator is not None:
            raise ArgumentError("give a DataLoader either a seed or a generator, not both")
        if generator is not None and not isinstance(generator, framework_random.Generator):
            raise TypeError(f"generator must be a framework.ops.random.Generator, got "
                            f"{type(generator).__name__}")
        if num_workers != 0:
            raise ArgumentError("num_workers > 0 is not supported: batches are loaded in the "
                                "main process (use num_workers=0)")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError("collate_fn must be callable")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        if seed is not None:
            generator = framework_random.Generator(seed)
        self.generator = generator

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle or n == 0:
            return np.arange(n)
        generator = self.generator or framework_random.default_generator
        # Seeded uniform keys, argsorted: a permutation that depends only on the seed drawn.
        keys = framework_random.uniform((n,), generator.next_seed(), dtype=dtypes.float64)
        return np.argsort(keys, kind="stable")

    def __iter__(self):
        # The permutation is drawn here, at iter(), not at the first next(): epochs take their
        # seeds in the order they start.
        return self._batches(self._order())

    def _batches(self, order: np.ndarray):
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is None
        for start in range(0, stop, self.batch_size):
            indices = order[start:start + self.batch_size]
            if fast:
                yield self.dataset._batch(indices)
            else:
                samples = [self.dataset[int(i)] for i in indices]
                yield (self.collate_fn or default_collate)(samples)
