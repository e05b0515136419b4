"""The CUDA kernels of the ops that are not elementwise (framework/kernels/cuda_nn.py) against
their CPU kernels: matmul and linear, the softmax family and cross-entropy, contiguous copies.

Without a GPU these run under numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1 before Python
starts), whose kernels run a Python thread per CUDA thread: shapes stay small, but cross the
simulator's tile and row-thread sizes, so edges, partial tiles and strided rows all run. On a
GPU the same tests run the GPU's tiling; `test_kernels_compile_for_a_gpu` compiles that tiling
for a real GPU wherever the CUDA toolkit's NVVM is installed.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

cuda = pytest.importorskip("numba.cuda")
if not cuda.is_available():
    pytest.skip("no CUDA GPU, and NUMBA_ENABLE_CUDASIM=1 was not set before Python started",
                allow_module_level=True)

from framework.device import memory_allocated, to_device  # noqa: E402
from framework.errors import IndexingError, IndexValueError  # noqa: E402
from framework.kernels import cuda_nn  # noqa: E402
from framework.ops.conv import (  # noqa: E402
    AvgPool2d,
    AvgPool2dBackward,
    Conv2d,
    Conv2dInputGrad,
    Conv2dWeightGrad,
    MaxPool2d,
    MaxPool2dBackward,
    MaxPool2dGather,
)
from framework.ops.creation import Full, FullLike  # noqa: E402
from framework.ops.elementwise import Cast  # noqa: E402
from framework.ops.indexing import NonZero, PutAlongAxis, TakeAlongAxis  # noqa: E402
from framework.ops.linalg import MatMul  # noqa: E402
from framework.ops.movement import (  # noqa: E402
    BroadcastTo,
    Concat,
    ContiguousCopy,
    Gather,
    OneHot,
    Pad,
    Reshape,
    ScatterAdd,
    ShapeOf,
    Slice,
    SliceGrad,
    Split,
    Squeeze,
    Stack,
    Transpose,
    Unsqueeze,
    normalize_index,
)
from framework.ops.nn import (  # noqa: E402
    Embedding,
    LabelCrossEntropy,
    LabelCrossEntropyGrad,
    LabelCrossEntropyMean,
    LabelCrossEntropyMeanGrad,
    Linear,
    LinearGrad,
    LinearWeightGrad,
    LogSoftmax,
    ProbabilityCrossEntropy,
    Softmax,
)
from framework.ops.random import Bernoulli, Dropout, Normal, Uniform  # noqa: E402
from framework.ops.registry import run_op  # noqa: E402
from framework.ops.scan import CumProd, CumSum  # noqa: E402
from framework.ops.sorting import Sort, TopK  # noqa: E402

RNG = np.random.default_rng(15)
FLOATS = (np.float32, np.float64)
TOLERANCE = {np.dtype(np.float32): dict(rtol=2e-5, atol=2e-6),
             np.dtype(np.float64): dict(rtol=1e-12, atol=1e-13)}


def normal(shape, dtype):
    return RNG.standard_normal(shape).astype(dtype)


def run_both(op, *arrays):
    """The op's CPU result and its CUDA result copied back, after checking the CUDA result has
    the shape and dtype the op's rule gives."""
    spec, on_device = run_op(op, [to_device(a, "cuda") for a in arrays])  # the CUDA kernel
    on_cpu = op.cpu(*arrays)
    if isinstance(on_cpu, tuple):
        return on_cpu, tuple(_host(r, s) for r, s in zip(on_device, spec, strict=True))
    return on_cpu, _host(on_device, spec)


def _host(array, spec):
    assert len(array.shape) == len(spec.shape) and np.dtype(array.dtype) == spec.dtype
    assert all(known in (None, size) for size, known in zip(array.shape, spec.shape))
    return array.copy_to_host()


def assert_close(cpu_result, cuda_result):
    assert cuda_result.shape == cpu_result.shape and cuda_result.dtype == cpu_result.dtype
    if cpu_result.dtype.kind == "f":
        np.testing.assert_allclose(cuda_result, cpu_result, equal_nan=True,
                                   **TOLERANCE[cpu_result.dtype])
    else:
        np.testing.assert_array_equal(cuda_result, cpu_result)


# ---------------------------------------------------------------------------------------------
# matmul and linear


MATMUL_SHAPES = [
    ((9, 5), (5, 11)),  # partial tiles in rows, columns and the shared dimension
    ((2, 3, 5), (5, 4)),  # a stack times one matrix
    ((3, 1, 2, 6), (2, 6, 3)),  # broadcast batch dimensions
    ((5,), (5, 3)),
    ((2, 5), (5,)),
    ((5,), (5,)),
]


