"""The CUDA half of the kernel layer: every elementwise and reduction op's CUDA kernel against
its CPU kernel, the device allocator's counters, explicit transfers and the device errors.

Without a GPU these tests run under numba's CUDA simulator: `make test` runs this file again
with NUMBA_ENABLE_CUDASIM=1 (which numba.cuda reads when it is first imported, hence a process
of its own). In a plain run on a machine without a GPU they skip, except those about the
missing device, and the PTX check, which compiles every kernel for a real GPU with the CUDA
toolkit's NVVM where one is installed (the simulator runs kernels as Python, so it cannot tell
whether they compile). On a machine with a GPU every test runs for real.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import types as pytypes

import numpy as np
import pytest

from framework import device, dtypes
from framework.errors import DeviceError, IntegerDivisionByZeroError, ShapeError
from framework.ops import reduction
from framework.ops.elementwise import Elementwise
from framework.ops.registry import REGISTRY, Op, Spec, execute, primitive, registry_table
from tests.cuda_setup import (  # noqa: F401  (quick_thread_switches: an autouse fixture)
    CUDA_PROBLEM,
    compile_in_a_process_of_its_own,
    needs_cuda,
    nvvm_problem,
    quick_thread_switches,
)

ELEMENTWISE = sorted(name for name, cls in REGISTRY.items() if issubclass(cls, Elementwise))
REDUCTIONS = sorted(name for name, cls in REGISTRY.items()
                    if issubclass(cls, reduction.Reduction))
ARG_REDUCTIONS = ["argmax", "argmin"]
# Ops whose divisor must hold no integer 0 (refused before the kernel: see its own test).
DIVIDING = {"floor_divide", "remainder", "fmod", "div"}
SPECIAL = [0.0, -0.0, np.nan, np.inf, -np.inf]


def to_gpu(array):
    return device.to_device(np.asarray(array), "cuda")


def dtypes_to_try(name: str) -> list:
    """float32 and float64 where the op takes them, else its first dtype (each dtype compiles
    the bodies once more: under the simulator, time the suite pays)."""
    accepted = REGISTRY[name].input_dtypes
    return [d for d in (dtypes.float32, dtypes.float64) if d in accepted] or [accepted[0]]


def draw(rng, shape, dtype, *, nonzero=False, special=True):
    """Values of `dtype` for any op: small numbers, and (floats) zeros, NaN and infinities."""
    dtype = np.dtype(dtype)
    if dtype == dtypes.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        values = rng.integers(1, 4, shape) * rng.choice([-1, 1], shape)
        if not nonzero:
            values = np.where(rng.random(shape) < 0.2, 0, values)
        return values.astype(dtype)
    values = rng.uniform(-3, 3, shape).astype(dtype)
    if special and values.size:
        flat = values.reshape(-1)
        picks = rng.choice(flat.size, min(flat.size, len(SPECIAL)), replace=False)
        flat[picks] = np.array(SPECIAL[:len(picks)], dtype)
    return values


def assert_same(got, want, dtype):
    """The CUDA kernel's result against the CPU kernel's: same shape and dtype, values equal
    up to the rounding of the transcendental functions (libdevice's on a GPU)."""
    assert got.shape == want.shape and got.dtype == want.dtype
    if want.dtype.kind == "f":
        rtol = 2e-6 if want.dtype == np.float32 else 1e-13
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def inputs_for(name, dtype, shapes, rng):
    cls = REGISTRY[name]
    made = []
    for i, shape in enumerate(shapes):
        if name == "where" and i == 0:
            made.append(draw(rng, shape, dtypes.bool_))
        elif name in DIVIDING and i == 1:
            made.append(draw(rng, shape, dtype, nonzero=True))
        else:
            made.append(draw(rng, shape, dtype))
    assert len(made) == cls.arity
    return made


def check_on_both_devices(op, host_inputs, dtype):
    with np.errstate(all="ignore"):
        want = execute(op, *host_inputs)
        got = execute(op, *[to_gpu(x) for x in host_inputs])
    assert device.device_of(got).type == "cuda"
    assert_same(device.to_host(got), want, dtype)


# ---------------------------------------------------------------------------------------------
# Elementwise: the same scalar body through the CUDA map template.


@needs_cuda
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_every_elementwise_op_matches_its_cpu_kernel(name):
    rng = np.random.default_rng(len(name))
    op = primitive(name)
    arity = REGISTRY[name].arity
    # Odd sizes (not a multiple of any block), broadcasting of every kind, 0-d and empty.
    cases = {1: [[(5, 7)], [()], [(0, 3)]],
             2: [[(5, 7), (5, 7)], [(3, 1), (1, 4)], [(2, 3, 4), (4,)], [(), (5,)]],
             3: [[(3, 4), (3, 4), (3, 4)], [(3, 1), (1, 4), ()], [(2, 3), (), (0, 1, 3)]]}[arity]
    for dtype in dtypes_to_try(name):
        for shapes in cases:
            check_on_both_devices(op, inputs_for(name, dtype, shapes, rng), dtype)


@needs_cuda
@pytest.mark.parametrize("name", ["clip", "nan_to_num", "clip_between"])
def test_ops_with_attributes_pass_them_to_the_kernel(name):
    rng = np.random.default_rng(3)
    if name == "clip":
        op = primitive(name, -1.5, 2.0)
    elif name == "nan_to_num":
        op = primitive(name, 7.0, 100.0, -100.0)
    else:
        op = primitive(name)
    for dtype in (np.float32, np.float64):
        check_on_both_devices(op, inputs_for(name, dtype, [(4, 5)] * op.arity, rng), dtype)


@needs_cuda
def test_strided_device_views_are_read_through_their_strides():
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    y = np.linspace(-1, 1, 4, dtype=np.float32).reshape(4, 1)
    on_gpu = to_gpu(x)[:, ::2]  # every other column: not contiguous
    assert not on_gpu.is_c_contiguous()
    got = device.to_host(execute(primitive("mul"), on_gpu, to_gpu(y)))
    np.testing.assert_array_equal(got, x[:, ::2] * y)
    got = device.to_host(execute(primitive("sum", (1,)), on_gpu))
    np.testing.assert_allclose(got, x[:, ::2].sum(1))


@needs_cuda
def test_a_grid_smaller_than_the_work_still_covers_every_element(monkeypatch):
    from framework.kernels import cuda

    monkeypatch.setattr(cuda, "MAX_BLOCKS", 2)
    assert cuda.launch_config(1000) == (2, cuda.THREADS_PER_BLOCK)
    x = np.arange(5 * cuda.THREADS_PER_BLOCK + 3, dtype=np.float64)
    np.testing.assert_array_equal(device.to_host(execute(primitive("neg"), to_gpu(x))), -x)
    rows = np.arange(15, dtype=np.float64).reshape(5, 3)  # 5 outputs for 2 blocks
    np.testing.assert_array_equal(device.to_host(execute(primitive("sum", (1,)), to_gpu(rows))),
                                  rows.sum(1))


@needs_cuda
def test_integer_division_by_zero_is_refused_before_the_kernel():
    x, y = to_gpu(np.array([4, 5, 6])), to_gpu(np.array([1, 0, 2]))
    before = device.memory_allocated("cuda")
    with pytest.raises(IntegerDivisionByZeroError, match=r"floor_divide: .*0 at index \(1,\)"):
        execute(primitive("floor_divide"), x, y)
    gc.collect()
    assert device.memory_allocated("cuda") == before
    got = execute(primitive("floor_divide"), to_gpu(np.array([7, -7])), to_gpu(np.array([2, 2])))
    np.testing.assert_array_equal(device.to_host(got), [3, -4])


# ---------------------------------------------------------------------------------------------
# Reductions: the same folds through the CUDA reduce template.

# Every layout of the reduce template: everything, a middle axis (rows strided by the inner
# axis), the last axis, and two axes apart (a transposing copy first). Each output element is
# a block, and the simulator pays for each: the shapes are small.
AXES = [None, (1,), (2,), (0, 2)]


@needs_cuda
@pytest.mark.parametrize("name", REDUCTIONS)
def test_every_reduction_matches_its_cpu_kernel(name):
    rng = np.random.default_rng(len(name))
    for dtype in (np.float32, np.float64):
        x = draw(rng, (2, 11, 2), dtype, special=False)  # 11: more than a block's threads
        x[0, 3, 1] = np.nan  # NaN propagates through every fold
        for axis in AXES:
            check_on_both_devices(primitive(name, axis), [x], dtype)
    keep = primitive(name, (1,), True)
    check_on_both_devices(keep, [draw(rng, (2, 3), np.float64, special=False)], np.float64)


@needs_cuda
@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "mean"])
def test_integer_and_bool_reductions_match_the_cpu(name):
    rng = np.random.default_rng(5)
    for dtype in (np.int32, np.bool_):
        if dtype not in REGISTRY[name].input_dtypes:
            continue
        x = draw(rng, (2, 9), dtype)
        for axis in (None, (1,)):
            check_on_both_devices(primitive(name, axis), [x], dtype)


