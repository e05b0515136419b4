"""`RemovableHandle`: what every `register_*hook` returns, tensors' and modules' alike.

>>> import eager
>>> x = eager.ones(2, requires_grad=True)
>>> handle = x.register_hook(lambda g: g * 10)
>>> handle.remove()
>>> (x * 3).sum().backward()
>>> x.grad.tolist()
[3.0, 3.0]
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """Returned by the `register_*hook` methods: `.remove()` unregisters the hook (a second
    `.remove()` does nothing). Also a context manager, removing the hook on exit.

    The hooks live in an ordered dict keyed by the handle's id, so removing one never
    disturbs the order of the others."""

    _ids = itertools.count()
    _lock = threading.Lock()  # itertools.count is not documented as thread-safe

    def __init__(self, hooks: OrderedDict):
        self._hooks = hooks
        with RemovableHandle._lock:
            self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<RemovableHandle {self.id}>"
