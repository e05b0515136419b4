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
- Device: `current_device()` is the `Device('cuda', index)` of the current CUDA context; a
  kernel runs on the current GPU, so launch inside `with on_device(device_of(out)):`, which
  switches GPU only when the arrays live on another one.
- Kernel caching: build each `cuda.jit` kernel once per body (functools.cache on the body), as
  this module's `map_kernel` and `fold_kernel` do; numba specializes it per argument types.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
import threading

import numpy as np
from numba import config as numba_config
from numba import cuda, types
from numba.core.extending import overload
from numba.np import numpy_support

from framework import device as devices
from framework.codegen import load_module
from framework.device import Device
from framework.kernels import intrinsics, maths
from framework.kernels.cpu import fingerprint, python_function
from framework.kernels.folds import Fold
from framework.shapes import broadcast_shapes

# Under numba's simulator (NUMBA_ENABLE_CUDASIM=1), kernels run as Python, each GPU thread a
# Python thread: the templates then call the bodies' CPU versions (see `_imports`), and blocks
# are small. What only a real compile checks (each body's GPU lowering) is checked by
# compiling PTX in the tests.
SIMULATED = bool(numba_config.ENABLE_CUDASIM)
# Threads per block of every launch: a multiple of the 32-thread warp, and a power of two for
# the reduce template's tree.
THREADS_PER_BLOCK = 8 if SIMULATED else 256
# Grid-stride loops cover any size, so grids are capped: enough blocks to fill every
# multiprocessor of the largest GPUs several times over.
MAX_BLOCKS = 8 * 1024


def _serialize_simulated_shared_arrays() -> None:
    """numba's simulator makes a block's shared array when the first of its threads asks for
    it, with a check-then-store two threads can interleave: each then works on an array of its
    own, and a tree reduction reads partial results no thread wrote there (an argmax that
    missed its NaN, one run in a few). The same lookup (the array of a source line), under a
    lock."""
    from numba.cuda.simulator import kernelapi

    simulated = getattr(kernelapi, "FakeCUDAShared", None)
    if simulated is None:
        return
    original, lock = simulated.array, threading.Lock()

    def array(self, shape, dtype):
        if shape == 0:  # dynamic shared memory: one buffer made up front, nothing to race
            return original(self, shape, dtype)
        caller = sys._getframe(1)
        line = (caller.f_code.co_filename, caller.f_lineno)
        with lock:
            found = self._allocations.get(line)
            if found is None:
                if isinstance(dtype, types.Type):
                    dtype = numpy_support.as_dtype(dtype)
                found = self._allocations[line] = np.empty(shape, dtype)
        return found

    simulated.array = array


if SIMULATED:
    _serialize_simulated_shared_arrays()


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
    return Device("cuda", devices._current_cuda_index())


def on_device(device: Device):
    """The context to launch kernels in on `device`: that GPU's, when it is not the current
    one (a kernel runs on the current GPU, wherever its arrays live)."""
    if SIMULATED or device.index == devices._current_cuda_index():
        return contextlib.nullcontext()
    return cuda.gpus[device.index]


# ---------------------------------------------------------------------------------------------
# The kernels layer's functions on the GPU. The dispatchers' float32 versions are CPU code
# (vector-friendly polynomials and bit moves); on the GPU, libdevice's functions are the fast
# and accurate ones, and numba lowers math.exp and friends to them.


def _cuda_dispatch(function):
    def typed(x):
        if isinstance(x, types.Float):
            return lambda x: function(x)
        return lambda x: function(np.float64(x))  # as the dispatchers treat other numbers

    return typed


for _dispatcher, _function in ((maths.exp, math.exp), (maths.exp_nonpositive, math.exp),
                               (maths.log, math.log), (maths.tanh, math.tanh)):
    # Not inline="always": numba keeps one cache of inlined overloads across targets, and a
    # GPU compile then changed what later CPU compiles of the same dispatcher inlined.
    overload(_dispatcher, target="cuda")(_cuda_dispatch(_function))
