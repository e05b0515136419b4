"""The shared layer under the ops: dtypes, shapes, devices and memory, errors, the registry's
self-check, dispatch, the reverse-mode helpers and generated-kernel loading."""

from __future__ import annotations

import dataclasses
import gc
import os
import sys

import numpy as np
import pytest

from framework import codegen, device, dtypes
from framework.errors import (
    DeviceError,
    DTypeError,
    DTypeOverflowError,
    DualgraphError,
    ShapeError,
)
from framework.ops import REGISTRY, F, Op, Spec, check_registry, register
from framework.ops.autodiff import backprop, fit_gradient, toposort
from framework.ops.dispatch import bind
from framework.shapes import as_shape, broadcast_shapes, normalize_axes


@pytest.mark.parametrize(
    "operands, expected",
    [
        ((dtypes.int32, dtypes.float32), dtypes.float64),  # NumPy's table, not PyTorch's
        ((dtypes.int32, dtypes.int64), dtypes.int64),
        ((dtypes.float32, dtypes.float64), dtypes.float64),
        ((dtypes.bool_, dtypes.int32), dtypes.int32),
        ((dtypes.float32, 2.0), dtypes.float32),  # Python scalars are weak...
        ((dtypes.int32, 2), dtypes.int32),
        ((dtypes.int32, 2.5), dtypes.float32),  # ...but lift the kind to its default
        ((dtypes.bool_, 1), dtypes.int64),
        ((1, 2.0), dtypes.float32),
    ],
)
def test_result_type_follows_numpy_with_weak_scalars(operands, expected):
    assert dtypes.result_type(*operands) == expected


def test_as_dtype_accepts_names_and_types_and_rejects_others():
    assert dtypes.as_dtype("float64") is dtypes.float64
    assert dtypes.as_dtype(np.int32) == dtypes.int32
    assert dtypes.as_dtype(float) == dtypes.float32
    with pytest.raises(DTypeError, match="unsupported dtype.*complex64"):
        dtypes.as_dtype("complex64")


def test_broadcasting_with_known_and_unknown_dimensions():
    assert broadcast_shapes((3, 1), (1, 4)) == (3, 4)
    assert broadcast_shapes((None, 1), (5,)) == (None, 5)
    assert broadcast_shapes((None, 3), (4, 3)) == (4, 3)
    assert broadcast_shapes((0, 4), (1, 4)) == (0, 4)
    with pytest.raises(ShapeError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        broadcast_shapes((2, 3), (4,), op="add")


def test_axis_normalization_errors_name_the_op():
    assert normalize_axes((-1, 0), 3) == (0, 2)
    assert normalize_axes(None, 2) == (0, 1)
    with pytest.raises(ShapeError, match="sum: axis 3 is out of range for a 2-d input"):
        normalize_axes(3, 2, "sum")
    with pytest.raises(ShapeError, match="repeats an axis"):
        normalize_axes((1, -1), 2, "sum")
    with pytest.raises(ShapeError, match="invalid dimension"):
        as_shape((2, -3))


def test_errors_name_the_users_line():
    with pytest.raises(ShapeError) as info:
        F.add(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32))  # the line named
    assert info.value.site.filename == __file__
    assert "F.add(np.ones((2, 3)" in str(info.value)


def test_python_ints_an_operand_dtype_cannot_hold_are_refused_naming_the_line():
    small = np.array([1, 2], np.int32)
    for attempt in (lambda: F.add(small, 2**31), lambda: F.mul(2**31, small),
                    lambda: F.maximum(np.array([1]), 2**70), lambda: F.sub(small, -2**31 - 1)):
        with pytest.raises(DTypeOverflowError, match="cannot be converted to int(32|64) without "
                                                     "overflow") as info:
            attempt()
        assert info.value.site.filename == __file__
        assert isinstance(info.value, OverflowError) and isinstance(info.value, RuntimeError)
    assert F.add(small, 2**31 - 3).tolist() == [2**31 - 2, 2**31 - 1]
    assert F.add(small, 2**31 + 0.5).dtype == dtypes.float32  # a float lifts the kind


