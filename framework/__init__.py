"""dualgraph's shared kernel layer: dtypes, shapes, devices, the op registry and its kernels."""

import os

# numba's parallel loops run on OpenMP threads that spin while they wait for work. On a shared
# machine with few cores, spinning threads take the cores other processes need, and a parallel
# kernel can become several times slower than a serial one. Passive waiting costs a few
# microseconds per parallel region, which the kernels' parallel-size thresholds amortize.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