overload(maths.as_type_of, target="cuda", inline="always")(maths._as_type_of_typed)


@cuda.jit(device=True, inline=True)
def nan_maximum(a, b):
    """The larger of a and b, NaN if either is: `intrinsics.maximum` on the GPU (whose LLVM
    intrinsic NVVM does not lower)."""
    return a if a > b or a != a else b


@cuda.jit(device=True, inline=True)
def nan_minimum(a, b):
    """The smaller of a and b, NaN if either is: `intrinsics.minimum` on the GPU."""
    return a if a < b or a != a else b


# Parts of bodies that only compile for the CPU, and the names of their GPU versions here.
_GPU_VERSIONS = {intrinsics.maximum: "nan_maximum", intrinsics.minimum: "nan_minimum"}


_SIMULATED_BODY = """
@numba.njit(cache=True, error_model="numpy")
def {role}({args}):
    return _{role}({args})
"""


def _imports(parts: dict) -> tuple[str, str]:
    """(import lines binding each body of `parts`, {role: (body, arity)}, to its role, and a
    fingerprint of their modules).

    numba compiles a CPU-jitted body again for the GPU where a kernel calls it. Under the
    simulator, a kernel is Python that calls the body's CPU version: each body is then wrapped
    in a function that numba caches on disk (the body itself is not cached, and compiling it
    anew in every test process would cost more than the tests; the fingerprint in the
    generated text renews the cache when the body changes). Plain Python bodies would not do:
    Python's math raises where IEEE arithmetic gives inf or NaN.
    """
    lines, modules = [], []
    for role, (part, arity) in sorted(parts.items()):
        if part in _GPU_VERSIONS:
            lines.append(f"from {__name__} import {_GPU_VERSIONS[part]} as {role}")
            continue
        function = python_function(part)
        modules.append(function.__module__)
        if not SIMULATED:
            lines.append(f"from {function.__module__} import {function.__name__} as {role}")
            continue
        lines.append(f"from {function.__module__} import {function.__name__} as _{role}")
        lines.append(_SIMULATED_BODY.format(
            role=role, args=", ".join(f"a{k}" for k in range(arity))))
    return "\n".join(lines), fingerprint(*modules)


def _unravel(ndim: int, shape: str, indent: str) -> str:
    """Lines that split the flat index i into i0 .. i{ndim-1} over `shape`, C order."""
    lines = [f"{indent}rest = i"]
    for axis in range(ndim - 1, 0, -1):
        lines.append(f"{indent}i{axis} = rest % {shape}[{axis}]")
        lines.append(f"{indent}rest //= {shape}[{axis}]")
    lines.append(f"{indent}i0 = rest")
    return "\n".join(lines)


def _index(names: list) -> str:
    return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"


# ---------------------------------------------------------------------------------------------
# Map: elementwise kernels.

_MAP_TEMPLATE = """\
# Generated by framework.kernels.cuda: {name} on operands {layout}.
# Fingerprint of the body's module and of the kernels layer: {fingerprint}.
import numba
from numba import cuda

{imports}


@cuda.jit
def kernel({args}):
{prologue}    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
{index}        out[{out_index}] = body({operands})
"""


