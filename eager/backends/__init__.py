"""`eager.backends`: PyTorch's backend queries (`eager.backends.mps.is_available()`)."""

from eager.backends import mps

__all__ = ["mps"]