@pytest.mark.parametrize("dtype, a_shape, b_shape",
                         [(dtype,) + shapes for dtype in FLOATS for shapes in MATMUL_SHAPES]
                         + [(np.int32,) + MATMUL_SHAPES[0], (np.int64,) + MATMUL_SHAPES[2]])
def test_matmul_matches_the_cpu(dtype, a_shape, b_shape):
    a = RNG.integers(-4, 5, a_shape).astype(dtype)
    b = RNG.integers(-4, 5, b_shape).astype(dtype)
    if np.dtype(dtype).kind == "f":
        a, b = a + normal(a_shape, dtype), b + normal(b_shape, dtype)
    assert_close(*run_both(MatMul(), a, b))


@pytest.mark.parametrize("a_shape, b_shape", [((0, 3), (3, 4)), ((3, 0), (0, 4)), ((2, 0, 3),
                                                                                   (3, 5))])
def test_matmul_of_empty_operands_matches_the_cpu(a_shape, b_shape):
    """No rows: an empty result and no launch; an empty shared dimension: zeros."""
    assert_close(*run_both(MatMul(), normal(a_shape, np.float32), normal(b_shape, np.float32)))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the simulator's NumPy
def test_matmul_propagates_nan_and_inf_as_the_cpu():
    a, b = normal((9, 5), np.float64), normal((5, 3), np.float64)
    a[2, 1], b[4, 2] = np.nan, np.inf
    cpu_result, cuda_result = run_both(MatMul(), a, b)
    np.testing.assert_array_equal(np.isnan(cuda_result), np.isnan(cpu_result))
    assert np.isnan(cuda_result[2]).all() and np.isinf(cuda_result[:, 2]).any()
    assert_close(cpu_result, cuda_result)


@pytest.mark.parametrize("a_transposed, b_transposed", [(True, False), (False, True),
                                                        (True, True)])
def test_matmul_reads_transposed_views_in_place(a_transposed, b_transposed, monkeypatch):
    """A transpose view (what matmul's gradient rule passes) goes to the kernel as it is
    stored, flagged, instead of being copied."""
    a, b = normal((2, 9, 5), np.float64), normal((5, 11), np.float64)
    device_a, device_b = to_device(a, "cuda"), to_device(b, "cuda")
    if a_transposed:
        device_a = Transpose((0, 2, 1)).cuda(to_device(np.ascontiguousarray(
            a.transpose(0, 2, 1)), "cuda"))
    if b_transposed:
        device_b = Transpose((1, 0)).cuda(to_device(np.ascontiguousarray(b.T), "cuda"))
    monkeypatch.setattr(cuda_nn, "contiguous_copy", None)  # a copy would fail the test
    assert_close(a @ b, cuda_nn.matmul(device_a, device_b).copy_to_host())


def test_outputs_are_counted_by_the_cuda_allocator():
    a, b = to_device(normal((9, 5), np.float32), "cuda"), to_device(normal((5, 3), np.float32),
                                                                      "cuda")
    before = memory_allocated("cuda")
    product = run_op(MatMul(), [a, b])[1]
    assert memory_allocated("cuda") == before + product.nbytes
    del product
    assert memory_allocated("cuda") == before


def test_matmul_reads_strided_device_views():
    """Operands that are views with gaps (a column slice) are copied to contiguous first."""
    a, b = normal((9, 10), np.float32), normal((5, 4), np.float32)
    view = cuda.to_device(a)[:, ::2]
    assert not view.is_c_contiguous()
    result = cuda_nn.matmul(view, cuda.to_device(b)).copy_to_host()
    assert_close(a[:, ::2] @ b, result)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("has_bias", [True, False])
@pytest.mark.parametrize("x_shape", [(9, 5), (2, 3, 5), (5,)])
def test_linear_matches_the_cpu(dtype, has_bias, x_shape):
    x, weight = normal(x_shape, dtype), normal((11, 5), dtype)
    bias = (normal(11, dtype),) if has_bias else ()
    assert_close(*run_both(Linear(has_bias), x, weight, *bias))


@pytest.mark.parametrize("dtype", FLOATS)
def test_linear_weight_grad_matches_the_cpu(dtype):
    cpu_result, cuda_result = run_both(LinearWeightGrad(), normal((9, 5), dtype),
                                       normal((9, 6), dtype))
    assert_close(np.ascontiguousarray(cpu_result), cuda_result)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("grad_input, grad_bias", [(True, True), (False, True), (True, False)])