@functools.cache
def map_kernel(body, layout: tuple, out_ndim: int, params: int = 0, name: str = ""):
    """The CUDA kernel of `body` over operands laid out as `layout`, one code per operand:
    'f' a flat contiguous operand of the output's size, 's' one value, or an int, the ndim of
    an operand read through its own strides and broadcast against an `out_ndim` output (a
    flat layout has only 'f' and 's' and a flat output). `params` scalars follow the operands.
    """
    flat = all(code in ("f", "s") for code in layout)
    arguments = [f"x{k}" for k in range(len(layout))] + ["out"]
    arguments += [f"p{k}" for k in range(params)]
    prologue, operands = [], []
    for k, code in enumerate(layout):
        if code == "s":
            prologue.append(f"    s{k} = x{k}[0]")
            operands.append(f"s{k}")
        elif code == "f":
            operands.append(f"x{k}[i]")
        else:  # aligned on the output's trailing axes; a size-1 axis is read at 0
            first = out_ndim - code
            for axis in range(code):
                prologue.append(f"    m{k}_{axis} = 0 if x{k}.shape[{axis}] == 1 else 1")
            operands.append(f"x{k}[" + _index(
                [f"i{first + axis} * m{k}_{axis}" for axis in range(code)]) + "]")
    operands += [f"p{k}" for k in range(params)]
    name = name or python_function(body).__name__
    imports, print_ = _imports({"body": (body, len(layout) + params)})
    source = _MAP_TEMPLATE.format(
        name=name, layout=layout, fingerprint=print_, imports=imports,
        args=", ".join(arguments),
        prologue="".join(line + "\n" for line in prologue),
        index="" if flat else _unravel(out_ndim, "out.shape", " " * 8) + "\n",
        out_index="i" if flat else ", ".join(f"i{axis}" for axis in range(out_ndim)),
        operands=", ".join(operands))
    return load_module(source, f"cuda_map_{name}_{len(layout)}").kernel


def run_map(body, arrays, out_dtype, params=(), name: str = ""):
    """`body(*elements, *params)` for every element of the broadcast of device `arrays`, into a
    new device array of `out_dtype`. `params` are NumPy scalars (an op's attributes).

    Operands that are contiguous and either full-size or one value run a flat kernel; any
    other broadcast or layout runs the strided one.
    """
    shape = broadcast_shapes(*(tuple(a.shape) for a in arrays))
    out = devices.empty(shape, out_dtype, devices.device_of(arrays[0]))
    size = out.size
    if not size:
        return out
    layout = tuple("s" if a.size == 1 else "f" if a.size == size and a.is_c_contiguous()
                   else a.ndim for a in arrays)
    flat = all(code in ("f", "s") for code in layout)
    if flat:
        operands = [a.reshape(a.size) for a in arrays]
        target = out.reshape(size)
    else:  # every operand but one-value ones is read by its n-d index
        layout = tuple(code if code == "s" else a.ndim for code, a in zip(layout, arrays))
        operands = [a.reshape(1) if code == "s" else a for code, a in zip(layout, arrays)]
        target = out
    kernel = map_kernel(body, layout, 1 if flat else out.ndim, len(params), name)
    blocks, threads = launch_config(size)
    with on_device(devices.device_of(out)):
        kernel[blocks, threads](*operands, target, *params)
    return out


_PERMUTE_TEMPLATE = """\
# Generated by framework.kernels.cuda: a C-ordered copy of a {ndim}-d array, axes {order}.
from numba import cuda


@cuda.jit
def kernel(x, out):
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
{index}
        out[{out_index}] = x[{in_index}]
"""


@functools.cache
def permute_kernel(ndim: int, order: tuple):
    """The kernel that copies x into out, out's axis k being x's axis order[k]."""
    source = _PERMUTE_TEMPLATE.format(
        ndim=ndim, order=order, index=_unravel(ndim, "out.shape", " " * 8),
        out_index=", ".join(f"i{k}" for k in range(ndim)),
        in_index=", ".join(f"i{order.index(axis)}" for axis in range(ndim)))
    return load_module(source, f"cuda_permute_{ndim}").kernel


def permuted(x, order: tuple):
    """A C-contiguous device copy of x with its axes in `order` (as np.transpose)."""
    out = devices.empty(tuple(x.shape[a] for a in order), x.dtype, devices.device_of(x))
    if out.size:
        if x.ndim == 0:
            out.copy_to_device(x)
        else:
            blocks, threads = launch_config(out.size)
            with on_device(devices.device_of(out)):
                permute_kernel(x.ndim, tuple(order))[blocks, threads](x, out)
    return out


