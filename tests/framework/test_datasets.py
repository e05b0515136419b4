"""Datasets: scikit-learn's digits, the seeded split, and IDX / MNIST files written here."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from framework.datasets import (
    MNIST_FILES,
    IDXFormatError,
    load_digits,
    load_mnist,
    read_idx,
    train_test_split,
)

IDX_CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D,
             "float64": 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file by hand: magic, big-endian uint32 dimensions, big-endian values."""
    header = bytes([0, 0, IDX_CODES[array.dtype.name], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data: bytes, compressed=False):
    path.write_bytes(gzip.compress(data) if compressed else data)
    return path


# -- digits and the split ------------------------------------------------------------------------


def test_load_digits_images_and_flat():
    x, y = load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64 and set(y.tolist()) == set(range(10))
    assert x.min() == 0.0 and x.max() == 1.0
    flat, y_flat = load_digits(flat=True)
    assert flat.shape == (1797, 64)
    np.testing.assert_array_equal(flat, x.reshape(1797, 64))
    np.testing.assert_array_equal(y, y_flat)
    from sklearn.datasets import load_digits as sklearn_digits

    np.testing.assert_allclose(flat * 16, sklearn_digits().data, atol=1e-5)


def test_load_digits_splits_are_disjoint_stratified_and_deterministic():
    x, y = load_digits(flat=True)
    x_train, y_train = load_digits(flat=True, split="train")
    x_test, y_test = load_digits(flat=True, split="test")
    assert len(x_train) + len(x_test) == len(x)
    train_rows, test_rows = {r.tobytes() for r in x_train}, {r.tobytes() for r in x_test}
    assert train_rows.isdisjoint(test_rows)  # the 1797 images are all distinct
    assert train_rows | test_rows == {r.tobytes() for r in x}
    assert abs(len(x_test) / len(x) - 0.2) < 0.01
    counts, test_counts = np.bincount(y), np.bincount(y_test)
    np.testing.assert_array_equal(test_counts, np.round(counts * 0.2).astype(int))
    again, _ = load_digits(flat=True, split="test")
    np.testing.assert_array_equal(again, x_test)
    other, _ = load_digits(flat=True, split="test", seed=1)
    assert not np.array_equal(other, x_test)
    with pytest.raises(ValueError, match="split must be None, 'train' or 'test'"):
        load_digits(split="validation")


def test_train_test_split_partitions_and_keeps_order():
    x = np.arange(100) * 10
    y = np.arange(100) % 3
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_fraction=0.3, seed=4)
    assert sorted(np.concatenate([x_train, x_test]).tolist()) == x.tolist()
    assert (np.diff(x_train) > 0).all() and (np.diff(x_test) > 0).all()
    np.testing.assert_array_equal(y_train, x_train // 10 % 3)
    np.testing.assert_array_equal(y_test, x_test // 10 % 3)
    np.testing.assert_array_equal(np.bincount(y_test), [10, 10, 10])
    repeat = train_test_split(x, y, test_fraction=0.3, seed=4)
    np.testing.assert_array_equal(repeat[1], x_test)
    assert not np.array_equal(train_test_split(x, y, 0.3, seed=5)[1], x_test)


def test_stratified_split_keeps_rare_labels_on_both_sides():
    y = np.array([0] * 20 + [1, 1])
    _, _, y_train, y_test = train_test_split(np.arange(22), y, test_fraction=0.1, seed=0)
    assert 1 in y_train.tolist() and 1 in y_test.tolist()


def test_unstratified_split():
    x = np.arange(50)
    x_train, x_test, _, _ = train_test_split(x, x, test_fraction=0.2, seed=0, stratify=False)
    assert len(x_test) == 10 and len(x_train) == 40
    assert set(x_train.tolist()).isdisjoint(x_test.tolist())


@pytest.mark.parametrize("args, message", [
    ((np.arange(5), np.arange(4)), "same number of samples"),
    ((np.arange(5), np.arange(5), 0.0), "strictly between 0 and 1"),
    ((np.arange(5), np.arange(5), 1.0), "strictly between 0 and 1"),
    ((np.arange(1), np.arange(1)), "at least 2 samples"),
])
def test_train_test_split_checks(args, message):
    with pytest.raises(ValueError, match=message):
        train_test_split(*args)


# -- IDX ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", list(IDX_CODES))
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_read_idx_round_trip(tmp_path, dtype, compressed):
    array = (np.arange(24).reshape(2, 3, 4) * 7 - 40).astype(dtype)
    if dtype == "uint8":
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    path = write(tmp_path / "data-idx3", idx_bytes(array), compressed)
    result = read_idx(path)
    assert result.dtype == np.dtype(dtype) and result.dtype.isnative
    assert result.shape == (2, 3, 4)
    np.testing.assert_array_equal(result, array)
    result[0, 0, 0] = 1  # a writable array of its own


def test_read_idx_big_endian_values(tmp_path):
    # 0x0102 as a big-endian int16 is 258, not 513.
    path = write(tmp_path / "x", bytes([0, 0, 0x0B, 1, 0, 0, 0, 1, 0x01, 0x02]))
    assert read_idx(path).tolist() == [258]


@pytest.mark.parametrize("data, message", [
    (b"\x00\x00", "truncated: 2 bytes, shorter than the 4-byte magic"),
    (bytes([0, 1, 0x08, 1, 0, 0, 0, 1, 5]), "bad magic number 0x00010801"),
    (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), "bad magic number"),
    (bytes([0, 0, 0x08, 0]), "declares 0 dimensions"),
    (bytes([0, 0, 0x08, 2, 0, 0, 0, 2]), "truncated in its header: 2 dimensions need 12 bytes"),
    (bytes([0, 0, 0x08, 1, 0, 0, 0, 4, 1, 2]), "truncated: shape \\(4,\\) of uint8 needs 4 "
                                                 "bytes of data, found 2"),
    (bytes([0, 0, 0x0C, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9]), "1 bytes after the 4 bytes of data"),
])
def test_read_idx_rejects_bad_files(tmp_path, data, message):
    path = write(tmp_path / "bad-idx", data)
    with pytest.raises(IDXFormatError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_truncated_gzip(tmp_path):
    whole = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    path = write(tmp_path / "cut.gz", whole[: len(whole) // 2])
    with pytest.raises(IDXFormatError, match="gzip-compressed but cannot be decompressed"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing")


# -- MNIST ----------------------------------------------------------------------------------------


def write_mnist(directory, n_train=5, n_test=3, compressed=False):
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for key, array in arrays.items():
        name = MNIST_FILES[key] + (".gz" if compressed else "")
        write(directory / name, idx_bytes(array), compressed)
    return arrays


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_load_mnist(tmp_path, compressed):
    arrays = write_mnist(tmp_path, compressed=compressed)
    (x_train, y_train), (x_test, y_test) = load_mnist(tmp_path)
    assert x_train.shape == (5, 1, 28, 28) and x_test.shape == (3, 1, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_allclose(x_train[:, 0], arrays["train_images"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test, arrays["test_labels"])
    (flat, _), _ = load_mnist(str(tmp_path), flat=True)
    assert flat.shape == (5, 784)


def test_load_mnist_names_the_missing_files(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / MNIST_FILES["test_images"]).unlink()
    (tmp_path / MNIST_FILES["train_labels"]).unlink()
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte, "
                                                "t10k-images-idx3-ubyte") as info:
        load_mnist(tmp_path)
    assert "train-images" not in str(info.value) and str(tmp_path) in str(info.value)


def test_load_mnist_checks_labels_match_images(tmp_path):
    write_mnist(tmp_path)
    write(tmp_path / MNIST_FILES["train_labels"], idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(IDXFormatError, match="one label per image \\(5\\)"):
        load_mnist(tmp_path)
