"""Map-style datasets: `Dataset`, `TensorDataset`, `Subset`, `ConcatDataset`, `random_split`.

A dataset maps an index to a sample, usually a tuple like (image, label), and knows its length.
"""

from __future__ import annotations

import bisect
import math
import numbers
import warnings
from itertools import accumulate

import numpy as np

from eager.tensor import Tensor
from eager.utils.data.sampler import check_generator, permutation
from framework.errors import ArgumentError, IndexingError, ShapeError

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"]


class Dataset:
    """Base class of map-style datasets: implement `__getitem__(index)` and `__len__()`.

    `a + b` concatenates two datasets (a `ConcatDataset`), as in PyTorch.

    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, index):
    ...         return float(index), float(index * index)
    >>> squares = Squares()
    >>> len(squares + squares), (squares + squares)[5]
    (8, (1.0, 1.0))
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are rows of the given tensors: `dataset[i] == tuple(t[i] for t in tensors)`.

    NumPy arrays are accepted and wrapped as Tensors sharing their memory.

    >>> import eager
    >>> ds = TensorDataset(eager.ones(3, 2), eager.tensor([7, 8, 9]))
    >>> len(ds), ds[2][1].item()
    (3, 9)
    """

    def __init__(self, *tensors) -> None:
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

    def _gather(self, indices: np.ndarray) -> list:
        """`default_collate([self[i] for i in indices])` as one gather per tensor."""
        return [Tensor(np.take(tensor._array, indices, axis=0)) for tensor in self.tensors]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order: `subset[i] == dataset[indices[i]]`.

    >>> subset = Subset(range(10, 20), [4, 0, 2])
    >>> len(subset), subset[0], subset[[1, 2]]
    (3, 14, [10, 12])
    """

    def __init__(self, dataset, indices) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def _gather(self, indices: np.ndarray):
        gather = _gatherer(self.dataset)
        if gather is None:
            return None
        # Looked up per batch (not converted once): the indices stay the caller's to change.
        mapped = np.asarray([self.indices[i] for i in indices.tolist()])
        if mapped.dtype.kind not in "iu" or mapped.ndim != 1:
            return None
        return gather(_checked_indices(mapped, len(self.dataset)))


class ConcatDataset(Dataset):
    """The samples of several datasets one after another.

    >>> both = ConcatDataset([range(3), range(10, 12)])
    >>> len(both), both[3], both[-1], both.cumulative_sizes
    (5, 10, 11, [3, 5])
    """

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ArgumentError("ConcatDataset: datasets should not be an empty iterable")
        for position, dataset in enumerate(self.datasets):
            if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
                raise TypeError(f"ConcatDataset needs map-style datasets (__getitem__ and "
                                f"__len__); dataset {position} is a {type(dataset).__name__}")
        self.cumulative_sizes = list(accumulate(len(dataset) for dataset in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        size = len(self)
        position = operator_index(index, "ConcatDataset")
        if position < 0:
            if -position > size:
                raise ArgumentError(f"absolute value of index should not exceed dataset length: "
                                    f"index {index} for a ConcatDataset of {size} samples")
            position += size
        if position >= size:
            raise IndexingError(f"index {index} is out of range for a ConcatDataset of {size} "
                                "samples")
        which = bisect.bisect_right(self.cumulative_sizes, position)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][position - start]


def random_split(dataset, lengths, generator=None) -> list[Subset]:
    """Split `dataset` into non-overlapping random `Subset`s of the given lengths.

    `lengths` are sample counts that add up to `len(dataset)`, or fractions that add up to 1:
    each split then gets `floor(fraction * len(dataset))` samples and the samples left over
    go one each to the splits in turn, from the first. As in PyTorch, lengths whose sum is
    close to 1 are read as fractions (so `[1, 0]` means "everything in the first split"), and
    a split of length 0 gives a warning. The permutation comes from `generator` (default: the
    shared generator that `eager.manual_seed` seeds).

    >>> import eager
    >>> train, test = random_split(range(10), [0.7, 0.3], generator=eager.Generator(42))
    >>> len(train), len(test), sorted(list(train) + list(test)) == list(range(10))
    (7, 3, True)
    """
    check_generator(generator)
    if not hasattr(dataset, "__len__"):
        raise TypeError(f"random_split needs a dataset with a length, got "
                        f"{type(dataset).__name__}")
    n = len(dataset)
    lengths = list(lengths)
    for position, length in enumerate(lengths):
        if isinstance(length, bool) or not isinstance(length, numbers.Real) \
                or math.isnan(length):
            raise TypeError(f"random_split: lengths must be numbers, got {length!r} at index "
                            f"{position}")
    total = sum(lengths)
    if lengths and math.isclose(total, 1) and total <= 1:
        counts = []
        for position, fraction in enumerate(lengths):
            if fraction < 0 or fraction > 1:
                raise ArgumentError(f"Fraction at index {position} is not between 0 and 1")
            counts.append(int(math.floor(n * fraction)))
        for turn in range(n - sum(counts)):
            counts[turn % len(counts)] += 1
        for position, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {position} is 0. This might result in "
                              "an empty dataset.", stacklevel=2)
        lengths = counts
    for position, length in enumerate(lengths):
        if not isinstance(length, numbers.Integral) or length < 0:
            raise ArgumentError(f"random_split: lengths must be non-negative integers or "
                                f"fractions that add up to 1, got {length!r} at index "
                                f"{position}")
    if sum(lengths) != n:
        raise ArgumentError(f"Sum of input lengths does not equal the length of the input "
                            f"dataset! (lengths {lengths} add up to {sum(lengths)}, the dataset "
                            f"has {n} samples)")
    indices = permutation(n, generator).tolist()
    return [Subset(dataset, indices[stop - length:stop])
            for stop, length in zip(accumulate(lengths), lengths)]


def operator_index(index, owner: str) -> int:
    """`index` as an int, or a TypeError naming `owner` (a float index is an error)."""
    try:
        return index.__index__()
    except (AttributeError, TypeError):
        raise TypeError(f"{owner} indices must be integers, got {type(index).__name__}") \
            from None


def _gatherer(dataset):
    """`dataset`'s batched gather, when it has one that collates exactly as default_collate."""
    gather = getattr(dataset, "_gather", None)
    if gather is None or type(dataset).__getitem__ not in (TensorDataset.__getitem__,
                                                           Subset.__getitem__):
        return None  # a subclass that redefines __getitem__ must be read sample by sample
    return gather


def _checked_indices(indices: np.ndarray, size: int) -> np.ndarray:
    """Integer `indices` into a dataset of `size` samples, or an IndexError naming the first
    one out of range (np.take would also raise, without saying which dataset)."""
    if len(indices):
        bad = (indices < -size) | (indices >= size)
        if bad.any():
            raise IndexingError(f"index {int(indices[bad][0])} is out of range for a dataset "
                                f"of {size} samples")
    return indices