def contiguous(x):
    """x itself when C-contiguous, else a C-contiguous device copy."""
    return x if x.is_c_contiguous() else permuted(x, tuple(range(x.ndim)))


def as_blocks(x, plan: tuple):
    """x as a C-contiguous (outer, reduced, inner) device array, from the reduction ops'
    `blocks_plan` (outer, reduced, inner, order): a view unless the layout needs a copy."""
    outer, reduced, inner, order = plan
    if order is not None:
        return permuted(x, order).reshape(outer, reduced, 1)
    return contiguous(x).reshape(outer, reduced, inner)


# ---------------------------------------------------------------------------------------------
# Reduce: one block per output element, a tree in shared memory.

_FOLD_TEMPLATE = """\
# Generated by framework.kernels.cuda for the {name} fold, accumulating in {acc}.
# Fingerprint of the bodies' modules and of the kernels layer: {fingerprint}.
import numba
from numba import cuda

{imports}

THREADS = {threads}


@cuda.jit
def kernel(x, params, start, count, chunks, out, partials):
    # Block b folds chunk b % chunks of output element b // chunks. With one chunk per output
    # the block finishes it; with several, the chunks' accumulators go to `partials`, which
    # finish_chunks folds.
    outer, reduced, inner = x.shape
    shared = cuda.shared.array(THREADS, numba.{acc})
    thread = cuda.threadIdx.x
    for task in range(cuda.blockIdx.x, outer * inner * chunks, cuda.gridDim.x):
        o = task // chunks
        chunk = task - o * chunks
        row = o // inner
        column = o - row * inner
        param = {param}
        acc = start
        stop = (chunk + 1) * reduced // chunks
        for r in range(chunk * reduced // chunks + thread, stop, THREADS):
            acc = combine(acc, term(x[row, r, column], param))
        shared[thread] = acc
        cuda.syncthreads()
        step = THREADS // 2
        while step > 0:
            if thread < step:
                shared[thread] = combine(shared[thread], shared[thread + step])
            cuda.syncthreads()
            step //= 2
        if thread == 0:
            if chunks == 1:
                out[o] = finish(shared[0], param, count)
            else:
                partials[o, chunk] = shared[0]
        cuda.syncthreads()  # shared[0] is read before the next task overwrites it


@cuda.jit
def columns(x, params, start, count, out):
    # One thread per output element, folding its values in order: for many neighbouring
    # columns (inner axis), whose values neighbouring threads then read together.
    outer, reduced, inner = x.shape
    for o in range(cuda.grid(1), outer * inner, cuda.gridsize(1)):
        row = o // inner
        column = o - row * inner
        param = {param}
        acc = start
        for r in range(reduced):
            acc = combine(acc, term(x[row, r, column], param))
        out[o] = finish(acc, param, count)


@cuda.jit
def finish_chunks(partials, params, count, inner, out):
    for o in range(cuda.grid(1), partials.shape[0], cuda.gridsize(1)):
        row = o // inner
        column = o - row * inner
        param = {param}
        acc = partials[o, 0]
        for chunk in range(1, partials.shape[1]):
            acc = combine(acc, partials[o, chunk])
        out[o] = finish(acc, param, count)
"""


@functools.cache
def fold_kernel(fold: Fold, accumulator: np.dtype):
    """The CUDA kernel of a fold, accumulating in `accumulator` (the dtype of its start)."""
    parts = {"term": (fold.term, 2), "combine": (fold.combine, 2), "finish": (fold.finish, 3)}
    imports, print_ = _imports(parts)
    source = _FOLD_TEMPLATE.format(
        name=fold.name, acc=np.dtype(accumulator).name, fingerprint=print_, imports=imports,
        threads=THREADS_PER_BLOCK,
        param="params[row, column]" if fold.takes_param else "0.0")
    return load_module(source, f"cuda_fold_{fold.name}")


