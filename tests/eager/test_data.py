"""DataLoader and datasets: batching, drop_last, collation, reproducible shuffling."""

from __future__ import annotations

import numpy as np
import pytest

import eager
from eager.data import DataLoader, Dataset, TensorDataset, default_collate
from eager.tensor import Tensor
from framework.ops.random import Generator

N = 10


def dataset(n=N):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) % 4
    return TensorDataset(eager.tensor(x), eager.tensor(y)), x, y


def sample_ids(loader):
    """The sample indices each batch holds (from the first feature column, 3 * index)."""
    return [(xb.numpy()[:, 0] / 3).astype(int).tolist() for xb, _ in loader]


def test_batches_in_order():
    ds, x, y = dataset()
    batches = list(DataLoader(ds, batch_size=4))
    assert [tuple(xb.shape) for xb, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    assert all(isinstance(t, Tensor) for batch in batches for t in batch)
    np.testing.assert_array_equal(np.concatenate([xb.numpy() for xb, _ in batches]), x)
    np.testing.assert_array_equal(np.concatenate([yb.numpy() for _, yb in batches]), y)
    assert batches[0][1].dtype == np.int64 and batches[0][0].dtype == np.float32


@pytest.mark.parametrize("batch_size, drop_last, sizes", [
    (4, False, [4, 4, 2]), (4, True, [4, 4]), (5, True, [5, 5]), (5, False, [5, 5]),
    (1, False, [1] * N), (12, False, [N]), (12, True, []),
])
def test_len_and_drop_last(batch_size, drop_last, sizes):
    ds, _, _ = dataset()
    loader = DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(sizes)
    assert [len(xb) for xb, _ in loader] == sizes


def test_default_batch_size_is_one():
    ds, _, _ = dataset(3)
    batches = list(DataLoader(ds))
    assert len(batches) == 3 and batches[0][0].shape == (1, 3)


def test_batches_are_copies():
    ds, _, _ = dataset()
    xb, _ = next(iter(DataLoader(ds, batch_size=4)))
    xb._array[...] = -1
    assert ds.tensors[0].numpy().min() >= 0


def test_shuffle_covers_every_sample_once_per_epoch():
    ds, _, _ = dataset()
    loader = DataLoader(ds, batch_size=3, shuffle=True, seed=7)
    epochs = [sum(sample_ids(loader), []) for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(N))
    assert len({tuple(order) for order in epochs}) == 3  # each epoch a new permutation
    assert all(order != list(range(N)) for order in epochs)


def test_shuffle_with_drop_last_draws_full_batches_from_the_permutation():
    ds, _, _ = dataset()
    ids = sample_ids(DataLoader(ds, batch_size=4, shuffle=True, drop_last=True, seed=3))
    assert [len(b) for b in ids] == [4, 4] and len(set(sum(ids, []))) == 8


def test_shuffle_is_deterministic_given_the_seed():
    ds, _, _ = dataset()
    first = [sample_ids(DataLoader(ds, batch_size=4, shuffle=True, seed=11))]
    again = [sample_ids(DataLoader(ds, batch_size=4, shuffle=True, seed=11))]
    other = [sample_ids(DataLoader(ds, batch_size=4, shuffle=True, seed=12))]
    assert first == again and first != other

    def two_epochs(loader):
        return [sample_ids(loader), sample_ids(loader)]

    assert two_epochs(DataLoader(ds, 4, shuffle=True, seed=5)) == \
        two_epochs(DataLoader(ds, 4, shuffle=True, seed=5))


def test_shuffle_from_a_generator_and_from_the_default_generator():
    ds, _, _ = dataset()
    generator = Generator(21)
    from_generator = sample_ids(DataLoader(ds, 4, shuffle=True, generator=generator))
    assert generator.counter == 1
    generator.manual_seed(21)
    assert sample_ids(DataLoader(ds, 4, shuffle=True, generator=generator)) == from_generator

    eager.manual_seed(3)
    default = sample_ids(DataLoader(ds, 4, shuffle=True))
    eager.manual_seed(3)
    assert sample_ids(DataLoader(ds, 4, shuffle=True)) == default


def test_permutation_is_drawn_when_the_epoch_starts():
    ds, _, _ = dataset()
    loader = DataLoader(ds, 4, shuffle=True, seed=0)
    first, second = iter(loader), iter(loader)
    reference = DataLoader(ds, 4, shuffle=True, seed=0)
    expected_first, expected_second = sample_ids(reference), sample_ids(reference)
    assert [(xb.numpy()[:, 0] / 3).astype(int).tolist() for xb, _ in second] == expected_second
    assert [(xb.numpy()[:, 0] / 3).astype(int).tolist() for xb, _ in first] == expected_first


class PairsDataset(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, index):
        return {"image": np.full((2, 2), index, np.float32), "label": index, "weight": 0.5,
                "name": f"item{index}"}


def test_a_custom_dataset_is_collated_field_by_field():
    batches = list(DataLoader(PairsDataset(), batch_size=2, shuffle=True, seed=1))
    assert len(batches) == 3
    first = batches[0]
    assert first["image"].shape == (2, 2, 2) and first["image"].dtype == np.float32
    assert first["label"].dtype == np.int64 and first["weight"].dtype == np.float64
    assert first["name"] == [f"item{i}" for i in first["label"].tolist()]
    labels = sorted(sum((b["label"].tolist() for b in batches), []))
    assert labels == [0, 1, 2, 3, 4]


def test_custom_collate_fn():
    ds, _, _ = dataset(4)
    loader = DataLoader(ds, batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(loader) == [2, 2]


def test_default_collate_rules():
    batch = default_collate([(eager.ones(2), 1, 2.5, True), (eager.zeros(2), 0, 1.0, False)])
    tensors, ints, floats, flags = batch
    assert tensors.shape == (2, 2) and ints.dtype == np.int64 and floats.dtype == np.float64
    assert flags.dtype == np.bool_
    with pytest.raises(TypeError, match="got object"):
        default_collate([object(), object()])


def test_tensor_dataset():
    x = np.arange(6.0).reshape(3, 2)
    ds = TensorDataset(x, eager.tensor([1, 2, 3]))
    features, label = ds[1]
    assert features.tolist() == [2.0, 3.0] and label.item() == 2 and len(ds) == 3
    with pytest.raises(ValueError, match=r"Size mismatch.*\[3, 2\]"):
        TensorDataset(eager.ones(3, 2), eager.ones(2))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(eager.tensor(1.0))


def test_empty_dataset():
    ds = TensorDataset(np.zeros((0, 2)))
    loader = DataLoader(ds, batch_size=3, shuffle=True, seed=0)
    assert len(loader) == 0 and list(loader) == []


def test_dataset_base_class_requires_the_methods():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(batch_size=0), ValueError, "batch_size should be a positive integer"),
    (dict(batch_size=2.5), ValueError, "batch_size should be a positive integer"),
    (dict(seed=1, generator=Generator(1)), ValueError, "either a seed or a generator"),
    (dict(generator=np.random.default_rng(0)), TypeError, "framework.ops.random.Generator"),
    (dict(num_workers=-1), ValueError, "num_workers option should be non-negative"),
])
def test_bad_arguments(kwargs, error, message):
    ds, _, _ = dataset()
    with pytest.raises(error, match=message):
        DataLoader(ds, **kwargs)
    with pytest.raises(TypeError, match="__getitem__ and __len__"):
        DataLoader(42)
