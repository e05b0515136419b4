"""The graph compiler's fused elementwise groups on the GPU: one generated CUDA kernel per group,
from the same composed scalar body as the CPU kernel, giving the CPU kernel's values.

Without a GPU these tests run under numba's CUDA simulator: `make test` runs this file again with
NUMBA_ENABLE_CUDASIM=1 (numba.cuda reads it when first imported, hence a process of its own). In
a plain run without a GPU they skip, except the PTX check, which compiles fused kernels for a
real GPU with the CUDA toolkit's NVVM where one is installed. On a GPU every test runs for real.
"""

from __future__ import annotations

import numpy as np
import pytest

import graph as tf
from framework import device
from framework.device import Device
from framework.errors import DeviceError, ShapeError
from framework.ops.registry import primitive
from graph.compile.fusion import FusedElementwise
from tests.cuda_setup import (  # noqa: F401  (quick_thread_switches: an autouse fixture)
    CUDA_PROBLEM,
    compile_in_a_process_of_its_own,
    needs_cuda,
    nvvm_problem,
    quick_thread_switches,
)

GPU = Device("cuda", 0)




def op(name, *arguments):
    """A member of a group: `op("mul", "x0", "t1")` multiplies outside input 0 by member 1."""
    return (primitive(name),
            *[("x" if a[0] == "x" else "t", int(a[1:])) for a in arguments])


def clip(low, high, argument):
    return (primitive("clip", low, high), ("t" if argument[0] == "t" else "x", int(argument[1:])))


# (name, members, input shapes): every chain ends in the group's result, the last member.
CHAINS = {
    # Eight arithmetic ops, as `compare gpu-check` times them.
    "arithmetic": ([op("mul", "x0", "x1"), op("add", "t0", "x2"), op("sub", "t1", "x0"),
                    op("mul", "t2", "t2"), op("div", "t3", "x1"), op("add", "t4", "x0"),
                    op("neg", "t5"), op("sub", "t6", "x2")],
                   ((5, 7), (5, 7), (5, 7))),
    "transcendental": ([op("tanh", "x0"), op("exp", "t0"), op("log", "t1"),
                        op("sigmoid", "x1"), op("mul", "t2", "t3"), op("exp", "t4"),
                        op("mul", "t5", "x0"), op("tanh", "t6")],
                       ((4, 9), (4, 9))),
    # A row, a column and one value against a matrix, as a bias, a scale and a constant are.
    "broadcasting": ([op("mul", "x0", "x3"), op("add", "t0", "x1"), op("tanh", "t1"),
                      op("mul", "t2", "x2"), op("sub", "t3", "x0")],
                     ((6, 5), (5,), (6, 1), ())),
    "with parameters": ([op("mul", "x0", "x1"), clip(-1.5, 2.0, "t0"), op("exp", "t1")],
                        ((3, 4, 5), (3, 4, 5))),
}


def inputs(shapes, dtype, rng):
    # Away from zero: the arithmetic chain divides by its second input.
    return [(rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)).astype(dtype)
            for shape in shapes]


def assert_within_ulps(got, want, ulps=4):
    """The GPU's value against the CPU kernel's, within `ulps` units in the last place of each
    value (of 1 for values below 1: a chain that subtracts nearly equal numbers turns a last-bit
    difference of libdevice's functions into a larger relative one)."""
    assert got.shape == want.shape and got.dtype == want.dtype
    scale = np.maximum(np.abs(want), np.ones((), want.dtype))
    error = np.abs(got.astype(np.float64) - want.astype(np.float64))
    assert np.all(error <= ulps * np.spacing(scale)), (got, want)


def launches_counter():
    """`framework.kernels.cuda.counting_launches` where it exists (else None)."""
    from framework.kernels import cuda

    return getattr(cuda, "counting_launches", None)


@needs_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_a_fused_chain_on_the_gpu_gives_the_cpu_kernels_values(chain, dtype):
    members, shapes = CHAINS[chain]
    out_shape = np.broadcast_shapes(*shapes)
    group = FusedElementwise(members, np.dtype(dtype), out_shape, shapes)
    host = inputs(shapes, dtype, np.random.default_rng(len(chain)))
    want = group.kernel(device.cpu)(*host)
    on_gpu = [device.to_device(x, GPU) for x in host]
    run = group.kernel(GPU)
    counting = launches_counter()
    if counting is None:
        got = run(*on_gpu)
    else:
        with counting() as launches:
            got = run(*on_gpu)
        assert launches.count == 1  # the whole group is one kernel
    assert device.device_of(got).type == "cuda"
    assert_within_ulps(device.to_host(got), want)


