"""dualgraph's shared kernel layer: dtypes, shapes, devices, the op registry and its kernels."""

import os

# numba's parallel kernels run on libgomp threads, which spin after each parallel region
# (300,000 rounds by default) before they sleep. A training step alternates our kernels with
# OpenBLAS's GEMMs, whose own threads then find the cores taken by spinners: on 2 cores that
# made a batch-512 MLP step 2x slower. 10,000 rounds (tens of microseconds) keeps back-to-back
# kernels warm and frees the cores soon after. libgomp reads this once, when it is first
# loaded (by numba, or by a library imported earlier, PyTorch for one: then its setting holds);
# a setting of the user's own (either variable) is left alone.
if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "10000"