@needs_cuda
@pytest.mark.parametrize("name", ["sum", "max", "logsumexp", "var"])
def test_a_long_reduction_is_split_over_blocks_then_finished(name):
    from framework.kernels import cuda

    x = np.random.default_rng(2).uniform(-2, 2, (2, 3 * cuda.THREADS_PER_BLOCK * 4 + 1))
    assert cuda.fold_chunks(1, x.size) > 1  # the full reduction is split
    for axis in (None, (1,)):
        check_on_both_devices(primitive(name, axis), [x], np.float64)


@needs_cuda
@pytest.mark.parametrize("name", ["mean", "min", "var"])
def test_many_columns_reduce_one_thread_each(name):
    from framework.kernels import cuda

    columns = cuda.COLUMNS_PER_THREAD_KERNEL + 3
    x = np.random.default_rng(4).uniform(-2, 2, (2, 5, columns)).astype(np.float32)
    x[1, 2, 7] = np.nan
    for axis in ((1,), (0, 1)):  # a middle axis; the leading axes, merged
        check_on_both_devices(primitive(name, axis), [x], np.float32)


@needs_cuda
def test_reductions_of_no_elements():
    empty = np.zeros((0, 3), np.float32)
    for name, expected in (("sum", 0.0), ("prod", 1.0), ("logsumexp", -np.inf)):
        got = device.to_host(execute(primitive(name, (0,)), to_gpu(empty)))
        np.testing.assert_array_equal(got, np.full(3, expected, got.dtype))
    assert device.to_host(execute(primitive("sum", (1,)), to_gpu(empty))).shape == (0,)
    with pytest.raises(ShapeError, match="max of no elements is undefined"):
        execute(primitive("max", (0,)), to_gpu(empty))
    with pytest.raises(ShapeError, match="zero-size axis"):
        execute(primitive("argmax", 0), to_gpu(empty))


