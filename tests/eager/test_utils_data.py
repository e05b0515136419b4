"""eager.utils.data with torch.utils.data's semantics: names, samplers, collation, random_split."""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import eager
import eager as torch
from eager.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
    get_worker_info,
    random_split,
)

N = 10


def tensor_dataset(n=N):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return TensorDataset(eager.tensor(x), eager.tensor(np.arange(n) % 4))


class Rows(Dataset):
    """A map-style dataset read sample by sample: (features, label) of row `index`."""

    def __init__(self, n=N):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        return np.full(3, index, np.float32), index


def ids(loader):
    """The sample index of every row of every batch (features hold 3 * index or index)."""
    return [[int(v) for v in xb.numpy()[:, 0]] for xb, _ in loader]


def test_pytorch_import_paths_and_attribute_access():
    assert torch.utils.data.DataLoader is DataLoader
    assert torch.utils.data.TensorDataset is TensorDataset
    assert eager.data.DataLoader is DataLoader and eager.data.Dataset is Dataset
    assert torch.Generator().manual_seed(3).initial_seed() == 3


def test_tuple_samples_batch_into_a_list_of_tensors_as_in_pytorch():
    batches = list(DataLoader(Rows(5), batch_size=2))
    assert [type(b) for b in batches] == [list] * 3
    features, labels = batches[0]
    assert features.shape == (2, 3) and features.dtype == np.float32
    assert labels.tolist() == [0, 1] and labels.dtype == np.int64
    # A TensorDataset's batches (one gather per tensor) are what collating its samples gives.
    ds = tensor_dataset(5)

    class SampleBySample(Dataset):
        def __len__(self):
            return len(ds)

        def __getitem__(self, index):
            return ds[index]

    fast = list(DataLoader(ds, batch_size=2))
    slow = list(DataLoader(SampleBySample(), batch_size=2))
    assert [type(b) for b in fast] == [list] * 3
    assert [[t.tolist() for t in b] for b in fast] == [[t.tolist() for t in b] for b in slow]
    assert [[t.dtype for t in b] for b in fast] == [[t.dtype for t in b] for b in slow]


def test_tensor_dataset_subclass_that_redefines_getitem_is_read_sample_by_sample():
    class Doubled(TensorDataset):
        def __getitem__(self, index):
            x, y = super().__getitem__(index)
            return x * 2, y

    (xb, _), = list(DataLoader(Doubled(eager.ones(3, 2), eager.zeros(3)), batch_size=3))
    assert xb.tolist() == [[2.0, 2.0]] * 3


def test_default_collate_of_dicts_named_tuples_arrays_and_numbers():
    Point = namedtuple("Point", "x y")
    batch = default_collate([
        OrderedDict(image=np.zeros((2, 2), np.float64), point=Point(1, 0.5), tag="a",
                    flag=True, parts=[1, 2]),
        OrderedDict(image=np.ones((2, 2), np.float64), point=Point(2, 1.5), tag="b",
                    flag=False, parts=[3, 4]),
    ])
    assert type(batch) is OrderedDict and list(batch) == ["image", "point", "tag", "flag",
                                                          "parts"]
    assert batch["image"].shape == (2, 2, 2) and batch["image"].dtype == np.float64
    assert type(batch["point"]) is Point
    assert batch["point"].x.dtype == np.int64 and batch["point"].y.dtype == np.float64
    assert batch["tag"] == ["a", "b"] and batch["flag"].dtype == np.bool_
    assert [p.tolist() for p in batch["parts"]] == [[1, 3], [2, 4]]
    scalars = default_collate([np.float32(1.5), np.float32(2.5)])
    assert scalars.dtype == np.float32 and scalars.tolist() == [1.5, 2.5]


