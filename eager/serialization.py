"""`eager.save` / `eager.load`: state dicts of Tensors in the shared checkpoint format.

The file is the framework's checkpoint (`framework.checkpoint`): an ``.npz`` with a JSON
manifest, written atomically and checked on load, readable by the graph front-end too. Tensors
are saved as their arrays (a GPU's copied to the host); every array comes back as a Tensor on the
CPU (not requiring grad, like the tensors of a `state_dict`), which `load_state_dict` copies into
a module wherever its parameters live. Numbers, strings, None, and nested dicts, lists and
tuples (an optimizer's `state_dict`) come back as they were, int dict keys included.

>>> import os, tempfile
>>> import eager
>>> path = os.path.join(tempfile.mkdtemp(), "checkpoint.npz")
>>> eager.serialization.save({"weight": eager.ones(2, 3), "epoch": 4}, path)
>>> state = eager.serialization.load(path)
>>> type(state["weight"]).__name__, state["weight"].shape, state["epoch"]
('Tensor', (2, 3), 4)
"""

from __future__ import annotations

import numpy as np

from eager.devices import host_copy
from eager.tensor import Tensor
from framework.checkpoint import CheckpointError, load_state, save_state

__all__ = ["save", "load", "CheckpointError"]


def save(obj: dict, path, *, compress: bool = False) -> None:
    """Save a dict of Tensors (arrays, numbers, strings, nested dicts/lists/tuples) to `path`.

    The write is atomic: an existing file at `path` is replaced only by a complete checkpoint,
    so a crash during the save leaves the previous one intact. `compress=True` deflates the
    arrays. Tensors are saved detached (their values, not their graph or `requires_grad`).
    """
    if isinstance(obj, Tensor):
        raise TypeError("eager.save expects a dict (a state_dict), got a Tensor; save "
                        "{'tensor': t} instead")
    if not isinstance(obj, dict):
        raise TypeError(f"eager.save expects a dict (a state_dict), got {type(obj).__name__}")
    save_state(_to_arrays(obj), path, compress=compress)


def load(path, map_location=None, *, weights_only: bool = True) -> dict:
    """The dict saved at `path`, with every array as a Tensor.

    `map_location` ('cpu' or a cpu device) is accepted for PyTorch compatibility; tensors load
    on the CPU, the only device so far. `weights_only` is accepted too: the checkpoint format
    holds only arrays and plain data, never pickled code, so loading is always weights-only
    safe (`weights_only=False` loads the same). A truncated or corrupt file raises
    `CheckpointError` naming the problem.
    """
    if not isinstance(weights_only, bool):
        raise TypeError(f"load(): weights_only must be a bool, got {weights_only!r}")
    if map_location is not None and str(map_location) != "cpu":
        raise ValueError(f"map_location={map_location!r}: tensors can only be loaded on 'cpu'")
    return _to_tensors(load_state(path))


def _to_arrays(value):
    if isinstance(value, Tensor):
        return host_copy(value._array)  # a tensor on a GPU is saved from a copy on the host
    if isinstance(value, dict):
        return {key: _to_arrays(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_arrays(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_to_arrays(item) for item in value)
    return value


def _to_tensors(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return Tensor(np.asarray(value))
    if isinstance(value, dict):
        return {key: _to_tensors(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_tensors(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_to_tensors(item) for item in value)
    return value
