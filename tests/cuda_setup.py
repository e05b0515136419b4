"""What every CUDA test file shares: whether a CUDA device (or numba's CUDA simulator, under
NUMBA_ENABLE_CUDASIM=1) is usable here, the mark that skips a test launching kernels where
none is, and the simulator's autouse fixture. A test file imports all three:

    from tests.cuda_setup import CUDA_PROBLEM, needs_cuda, quick_thread_switches  # noqa: F401

and, for the checks that compile kernels to PTX (no GPU needed), `nvvm_problem` and
`compile_in_a_process_of_its_own`.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from framework import device
from framework.errors import DeviceError

try:
    device.require_cuda()
    CUDA_PROBLEM = None
except DeviceError as error:
    CUDA_PROBLEM = error.problem

needs_cuda = pytest.mark.skipif(
    CUDA_PROBLEM is not None,
    reason="no CUDA device here (make test runs this file under NUMBA_ENABLE_CUDASIM=1)")


@pytest.fixture(autouse=True, scope="module")
def quick_thread_switches():
    """The simulator runs a block's threads as Python threads, polled for syncthreads by
    another: with Python's default switch interval (5 ms), each barrier costs milliseconds."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(interval)


def nvvm_problem() -> str | None:
    """Why kernels cannot be compiled to PTX here (None: they can, with or without a GPU)."""
    from numba import config

    if config.ENABLE_CUDASIM:
        return "the simulator runs kernels as Python; the plain run compiles them"
    try:
        from numba.cuda.cudadrv import nvvm

        nvvm.NVVM()
    except Exception as error:  # noqa: BLE001  (NVVM missing, whatever the reason)
        return f"the CUDA toolkit's NVVM is not found ({error})"
    return None


def compile_in_a_process_of_its_own(module: str, function: str) -> None:
    """Run `module.function` (a check that compiles kernels to PTX) in a fresh process without
    the simulator, and assert it finished: compiling the kernels layer's functions for the GPU
    changes how numba compiles them for the CPU afterwards in the same process (the maths
    dispatchers' float32 versions lost their rounding), so this worker's CPU tests must not
    follow it."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-c", f"from {module} import {function} as check; check(); "
         "print('compiled')"], capture_output=True, text=True, env=env, timeout=900, cwd=root)
    assert done.returncode == 0 and "compiled" in done.stdout, done.stderr[-3000:]
