"""What a name of TensorFlow 1 or Theano that dualgraph does not build answers: a clear error.

Each front-end module that stands for one of theirs (`graph` for `tf`, `graph.theano.tensor`
for `theano.tensor`, ...) ends with `__getattr__ = missing_names(...)`, so an unknown name
raises `NotBuiltError` saying so, instead of a bare AttributeError.
"""

from __future__ import annotations

from framework.errors import DualgraphError

__all__ = ["NotBuiltError", "missing_names"]


class NotBuiltError(DualgraphError, AttributeError):
    """A TensorFlow 1 or Theano name the graph front-end does not have (an AttributeError, as
    Python raises for a missing module attribute)."""


def missing_names(module: str, name_there: str, framework: str, front_end: str, short: str):
    """A module `__getattr__` for `module`, which stands for `name_there` of `framework`
    (e.g. "theano.tensor" of "Theano") in dualgraph's `front_end`.

    >>> lookup = missing_names("graph.theano", "theano", "Theano", "Theano API", "Theano's")
    >>> lookup("scan2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graph.not_built.NotBuiltError: module 'graph.theano' has no attribute 'scan2': Theano's ...
    """

    def __getattr__(name):
        if name.startswith("__"):  # Python's and tools' own probes: the plain error, at once
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        raise NotBuiltError(f"module {module!r} has no attribute {name!r}: {framework}'s "
                            f"{name_there}.{name} is not built in dualgraph's {front_end} "
                            f"(`python -m compare api-coverage` lists which of {short} common "
                            "names are)")

    return __getattr__
