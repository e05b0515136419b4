"""What every CUDA test file shares: whether a CUDA device (or numba's CUDA simulator, under
NUMBA_ENABLE_CUDASIM=1) is usable here, the mark that skips a test launching kernels where
none is, and the simulator's autouse fixture. A test file imports all three:

    from tests.cuda_setup import CUDA_PROBLEM, needs_cuda, quick_thread_switches  # noqa: F401
"""

from __future__ import annotations

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