@pytest.mark.parametrize("batch, error, message", [
    ([eager.ones(2), eager.ones(3)], RuntimeError, r"equal size, but got \[2\] at entry 0 and "
                                                   r"\[3\] at entry 1"),
    ([(1, 2), (1,)], RuntimeError, "equal size"),
    ([eager.ones(2), np.ones(2)], TypeError, "sample 1 is a ndarray"),
    ([{"a": 1}, {"b": 2}], KeyError, "sample 1 does not"),
    ([], IndexError, "empty batch"),
    ([object()], TypeError, "got object"),
])
def test_default_collate_errors(batch, error, message):
    with pytest.raises(error, match=message):
        default_collate(batch)


def test_shuffle_is_reproducible_from_a_generator_and_from_the_global_seed():
    ds = Rows()
    first = ids(DataLoader(ds, batch_size=4, shuffle=True, generator=torch.Generator()
                           .manual_seed(5)))
    again = ids(DataLoader(ds, batch_size=4, shuffle=True, generator=torch.Generator()
                           .manual_seed(5)))
    other = ids(DataLoader(ds, batch_size=4, shuffle=True, generator=torch.Generator()
                           .manual_seed(6)))
    assert first == again and first != other
    assert sorted(sum(first, [])) == list(range(N))
    torch.manual_seed(1)
    loader = DataLoader(ds, batch_size=4, shuffle=True)
    epochs = [ids(loader), ids(loader)]
    torch.manual_seed(1)
    assert [ids(loader), ids(loader)] == epochs and epochs[0] != epochs[1]


@pytest.mark.parametrize("make", [tensor_dataset, Rows])
def test_drop_last_with_shuffle(make):
    loader = DataLoader(make(), batch_size=4, shuffle=True, drop_last=True, seed=2)
    batches = ids(loader)
    assert len(loader) == 2 and [len(b) for b in batches] == [4, 4]
    seen = sum(batches, [])
    assert len(set(seen)) == 8


def test_batch_size_none_yields_converted_samples():
    loader = DataLoader(Rows(3), batch_size=None)
    samples = list(loader)
    assert len(loader) == 3 and isinstance(samples[1], list)
    features, label = samples[1]
    assert isinstance(features, eager.Tensor) and features.shape == (3,) and label == 1