def test_linear_grad_matches_the_cpu(dtype, grad_input, grad_bias):
    x, weight, g = normal((9, 5), dtype), normal((6, 5), dtype), normal((9, 6), dtype)
    cpu_results, cuda_results = run_both(LinearGrad(grad_input, grad_bias), x, weight, g)
    assert len(cuda_results) == 1 + grad_input + grad_bias
    for cpu_result, cuda_result in zip(cpu_results, cuda_results, strict=True):
        assert_close(np.ascontiguousarray(cpu_result), cuda_result)


def test_linear_with_no_input_features_gives_the_bias():
    x, weight, bias = normal((3, 0), np.float32), normal((4, 0), np.float32), normal(4,
                                                                                     np.float32)
    cpu_result, cuda_result = run_both(Linear(True), x, weight, bias)
    np.testing.assert_array_equal(cuda_result, np.broadcast_to(bias, (3, 4)))
    assert_close(cpu_result, cuda_result)


# ---------------------------------------------------------------------------------------------
# softmax family and cross-entropy


def _awkward_rows(dtype):
    """Rows the CPU kernels handle specially: all -inf (NaN, as PyTorch), a NaN, +inf, huge
    logits, some -inf; each longer than the simulator's threads per row."""
    x = normal((5, 9), dtype) * 3
    x[0] = -np.inf
    x[1, 4] = np.nan
    x[2, 7] = np.inf
    x[3] += 1000
    x[4, ::2] = -np.inf
    return x


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the simulator's NumPy
@pytest.mark.parametrize("op_class", [Softmax, LogSoftmax])
@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_rows_match_the_cpu(op_class, dtype):
    assert_close(*run_both(op_class(-1), _awkward_rows(dtype)))


@pytest.mark.parametrize("op_class", [Softmax, LogSoftmax])
@pytest.mark.parametrize("shape, axis", [((2, 3, 2), 1), ((2, 3, 2), 0), ((4,), 0), ((), -1),
                                         ((3, 0), 1), ((0, 3), 1)])
def test_softmax_along_any_axis_matches_the_cpu(op_class, shape, axis):
    assert_close(*run_both(op_class(axis), normal(shape, np.float64)))


def _labels_and_logits(dtype, shape=(5, 9)):
    logits = _awkward_rows(dtype) if shape == (5, 9) else normal(shape, dtype)
    labels = RNG.integers(0, shape[1], (shape[0],) + shape[2:])
    return logits, labels


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the simulator's NumPy
@pytest.mark.parametrize("dtype, shape", [(np.float32, (5, 9)), (np.float64, (5, 9)),
                                          (np.float32, (2, 3, 2))])
def test_label_cross_entropy_and_its_gradient_match_the_cpu(dtype, shape):
    logits, labels = _labels_and_logits(dtype, shape)
    assert_close(*run_both(LabelCrossEntropy(), logits, labels))
    g = normal(labels.shape, dtype)
    assert_close(*run_both(LabelCrossEntropyGrad(), logits, labels.astype(np.int32), g))


@pytest.mark.parametrize("dtype", FLOATS)
def test_mean_label_cross_entropy_and_its_gradient_match_the_cpu(dtype):
    logits, labels = _labels_and_logits(dtype, (3, 5))
    assert_close(*run_both(LabelCrossEntropyMean(), logits, labels))
    g = np.array(1.5, dtype)
    assert_close(*run_both(LabelCrossEntropyMeanGrad(), logits, labels, g))


def test_mean_label_cross_entropy_of_no_samples_is_nan_as_on_the_cpu():
    logits, labels = normal((0, 4), np.float32), np.zeros(0, np.int64)
    cpu_result, cuda_result = run_both(LabelCrossEntropyMean(), logits, labels)
    assert np.isnan(cuda_result) and np.isnan(cpu_result)


@pytest.mark.parametrize("dtype, shape", [(np.float32, (3, 9)), (np.float64, (2, 3, 2))])
def test_probability_cross_entropy_matches_the_cpu(dtype, shape):
    logits = normal(shape, dtype)
    target = RNG.random(shape).astype(dtype)
    target /= target.sum(axis=1, keepdims=True)
    assert_close(*run_both(ProbabilityCrossEntropy(), logits, target))


