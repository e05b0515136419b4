"""`eager.utils.data`: datasets, samplers and the DataLoader, with `torch.utils.data`'s names.

A dataset maps an index to a sample, usually a tuple like (image, label); a `DataLoader` draws
samples in order or shuffled, and collates each batch into Tensors. Shuffling is reproducible:
each pass over the loader (each epoch) uses a new permutation, and the sequence of permutations
depends only on the seed (or the generator) the loader was given.

>>> import eager
>>> from eager.utils.data import DataLoader, TensorDataset
>>> x, y = eager.arange(10).float().reshape(5, 2), eager.tensor([0, 1, 0, 1, 1])
>>> loader = DataLoader(TensorDataset(x, y), batch_size=2)
>>> [tuple(xb.shape) for xb, yb in loader], len(loader)
([(2, 2), (2, 2), (1, 2)], 3)
"""

from eager.utils.data.collate import default_collate, default_convert
from eager.utils.data.dataloader import DataLoader, get_worker_info
from eager.utils.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from eager.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
)

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "RandomSampler", "Sampler",
    "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset", "default_collate",
    "default_convert", "get_worker_info", "random_split",
]