@needs_cuda
def test_a_fused_group_reads_strided_device_inputs_in_place():
    members, shapes = CHAINS["broadcasting"]
    group = FusedElementwise(members, np.dtype(np.float32), (6, 5), shapes)
    host = inputs(shapes, np.float32, np.random.default_rng(7))
    want = group(*host)
    # The matrix as the transpose of a device array: not contiguous, read through its strides.
    transposed = device.to_device(np.ascontiguousarray(host[0].T), GPU).T
    assert not transposed.is_c_contiguous()
    got = group.cuda(transposed, *[device.to_device(x, GPU) for x in host[1:]])
    assert_within_ulps(device.to_host(got), want)


@needs_cuda
def test_a_fused_group_refuses_inputs_it_was_not_built_for_before_launching():
    members, shapes = CHAINS["arithmetic"]
    group = FusedElementwise(members, np.dtype(np.float32), (5, 7), shapes)
    wrong_shape = [device.to_device(np.ones(s, np.float32), GPU) for s in ((5, 8),) * 3]
    with pytest.raises(ShapeError, match=r"built for float32 inputs of shapes.*\(5, 8\)"):
        group.cuda(*wrong_shape)
    wrong_dtype = [device.to_device(np.ones(s, np.float64), GPU) for s in shapes]
    with pytest.raises(ShapeError, match="got float64"):
        group.cuda(*wrong_dtype)


def test_a_fused_group_names_a_device_it_has_no_kernel_for():
    members, shapes = CHAINS["arithmetic"]
    group = FusedElementwise(members, np.dtype(np.float32), (5, 7), shapes)
    with pytest.raises(DeviceError, match=r"fused\(mul, add, .*\) has no tpu kernel"):
        group.kernel(Device("tpu", 0))


@needs_cuda
def test_the_compilers_fused_groups_run_on_the_gpu():
    # The compiler's own groups (a constant operand included), each run as the code generator
    # calls a node's kernel: `node.primitive.kernel(device)(*inputs)`.
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (16, 9))
        bias = tf.placeholder(tf.float32, (9,))
        column = tf.placeholder(tf.float32, (16, 1))
        y = tf.tanh(x * 0.5 + bias) * tf.exp(-tf.abs(column)) - x
        with tf.Session() as sess:
            compiled = sess.compile(y, {x: np.zeros((16, 9)), bias: np.zeros(9),
                                        column: np.zeros((16, 1))})
    groups = [node.primitive for node in compiled.program.nodes
              if isinstance(node.primitive, FusedElementwise)]
    assert sorted(group.name for group in groups) == ["fused(abs, neg, exp)",
                                                      "fused(mul, add, tanh, mul, sub)"]
    rng = np.random.default_rng(5)
    for group in groups:
        host = [rng.standard_normal(shape).astype(np.float32) for shape in group.input_shapes]
        want = group.kernel(device.cpu)(*host)
        got = group.kernel(GPU)(*[device.to_device(a, GPU) for a in host])
        assert_within_ulps(device.to_host(got), want)


# -- compiled for a real GPU ---------------------------------------------------------------------


@pytest.mark.skipif(nvvm_problem() is not None, reason=str(nvvm_problem()))
def test_fused_kernels_compile_to_ptx_for_a_gpu():
    # In a process of its own, as tests/framework/test_cuda.py compiles the ops' kernels:
    # compiling the kernels layer's functions for the GPU must not change this worker's CPU
    # kernels.
    compile_in_a_process_of_its_own("tests.graph.test_fusion_cuda", "compile_fused_kernels_to_ptx")


def compile_fused_kernels_to_ptx():
    import types

    import numba
    from numba import cuda as numba_cuda

    from framework.kernels import cuda

    numba_cuda.dispatcher.get_current_device = (
        lambda: types.SimpleNamespace(compute_capability=(8, 0)))
    A = numba.types.Array
    for name, (members, shapes) in sorted(CHAINS.items()):
        for dtype in (np.float32, np.float64):
            element = numba.from_dtype(np.dtype(dtype))
            group = FusedElementwise(members, np.dtype(dtype), np.broadcast_shapes(*shapes),
                                     shapes)
            params = (element,) * len(group.params)
            ndim = len(group.shape)
            # The strided layout (every operand by its n-d index but one-value ones, as
            # run_map lays them out) and the flat one.
            one = [int(np.prod(s)) == 1 for s in shapes]
            layouts = [(tuple("s" if o else len(s) for s, o in zip(shapes, one)), ndim,
                        tuple(A(element, 1, "C") if o else A(element, len(s), "A")
                              for s, o in zip(shapes, one)))]
            if len(set(shapes)) == 1:
                layouts.append((("f",) * len(shapes), 1, (A(element, 1, "C"),) * len(shapes)))
            for layout, out_ndim, operands in layouts:
                kernel = cuda.map_kernel(group.body, layout, out_ndim, len(group.params),
                                         "fused")
                ptx, _ = numba_cuda.compile_ptx(
                    kernel.py_func, operands + (A(element, out_ndim, "C"),) + params,
                    cc=(8, 0))
                external = [line for line in ptx.splitlines() if ".extern" in line]
                assert not external, f"{name} {dtype} {layout}: {external}"