@pytest.mark.parametrize("op_class", [LabelCrossEntropy, LabelCrossEntropyMean])
@pytest.mark.parametrize("bad_label", [5, -1])
def test_out_of_range_label_raises_the_cpu_error_before_any_row_kernel(op_class, bad_label,
                                                                        monkeypatch):
    logits = normal((4, 5), np.float32)
    labels = np.array([0, 1, bad_label, 2])
    with pytest.raises(IndexingError) as on_cpu:
        op_class().cpu(logits, labels)

    def refuse(*args, **kwargs):
        raise AssertionError("a row kernel ran with a label out of range")

    monkeypatch.setattr(cuda_nn, "_row_launch", refuse)
    with pytest.raises(IndexingError) as on_device:
        op_class().cuda(cuda.to_device(logits), cuda.to_device(labels))
    reason = str(on_cpu.value).split("\n")[0]  # then the line that raised it, which differs
    assert str(on_device.value).startswith(reason + "\n")
    assert f"class label {bad_label} at position (2,) is out of range for 5 classes" in reason
    assert "op_class().cuda(" in str(on_device.value)  # the error names the caller's line


def test_gradient_ops_check_labels_too(monkeypatch):
    logits, labels = normal((2, 3, 2), np.float64), np.array([[0, 3], [1, 2]])
    monkeypatch.setattr(cuda_nn, "_row_launch", None)  # calling it would fail the test
    for op, g in [(LabelCrossEntropyGrad(), normal((2, 2), np.float64)),
                  (LabelCrossEntropyMeanGrad(), np.array(1.0))]:
        with pytest.raises(IndexingError, match=r"class label 3 at position \(0, 1\)"):
            op.cuda(cuda.to_device(logits), cuda.to_device(labels), cuda.to_device(g))


# ---------------------------------------------------------------------------------------------
# contiguous copies


@pytest.mark.parametrize("dtype", FLOATS + (np.int32, np.bool_))
def test_contiguous_copy_of_a_strided_view_matches_the_cpu(dtype):
    x = RNG.integers(0, 2, (4, 6, 5)).astype(dtype)
    view = cuda.to_device(x)[1:, ::2, 3]
    result = ContiguousCopy().cuda(view)
    assert result.is_c_contiguous()
    assert_close(ContiguousCopy().cpu(x[1:, ::2, 3]), result.copy_to_host())


def test_contiguous_copy_is_a_new_buffer():
    x = cuda.to_device(np.arange(6.0))
    copy = ContiguousCopy().cuda(x)
    x.copy_to_device(np.full(6, 99.0))
    np.testing.assert_array_equal(copy.copy_to_host(), np.arange(6.0))


# ---------------------------------------------------------------------------------------------
# views: transpose, broadcast_to, squeeze, unsqueeze, reshape; and cast


def _strided(x):
    """x on the device, and the same elements as a strided device view and its host twin."""
    big = np.concatenate([x, x + 1], axis=-1)
    return big[..., ::2], cuda.to_device(big)[..., ::2]