def test_allocator_counts_live_and_peak_bytes_until_the_last_view_dies():
    gc.collect()  # garbage from earlier tests must not be freed in the middle of this one
    device.reset_peak_memory_stats()
    before = device.memory_allocated()
    buffer = device.empty((1000,), np.float64)
    assert device.memory_allocated() == before + 8000
    view = buffer[::2]
    del buffer
    gc.collect()
    assert device.memory_allocated() == before + 8000  # the view keeps the buffer alive
    del view
    gc.collect()
    assert device.memory_allocated() == before
    assert device.max_memory_allocated() >= before + 8000


def test_kernel_outputs_go_through_the_allocator():
    x = np.ones(1000, np.float32)
    gc.collect()
    before = device.memory_allocated()
    y = F.exp(x)
    assert device.memory_allocated() == before + y.nbytes


def test_unknown_device_is_a_clear_error():
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        device.as_device("tpu")
    assert device.as_device("cpu") == device.cpu


def test_registry_check_refuses_an_op_without_rules():
    class Incomplete(Op):
        name = "incomplete"

    broken = {"incomplete": dataclasses.dataclass(frozen=True)(Incomplete)}
    with pytest.raises(TypeError) as info:
        check_registry(broken)
    message = str(info.value)
    assert "no shape-and-dtype rule" in message
    assert "no CPU kernel" in message
    assert "neither a gradient rule" in message


def test_every_registered_op_is_hashable_by_name_and_attributes():
    check_registry()
    for cls in REGISTRY.values():
        assert cls.name
        fields = dataclasses.fields(cls)
        if all(f.default is not dataclasses.MISSING for f in fields):
            assert cls() == cls() and hash(cls()) == hash(cls())


def test_registering_a_second_op_under_a_taken_name_fails():
    class Impostor(Op):
        name = "exp"

    with pytest.raises(TypeError, match="declared twice"):
        register(Impostor)


def test_mixing_two_front_ends_in_one_op_is_refused():
    class A:
        shape, dtype = (), dtypes.float32

    class B(A):
        pass

    class Front:
        def __init__(self, name):
            self.name = name

    from framework.ops import dispatch

    dispatch.register_frontend(A, Front("a"))
    dispatch.register_frontend(B, Front("b"))
    try:
        with pytest.raises(DualgraphError, match="cannot mix values of two front-ends"):
            bind(REGISTRY["add"](), A(), B())
    finally:
        dispatch._FRONTENDS.pop(A)
        dispatch._FRONTENDS.pop(B)
        dispatch._LOOKUP_CACHE.clear()


def test_toposort_handles_a_chain_deeper_than_the_recursion_limit():
    depth = 100_000
    order = toposort([depth], lambda n: [n - 1] if n else [])
    assert order == list(range(depth + 1))


def test_backprop_accumulates_fan_out_and_visits_each_node_once():
    # x -> a = 2x ; y = a + a*a  (a fans out twice)
    edges = {"y": [("a", 0), ("a", 0)], "a": [("x", 0)], "x": []}
    visits = []

    def vjp(node, cotangents):
        visits.append(node)
        (g,) = cotangents
        if node == "y":
            return [g, g * 2 * 3.0]  # d(a)/da, d(a*a)/da at a = 3
        if node == "a":
            return [g * 2]
        collected["x"] = g
        return []

    collected = {}
    backprop([("y", 0, 1.0)], edges.get, vjp, lambda n: 1)
    assert visits == ["y", "a", "x"]
    assert collected["x"] == pytest.approx(2 * 1.0 + 2 * 6.0)


def test_fit_gradient_unbroadcasts_and_casts():
    g = np.ones((4, 3, 5), np.float64)
    fitted = fit_gradient(g, Spec((3, 1), np.float32))
    assert fitted.shape == (3, 1) and fitted.dtype == np.float32
    np.testing.assert_array_equal(fitted, np.full((3, 1), 20.0))


def test_generated_modules_are_written_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("DUALGRAPH_CACHE_DIR", str(tmp_path))
    source = "VALUE = 7\n"
    module = codegen.load_module(source, "probe")
    assert module.VALUE == 7
    files = list(tmp_path.glob("probe_*.py"))
    assert len(files) == 1 and files[0].read_text() == source
    assert codegen.load_module(source, "probe") is module


def test_allocator_survives_garbage_collection_during_an_allocation():
    # Cycles holding buffers are freed by the GC, which can run inside `empty` itself; the
    # release callback must not deadlock on the allocator's lock.
    class Cycle:
        def __init__(self):
            self.me = self
            self.buffer = device.empty((4,), np.float32)

    for _ in range(50_000):
        Cycle()
    gc.collect()


