"""The neutral op functions ("F"): one function per primitive, for every front-end.

`F.add(x, y)` works on NumPy arrays (runs the kernel now), eager Tensors (records on the tape)
and graph nodes (adds a node): it promotes dtypes, lifts Python scalars, and hands the primitive
to `bind`. Gradient rules and composites are written with these functions only. Each function is
defined beside its primitive, in the op's module; this module gathers them under one name.

>>> import numpy as np
>>> from framework.ops import F
>>> F.add(np.ones(2, np.float32), 1)
array([2., 2.], dtype=float32)
"""

from framework.ops.conv import *  # noqa: F403
from framework.ops.creation import *  # noqa: F403
from framework.ops.dispatch import as_operand, promote  # noqa: F401
from framework.ops.elementwise import *  # noqa: F403
from framework.ops.indexing import *  # noqa: F403
from framework.ops.linalg import *  # noqa: F403
from framework.ops.movement import *  # noqa: F403
from framework.ops.nn import *  # noqa: F403
from framework.ops.random import *  # noqa: F403
from framework.ops.reduction import *  # noqa: F403
from framework.ops.scan import *  # noqa: F403
from framework.ops.sorting import *  # noqa: F403
