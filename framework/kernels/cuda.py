"""The CUDA backend: loop templates that turn the same scalar bodies into numba.cuda kernels.

The counterpart of `framework.kernels.cpu`: the bodies of the elementwise ops and the `Fold`
declarations of the reductions are compiled once more, with `numba.cuda.jit`, inside two
templates:

- map (`run_map`): one thread per output element in a grid-stride loop; each operand is read
  through its own strides, a broadcast dimension having stride 0, so any broadcast of any
  operands runs in one kernel;
- reduce (`run_fold`, `run_arg`): one block per output element; each thread folds a strided
  share of the reduced values, then the block combines its threads' partial results by a tree
  in shared memory.

Scalar bodies call the dispatchers of `framework.kernels.maths` (exp, log, tanh,
exp_nonpositive). Importing this module registers their CUDA versions, which lower to
libdevice's functions (`math.exp` and friends on the GPU), so a body compiles for both devices
unchanged.

Interface for CUDA kernels (this module, `framework.kernels.cuda_nn`, and any op's `cuda`):

- Importing: `numba.cuda` reads NUMBA_ENABLE_CUDASIM (the simulator) when it is first imported,
  so nothing imported by `import framework` may import it. An op's CUDA entry is a method,
  `def cuda(self, *arrays)`, that imports its kernel module inside its body; `Op.kernel` and
  `registry.run_op` pick it for inputs that live on a CUDA device, after the op's shape rule
  has accepted them (kernels never see input the rule did not accept: numba does not
  bounds-check, and neither does a GPU).
- Arrays: inputs and outputs are numba device arrays (`numba.cuda.devicearray.DeviceNDArray`,
  or the simulator's stand-in). `framework.device.device_of(array)` gives their `Device`;
  `framework.device.to_device(host_array, device)` and `framework.device.to_host(array)` copy
  explicitly; nothing is copied implicitly.
- Allocating: every output comes from `framework.device.empty(shape, dtype, device)` with
  `device = device_of(an input)` (or `current_device()`), which returns a device array counted
  by that device's allocator (live and peak bytes, as on the CPU).
- Launching: `blocks, threads = launch_config(n)` for n > 0 work items (an empty output needs
  no launch: CUDA refuses a grid of zero blocks); kernels loop grid-stride,
  `for i in range(cuda.grid(1), n, cuda.gridsize(1))`, so the grid may be capped and still
  cover every item. `THREADS_PER_BLOCK` is also the size of the shared-memory tree of the
  reduce template (a power of two; smaller under the simulator, where each thread is a Python
  thread). Kernels launch on the default stream, one after another; `to_host` waits for them.
- Device: `current_device()` is the `Device('cuda', index)` of the current CUDA context.
- Kernel caching: build each `cuda.jit` kernel once per body (functools.cache on the body), as
  this module's `map_kernel` and `fold_kernel` do; numba specializes it per argument types.
"""

from __future__ import annotations

from numba import config as numba_config
from numba import cuda

from framework.device import Device

# Threads per block of every launch: a multiple of the 32-thread warp, and a power of two for
# the reduce template's tree. The simulator runs each thread as a Python thread: fewer there.
THREADS_PER_BLOCK = 32 if numba_config.ENABLE_CUDASIM else 256
# Grid-stride loops cover any size, so grids are capped: enough blocks to fill every
# multiprocessor of the largest GPUs several times over.
MAX_BLOCKS = 8 * 1024


def launch_config(n: int) -> tuple[int, int]:
    """(blocks, threads per block) for a grid-stride loop over n > 0 work items.

    >>> launch_config(1)[0], launch_config(10**9)[0] == MAX_BLOCKS
    (1, True)
    """
    if n <= 0:
        raise ValueError(f"launch_config needs at least one work item, got {n}")
    return min(-(-n // THREADS_PER_BLOCK), MAX_BLOCKS), THREADS_PER_BLOCK


def current_device() -> Device:
    """The `Device('cuda', index)` of the current CUDA context."""
    return Device("cuda", cuda.get_current_device().id)