@needs_cuda
def test_logsumexp_and_var_with_non_finite_rows():
    x = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [1000.0, 1000.0]], np.float64)
    got = device.to_host(execute(primitive("logsumexp", (1,)), to_gpu(x)))
    np.testing.assert_allclose(got, [-np.inf, np.inf, 1000 + np.log(2)])
    y = np.array([[1.0, 2.0, 3.0, 4.0]], np.float32)
    got = device.to_host(execute(primitive("var", (1,), False, 1), to_gpu(y)))
    np.testing.assert_allclose(got, [np.var(y, ddof=1)], rtol=1e-6)


@needs_cuda
@pytest.mark.parametrize("name", ARG_REDUCTIONS)
def test_arg_reductions_take_the_first_extreme_and_nan(name):
    x = np.array([[1.0, 3.0, 3.0, -1.0, -1.0, 2.0],
                  [0.0, np.nan, 5.0, np.nan, -9.0, 0.0],
                  [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]], np.float32)
    for dtype in (np.float32, np.int64, np.bool_):
        values = np.nan_to_num(x, nan=4.0).astype(dtype) if dtype != np.float32 else x
        for axis, keepdims in ((None, False), (0, False), (1, True)):
            op = primitive(name, axis, keepdims)
            want = execute(op, values)
            got = device.to_host(execute(op, to_gpu(values)))
            np.testing.assert_array_equal(got, want)
            assert got.dtype == np.int64