# From this many neighbouring columns on (a warp's worth), a reduction of a leading or middle
# axis runs one thread per output element: a warp then reads 32 neighbouring values at a
# time, where a block per element would read one value per memory transaction.
COLUMNS_PER_THREAD_KERNEL = 32
# A reduction with fewer output elements than this many blocks' worth splits each one's
# reduced axis into chunks, one block each, so that a full reduction fills the GPU; every
# chunk still gives each thread several values.
SPLIT_BELOW_BLOCKS = 2 if SIMULATED else 1024
VALUES_PER_THREAD = 4


def fold_chunks(outputs: int, reduced: int) -> int:
    """Into how many chunks (one block each) to split each output element's reduced axis.

    >>> fold_chunks(1, 10), fold_chunks(1, 10**8) == SPLIT_BELOW_BLOCKS, fold_chunks(10**6, 10**3)
    (1, True, 1)
    """
    if outputs >= SPLIT_BELOW_BLOCKS:
        return 1
    per_block = THREADS_PER_BLOCK * VALUES_PER_THREAD
    return max(1, min(-(-reduced // per_block), SPLIT_BELOW_BLOCKS // outputs))


def run_fold(fold: Fold, blocks, out, start, params=None, count: float = 1.0) -> None:
    """Fold device `blocks` (outer, reduced, inner) into device `out` (outer * inner
    elements), as `framework.kernels.cpu.run_fold` does on the CPU: `start` is the fold's
    identity, a NumPy scalar of the accumulator's dtype; `params` an (outer, inner) float64
    device array when the fold takes a parameter; `count` what `finish` divides by."""
    outer, reduced, inner = blocks.shape
    outputs = outer * inner
    if not outputs:
        return
    device = devices.device_of(blocks)
    if params is None:
        params = _no_params(device)
    kernels = fold_kernel(fold, start.dtype)
    if inner >= COLUMNS_PER_THREAD_KERNEL:
        with on_device(device):
            kernels.columns[launch_config(outputs)](blocks, params, start, np.float64(count),
                                                   out.reshape(out.size))
        return
    chunks = fold_chunks(outputs, reduced)
    flat = out.reshape(out.size)
    partials = (devices.empty((outputs, chunks), start.dtype, device) if chunks > 1
                else _no_params(device))
    with on_device(device):
        kernels.kernel[min(outputs * chunks, MAX_BLOCKS), THREADS_PER_BLOCK](
            blocks, params, start, np.float64(count), chunks, flat, partials)
        if chunks > 1:
            kernels.finish_chunks[launch_config(outputs)](partials, params, np.float64(count),
                                                          inner, flat)


@functools.cache
def _no_params(device: Device):
    """What folds without a parameter receive in its place (never read): one per GPU, kept
    for good, so not counted by the allocator (a constant, not a buffer of the program's)."""
    with on_device(device):
        return cuda.to_device(np.zeros((1, 1)))


_ARG_TEMPLATE = """\
# Generated by framework.kernels.cuda for {name}; fingerprint {fingerprint}.
import numba
from numba import cuda

{imports}

THREADS = {threads}


@cuda.jit(device=True, inline=True)
def takes_over(value, index, best, best_index):
    # A NaN wins over any number; between two NaNs or two equal values the lower index wins.
    if value != value:
        return best == best or index < best_index
    if best != best:
        return False
    return beats(value, best) or (value == best and index < best_index)


@cuda.jit
def kernel(x, out):
    outer, reduced, inner = x.shape
    values = cuda.shared.array(THREADS, numba.{dtype})
    indices = cuda.shared.array(THREADS, numba.int64)
    thread = cuda.threadIdx.x
    for o in range(cuda.blockIdx.x, outer * inner, cuda.gridDim.x):
        row = o // inner
        column = o - row * inner
        best = x[row, 0, column]
        best_index = 0
        for r in range(thread, reduced, THREADS):
            value = x[row, r, column]
            if takes_over(value, r, best, best_index):
                best = value
                best_index = r
        values[thread] = best
        indices[thread] = best_index
        cuda.syncthreads()
        step = THREADS // 2
        while step > 0:
            if thread < step and takes_over(values[thread + step], indices[thread + step],
                                            values[thread], indices[thread]):
                values[thread] = values[thread + step]
                indices[thread] = indices[thread + step]
            cuda.syncthreads()
            step //= 2
        if thread == 0:
            out[o] = indices[0]
        cuda.syncthreads()
"""


@functools.cache
def arg_kernel(name: str, beats, dtype: np.dtype):
    """The CUDA kernel of an arg reduction: `beats(value, best)` says whether a value takes
    over from the best so far."""
    imports, print_ = _imports({"beats": (beats, 2)})
    source = _ARG_TEMPLATE.format(name=name, fingerprint=print_, imports=imports,
                                  threads=THREADS_PER_BLOCK, dtype=np.dtype(dtype).name)
    return load_module(source, f"cuda_arg_{name}").kernel


def run_arg(name: str, beats, blocks, out) -> None:
    """Index of the first extreme element along axis 1 of non-empty device blocks (outer,
    reduced, inner), into device `out` (outer * inner int64 elements)."""
    outer, _, inner = blocks.shape
    if outer * inner:
        kernel = arg_kernel(name, beats, blocks.dtype)
        with on_device(devices.device_of(blocks)):
            kernel[min(outer * inner, MAX_BLOCKS), THREADS_PER_BLOCK](blocks,
                                                                      out.reshape(out.size))


# ---------------------------------------------------------------------------------------------
# Counting kernel launches: on a GPU every launch costs (several microseconds plus a few per
# argument), so how many a step makes is the measure that fusion and the compiled step improve.


class LaunchCounter:
    """The kernel launches made inside a `counting_launches()` block (`count`)."""

    def __init__(self):
        self.count = 0

    def __repr__(self) -> str:
        return f"<LaunchCounter: {self.count} launches>"


_counting_lock = threading.Lock()
_counters: list[LaunchCounter] = []  # the open blocks; each launch counts in all of them
_patched: list = []  # (class, attribute, original) while any block is open


def _launch_entry():
    """numba's kernel class and the method every launch goes through: the dispatcher's `call`
    on a GPU (numba-cuda's `kernel[grid, block](...)` ends there), the simulator kernel's
    `__call__` under NUMBA_ENABLE_CUDASIM (which device functions also go through: they are
    not launches)."""

    def probe():  # never launched: only its dispatcher's class is wanted
        pass

    kind = type(cuda.jit(probe))
    return (kind, "__call__") if SIMULATED else (kind, "call")


def _counted(original, simulated: bool):
    def launch(self, *args, **kwargs):
        if not (simulated and self._device):
            with _counting_lock:
                for counter in _counters:
                    counter.count += 1
        return original(self, *args, **kwargs)

    return launch


@contextlib.contextmanager
def counting_launches():
    """Count the CUDA kernel launches made inside the block, by any thread (numba's launch
    entry point is wrapped while a block is open; blocks may nest).

    >>> with counting_launches() as launches:
    ...     pass
    >>> launches.count
    0
    """
    counter = LaunchCounter()
    with _counting_lock:
        if not _counters:
            kind, name = _launch_entry()
            original = kind.__dict__[name]
            setattr(kind, name, _counted(original, SIMULATED))
            _patched.append((kind, name, original))
        _counters.append(counter)
    try:
        yield counter
    finally:
        with _counting_lock:
            _counters.remove(counter)
            if not _counters:
                kind, name, original = _patched.pop()
                setattr(kind, name, original)