@pytest.mark.parametrize("op, shape", [
    (Transpose((1, 2, 0)), (2, 3, 4)), (Transpose((-1, 0)), (3, 4)), (Transpose(()), ()),
    (BroadcastTo((2, 3, 4)), (3, 1)), (BroadcastTo((2, 3)), ()),
    (Squeeze((0, 2)), (1, 3, 1, 2)), (Squeeze(()), (3, 2)), (Unsqueeze((0, 3)), (3, 2)),
    (Reshape((4, -1)), (2, 3, 4)), (Reshape(()), (1, 1)),
])
def test_views_match_the_cpu_and_share_the_input_memory(op, shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    device_x = cuda.to_device(x)
    view = op.cuda(device_x)
    assert_close(op.cpu(x), view.copy_to_host())
    if view.size and op.cpu(x).size:  # the view reads the input's memory, as on the CPU
        device_x.copy_to_device(x + 1)
        assert_close(op.cpu(x + 1), view.copy_to_host())


@pytest.mark.parametrize("op, shape", [
    (Transpose((1, 0, 2)), (2, 3, 4)), (BroadcastTo((2, 3, 3)), (3, 3)),
    (Squeeze((1,)), (3, 1, 4)), (Unsqueeze((1,)), (3, 4)),
    (Reshape((6, 2)), (3, 4)),  # a strided input's reshape is a copy, as NumPy's
    (Reshape((3, 1, 4)), (3, 4)),  # unit axes only: a view of any strides
])
def test_views_of_strided_device_arrays_match_the_cpu(op, shape):
    x = RNG.standard_normal(shape).astype(np.float64)
    host_view, device_view = _strided(x)
    assert not device_view.is_c_contiguous()
    assert_close(op.cpu(host_view), op.cuda(device_view).copy_to_host())


GETITEM_INDICES = [
    (1, slice(None, None, -2)), (-1,), (slice(3, 0, -1), None, Ellipsis, 2), (0, 1, 2),
    (Ellipsis, None), (slice(5, 9),),
]


@pytest.mark.parametrize("index", GETITEM_INDICES)
def test_getitem_views_match_the_cpu_and_share_the_input_memory(index):
    x = normal((4, 5, 3), np.float32)
    op = Slice(normalize_index(index, 3))
    cpu_result, cuda_result = run_both(op, x)
    assert_close(cpu_result, cuda_result)
    device_x = to_device(x, "cuda")
    view = op.cuda(device_x)
    if view.size:
        device_x.copy_to_device(x * 2)
        assert_close(op.cpu(x * 2), view.copy_to_host())


@pytest.mark.parametrize("index", GETITEM_INDICES)
def test_getitem_of_views_with_negative_strides_matches_the_cpu(index):
    """A reversed view starts at its buffer's end: a view of it may start before it."""
    x = normal((4, 5, 3), np.float64)
    reverse = Slice(normalize_index((slice(None, None, -1), Ellipsis, slice(None, None, -1)), 3))
    op = Slice(normalize_index(index, 3))
    view = op.cuda(reverse.cuda(to_device(x, "cuda")))
    assert_close(op.cpu(reverse.cpu(x)), view.copy_to_host())


@pytest.mark.parametrize("index", GETITEM_INDICES[:4])
def test_slice_grad_matches_the_cpu(index):
    normalized = normalize_index(index, 3)
    g = normal(Slice(normalized).cpu(np.zeros((4, 5, 3))).shape, np.float32)
    assert_close(*run_both(SliceGrad(normalized, (4, 5, 3)), g))


@pytest.mark.parametrize("source, target", [
    (np.float64, np.float32), (np.float32, np.int32), (np.float64, np.int64),
    (np.float32, np.bool_), (np.bool_, np.float32), (np.int64, np.float64), (np.int32, np.int64),
])
def test_cast_matches_the_cpu(source, target):
    x = np.array([[0.0, -2.7, 3.5], [1e-30, -0.0, 7.9]]).astype(source)
    cpu_result, cuda_result = run_both(Cast(np.dtype(target)), x)
    assert_close(cpu_result, cuda_result)
    host_view, device_view = _strided(x)
    assert_close(Cast(np.dtype(target)).cpu(host_view),
                 Cast(np.dtype(target)).cuda(device_view).copy_to_host())


# ---------------------------------------------------------------------------------------------
# convolution and pooling

# (input shape, weight shape, stride, padding, dilation, groups)
CONVOLUTIONS = [
    ((2, 2, 4, 3), (3, 2, 2, 2), (1, 1), (0, 0), (1, 1), 1),
    ((2, 4, 4, 5), (4, 2, 3, 2), (2, 1), (1, 0), (1, 2), 2),
]


@pytest.mark.parametrize("dtype, convolution", [(np.float32, CONVOLUTIONS[0]),
                                                (np.float64, CONVOLUTIONS[1]),
                                                (np.float32, CONVOLUTIONS[1])])
def test_conv2d_and_its_gradients_match_the_cpu(dtype, convolution):
    x_shape, w_shape, stride, padding, dilation, groups = convolution
    x, w = normal(x_shape, dtype), normal(w_shape, dtype)
    conv = Conv2d(stride, padding, dilation, groups)
    out_cpu, out_cuda = run_both(conv, x, w)
    assert_close(out_cpu, out_cuda)
    g = normal(out_cpu.shape, dtype)
    assert_close(*run_both(Conv2dInputGrad(x_shape[2:], stride, padding, dilation, groups),
                           g, w))
    assert_close(*run_both(Conv2dWeightGrad(w_shape[2:], stride, padding, dilation, groups),
                           x, g))


def test_conv2d_weight_grad_sums_over_chunks_of_the_batch(monkeypatch):
    """Images unfold a chunk at a time; the weight gradient adds every chunk's GEMM."""
    monkeypatch.setattr(cuda_nn, "CHUNK_BYTES", 1)  # one image per chunk
    x_shape, w_shape, stride, padding, dilation, groups = CONVOLUTIONS[1]
    x, w = normal(x_shape, np.float64), normal(w_shape, np.float64)
    g = normal(Conv2d(stride, padding, dilation, groups).cpu(x, w).shape, np.float64)
    assert_close(*run_both(Conv2dWeightGrad(w_shape[2:], stride, padding, dilation, groups),
                           x, g))
    assert_close(*run_both(Conv2d(stride, padding, dilation, groups), x, w))
    assert_close(*run_both(Conv2dInputGrad(x_shape[2:], stride, padding, dilation, groups),
                           g, w))


def _pool_input(dtype):
    """Small integers, so windows hold ties (the first maximum wins), and one NaN."""
    x = RNG.integers(0, 4, (2, 2, 5, 6)).astype(dtype)
    x[1, 0, 2, 3] = np.nan
    return x


# (kernel, stride, padding): windows apart, overlapping, and padded
POOLS = [((2, 2), (2, 2), (0, 0)), ((3, 2), (1, 2), (1, 1))]


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the simulator's NumPy
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kernel, stride, padding", POOLS)
def test_max_pool2d_and_its_gradient_ops_match_the_cpu(dtype, kernel, stride, padding):
    x = _pool_input(dtype)
    pooled_cpu, pooled_cuda = run_both(MaxPool2d(kernel, stride, padding), x)
    assert_close(pooled_cpu, pooled_cuda)
    g = normal(pooled_cpu.shape, dtype)
    assert_close(*run_both(MaxPool2dBackward(kernel, stride, padding), x, g))
    assert_close(*run_both(MaxPool2dGather(kernel, stride, padding), x, normal(x.shape, dtype)))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kernel, stride, padding", POOLS)
def test_avg_pool2d_and_its_gradient_match_the_cpu(dtype, kernel, stride, padding):
    x = normal((2, 2, 5, 6), dtype)
    pooled_cpu, pooled_cuda = run_both(AvgPool2d(kernel, stride, padding), x)
    assert_close(pooled_cpu, pooled_cuda)
    g = normal(pooled_cpu.shape, dtype)
    assert_close(*run_both(AvgPool2dBackward(kernel, stride, padding, (5, 6)), g))


# ---------------------------------------------------------------------------------------------
# filled arrays, concat, stack, split, pad, one_hot, shape


def test_full_and_full_like_match_the_cpu():
    op = Full((2, 3), 2.5, np.dtype(np.float32))
    assert_close(op.cpu(), op.cuda().copy_to_host())
    x = normal((3, 4), np.float64)
    for like in (FullLike(-1.0, None), FullLike(7, np.dtype(np.int32)),
                 FullLike(1, np.dtype(np.bool_))):
        assert_close(*run_both(like, x))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_and_stack_match_the_cpu(axis):
    xs = [normal((2, 3, 2), np.float32), normal((2, 3, 2), np.float32)]
    assert_close(*run_both(Stack(axis), *xs))
    xs.append(normal((2, 3, 2), np.float32)[:, :1] if axis == 1 else
              normal((2, 3, 2), np.float32))
    assert_close(*run_both(Concat(axis), *xs))


def test_split_parts_are_views_matching_the_cpu():
    x = normal((3, 7), np.float64)
    op = Split((2, -1, 1), None, 1)
    device_x = to_device(x, "cuda")
    parts = run_op(op, [device_x])[1]
    for cpu_part, part in zip(op.cpu(x), parts, strict=True):
        assert_close(cpu_part, part.copy_to_host())
    device_x.copy_to_device(x + 1)
    assert_close(op.cpu(x + 1)[1], parts[1].copy_to_host())


def test_pad_matches_the_cpu():
    op = Pad(((1, 0), (2, 3)), -4.0)
    assert_close(*run_both(op, normal((2, 3), np.float32)))
    host_view, device_view = _strided(normal((2, 3), np.float32))
    assert_close(op.cpu(host_view), op.cuda(device_view).copy_to_host())


def test_one_hot_matches_the_cpu_and_checks_its_labels():
    labels = np.array([[2, 0], [3, 3]])
    assert_close(*run_both(OneHot(4, np.dtype(np.float32)), labels))
    with pytest.raises(IndexingError, match=r"label 3 at position \(1, 0\) is out of range"):
        OneHot(3, np.dtype(np.float32)).cuda(to_device(labels, "cuda"))


def test_shape_is_read_onto_the_device():
    assert_close(*run_both(ShapeOf(np.dtype(np.int64)), np.zeros((4, 0, 3))))


# ---------------------------------------------------------------------------------------------
# cumsum, cumprod, take_along_axis, put_along_axis, nonzero


@pytest.mark.parametrize("op", [CumSum(1, False), CumSum(0, True), CumProd(1)])
@pytest.mark.parametrize("dtype", FLOATS + (np.int64,))
def test_scans_match_the_cpu(op, dtype):
    x = (RNG.integers(-3, 4, (3, 5, 2)) + (0.5 if np.dtype(dtype).kind == "f" else 0))
    assert_close(*run_both(op, x.astype(dtype)))


def test_scan_of_a_scalar_matches_the_cpu():
    assert_close(*run_both(CumSum(0, False), np.array(2.5, np.float32)))


@pytest.mark.parametrize("x_shape, indices_shape, axis", [((3, 4), (3, 6), 1),
                                                          ((4, 3, 2), (2, 3, 1), 0), ((), (), 0)])
def test_take_and_put_along_axis_match_the_cpu(x_shape, indices_shape, axis):
    """Indices may cover only a corner of x; repeated indices keep the last write, or sum."""
    x = normal(x_shape, np.float64)
    indices = RNG.integers(0, x_shape[axis] if x_shape else 1, indices_shape)
    assert_close(*run_both(TakeAlongAxis(axis), x, indices))
    values = normal(indices_shape, np.float64)
    for accumulate in (False, True):
        assert_close(*run_both(PutAlongAxis(axis, accumulate), x, indices, values))


def test_take_along_axis_refuses_an_index_out_of_range_as_the_cpu():
    x, indices = np.zeros((2, 3)), np.array([[0, 3]])
    with pytest.raises(IndexValueError) as on_cpu:
        TakeAlongAxis(1).cpu(x, indices)
    with pytest.raises(IndexValueError) as on_device:
        TakeAlongAxis(1).cuda(to_device(x, "cuda"), to_device(indices, "cuda"))
    assert str(on_device.value).split("\n")[0] == str(on_cpu.value).split("\n")[0]


@pytest.mark.parametrize("x", [np.array([[0.0, np.nan], [-0.0, 2.0]]), np.zeros((2, 0)),
                               np.array(3), np.array([False, True, True])])
def test_nonzero_matches_the_cpu(x):
    assert_close(*run_both(NonZero(), x))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the simulator's NumPy
@pytest.mark.parametrize("op", [Sort(-1, False), Sort(0, True), TopK(3, 1, True),
                                TopK(2, -1, False), TopK(0, 0, True)])
def test_sort_and_topk_match_the_cpu(op):
    """Lanes longer than a run (merges), ties (stable: the lower index first) and NaN (above
    every number)."""
    x = RNG.integers(0, 5, (3, 21)).astype(np.float32)
    x[1, 4] = x[2, 19] = np.nan
    x = x.T if op.axis == 0 else x
    cpu_values, cpu_indices = op.cpu(np.ascontiguousarray(x))
    spec, (values, indices) = run_op(op, [to_device(x, "cuda")])
    assert_close(cpu_values, values.copy_to_host())
    np.testing.assert_array_equal(indices.copy_to_host(), cpu_indices)


def test_sort_of_a_scalar_matches_the_cpu():
    x = np.array(1.5, np.float64)
    cpu_result, cuda_result = run_both(Sort(-1, False), x)
    assert_close(cpu_result[0], cuda_result[0])


# ---------------------------------------------------------------------------------------------
# gather, scatter_add, embedding


@pytest.mark.parametrize("dtype", FLOATS + (np.int32, np.bool_))
@pytest.mark.parametrize("x_shape, indices_shape, axis", [((5, 3), (4,), 0), ((2, 5, 3), (2, 3), 1),
                                                           ((2, 3), (), 1), ((2, 3), (0,), 0)])
def test_gather_matches_the_cpu(dtype, x_shape, indices_shape, axis):
    x = RNG.integers(-5, 5, x_shape).astype(dtype)
    indices = RNG.integers(0, x_shape[axis], indices_shape)
    assert_close(*run_both(Gather(axis), x, indices.astype(np.int32)))


@pytest.mark.parametrize("dtype", FLOATS + (np.int64,))
@pytest.mark.parametrize("updates_shape, indices, axis, dim_size", [
    ((4, 3), [1, 1, 0, 1], 0, 3),  # duplicates sum
    ((2, 2, 3, 2), [[0, 4, 0], [4, 4, 1]], 1, 5),
    ((3, 0), [2], 1, 4),  # nothing to add: zeros
])
def test_scatter_add_matches_the_cpu(dtype, updates_shape, indices, axis, dim_size):
    updates = (RNG.integers(-5, 5, updates_shape) + RNG.random(updates_shape)).astype(dtype)
    if updates_shape == (3, 0):
        indices = np.zeros((0,), np.int64)
    assert_close(*run_both(ScatterAdd(axis, dim_size), updates, np.array(indices)))


@pytest.mark.parametrize("dtype", FLOATS)
def test_embedding_and_its_gradient_match_the_cpu(dtype):
    weight, indices = normal((6, 3), dtype), np.array([[5, 0, 5], [2, 2, 1]])
    assert_close(*run_both(Embedding(), weight, indices))
    g = normal((2, 3, 3), dtype)
    assert_close(*run_both(ScatterAdd(0, 6), g, indices))  # embedding's weight gradient


@pytest.mark.parametrize("op, x, indices", [
    (Gather(1), np.zeros((2, 3)), np.array([0, 3])),
    (ScatterAdd(0, 3), np.zeros((2, 4)), np.array([2, -1])),
    (Embedding(), np.zeros((3, 2)), np.array([[0, 1], [7, 0]])),
])
def test_index_out_of_range_raises_the_cpu_error_before_any_kernel(op, x, indices,
                                                                   monkeypatch):
    with pytest.raises(IndexingError) as on_cpu:
        op.cpu(x, indices)
    monkeypatch.setattr(cuda_nn, "_launch", None)  # a gather or scatter would fail the test
    with pytest.raises(IndexingError) as on_device:
        op.cuda(cuda.to_device(x), cuda.to_device(indices))
    assert str(on_device.value).split("\n")[0] == str(on_cpu.value).split("\n")[0]


# ---------------------------------------------------------------------------------------------
# random numbers: the same seed, the same numbers on both devices


@pytest.mark.parametrize("dtype", FLOATS)
def test_uniform_draws_the_cpu_numbers(dtype):
    op = Uniform((3, 7), 12345, -2.0, 3.0, np.dtype(dtype))
    cpu_result, cuda_result = op.cpu(), op.cuda().copy_to_host()
    np.testing.assert_array_equal(cuda_result, cpu_result)  # integer bits, one rounding
    assert cuda_result.dtype == dtype and ((cuda_result >= -2) & (cuda_result < 3)).all()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(4, 5), (7,), (0,)])