# ---------------------------------------------------------------------------------------------
# Device buffers, transfers and errors.


@needs_cuda
def test_the_allocator_counts_device_buffers_until_their_last_view_is_gone():
    gc.collect()
    device.reset_peak_memory_stats("cuda")
    before = device.memory_allocated("cuda")
    x = device.empty((4, 8), np.float64, device.as_device("cuda"))
    assert device.device_of(x) == device.Device("cuda", 0)
    assert device.memory_allocated("cuda:0") == before + 256
    view = x[1:]
    del x
    gc.collect()
    assert device.memory_allocated("cuda") == before + 256  # the view keeps the buffer
    y = device.to_device(np.zeros(10, np.float32), "cuda")
    assert device.max_memory_allocated("cuda") == before + 296
    del view, y
    gc.collect()
    assert device.memory_allocated("cuda") == before
    assert device.max_memory_allocated("cuda") == before + 296
    device.reset_peak_memory_stats("cuda")
    assert device.max_memory_allocated("cuda") == before


@needs_cuda
def test_strided_device_views_reach_the_host_with_their_values():
    host = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    on_gpu = to_gpu(host)
    gc.collect()
    before = device.memory_allocated("cuda")
    views = {"transpose": (on_gpu.T, host.T), "axes": (on_gpu.transpose((1, 2, 0)),
                                                       host.transpose(1, 2, 0)),
             "step": (on_gpu[::2, :, 1::2], host[::2, :, 1::2]),
             "column": (on_gpu[:, 1, 3], host[:, 1, 3]), "empty": (on_gpu[:, 2:2].T,
                                                                   host[:, 2:2].T),
             "integers": (to_gpu(np.arange(6).reshape(2, 3)).T, np.arange(6).reshape(2, 3).T)}
    for name, (view, want) in views.items():
        got = device.to_host(view)
        assert type(got) is np.ndarray and got.flags.c_contiguous, name
        assert got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    # And on to a device: to_device goes through the host for another device's view.
    np.testing.assert_array_equal(device.to_device(on_gpu.T, "cpu"), host.T)
    del views, view
    gc.collect()
    assert device.memory_allocated("cuda") == before  # the contiguous copies are freed


@needs_cuda
def test_kernel_outputs_are_counted_on_their_device_not_the_cpu():
    x = to_gpu(np.ones((3, 5), np.float32))
    gc.collect()
    cpu_before, gpu_before = device.memory_allocated("cpu"), device.memory_allocated("cuda")
    out = execute(primitive("exp"), x)
    total = execute(primitive("sum", (1,)), out)
    assert device.memory_allocated("cuda") - gpu_before == out.nbytes + total.nbytes
    assert device.memory_allocated("cpu") == cpu_before
    del out, total


@needs_cuda
def test_transfers_are_explicit_and_keep_values_shapes_and_dtypes():
    for host in (np.arange(12, dtype=np.int32).reshape(3, 4), np.float64(2.5),
                 np.arange(12.0)[::3], np.array([True, False]), np.zeros((0, 2), np.float32)):
        on_gpu = device.to_device(host, "cuda")
        assert device.device_of(on_gpu) == device.Device("cuda", 0)
        back = device.to_host(on_gpu)
        assert isinstance(back, np.ndarray) and back.dtype == np.asarray(host).dtype
        np.testing.assert_array_equal(back, host)
        assert device.to_device(on_gpu, "cuda:0") is on_gpu  # already there: no copy
        np.testing.assert_array_equal(device.to_device(on_gpu, "cpu"), host)
    host = np.ones(3)
    assert device.to_host(host) is host
    from numba import config, cuda

    count = 1 if config.ENABLE_CUDASIM else len(cuda.gpus)  # the simulator has one GPU
    with pytest.raises(DeviceError, match=f"'cuda:{count}' does not exist"):
        device.to_device(host, f"cuda:{count}")


