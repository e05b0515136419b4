"""`theano.config`: the settings Theano code reads, `floatX` first.

>>> from graph.theano.configdefaults import config
>>> config.floatX
'float64'
"""

from __future__ import annotations

import threading

__all__ = ["config"]

_FLOAT_TYPES = ("float32", "float64")


class _Config:
    """Theano's flags that matter here. `floatX` is the dtype of `T.matrix()` and friends
    without a dtype, and of Python floats turned into constants: 'float64' by default, as in
    Theano; 'float32' is the other choice. `device` is always 'cpu'. Setting a flag this
    front-end does not have raises AttributeError, so a misspelt flag is not silently kept."""

    __slots__ = ("_float_x", "_lock")

    def __init__(self):
        object.__setattr__(self, "_float_x", "float64")
        object.__setattr__(self, "_lock", threading.Lock())

    @property
    def floatX(self) -> str:  # noqa: N802  (Theano's name)
        return self._float_x

    @floatX.setter
    def floatX(self, value) -> None:  # noqa: N802
        if value not in _FLOAT_TYPES:
            raise ValueError(f"Invalid value ({value!r}) for configuration variable 'floatX'. "
                             f"Valid options are {_FLOAT_TYPES}")
        with self._lock:
            object.__setattr__(self, "_float_x", value)

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def mode(self) -> str:
        return "FAST_RUN"

    def __setattr__(self, name, value) -> None:
        if name != "floatX":
            raise AttributeError(f"theano.config has no settable flag {name!r} here; the "
                                 "graph front-end's Theano API reads only floatX")
        type(self).floatX.__set__(self, value)

    def __repr__(self) -> str:
        return f"theano.config(floatX={self.floatX!r}, device='cpu')"


config = _Config()
