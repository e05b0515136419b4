"""Checkpoints: nested state (arrays, numbers, strings) saved atomically and loaded with checks.

Both front-ends save through `save_state` and read through `load_state`, so a checkpoint
written by one can be read by the other. A state is a dict whose values are NumPy arrays (or
NumPy scalars), Python numbers, strings, bools, None, and lists, tuples and dicts of those,
nested freely (a model's parameters, an optimizer's moments and hyper-parameters, a step
count). Dict keys may be strings or ints (an optimizer's state is keyed by parameter index).

File format (version 1)
-----------------------

A checkpoint is a ZIP archive readable as an ``.npz`` (``np.load(path)`` lists its arrays):

- one member per array, ``arrays/<index>.npy``, in NumPy's ``.npy`` format, stored
  uncompressed unless ``compress=True``; no member is ever a pickle;
- ``manifest.json``, written last, a UTF-8 JSON object::

      {"format": "dualgraph-checkpoint", "version": 1,
       "arrays": [{"member": "arrays/0.npy", "name": "weight", "dtype": "<f4",
                   "shape": [3, 2], "sha256": "<hex digest>"}, ...],
       "state": <the state tree>}

  ``name`` is the array's place in the state (keys joined with '/'); ``dtype`` is NumPy's
  ``dtype.str``; ``sha256`` is the SHA-256 of the array's bytes in C order (``a.tobytes()``).

The state tree is JSON, with every value that JSON cannot hold exactly written as an object of
one key that starts with ``__``:

- ``{"__array__": i}`` for the i-th array of ``arrays`` (``{"__scalar__": i}`` for a NumPy
  scalar such as ``np.float32(1.5)``, loaded back as one);
- ``{"__tuple__": [...]}`` for a tuple;
- ``{"__float__": "nan" | "inf" | "-inf"}`` for a float that is not finite;
- ``{"__dict__": [[key, value], ...]}`` for a dict with a non-string key, or a string key that
  starts with ``__``; any other dict is a plain JSON object.

Finite floats are written with ``repr`` precision, so they load back bit for bit.

Saving is atomic: the archive is written to a temporary file next to the target
(``.<name>.<pid>.<random>.tmp``), flushed and fsync'ed, moved onto the target with
``os.replace``, and the directory is fsync'ed. A crash at any moment leaves either the old
checkpoint or the new one, never a mix; a crash before the move may leave the temporary file,
which is never read as a checkpoint (it has a different name, and is incomplete).

Such leftovers are removed by the next save or load in the same directory. A writer holds an
exclusive ``flock`` on its temporary file from the moment it creates it until the file has been
moved onto the checkpoint, and the kernel drops that lock when the writer dies, however it dies.
So a temporary file whose lock can be taken belongs to no live writer. The pid in the name is
only for people: pids are reused (a job restarted in a container often gets its old pid back),
a lock is not. Only regular files named like ours and starting like a ZIP archive are removed;
without ``fcntl`` (Windows) leftovers are left alone.

A save that the file system refuses (a read-only checkpoint file, a directory that is read-only
or cannot be entered, a full disk) raises `CheckpointWriteError` naming the checkpoint and the
cause; it is an `OSError` too, and a `PermissionError` (`CheckpointPermissionError`) where
permissions are the cause.

Loading checks everything it reads: the ZIP structure, the manifest's format name and version,
and each array's dtype, shape and checksum. Any problem raises `CheckpointError` naming the
file and what is wrong.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> save_state({"weight": np.ones((2, 3), np.float32), "step": 10, "betas": (0.9, 0.999)}, path)
>>> state = load_state(path)
>>> state["weight"].shape, state["step"], state["betas"]
((2, 3), 10, (0.9, 0.999))
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import stat
import threading
import zipfile
from typing import Any

import numpy as np

from framework.errors import DualgraphError

try:
    import fcntl
except ImportError:  # Windows: no flock, so abandoned temporary files are left alone
    fcntl = None

__all__ = ["CheckpointError", "CheckpointWriteError", "CheckpointPermissionError",
           "FORMAT_NAME", "FORMAT_VERSION", "save_state", "load_state",
           "read_manifest"]

FORMAT_NAME = "dualgraph-checkpoint"
FORMAT_VERSION = 1
MANIFEST_MEMBER = "manifest.json"

# Fixed member timestamps: saving the same state twice gives the same bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_TAGS = ("__array__", "__scalar__", "__tuple__", "__float__", "__dict__")
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_READ_CHUNK = 1 << 20

# The names save_state gives its temporary files, `.<checkpoint name>.<pid>.<8 hex digits>.tmp`:
# the only names the clean-up of abandoned temporary files ever removes.
_TEMPORARY_NAME = re.compile(r"\..+\.[0-9]+\.[0-9a-f]{8}\.tmp", re.DOTALL)
_ZIP_MAGIC = b"PK\x03\x04"
_CREATE_ATTEMPTS = 8
# Names of the temporary files this process is writing now. A clean-up skips them without
# trying their lock: where flock is emulated with per-process POSIX locks (NFS), another
# thread of the writer's own process would get the lock, and closing it would drop the writer's.
_writing: set[str] = set()
_writing_lock = threading.Lock()


class CheckpointError(DualgraphError, ValueError):
    """A checkpoint that cannot be written or read: the message names the file and the problem."""


class CheckpointWriteError(CheckpointError, OSError):
    """A save the file system refused; `errno` is that of the underlying error, if any."""


class CheckpointPermissionError(CheckpointWriteError, PermissionError):
    """A save refused for lack of permission (read-only file or directory, no way in)."""


# ---------------------------------------------------------------------------------------------
# Saving


def save_state(state: dict, path, *, compress: bool = False) -> None:
    """Write `state` to `path` atomically (see the module docstring for the format).

    The target is replaced only once the new file is complete and on disk, so an existing
    checkpoint survives a crash at any point of the save. `compress=True` deflates the arrays
    (smaller, slower). Unsupported values raise `TypeError` before anything is written; a save
    the file system refuses raises `CheckpointWriteError`. Temporary files that killed saves
    left in the directory are removed first.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
    >>> save_state({"w": np.arange(3.0)}, path)
    >>> load_state(path)["w"].tolist()
    [0.0, 1.0, 2.0]
    """
    path = os.fspath(path)
    if not isinstance(state, dict):
        raise TypeError(f"save_state expects a dict as the state, got {type(state).__name__}")
    arrays: list[np.ndarray] = []
    entries: list[dict] = []
    tree = _encode(state, "", arrays, entries)
    directory = os.path.dirname(os.path.abspath(path))
    _check_target(path, directory)
    _remove_abandoned_temporaries(directory, keep=os.path.basename(path))
    temporary, descriptor = _create_temporary(path, directory)
    try:
        # The file stays open, so locked, until it has the checkpoint's name: a clean-up never
        # takes a complete file about to be moved (and closing any descriptor of a file drops
        # its NFS lock). Only where there is no flock (Windows, which cannot move an open file)
        # is it closed first.
        with os.fdopen(descriptor, "wb") as file:
            _write_temporary(file, path, temporary, tree, arrays, entries, compress)
            if fcntl is not None:
                _move(temporary, path)
        if fcntl is None:
            _move(temporary, path)
    except BaseException:
        # Includes KeyboardInterrupt: a failed save leaves no temporary file behind (and if it
        # cannot be removed now, it is unlocked, so the next save or load removes it).
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise
    finally:
        _forget(temporary)
    _fsync_directory(directory)


def _write_temporary(file, path: str, temporary: str, tree, arrays, entries, compress) -> None:
    try:
        _write_archive(file, tree, arrays, entries, compress)
        file.flush()
        os.fsync(file.fileno())
    except OSError as error:
        raise _save_failed(path, f"writing its temporary file {temporary!r} failed",
                           error) from None


def _move(temporary: str, path: str) -> None:
    try:
        os.replace(temporary, path)
    except OSError as error:
        raise _save_failed(path, "the new file could not be moved onto it", error) from None


def _check_target(path: str, directory: str) -> None:
    """Refuse, before writing anything, a save the file system would refuse or that would
    replace a file its owner made read-only."""
    try:
        is_directory = stat.S_ISDIR(os.stat(directory).st_mode)
    except PermissionError:
        raise CheckpointPermissionError(
            f"cannot save checkpoint {path!r}: directory {directory!r} cannot be reached "
            "(permission denied on a directory above it)") from None
    except OSError:
        is_directory = False
    if not is_directory:
        raise CheckpointError(f"cannot save checkpoint {path!r}: directory {directory!r} does "
                              "not exist")
    if not os.access(directory, os.X_OK):
        raise CheckpointPermissionError(f"cannot save checkpoint {path!r}: directory "
                                        f"{directory!r} cannot be entered (no search permission)")
    if os.path.isdir(path):
        raise CheckpointError(f"cannot save checkpoint {path!r}: it is a directory")
    if not os.access(directory, os.W_OK):
        raise CheckpointPermissionError(
            f"cannot save checkpoint {path!r}: directory {directory!r} is not writable, and a "
            "checkpoint is saved through a new file next to it")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise CheckpointPermissionError(f"cannot save checkpoint {path!r}: the existing file is "
                                        "read-only (no write permission), so it is not replaced")


def _save_failed(path: str, problem: str, error: OSError) -> CheckpointWriteError:
    kind = CheckpointPermissionError if isinstance(error, PermissionError) else \
        CheckpointWriteError
    failure = kind(f"cannot save checkpoint {path!r}: {problem} "
                   f"({error.strerror or error})")
    failure.errno = error.errno  # strerror stays unset: OSError.__str__ would print only it
    return failure


def _create_temporary(path: str, directory: str) -> tuple[str, int]:
    """A new temporary file next to `path`, locked by this save: its path and a descriptor."""
    for _ in range(_CREATE_ATTEMPTS):
        name = f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        temporary = os.path.join(directory, name)
        with _writing_lock:
            _writing.add(name)
        try:
            # O_EXCL: never write into a file someone else created; mode 0o666 lets umask
            # decide, as for any ordinary file (mkstemp would force 0o600 onto the checkpoint).
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            _forget(temporary)
            continue
        except OSError as error:
            _forget(temporary)
            raise _save_failed(path, f"cannot create a temporary file in directory "
                                     f"{directory!r}", error) from None
        try:
            claimed = _claim(descriptor, temporary)
        except BaseException:
            os.close(descriptor)
            _forget(temporary)
            raise
        if claimed:
            return temporary, descriptor
        os.close(descriptor)
        _forget(temporary)
    raise CheckpointWriteError(f"cannot save checkpoint {path!r}: {_CREATE_ATTEMPTS} new "
                               f"temporary files in {directory!r} were taken away while being "
                               "created")


def _claim(descriptor: int, temporary: str) -> bool:
    """Lock the just-created `temporary`; False if a clean-up took it before the lock did.

    Between creating the file and locking it, another process's clean-up may find it unlocked
    and remove it. Checking, once locked, that the name still leads to this file closes that gap.
    """
    if fcntl is not None:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a clean-up holds it and is removing it
        except OSError:
            pass  # a file system without locks: clean-ups cannot lock it either, so they skip it
    try:
        current = os.stat(temporary, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino)


def _forget(temporary: str) -> None:
    with _writing_lock:
        _writing.discard(os.path.basename(temporary))


def _remove_abandoned_temporaries(directory: str, keep: str) -> None:
    """Remove the temporary files that saves killed before their move left in `directory`.

    Best effort, and never a live writer's file (see the module docstring): a name must match
    `_TEMPORARY_NAME` and not be `keep` (the file being saved or loaded), and any error leaves
    the file where it is.
    """
    if fcntl is None:
        return
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name == keep or not _TEMPORARY_NAME.fullmatch(name):
            continue
        with _writing_lock:
            if name in _writing:
                continue
        _remove_if_abandoned(os.path.join(directory, name))


def _remove_if_abandoned(temporary: str) -> None:
    try:
        if not stat.S_ISREG(os.lstat(temporary).st_mode):
            return  # never open a device, a FIFO or a link that happens to be named like ours
        # Read-write: flock emulated with POSIX locks (NFS) takes an exclusive lock only then.
        descriptor = os.open(temporary, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    try:
        opened = os.fstat(descriptor)
        if not stat.S_ISREG(opened.st_mode):
            return
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its writer lives
        if not _ZIP_MAGIC.startswith(os.pread(descriptor, len(_ZIP_MAGIC), 0)):
            return  # not an archive we were writing (an empty file is one just created)
        current = os.stat(temporary, follow_symlinks=False)
        if (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino):
            # Removed while locked: no writer can claim this file in the meantime.
            os.remove(temporary)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _write_archive(file, tree, arrays, entries, compress: bool) -> None:
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(file, "w", compression=compression, allowZip64=True) as archive:
        for array, entry in zip(arrays, entries):
            _write_array(archive, entry["member"], array, compression)
        manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "arrays": entries,
                    "state": tree}
        info = zipfile.ZipInfo(MANIFEST_MEMBER, date_time=_ZIP_EPOCH)
        info.compress_type = compression
        archive.writestr(info, json.dumps(manifest, indent=1, allow_nan=False).encode())


def _write_array(archive: zipfile.ZipFile, member: str, array: np.ndarray, compression) -> None:
    info = zipfile.ZipInfo(member, date_time=_ZIP_EPOCH)
    info.compress_type = compression
    # force_zip64: the size is unknown when the member is opened and may exceed 2 GiB.
    with archive.open(info, "w", force_zip64=True) as stream:
        np.lib.format.write_array(stream, array, allow_pickle=False)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _encode(value, where: str, arrays: list, entries: list):
    """The JSON tree of `value`; arrays are appended to `arrays` with their manifest entries."""
    # NumPy first: np.float64 is a float subclass, but keeps its dtype as a NumPy scalar.
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.hasobject or array.dtype.kind not in "biufc":
            raise TypeError(f"cannot save {where or 'the state'}: arrays of dtype {array.dtype} "
                            "are not supported (only bool, integer, float and complex)")
        array = _c_order(array)
        index = len(arrays)
        arrays.append(array)
        entries.append({"member": f"arrays/{index}.npy", "name": where, "dtype": array.dtype.str,
                        "shape": list(array.shape),
                        "sha256": hashlib.sha256(_array_bytes(array)).hexdigest()})
        return {"__scalar__" if isinstance(value, np.generic) else "__array__": index}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{where}/{i}", arrays, entries)
                              for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{where}/{i}", arrays, entries) for i, v in enumerate(value)]
    if isinstance(value, dict):
        plain = all(isinstance(k, str) and not k.startswith("__") for k in value)
        pairs = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"cannot save {where or 'the state'}: dict keys must be str or "
                                f"int, got {type(key).__name__} {key!r}")
            child = f"{where}/{key}" if where else str(key)
            pairs.append((key, _encode(item, child, arrays, entries)))
        if plain:
            return dict(pairs)
        return {"__dict__": [[int(k) if isinstance(k, int) else k, v] for k, v in pairs]}
    raise TypeError(f"cannot save {where or 'the state'}: values of type "
                    f"{type(value).__name__} are not supported (arrays, numbers, str, None, "
                    "and lists, tuples and dicts of those)")


def _array_bytes(array: np.ndarray) -> np.ndarray:
    """The array's bytes in C order, as a uint8 view (hashed without a copy)."""
    return _c_order(array).reshape(-1).view(np.uint8)