@needs_cuda
def test_inputs_on_two_devices_are_refused_naming_both_and_the_users_line():
    x, y = np.ones(3, np.float32), to_gpu(np.ones(3, np.float32))
    gc.collect()
    before = device.memory_allocated("cuda")
    with pytest.raises(DeviceError, match=r"add: inputs are on different devices "
                                          r"\(cpu, cuda:0\)") as raised:
        execute(primitive("add"), x, y)
    assert raised.value.site.filename == __file__  # the line that called the op
    assert device.memory_allocated("cuda") == before  # nothing was allocated


class _NoGpuKernelYet(Op):
    name = "no_gpu_kernel_yet"

    def infer(self, x):
        return Spec(x.shape, x.dtype)

    def cpu(self, x):
        return x.copy()


@needs_cuda
def test_an_op_without_a_cuda_kernel_says_so_before_running():
    op = _NoGpuKernelYet()
    with pytest.raises(DeviceError, match="no_gpu_kernel_yet has no cuda kernel yet"):
        execute(op, to_gpu(np.ones(2)))


def test_the_registry_table_shows_cuda_kernels_for_elementwise_ops_and_reductions():
    table = registry_table()
    rows = {line.split()[0]: line for line in table.splitlines()[2:] if line.strip()}
    for name in ELEMENTWISE + REDUCTIONS + ARG_REDUCTIONS:
        assert "numba.cuda" in rows[name], rows[name]


@pytest.mark.skipif(CUDA_PROBLEM is None, reason="a CUDA device is usable here")
def test_an_unusable_cuda_device_is_a_clear_error():
    with pytest.raises(DeviceError, match="device 'cuda' is not available") as raised:
        device.as_device("cuda")
    message = str(raised.value)
    assert "NUMBA_ENABLE_CUDASIM=1" in message and "pip install -e '.[cuda]'" in message
    with pytest.raises(DeviceError, match="not available"):
        device.to_device(np.ones(2), device.Device("cuda", 0))
    assert device.as_device("cpu") == device.cpu  # the CPU is unaffected


# ---------------------------------------------------------------------------------------------
# What only a real compile checks: every kernel compiles for a GPU.


@pytest.mark.skipif(nvvm_problem() is not None, reason=str(nvvm_problem()))
def test_every_kernel_compiles_to_ptx_for_a_gpu():
    # In a process of its own: compiling the kernels layer's functions for the GPU changes how
    # numba compiles them for the CPU afterwards in the same process (the maths dispatchers'
    # float32 versions lost their rounding: CPU kernels compiled later differed in the last
    # bit), so the CPU tests of this worker must not follow it.
    compile_in_a_process_of_its_own("tests.framework.test_cuda", "compile_every_kernel_to_ptx")