def test_sampler_and_batch_sampler():
    ds = tensor_dataset()
    loader = DataLoader(ds, batch_size=2, sampler=[9, 0, 4])
    assert len(loader) == 2 and [[v // 3 for v in b] for b in ids(loader)] == [[9, 0], [4]]
    batches = BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False)
    assert list(batches) == [[0, 1], [2, 3], [4]] and len(batches) == 3
    loader = DataLoader(Rows(), batch_sampler=[[3, 1], [7]])
    assert len(loader) == 2 and ids(loader) == [[3, 1], [7]]
    sampled = ids(DataLoader(Rows(), batch_size=3, sampler=SubsetRandomSampler(
        [2, 4, 6], generator=eager.Generator(0))))
    assert sorted(sampled[0]) == [2, 4, 6]


def test_random_sampler_with_replacement_and_num_samples():
    sampler = RandomSampler(range(3), replacement=True, num_samples=50,
                            generator=eager.Generator(4))
    draws = list(sampler)
    assert len(draws) == 50 == len(sampler) and set(draws) == {0, 1, 2}
    longer = list(RandomSampler(range(3), num_samples=7, generator=eager.Generator(4)))
    assert len(longer) == 7 and sorted(longer[:3]) == [0, 1, 2] and sorted(longer[3:6]) == \
        [0, 1, 2]


def test_out_of_range_index_from_a_batch_sampler_names_the_user_line():
    loader = DataLoader(tensor_dataset(), batch_sampler=[[0, 12]])
    with pytest.raises(IndexError, match="index 12 is out of range") as error:
        list(loader)
    assert "test_utils_data.py" in str(error.value)


def test_num_workers_runs_in_the_main_process_with_the_same_batches():
    calls = []
    loader = DataLoader(Rows(), batch_size=3, shuffle=True, num_workers=2, seed=8,
                        worker_init_fn=calls.append, pin_memory=True, persistent_workers=True,
                        prefetch_factor=2)
    reference = DataLoader(Rows(), batch_size=3, shuffle=True, seed=8)
    assert ids(loader) == ids(reference) and calls == [] and get_worker_info() is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(batch_size=-3), "batch_size should be a positive integer value"),
])
def test_bad_arguments_raise_value_errors_naming_the_line(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        DataLoader(Rows(), **kwargs)
    assert "test_utils_data.py" in str(error.value)


def test_a_numpy_generator_is_refused():
    with pytest.raises(TypeError, match="eager.Generator"):
        DataLoader(Rows(), shuffle=True, generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="eager.Generator"):
        random_split(Rows(), [5, 5], generator=np.random.default_rng(0))


def test_random_split_sizes_disjointness_and_determinism():
    ds = tensor_dataset()
    parts = random_split(ds, [3, 7], generator=eager.Generator(42))
    assert [len(p) for p in parts] == [3, 7] and all(isinstance(p, Subset) for p in parts)
    indices = [list(p.indices) for p in parts]
    assert sorted(sum(indices, [])) == list(range(N))
    again = random_split(ds, [3, 7], generator=eager.Generator(42))
    assert [list(p.indices) for p in again] == indices
    assert [list(p.indices) for p in random_split(ds, [3, 7], generator=eager.Generator(1))] \
        != indices
    # A subset reads through to its dataset, on the gather path and sample by sample.
    first = parts[0]
    assert first[0][1].item() == ds[indices[0][0]][1].item()
    (xb, yb), = list(DataLoader(first, batch_size=3))
    assert [int(v) // 3 for v in xb.numpy()[:, 0]] == indices[0]


def test_random_split_fractions_hand_out_the_remainder_round_robin():
    parts = random_split(range(10), [0.33, 0.33, 0.34], generator=eager.Generator(0))
    assert [len(p) for p in parts] == [4, 3, 3]
    assert sorted(sum((list(p) for p in parts), [])) == list(range(10))
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        parts = random_split(range(3), [1.0, 0.0])
    assert [len(p) for p in parts] == [3, 0]


@pytest.mark.parametrize("lengths, error, message", [
    ([3, 3], ValueError, "Sum of input lengths does not equal"),
    ([1.5, -0.5], ValueError, "Fraction at index 0 is not between 0 and 1"),
    ([11, -1], ValueError, "non-negative integers"),
    ([2.5, 7.5], ValueError, "non-negative integers"),
    (["3", 7], TypeError, "lengths must be numbers"),
])
def test_random_split_bad_lengths(lengths, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(error, match=message):
            random_split(range(10), lengths)


def test_subset_and_concat_dataset():
    subset = Subset(Rows(), [5, 2])
    assert len(subset) == 2 and subset[1][1] == 2 and [s[1] for s in subset[[0, 1]]] == [5, 2]
    both = ConcatDataset([tensor_dataset(3), tensor_dataset(2)])
    assert len(both) == 5 and both[3][1].item() == 0 and both[-1][1].item() == 1
    assert len(Rows(2) + Rows(3)) == 5
    with pytest.raises(IndexError, match="index 5 is out of range"):
        both[5]
    with pytest.raises(ValueError, match="absolute value of index"):
        both[-6]
    with pytest.raises(ValueError, match="should not be an empty iterable"):
        ConcatDataset([])
    loader = DataLoader(both, batch_size=5)
    (xb, yb), = list(loader)
    assert yb.tolist() == [0, 1, 2, 0, 1]


def test_threads_sharing_a_loader_each_get_whole_epochs():
    loader = DataLoader(Rows(200), batch_size=7, shuffle=True, seed=3)
    results = [None] * 4

    def run(slot):
        results[slot] = sum(ids(loader), [])

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reference = DataLoader(Rows(200), batch_size=7, shuffle=True, seed=3)
    expected = sorted(sum(ids(reference), []) for _ in range(4))
    assert sorted(results) == expected