def _c_order(array: np.ndarray) -> np.ndarray:
    # Not np.ascontiguousarray: it turns a 0-d array into a 1-d one.
    return array if array.flags.c_contiguous else array.copy(order="C")


# ---------------------------------------------------------------------------------------------
# Loading


def read_manifest(path) -> dict:
    """The checked manifest of the checkpoint at `path` (format, version, arrays, state tree).

    Reads no array data: a quick look at what a checkpoint holds.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> save_state({"w": np.zeros(2, np.float32)}, path)
    >>> [(a["name"], a["dtype"], a["shape"]) for a in read_manifest(path)["arrays"]]
    [('w', '<f4', [2])]
    """
    path = os.fspath(path)
    with _open_archive(path) as archive:
        return _read_manifest(archive, path)


def load_state(path) -> dict:
    """The state saved at `path`, after checking the manifest and every array's checksum.

    Raises `CheckpointError` naming the file and the problem if the file is truncated, corrupt,
    not a checkpoint, or of a newer format version; `FileNotFoundError` if it does not exist.
    Temporary files that killed saves left in the directory are removed first.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "opt.npz")
    >>> save_state({"state": {0: {"step": 3}}, "lr": float("inf")}, path)
    >>> load_state(path)
    {'state': {0: {'step': 3}}, 'lr': inf}
    """
    path = os.fspath(path)
    _remove_abandoned_temporaries(os.path.dirname(os.path.abspath(path)),
                                  keep=os.path.basename(path))
    with _open_archive(path) as archive:
        manifest = _read_manifest(archive, path)
        arrays = [_read_array(archive, path, entry) for entry in manifest["arrays"]]
        return _decode(manifest["state"], arrays, path)