def compile_every_kernel_to_ptx():
    import numba
    from numba import cuda as numba_cuda

    from framework.kernels import cuda

    # Functions called from a kernel compile for the current GPU's compute capability; with
    # no GPU here, compile them for sm_80 (an A100), the target of the kernels themselves.
    numba_cuda.dispatcher.get_current_device = (
        lambda: pytypes.SimpleNamespace(compute_capability=(8, 0)))
    A = numba.types.Array
    f64 = numba.float64

    def compile_ptx(kernel, signature, label):
        ptx, _ = numba_cuda.compile_ptx(kernel.py_func, signature, cc=(8, 0))
        # A function NVVM could not lower (an LLVM intrinsic, say) stays an external
        # declaration, and would fail only when the GPU loads the module.
        external = [line for line in ptx.splitlines() if ".extern" in line]
        assert not external, f"{label}: {external}"

    for name in ELEMENTWISE:
        cls = REGISTRY[name]
        for dtype in cls.input_dtypes:
            element = numba.from_dtype(np.dtype(dtype))
            operands = [numba.boolean if name == "where" and k == 0 else element
                        for k in range(cls.arity)]
            out = numba.from_dtype(np.dtype(cls.output_dtype or dtype))
            flat = cuda.map_kernel(cls.scalar, ("f",) * cls.arity, 1, cls.params, name)
            compile_ptx(flat, tuple(A(t, 1, "C") for t in operands) + (A(out, 1, "C"),)
                        + (element,) * cls.params, f"{name} {dtype}")
    strided = cuda.map_kernel(REGISTRY["where"].scalar, (2, 1, "s"), 3, 0, "where")
    compile_ptx(strided, (A(numba.boolean, 2, "A"), A(f64, 1, "A"), A(f64, 1, "C"),
                          A(f64, 3, "C")), "strided where")
    compile_ptx(cuda.permute_kernel(3, (2, 0, 1)), (A(f64, 3, "A"), A(f64, 3, "C")), "permute")
    for name in REDUCTIONS:
        op = primitive(name)
        folds = ([reduction.MAX_FOLD, reduction.SUM_EXP_FOLD] if name == "logsumexp" else
                 [reduction.MEAN_FOLD, reduction.SQUARED_DEVIATION_FOLD] if name == "var" else
                 [op.fold])
        for dtype in REGISTRY[name].input_dtypes:
            numbers = np.dtype(np.uint8 if dtype == dtypes.bool_ else dtype)
            for fold in folds:
                start = (numbers if fold is reduction.MAX_FOLD and name == "logsumexp"
                         else np.asarray(op.start(numbers)).dtype if op.fold else
                         np.dtype(np.float64))
                element, accumulator = numba.from_dtype(numbers), numba.from_dtype(start)
                out = A(numba.from_dtype(op.infer(Spec((2,), dtype)).dtype), 1, "C")
                kernels = cuda.fold_kernel(fold, start)
                compile_ptx(kernels.kernel,
                            (A(element, 3, "C"), A(f64, 2, "A"), accumulator, f64,
                             numba.int64, out, A(accumulator, 2, "C")),
                            f"{name} {fold.name} {dtype}")
                compile_ptx(kernels.columns, (A(element, 3, "C"), A(f64, 2, "A"), accumulator,
                                              f64, out), f"{name} {fold.name} {dtype} columns")
                compile_ptx(kernels.finish_chunks, (A(accumulator, 2, "C"), A(f64, 2, "A"), f64,
                                                    numba.int64, out),
                            f"{name} {fold.name} {dtype} chunks")
    for name in ARG_REDUCTIONS:
        for dtype in (np.float32, np.float64, np.int32, np.int64, np.uint8):
            kernel = cuda.arg_kernel(name, REGISTRY[name].beats, np.dtype(dtype))
            compile_ptx(kernel, (A(numba.from_dtype(np.dtype(dtype)), 3, "C"),
                                 A(numba.int64, 1, "C")), f"{name} {dtype}")


_CPU_AFTER_GPU = """
import types, numba, numpy as np
from numba import cuda as numba_cuda
numba_cuda.dispatcher.get_current_device = lambda: types.SimpleNamespace(
    compute_capability=(8, 0))
from framework.kernels import cuda, maths
from framework.ops.registry import REGISTRY
A = numba.types.Array
kernel = cuda.map_kernel(REGISTRY["exp"].scalar, ("f",), 1, 0, "exp")
numba_cuda.compile_ptx(kernel.py_func, (A(numba.float32, 1, "C"),) * 2, cc=(8, 0))
@numba.njit(error_model="numpy", fastmath={"contract"})
def through_dispatcher(x, out):
    for i in range(x.size):
        out[i] = maths.exp(x[i])
@numba.njit(error_model="numpy", fastmath={"contract"})
def direct(x, out):
    for i in range(x.size):
        out[i] = maths.exp_float32(x[i])
x = np.linspace(0.01, 5, 1001).astype(np.float32)
a, b = np.empty_like(x), np.empty_like(x)
through_dispatcher(x, a)
direct(x, b)
print(int((a != b).sum()))
"""


@pytest.mark.skipif(nvvm_problem() is not None, reason=str(nvvm_problem()))
def test_compiling_for_the_gpu_leaves_the_cpu_kernels_bits_alone(tmp_path):
    # A fresh numba cache, so the CPU loop is compiled after the GPU kernel, in one process:
    # the maths dispatchers' GPU overloads must not change what the CPU compiles.
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["NUMBA_CACHE_DIR"] = str(tmp_path)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", _CPU_AFTER_GPU], capture_output=True,
                          text=True, env=env, timeout=900, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "0"
