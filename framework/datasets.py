"""Datasets as NumPy arrays, shared by both front-ends: digits, MNIST files, a seeded split.

- `load_digits` reads scikit-learn's bundled 8x8 handwritten digits (1797 images, no download),
  scaled to [0, 1] float32, as images (N, 1, 8, 8) or flat rows (N, 64), with int64 labels.
- `train_test_split` splits arrays into train and test parts, stratified by label and
  deterministic given its seed.
- `read_idx` reads one file in the IDX format MNIST is distributed in (plain or gzip), and
  `load_mnist` reads the four standard MNIST files from a directory.

IDX format: a 4-byte magic number ``0x00 0x00 <dtype code> <number of dimensions>``, then each
dimension as a big-endian uint32, then the values in C order, big-endian. The dtype codes are
0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32 and 0x0E float64.

>>> x, y = load_digits()
>>> x.shape, x.dtype, y.shape, y.dtype, float(x.min()), float(x.max())
((1797, 1, 8, 8), dtype('float32'), (1797,), dtype('int64'), 0.0, 1.0)
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

from framework import dtypes
from framework.errors import ArgumentError, DualgraphError
from framework.ops.random import uniform

__all__ = ["IDXFormatError", "load_digits", "train_test_split", "read_idx", "load_mnist",
           "MNIST_FILES"]


class IDXFormatError(DualgraphError, ValueError):
    """An IDX file that is not well formed: the message names the file and the problem."""


# ---------------------------------------------------------------------------------------------
# A seeded split


def _permutation(n: int, seed: int) -> np.ndarray:
    """A permutation of range(n) that depends only on `seed`: argsort of seeded uniform keys.

    Built on the framework's counter-based generator, so it never changes with NumPy's version.
    """
    keys = uniform((n,), seed, dtype=dtypes.float64)
    return np.argsort(keys, kind="stable")


def train_test_split(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, seed: int = 0,
                     stratify: bool = True):
    """(x_train, x_test, y_train, y_test): a deterministic split of samples into two parts.

    The same `seed` always gives the same split. With `stratify=True` each label keeps its share
    of samples in both parts: a label with n samples puts round(n * test_fraction) of them in
    the test part (at least one, and at least one in the train part, when n >= 2). Both parts
    keep the samples in their original order. Arguments follow scikit-learn's function of the
    same name, with the test share called `test_fraction`.

    >>> x = np.arange(10.0)
    >>> y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    >>> x_train, x_test, y_train, y_test = train_test_split(x, y, test_fraction=0.4, seed=1)
    >>> len(x_train), len(x_test), sorted(y_test.tolist())
    (6, 4, [0, 0, 1, 1])
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ArgumentError(f"train_test_split needs x and y with the same number of samples "
                            f"(first dimension), got shapes {x.shape} and {y.shape}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) \
            or not 0.0 < test_fraction < 1.0:
        raise ArgumentError(f"test_fraction must be a number strictly between 0 and 1, got "
                            f"{test_fraction!r}")
    n = len(y)
    if n < 2:
        raise ArgumentError(f"train_test_split needs at least 2 samples, got {n}")
    order = _permutation(n, seed)
    if stratify:
        is_test = np.zeros(n, bool)
        shuffled_labels = y[order]
        for label in np.unique(y):
            members = order[shuffled_labels == label]  # this label's samples, in shuffled order
            count = len(members)
            n_test = int(round(count * test_fraction))
            if count >= 2:
                n_test = min(max(n_test, 1), count - 1)
            is_test[members[:n_test]] = True
    else:
        n_test = min(max(int(round(n * test_fraction)), 1), n - 1)
        is_test = np.zeros(n, bool)
        is_test[order[:n_test]] = True
    return x[~is_test], x[is_test], y[~is_test], y[is_test]


# ---------------------------------------------------------------------------------------------
# scikit-learn's digits


def load_digits(flat: bool = False, split: str | None = None, test_fraction: float = 0.2,
                seed: int = 0):
    """(x, y): the 8x8 digits scaled to [0, 1] float32, and their int64 labels 0..9.

    `flat=False` gives images of shape (N, 1, 8, 8) (channels first, as convolutions expect);
    `flat=True` gives rows of 64 pixels. `split=None` returns all 1797 samples; "train" or
    "test" returns that part of `train_test_split(x, y, test_fraction, seed)` (stratified), so
    the two parts never overlap for the same seed and fraction.

    >>> x_train, y_train = load_digits(flat=True, split="train")
    >>> x_test, y_test = load_digits(flat=True, split="test")
    >>> x_train.shape, x_test.shape
    ((1438, 64), (359, 64))
    """
    if split not in (None, "train", "test"):
        raise ArgumentError(f"split must be None, 'train' or 'test', got {split!r}")
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    # Pixels are counts 0..16 of set bits in a 4x4 block of the original 32x32 bitmap.
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    if not flat:
        x = x.reshape(-1, 1, 8, 8)
    if split is None:
        return x, y
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_fraction, seed)
    return (x_train, y_train) if split == "train" else (x_test, y_test)


