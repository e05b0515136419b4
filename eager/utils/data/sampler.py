"""Samplers: which dataset indices a DataLoader reads, and in which order.

A sampler is any iterable of indices; a batch sampler any iterable of lists of indices. The
random ones draw from a `Generator` (`eager.Generator`, the counter-based generator of
`framework.ops.random`) or, without one, from the default generator that `eager.manual_seed`
seeds, so an epoch's order depends only on the seed. Each `iter(sampler)` draws a new order at
once (not at the first `next`), so epochs take their seeds in the order they start.
"""

from __future__ import annotations

import numbers

import numpy as np

from framework import dtypes
from framework.errors import ArgumentError
from framework.ops import random as framework_random

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "BatchSampler"]


def check_generator(generator) -> None:
    """A clear TypeError for a generator that is not the framework's (NumPy's, say)."""
    if generator is not None and not isinstance(generator, framework_random.Generator):
        kind = type(generator)
        raise TypeError(f"generator must be an eager.Generator (framework.ops.random.Generator), "
                        f"got {kind.__module__}.{kind.__qualname__}")


def permutation(n: int, generator=None) -> np.ndarray:
    """A permutation of range(n) (int64) drawn from `generator` (default: the shared one).

    Seeded uniform keys, argsorted: the order depends only on the seed drawn, never on NumPy's
    version. Draws one seed even for n == 0, so the sequence of seeds does not depend on n.

    >>> from framework.ops.random import Generator
    >>> bool((permutation(5, Generator(1)) == permutation(5, Generator(1))).all())
    True
    """
    generator = generator or framework_random.default_generator
    seed = generator.next_seed()
    keys = framework_random.uniform((n,), seed, dtype=dtypes.float64)
    return np.argsort(keys, kind="stable").astype(np.int64)


class Sampler:
    """Base class of samplers: implement `__iter__` (indices) and, where known, `__len__`.

    >>> class Evens(Sampler):
    ...     def __init__(self, n):
    ...         self.n = n
    ...     def __iter__(self):
    ...         return iter(range(0, self.n, 2))
    ...     def __len__(self):
    ...         return (self.n + 1) // 2
    >>> list(Evens(5))
    [0, 2, 4]
    """

    def __init__(self, data_source=None) -> None:
        pass  # PyTorch's signature; the argument was never used there either

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """The indices 0, 1, ..., len(data_source) - 1, in order.

    >>> list(SequentialSampler(range(3)))
    [0, 1, 2]
    """

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def _order(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices in random order: a new permutation at each `iter()`, or, with
    `replacement=True`, `num_samples` independent draws.

    Without replacement, `num_samples` larger than the dataset repeats whole permutations and
    then part of one (as in PyTorch).

    >>> import eager
    >>> sampler = RandomSampler(range(5), generator=eager.Generator(0))
    >>> first, second = list(sampler), list(sampler)
    >>> sorted(first), first != second
    ([0, 1, 2, 3, 4], True)
    >>> len(RandomSampler(range(5), replacement=True, num_samples=8))
    8
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(
                num_samples, numbers.Integral) or num_samples <= 0):
            raise ArgumentError(f"num_samples should be a positive integer value, but got "
                                f"num_samples={num_samples!r}")
        check_generator(generator)
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = None if num_samples is None else int(num_samples)
        self.generator = generator

    @property
    def num_samples(self) -> int:
        # The dataset may change size after the sampler is built: read it each time.
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _order(self) -> np.ndarray:
        n, count = len(self.data_source), self.num_samples
        if self.replacement:
            generator = self.generator or framework_random.default_generator
            if n == 0:
                raise ArgumentError("RandomSampler with replacement cannot draw from an empty "
                                    "dataset")
            draws = generator.uniform((count,), 0.0, float(n), dtypes.float64)
            return np.minimum(np.floor(draws).astype(np.int64), n - 1)
        if n == 0:
            return np.zeros(0, np.int64)
        whole, part = divmod(count, n)
        orders = [permutation(n, self.generator) for _ in range(whole + (part > 0))]
        if part:
            orders[-1] = orders[-1][:part]
        return np.concatenate(orders)

    def __iter__(self):
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a new random order at each `iter()`.

    >>> import eager
    >>> sorted(SubsetRandomSampler([7, 3, 9], generator=eager.Generator(0)))
    [3, 7, 9]
    """

    def __init__(self, indices, generator=None) -> None:
        check_generator(generator)
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        picked = permutation(len(self.indices), self.generator)
        return iter([self.indices[i] for i in picked.tolist()])

    def __len__(self) -> int:
        return len(self.indices)


class BatchSampler(Sampler):
    """Group the indices of `sampler` into lists of `batch_size`; with `drop_last=True` a last,
    smaller batch is dropped.

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    >>> list(BatchSampler(range(5), batch_size=2, drop_last=True))
    [[0, 1], [2, 3]]
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size <= 0:
            raise ArgumentError(f"batch_size should be a positive integer value, but got "
                                f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ArgumentError(f"drop_last should be a boolean value, but got "
                                f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def index_batches(self):
        """The batches as int64 arrays (for the DataLoader). The order is drawn now; when the
        sampler is one of ours, its whole order is drawn as one array and sliced."""
        size, drop_last = self.batch_size, self.drop_last
        if type(self.sampler) in (SequentialSampler, RandomSampler):
            order = self.sampler._order()
            stop = len(order) - len(order) % size if drop_last else len(order)
            return (order[start:start + size] for start in range(0, stop, size))
        indices = iter(self.sampler)

        def batches():
            batch = []
            for index in indices:
                batch.append(index)
                if len(batch) == size:
                    yield batch
                    batch = []
            if batch and not drop_last:
                yield batch

        return batches()

    def __iter__(self):
        for batch in self.index_batches():
            yield batch.tolist() if isinstance(batch, np.ndarray) else batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
