"""`DataLoader`: iterate over a dataset in batches, as `torch.utils.data.DataLoader` does."""

from __future__ import annotations

import numbers

import numpy as np

from eager.utils.data.collate import default_collate, default_convert
from eager.utils.data.dataset import _checked_indices, _gatherer
from eager.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    check_generator,
)
from framework.errors import ArgumentError
from framework.ops import random as framework_random

__all__ = ["DataLoader", "get_worker_info"]


def get_worker_info():
    """None: batches are always loaded in the main process (see `DataLoader`'s num_workers).

    >>> get_worker_info() is None
    True
    """
    return None


class DataLoader:
    """Iterate over a map-style dataset in batches, with `torch.utils.data.DataLoader`'s
    arguments and defaults.

    - `batch_size`: samples per batch; the last batch may be smaller unless `drop_last=True`.
      `batch_size=None` turns batching off: each sample goes through `collate_fn` (default
      `default_convert`) on its own.
    - `shuffle`: a new permutation each epoch (each `iter(loader)`), drawn when the epoch
      starts from `generator` (an `eager.Generator`), or from a private generator seeded with
      `seed` (an eager extension), or from the shared generator `eager.manual_seed` seeds.
    - `sampler` (an iterable of indices) or `batch_sampler` (of lists of indices) choose the
      samples instead; they exclude `shuffle`, and `batch_sampler` also `batch_size` and
      `drop_last`, as in PyTorch.
    - `collate_fn` turns a list of samples into a batch (default: `default_collate`, which
      gives a list of batched fields for tuple samples such as a `TensorDataset`'s).
    - `num_workers`: batches are always loaded in the main process. A positive value is
      accepted, so code written for worker processes runs unchanged, and loads the same
      batches as `num_workers=0`; `worker_init_fn` is then never called (there are no
      workers) and `get_worker_info()` returns None. `pin_memory`, `timeout`,
      `multiprocessing_context`, `prefetch_factor`, `persistent_workers`, `pin_memory_device`
      and `in_order` are accepted for the same reason and change nothing.

    >>> import eager
    >>> from eager.utils.data import TensorDataset
    >>> ds = TensorDataset(eager.arange(6))
    >>> loader = DataLoader(ds, batch_size=4, shuffle=True, generator=eager.Generator(0))
    >>> first, second = [[b.tolist() for (b,) in loader] for _ in range(2)]
    >>> first != second, sorted(sum(first, [])) == list(range(6)), len(loader)
    (True, True, 2)
    >>> again = DataLoader(ds, batch_size=4, shuffle=True, generator=eager.Generator(0))
    >>> [[b.tolist() for (b,) in again]] == [first]
    True
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True, seed: int | None = None):
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(f"a DataLoader needs a dataset with __getitem__ and __len__, got "
                            f"{type(dataset).__name__}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral):
            raise TypeError(f"num_workers must be an int, got {num_workers!r}")
        if num_workers < 0:
            raise ArgumentError("num_workers option should be non-negative; use num_workers=0 "
                                "to disable multiprocessing.")
        if not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ArgumentError(f"timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ArgumentError("prefetch_factor option could only be specified in "
                                "multiprocessing. let num_workers > 0 to enable "
                                "multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ArgumentError("persistent_workers option needs num_workers > 0")
        if seed is not None and generator is not None:
            raise ArgumentError("give a DataLoader either a seed or a generator, not both")
        check_generator(generator)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"collate_fn must be callable, got {type(collate_fn).__name__}")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"worker_init_fn must be callable, got "
                            f"{type(worker_init_fn).__name__}")
        for name, value in (("sampler", sampler), ("batch_sampler", batch_sampler)):
            if value is not None and not hasattr(value, "__iter__"):
                raise TypeError(f"{name} must be an iterable of indices, got "
                                f"{type(value).__name__}")
        if sampler is not None and shuffle:
            raise ArgumentError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ArgumentError("batch_sampler option is mutually exclusive with "
                                    "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ArgumentError("batch_size=None option disables auto-batching and is mutually "
                                "exclusive with drop_last")
        if seed is not None:
            generator = framework_random.Generator(seed)
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.num_workers = int(num_workers)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.pin_memory = pin_memory
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    def __len__(self) -> int:
        """The number of batches in one epoch (of samples, when batching is off)."""
        return len(self.batch_sampler if self._auto_collation else self.sampler)

    def __iter__(self):
        # The order is drawn here, at iter(), not at the first next(): epochs take their seeds
        # in the order they start.
        if not self._auto_collation:
            return self._samples(iter(self.sampler))
        if isinstance(self.batch_sampler, BatchSampler):
            return self._batches(self.batch_sampler.index_batches())
        return self._batches(iter(self.batch_sampler))

    def _samples(self, indices):
        dataset, convert = self.dataset, self.collate_fn
        for index in indices:
            yield convert(dataset[index])

    def _batches(self, index_batches):
        dataset, collate = self.dataset, self.collate_fn
        gather = _gatherer(dataset) if collate is default_collate else None
        for indices in index_batches:
            if gather is not None:
                array = indices if isinstance(indices, np.ndarray) else np.asarray(indices)
                if array.ndim == 1 and len(array) and array.dtype.kind in "iu":
                    batch = gather(_checked_indices(array, len(dataset)))
                    if batch is not None:
                        yield batch
                        continue
            yield collate([dataset[int(i) if isinstance(i, np.integer) else i]
                           for i in indices])