# ---------------------------------------------------------------------------------------------
# IDX files and MNIST

_IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as file:
        raw = file.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise IDXFormatError(f"IDX file {path!r} is gzip-compressed but cannot be decompressed "
                             f"(truncated or corrupt): {error}") from None


def read_idx(path) -> np.ndarray:
    """The array stored in the IDX file at `path`, in native byte order.

    Gzip-compressed files (MNIST's ``.gz`` downloads) are recognized by their content, whatever
    their name. A bad magic number, an unknown dtype code, or data that is shorter or longer
    than the header announces raises `IDXFormatError` naming the file and the problem.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + bytes([7, 2, 1]))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IDXFormatError(f"IDX file {path!r} is truncated: {len(raw)} bytes, shorter than "
                             "the 4-byte magic number")
    zero, code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in _IDX_DTYPES:
        raise IDXFormatError(f"IDX file {path!r} has a bad magic number 0x{raw[:4].hex()}: "
                             "expected 0x0000 then a dtype code (08, 09, 0B, 0C, 0D or 0E) and "
                             "the number of dimensions")
    if ndim == 0:
        raise IDXFormatError(f"IDX file {path!r} declares 0 dimensions")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise IDXFormatError(f"IDX file {path!r} is truncated in its header: {ndim} dimensions "
                             f"need {header_size} bytes, the file has {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header_size
    if found < expected:
        raise IDXFormatError(f"IDX file {path!r} is truncated: shape {shape} of {dtype.name} "
                             f"needs {expected} bytes of data, found {found}")
    if found > expected:
        raise IDXFormatError(f"IDX file {path!r} has {found - expected} bytes after the "
                             f"{expected} bytes of data its header announces (shape {shape})")
    array = np.frombuffer(raw, dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a native, writable copy


MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _find_mnist_file(directory: str, name: str) -> str | None:
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def load_mnist(directory, flat: bool = False):
    """((x_train, y_train), (x_test, y_test)) from the four standard MNIST files in `directory`.

    The files are ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each plain or with ``.gz``.
    Nothing is downloaded: a missing file raises `FileNotFoundError` naming every missing one.
    Images are scaled to [0, 1] float32, of shape (N, 1, 28, 28), or (N, 784) with `flat=True`;
    labels are int64.

    >>> (x_train, y_train), (x_test, y_test) = load_mnist("~/data/mnist")  # doctest: +SKIP
    >>> x_train.shape, y_test.shape  # doctest: +SKIP
    ((60000, 1, 28, 28), (10000,))
    """
    directory = os.path.expanduser(os.fspath(directory))
    paths = {key: _find_mnist_file(directory, name) for key, name in MNIST_FILES.items()}
    missing = [MNIST_FILES[key] for key, path in paths.items() if path is None]
    if missing:
        raise FileNotFoundError(f"MNIST files missing from {directory!r}: "
                                f"{', '.join(missing)} (each may also end in .gz)")
    parts = []
    for part in ("train", "test"):
        images_path, labels_path = paths[f"{part}_images"], paths[f"{part}_labels"]
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise IDXFormatError(f"MNIST images {images_path!r} should be uint8 of shape "
                                 f"(N, rows, columns), got {images.dtype} of shape "
                                 f"{images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise IDXFormatError(f"MNIST labels {labels_path!r} should hold one label per image "
                                 f"({len(images)}), got shape {labels.shape}")
        x = images.astype(np.float32) / np.float32(255.0)
        x = x.reshape(len(x), -1) if flat else x[:, None, :, :]
        parts.append((x, labels.astype(np.int64)))
    return tuple(parts)