def test_allocator_counts_exactly_across_threads_and_folds():
    # Allocations and releases from several threads, many more than one fold of the event log
    # holds: every byte comes back, and the peak is exactly the largest live total seen.
    import threading

    gc.collect()
    before = device.memory_allocated()
    device.reset_peak_memory_stats()

    def churn():
        for _ in range(3000):
            kept = [device.empty((16,), np.float32) for _ in range(3)]
            del kept

    threads = [threading.Thread(target=churn) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gc.collect()
    assert device.memory_allocated() == before
    assert before + 3 * 64 <= device.max_memory_allocated() <= before + 4 * 3 * 64
    held = device.empty((1000,), np.float64)
    assert device.max_memory_allocated() >= device.memory_allocated() == before + 8000
    del held
    gc.collect()
    assert device.memory_allocated() == before


def _spin_setting(environment: dict) -> str:
    import subprocess
    import sys

    code = "import os, framework; print(os.environ.get('GOMP_SPINCOUNT'))"
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    return subprocess.run([sys.executable, "-c", code], env={**env, **environment},
                          capture_output=True, text=True, check=True).stdout.strip()


def test_openmp_threads_stop_spinning_soon_unless_the_user_says_otherwise():
    # Spinning OpenMP threads took the cores OpenBLAS needed between our kernels.
    assert _spin_setting({}) == "10000"
    assert _spin_setting({"GOMP_SPINCOUNT": "5"}) == "5"
    assert _spin_setting({"OMP_WAIT_POLICY": "ACTIVE"}) == "None"


# ---------------------------------------------------------------------------------------------
# The one execution seam


class _DeviceBuffer:
    """A stand-in for a buffer on another device (it says where it lives, as CUDA arrays do)."""

    def __init__(self, array, device):
        self.shape, self.dtype, self.device = array.shape, array.dtype, device


class _CpuOnly(Op):
    """An op with a CPU kernel and none for CUDA (elementwise ops and reductions have both)."""

    name = "cpu_only"

    def infer(self, x):
        return Spec(x.shape, x.dtype)

    def cpu(self, x):
        return x


def test_one_seam_runs_the_rule_then_the_kernel_of_the_inputs_device():
    from framework.device import Device
    from framework.ops.registry import primitive, run_op

    add = primitive("add")
    spec, result = run_op(add, [np.ones(2, np.float32), np.ones(2, np.float32)])
    assert spec == Spec((2,), np.float32) and result.tolist() == [2.0, 2.0]
    on_gpu = _DeviceBuffer(np.ones(2, np.float32), Device("cuda", 0))
    with pytest.raises(DeviceError, match="cpu_only has no cuda kernel yet"):
        run_op(_CpuOnly(), [on_gpu])
    with pytest.raises(DeviceError, match=r"add: inputs are on different devices \(cpu, cuda:0\)"):
        run_op(add, [np.ones(2, np.float32), on_gpu])
    with pytest.raises(ShapeError):  # the shape rule runs first, whatever the device
        run_op(add, [on_gpu, _DeviceBuffer(np.ones(3, np.float32), Device("cuda", 0))])


def test_every_front_end_runs_ops_through_the_seam(monkeypatch):
    import eager
    import graph as tf
    from framework.ops import registry

    seen = []
    real_run_op, real_run_on_cpu = registry.run_op, registry.run_on_cpu

    def spy(op, arrays):
        seen.append(op.name)
        return real_run_op(op, arrays)

    def spy_on_cpu(op, arrays):  # the seam's CPU branch, for callers holding NumPy arrays
        seen.append(op.name)
        return real_run_on_cpu(op, arrays)

    for module in ("framework.ops.registry", "framework.ops.dispatch", "eager.tensor",
                   "graph.ops"):
        for name, function in (("run_op", spy), ("run_on_cpu", spy_on_cpu)):
            if hasattr(sys.modules[module], name):
                monkeypatch.setattr(sys.modules[module], name, function)
    F.exp(np.zeros(1, np.float32))
    eager.ones(2).exp()
    with tf.Graph().as_default(), tf.Session() as sess:
        sess.run(tf.exp(tf.constant([0.0])))
    assert seen == ["exp", "exp", "exp"]