def test_normal_draws_the_cpu_numbers(dtype, shape):
    """An odd count leaves the last pair's second normal unused, as on the CPU. (Equal to a
    few ulps: a GPU's log and fused multiply-adds may round the last bit differently.)"""
    op = Normal(shape, 99, 1.5, 2.0, np.dtype(dtype))
    assert_close(op.cpu(), op.cuda().copy_to_host())


def test_bernoulli_draws_the_cpu_numbers():
    op = Bernoulli((5, 9), 0.3, 2**64 - 5)
    cpu_result, cuda_result = op.cpu(), op.cuda().copy_to_host()
    np.testing.assert_array_equal(cuda_result, cpu_result)
    assert cuda_result.dtype == np.bool_ and 0 < cuda_result.sum() < cuda_result.size


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the simulator's NumPy
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("p", [0.4, 1.0])
def test_dropout_keeps_the_cpu_elements(dtype, p):
    x = normal((4, 6), dtype)
    x[0, :3] = [np.inf, np.nan, -np.inf]  # dropped elements are exactly 0, even these
    op = Dropout(p, 7)
    cpu_result, cuda_result = run_both(op, x)
    np.testing.assert_array_equal(cuda_result, cpu_result)
    host_view, device_view = _strided(x)  # element i is the i-th in C order, any layout
    np.testing.assert_array_equal(op.cuda(device_view).copy_to_host(), op.cpu(host_view))


# ---------------------------------------------------------------------------------------------
# The GPU's own tiling, compiled for a real GPU (the simulator does not compile)


_COMPILE_SCRIPT = """
import sys
try:
    from numba.cuda.cudadrv import nvvm
    nvvm.NVVM()
except Exception as error:  # NVVM missing, whatever the reason: nothing to compile with
    print("no NVVM:", error)
    sys.exit(3)
from framework.kernels import cuda_nn
from framework.ops.random import BIT_FUNCTIONS
print(cuda_nn.compile_for_gpu(cc=(8, 0), bit_functions=BIT_FUNCTIONS))
"""


def test_kernels_compile_for_a_gpu():
    """Every kernel of cuda_nn, at the GPU's tiling, compiles to PTX with nothing left
    undeclared. Run in a fresh interpreter without the simulator (numba.cuda picks one when
    first imported); skipped where the CUDA toolkit's NVVM is not installed."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", _COMPILE_SCRIPT], capture_output=True,
                          text=True, env=env, timeout=600, cwd=root)
    if done.returncode == 3:
        pytest.skip(done.stdout.strip())
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) >= 50
