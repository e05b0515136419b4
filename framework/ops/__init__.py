"""The op registry and the neutral op functions.

Importing this package loads every op family and checks the registry: each primitive must have a
shape-and-dtype rule, a CPU kernel, and a gradient rule or a stated reason for having none.
`python -m framework.ops` prints the registry as a table.
"""

from framework.ops import functions
from framework.ops import functions as F
from framework.ops.dispatch import ARRAYS, bind, register_frontend
from framework.ops.registry import (
    REGISTRY,
    Op,
    Spec,
    check_registry,
    execute,
    register,
    run_op,
)

check_registry()

__all__ = ["ARRAYS", "F", "REGISTRY", "Op", "Spec", "bind", "check_registry", "execute",
           "functions", "register", "register_frontend", "run_op"]