def _fail(path: str, problem: str) -> CheckpointError:
    return CheckpointError(f"checkpoint {path!r} is unreadable: {problem}")


def _open_archive(path: str) -> zipfile.ZipFile:
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}: the file does not exist")
    try:
        return zipfile.ZipFile(path, "r")
    except zipfile.BadZipFile as error:
        raise _fail(path, f"not a complete ZIP archive, so it is truncated or not a checkpoint "
                          f"({error})") from None
    except (OSError, EOFError, ValueError) as error:
        raise _fail(path, f"cannot open it as a ZIP archive ({error})") from None


def _read_member(archive: zipfile.ZipFile, path: str, member: str) -> bytes:
    try:
        return archive.read(member)
    except KeyError:
        raise _fail(path, f"member {member!r} is missing") from None
    except Exception as error:  # BadZipFile (bad CRC, bad header), zlib.error, EOFError, ...
        raise _fail(path, f"member {member!r} is corrupt ({type(error).__name__}: "
                          f"{error})") from None


def _read_manifest(archive: zipfile.ZipFile, path: str) -> dict:
    raw = _read_member(archive, path, MANIFEST_MEMBER)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _fail(path, f"the manifest is not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise _fail(path, f"the manifest's format is {found!r}, expected {FORMAT_NAME!r}")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(path, f"the manifest's version {version!r} is not a positive int")
    if version > FORMAT_VERSION:
        raise _fail(path, f"it has format version {version}, newer than this program reads "
                          f"({FORMAT_VERSION}); upgrade dualgraph to load it")
    entries = manifest.get("arrays")
    if not isinstance(entries, list) or "state" not in manifest:
        raise _fail(path, "the manifest lacks its 'arrays' list or its 'state'")
    for index, entry in enumerate(entries):
        _check_entry(entry, index, path)
    return manifest


def _check_entry(entry, index: int, path: str) -> None:
    if not isinstance(entry, dict):
        raise _fail(path, f"manifest entry {index} of 'arrays' is not an object")
    member, dtype, shape, digest = (entry.get(k) for k in ("member", "dtype", "shape", "sha256"))
    if not isinstance(member, str) or not isinstance(digest, str):
        raise _fail(path, f"manifest entry {index} of 'arrays' lacks its member or sha256")
    if not (isinstance(shape, list)
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise _fail(path, f"array {entry.get('name')!r} has an invalid shape {shape!r} in the "
                          "manifest")
    try:
        parsed = np.dtype(dtype) if isinstance(dtype, str) else None
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.hasobject or parsed.kind not in "biufc":
        raise _fail(path, f"array {entry.get('name')!r} has an unsupported dtype {dtype!r} in "
                          "the manifest")


def _read_array(archive: zipfile.ZipFile, path: str, entry: dict) -> np.ndarray:
    name, member = entry.get("name"), entry["member"]
    expected_dtype, expected_shape = np.dtype(entry["dtype"]), tuple(entry["shape"])
    try:
        stream = archive.open(member)
    except KeyError:
        raise _fail(path, f"member {member!r} is missing") from None
    except Exception as error:
        raise _fail(path, f"member {member!r} is corrupt ({type(error).__name__}: "
                          f"{error})") from None
    with stream:
        # The .npy header is checked against the manifest before any memory is allocated for
        # the data, which is then streamed straight into the array (never held twice). Reading
        # on to the end of the member makes zipfile check its CRC.
        try:
            shape, fortran_order, dtype = _read_npy_header(stream)
        except Exception as error:  # a damaged .npy header, a bad ZIP member header, ...
            raise _fail(path, f"array {name!r} ({member}) is not a valid .npy array "
                              f"({type(error).__name__}: {error})") from None
        if dtype != expected_dtype:
            raise _fail(path, f"array {name!r} has dtype {dtype}, but the manifest says "
                              f"{expected_dtype}")
        if shape != expected_shape:
            raise _fail(path, f"array {name!r} has shape {shape}, but the manifest says "
                              f"{expected_shape}")
        if fortran_order and len(shape) > 1:
            raise _fail(path, f"array {name!r} is stored in Fortran order; checkpoints store C "
                              "order")
        array = np.empty(shape, dtype)
        try:
            received = _read_into(stream, _array_bytes(array))
            trailing = len(stream.read())
        except Exception as error:  # a bad CRC, a damaged deflate stream, ...
            raise _fail(path, f"array {name!r} ({member}) is not a valid .npy array "
                              f"({type(error).__name__}: {error})") from None
    if received < array.nbytes:
        raise _fail(path, f"array {name!r} ({member}) is truncated: {received} of "
                          f"{array.nbytes} bytes of data")
    if trailing:
        raise _fail(path, f"array {name!r} ({member}) has {trailing} unexpected bytes after "
                          "its data")
    if hashlib.sha256(_array_bytes(array)).hexdigest() != entry["sha256"]:
        raise _fail(path, f"array {name!r} fails its SHA-256 checksum: its data is corrupt")
    return array


def _read_npy_header(stream) -> tuple[tuple, bool, np.dtype]:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(stream)
    raise ValueError(f".npy format version {version} is not one checkpoints are written in")


def _read_into(stream, target: np.ndarray) -> int:
    """Fill the uint8 array `target` from `stream`; returns the bytes read (short at EOF)."""
    view, filled = memoryview(target), 0
    while filled < len(view):
        # In slices: zipfile reads into a temporary bytes object of the requested size.
        count = stream.readinto(view[filled:filled + _READ_CHUNK])
        if not count:
            break
        filled += count
    return filled


def _decode(node, arrays: list, path: str) -> Any:
    if isinstance(node, list):
        return [_decode(v, arrays, path) for v in node]
    if not isinstance(node, dict):
        return node
    tag = next(iter(node)) if len(node) == 1 else None
    if tag not in _TAGS:
        return {key: _decode(value, arrays, path) for key, value in node.items()}
    payload = node[tag]
    if tag in ("__array__", "__scalar__"):
        if not isinstance(payload, int) or isinstance(payload, bool) \
                or not 0 <= payload < len(arrays):
            raise _fail(path, f"the state refers to array {payload!r}, which the manifest does "
                              "not list")
        array = arrays[payload]
        return array[()] if tag == "__scalar__" else array
    if tag == "__tuple__" and isinstance(payload, list):
        return tuple(_decode(v, arrays, path) for v in payload)
    if tag == "__float__" and payload in _NON_FINITE:
        return _NON_FINITE[payload]
    if tag == "__dict__" and isinstance(payload, list) and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int)) for p in payload):
        return {key: _decode(value, arrays, path) for key, value in payload}
    raise _fail(path, f"the manifest's state has a malformed {tag} entry: {payload!r}")
