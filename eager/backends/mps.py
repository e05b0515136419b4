"""`eager.backends.mps`: Apple's Metal backend, which dualgraph does not have.

>>> import eager
>>> eager.backends.mps.is_available(), eager.backends.mps.is_built()
(False, False)
"""

from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: there are no MPS kernels."""
    return False


def is_built() -> bool:
    """False: this build has no MPS support."""
    return False
