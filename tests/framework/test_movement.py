"""Movement and indexing behaviour the spec table cannot express: views without allocation,
index validation before any kernel, unknown dimensions in the shape rules, the parallel
kernels at large sizes, and errors for list-taking ops (concat, stack) naming this file."""

from __future__ import annotations

import contextlib
import gc

import numpy as np
import pytest

from framework import device, dtypes
from framework.errors import DTypeError, DualgraphError, ShapeError
from framework.ops import F, Spec, dispatch, execute
from framework.ops import movement as M
from tests.framework import tracer

F32 = dtypes.float32


def allocations() -> int:
    return device.allocator().stats.allocations


@contextlib.contextmanager
def no_collection():
    """Keep the garbage collector from freeing unrelated buffers while bytes are compared."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# ---------------------------------------------------------------------------------------------
# Views: no allocation, shared and writable (broadcast_to excepted)

VIEWS = [
    ("transpose", lambda x: F.transpose(x)),
    ("permute", lambda x: F.permute(x, 2, 0, 1)),
    ("swapaxes", lambda x: F.swapaxes(x, 0, 1)),
    ("moveaxis", lambda x: F.moveaxis(x, -1, 0)),
    ("squeeze", lambda x: F.squeeze(F.unsqueeze(x, 0), 0)),
    ("unsqueeze", lambda x: F.unsqueeze(x, (1, -1))),
    ("reshape", lambda x: F.reshape(x, (6, -1))),
    ("getitem_steps", lambda x: F.getitem(x, (slice(None, None, -1), None, ..., slice(1, 3)))),
    ("getitem_scalar", lambda x: F.getitem(x, (1, 2, -1))),
    ("split_part", lambda x: F.split(x, (1, -1), axis=1)[1]),
]


@pytest.mark.parametrize("make_view", [v for _, v in VIEWS], ids=[n for n, _ in VIEWS])
def test_views_share_memory_allocate_nothing_and_stay_writable(make_view):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    with no_collection():
        before_bytes, before_count = device.memory_allocated(), allocations()
        view = make_view(x)
        assert device.memory_allocated() == before_bytes and allocations() == before_count
    assert isinstance(view, np.ndarray) and np.shares_memory(view, x)
    assert view.flags.writeable
    view[...] = -1.0  # the eager front-end's setitem writes through views like this one
    assert (x == -1.0).sum() == view.size


def test_getitem_with_ints_gives_a_zero_d_view_not_a_copied_scalar():
    x = np.arange(6.0).reshape(2, 3)
    picked = F.getitem(x, (1, -1))
    assert isinstance(picked, np.ndarray) and picked.shape == () and picked.base is not None
    picked[...] = 50.0
    assert x[1, 2] == 50.0


def test_broadcast_to_is_a_read_only_view():
    x = np.arange(3.0)
    stretched = F.broadcast_to(x, (4, 3))
    assert np.shares_memory(stretched, x) and not stretched.flags.writeable


def test_reshape_of_an_unviewable_layout_copies_through_the_allocator():
    x = np.arange(24.0).reshape(4, 6).T  # Fortran order: no C-order view exists
    with no_collection():
        before = device.memory_allocated()
        flat = F.reshape(x, (-1,))
        assert device.memory_allocated() == before + flat.nbytes
    assert not np.shares_memory(flat, x)
    np.testing.assert_array_equal(flat, x.reshape(-1))


def test_data_moving_ops_allocate_their_outputs_from_the_allocator():
    x = np.ones((3, 4), np.float32)
    before = allocations()
    outputs = [F.concat([x, x], 0), F.stack([x, x], 1), F.pad(x, 1),
               F.gather(x, np.array([0, 2]), 0), F.one_hot(np.array([1, 0]), 3)]
    assert allocations() >= before + len(outputs)
    for out in outputs:
        assert not np.shares_memory(out, x)


# ---------------------------------------------------------------------------------------------
# Index validation: our error, naming the index and the shape, before any kernel


def test_out_of_range_index_is_an_index_error_naming_index_and_shape():
    x = np.zeros((3, 4))
    with pytest.raises(M.IndexingError) as info:
        F.getitem(x, (1, 4))
    assert isinstance(info.value, IndexError) and isinstance(info.value, ShapeError)
    assert "index 4 is out of range for axis 1 of size 4 (shape (3, 4))" in str(info.value)
    assert info.value.site.filename == __file__
    with pytest.raises(M.IndexingError, match="index -4 is out of range for axis 0 of size 3"):
        F.getitem(x, -4)


@pytest.mark.parametrize("index, match", [
    ((0, 0, 0), "too many indices for a 2-d value"),
    ((..., 0, ...), "single ellipsis"),
    ((slice(None, None, 0),), "step cannot be zero"),
    (([0, 1],), r"unsupported index \[0, 1\].*use gather"),
    ((np.array([0, 1]),), "use gather"),
    ((True,), "unsupported index True"),
    ((1.0,), "unsupported index 1.0"),
    ((slice(0.5, None),), "unsupported index 0.5"),
])
def test_bad_basic_indices_raise_our_index_error(index, match):
    with pytest.raises(M.IndexingError, match=match):
        F.getitem(np.zeros((2, 3)), index)


def test_numpy_integer_indices_are_accepted():
    x = np.arange(12).reshape(3, 4)
    got = F.getitem(x, (np.int64(2), slice(np.int32(3), None, np.int64(-2))))
    np.testing.assert_array_equal(got, x[2, 3::-2])


def test_equal_indices_give_equal_ops_and_a_readable_name():
    first = M.Slice(M.normalize_index((slice(None), -1), 2))
    second = M.Slice(M.normalize_index((slice(None, None, 1), -1), 2))
    assert first == second and hash(first) == hash(second)
    assert str(M.Slice(M.normalize_index((1, slice(None, None, -2), None), 2))) \
        == "getitem[1, ::-2, None]"


def _forbid_kernels(monkeypatch):
    def refuse(*args):
        raise AssertionError("a numba kernel ran on unchecked indices")

    for name in ("_gather_serial", "_gather_parallel", "_scatter_add_serial",
                 "_scatter_add_parallel", "_one_hot_serial", "_one_hot_parallel"):
        monkeypatch.setattr(M, name, refuse)


@pytest.mark.parametrize("indices, message", [
    (np.array([0, 5, 1]), r"gather: index 5 at position \(1,\) is out of range for axis 1 "
                          r"\(size 5\) of shape \(2, 5\)"),
    (np.array([[0, 1], [-1, 2]]), r"index -1 at position \(1, 0\) .*negative values are not "
                                  r"wrapped, as in torch.index_select"),
    (np.array(7, np.int32), r"index 7 at position \(\) is out of range"),
])
def test_gather_checks_index_values_before_the_kernel(indices, message, monkeypatch):
    _forbid_kernels(monkeypatch)
    with pytest.raises(M.IndexingError, match=message) as info:
        F.gather(np.zeros((2, 5)), indices, axis=1)
    assert info.value.site.filename == __file__


def test_gather_refuses_non_integer_indices():
    with pytest.raises(DTypeError, match="gather: indices has dtype float64"):
        F.gather(np.zeros(3), np.array([0.0, 1.0]))
    with pytest.raises(DTypeError, match="indices has dtype bool"):
        F.gather(np.zeros(3), np.array([True, False]))


def test_scatter_add_and_one_hot_check_values_before_the_kernel(monkeypatch):
    _forbid_kernels(monkeypatch)
    with pytest.raises(M.IndexingError, match=r"scatter_add: index 3 .* dim_size=3"):
        F.scatter_add(np.ones((2, 4)), np.array([0, 3]), 0, 3)
    with pytest.raises(M.IndexingError, match=r"one_hot: label -1 at position \(2,\)"):
        F.one_hot(np.array([0, 1, -1]), 3)
    with pytest.raises(M.IndexingError, match="label 3 .* num_classes=3"):
        F.one_hot(np.array([[3]]), 3)
    with pytest.raises(DTypeError, match="one_hot: labels has dtype float32"):
        F.one_hot(np.zeros(2, np.float32), 3)


def test_scatter_add_sums_duplicate_indices():
    rng = np.random.default_rng(0)
    indices = rng.integers(0, 4, size=(50, 3))
    updates = rng.standard_normal((2, 50, 3, 5))
    expected = np.zeros((2, 4, 5))
    np.add.at(expected, (slice(None), indices), updates)
    np.testing.assert_allclose(F.scatter_add(updates, indices, 1, 4), expected, rtol=1e-12)


def test_embedding_gradient_is_scatter_add_of_the_rows():
    weight = tracer.leaf(np.arange(12.0).reshape(4, 3))
    ids = np.array([[1, 3], [1, 1]])
    rows = F.gather(weight, ids, 0)
    (grad,) = tracer.grad([rows], [weight], [np.ones((2, 2, 3))])
    np.testing.assert_array_equal(grad.value, [[0] * 3, [3] * 3, [0] * 3, [1] * 3])


# ---------------------------------------------------------------------------------------------
# List-taking ops: errors name the calling line (this file)


def test_concat_refuses_mismatched_shapes_naming_them():
    with pytest.raises(ShapeError) as info:
        F.concat([np.zeros((2, 3)), np.zeros((4, 5))], axis=1)  # the line named
    assert "concat: shapes (2, 3), (4, 5) differ in dimension 0 (2 vs 4); only axis 1 may " \
           "differ" in str(info.value)
    assert info.value.site.filename == __file__


@pytest.mark.parametrize("call, match", [
    (lambda: F.concat([np.zeros((2, 3)), np.zeros(3)]), r"different ranks: \(2, 3\), \(3,\)"),
    (lambda: F.concat([np.zeros(2)], axis=1), "axis 1 is out of range for a 1-d input"),
    (lambda: F.concat([np.zeros(2)], axis=-2), "axis -2 is out of range"),
    (lambda: F.concat([np.float32(1.0), np.float32(2.0)]), "cannot concatenate 0-d"),
    (lambda: F.concat([]), "needs at least one input"),
    (lambda: F.stack([np.zeros((2, 3)), np.zeros((3, 2))]), "differ in dimension 0"),
    (lambda: F.stack([np.zeros(2)], axis=2), "axis 2 is out of range for a 2-d input"),
    (lambda: F.stack([]), "needs at least one input"),
    (lambda: F.transpose(np.zeros((2, 3)), (0, 0)), "not a permutation"),
    (lambda: F.transpose(np.zeros((2, 3)), (0, 2)), "not a permutation"),
    (lambda: F.squeeze(np.zeros((1, 1)), (0, -2)), "repeat an axis"),
    (lambda: F.unsqueeze(np.zeros(2), (1, 1)), "repeat an axis"),
    (lambda: F.reshape(np.zeros(6), (-1, -1)), "only one dimension can be -1"),
    (lambda: F.reshape(np.zeros(6), (2, None)), "use -1"),
    (lambda: F.reshape(np.zeros(0), (0, -1)), "cannot reshape"),
    (lambda: F.split(np.zeros(4), 0), "sections must be a positive int"),
    (lambda: F.split(np.zeros(4), (-1, -1)), "one may be -1"),
    (lambda: F.split(np.zeros(4), ()), "at least one"),
    (lambda: F.pad(np.zeros(2), -1), "non-negative"),
    (lambda: F.pad(np.zeros(2), 1.5), "must hold ints"),
    (lambda: F.scatter_add(np.zeros(2), np.zeros(2, np.int64), 0, -1), "dim_size"),
    (lambda: F.scatter_add(np.zeros(2, bool), np.zeros(2, np.int64), 0, 2), "dtype bool"),
    (lambda: F.scatter_add(np.zeros(2), np.zeros((2, 2), np.int64), 0, 2), "fewer dimensions"),
    (lambda: F.one_hot(np.zeros(2, np.int64), -1), "num_classes"),
    (lambda: F.slice_grad(np.zeros(2), (0,), (3, 2, 1)), r"does not fit \[0, :, :\]"),
])
def test_bad_arguments_raise_our_errors(call, match):
    with pytest.raises(DualgraphError, match=match):
        call()


def test_numpy_integers_and_arrays_work_as_arguments():
    x = np.arange(6.0).reshape(2, 3)
    assert [p.shape for p in F.split(x, np.int64(3), axis=np.int32(1))] == [(2, 1)] * 3
    assert [p.shape for p in F.split(x, np.array([1, 2]), axis=1)] == [(2, 1), (2, 2)]
    np.testing.assert_array_equal(F.pad(x, np.array([[1, 0], [0, 2]])),
                                  np.pad(x, [[1, 0], [0, 2]]))
    assert F.scatter_add(x, np.array([1, 0]), 0, np.int64(3)).shape == (3, 3)
    assert F.one_hot(np.array([1]), np.int32(4)).shape == (1, 4)
    with pytest.raises(ShapeError, match="expected an int or a sequence of ints"):
        F.split(x, [1.5, 1.5], axis=1)


@pytest.mark.parametrize("dtype", dtypes.ALL)
def test_one_hot_makes_any_dtype(dtype):
    labels = np.array([[2, 0], [1, 1]], np.int32)
    got = F.one_hot(labels, 3, dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.eye(3, dtype=dtype)[labels])


def test_concat_and_stack_promote_dtypes():
    joined = F.concat([np.zeros(2, np.int32), np.ones(1, np.float32)])
    assert joined.dtype == np.float64  # NumPy's table: int32 with float32 -> float64
    np.testing.assert_array_equal(joined, [0, 0, 1])
    assert F.stack([np.zeros(2, bool), np.ones(2, np.int64)]).dtype == np.int64


def test_the_primitives_refuse_mixed_dtypes():
    with pytest.raises(DTypeError, match="concat: inputs have different dtypes"):
        M.Concat(0).infer(Spec((2,), np.float32), Spec((2,), np.float64))


# ---------------------------------------------------------------------------------------------
# Unknown dimensions (the graph front-end's None)


def spec(*shape, dtype=np.float32):
    return Spec(shape, dtype)


def test_shape_rules_propagate_unknown_dimensions():
    assert M.Concat(0).infer(spec(None, 3), spec(2, 3)).shape == (None, 3)
    assert M.Concat(1).infer(spec(None, 3), spec(4, 2)).shape == (4, 5)
    assert M.Concat(1).infer(spec(2, None), spec(2, 2)).shape == (2, None)
    assert M.Stack(1).infer(spec(None, 3), spec(5, None)).shape == (5, 2, 3)
    parts = M.Split(sizes=(2, -1), axis=1).infer(spec(None, 5))
    assert [p.shape for p in parts] == [(None, 2), (None, 3)]
    parts = M.Split(sizes=(2, -1), axis=0).infer(spec(None, 5))
    assert [p.shape for p in parts] == [(2, 5), (None, 5)]
    assert [p.shape for p in M.Split(sections=2).infer(spec(None))] == [(None,), (None,)]
    assert M.Transpose((1, 0)).infer(spec(None, 3)).shape == (3, None)
    assert M.Squeeze((1,)).infer(spec(None, None)).shape == (None,)
    assert M.Unsqueeze((0,)).infer(spec(None)).shape == (1, None)
    assert M.Reshape((-1, 3)).infer(spec(None, 3)).shape == (None, 3)
    assert M.Pad(((1, 2), (0, 0))).infer(spec(None, 4)).shape == (None, 4)
    index = M.normalize_index((slice(1, None), 0, None), 2)
    assert M.Slice(index).infer(spec(None, None)).shape == (None, 1)
    assert M.Slice(M.normalize_index(-7, 1)).infer(spec(None)).shape == ()
    indices = spec(None, 2, dtype=np.int64)
    assert M.Gather(1).infer(spec(3, 10, 4), indices).shape == (3, None, 2, 4)
    assert M.ScatterAdd(0, 10).infer(spec(None, 2, 4), indices).shape == (10, 4)
    assert M.OneHot(5).infer(spec(None, dtype=np.int32)).shape == (None, 5)


def test_slice_grad_takes_its_shape_from_a_value_when_it_is_unknown():
    index = M.normalize_index((slice(None, None, 2), 1), 2)
    op = M.SliceGrad(index, (None, 3))
    assert op.infer(spec(None), spec(None, 3)).shape == (None, 3)
    g = np.arange(3.0)
    like = np.zeros((5, 3))
    expected = np.zeros((5, 3))
    expected[::2, 1] = g
    np.testing.assert_array_equal(execute(op, g, like), expected)
    with pytest.raises(ShapeError, match="not known"):
        execute(op, g)
    with pytest.raises(ShapeError, match="pass the sliced value itself"):
        F.slice_grad(g, (slice(None, None, 2), 1), Spec((None, 3), np.float64))


def test_squeeze_without_axes_needs_known_dimensions(monkeypatch):
    class Symbolic:  # a graph-like value whose first dimension is unknown
        shape, dtype = (None, 1), np.dtype(np.float32)

    monkeypatch.setitem(dispatch._FRONTENDS, Symbolic, object())
    monkeypatch.setattr(dispatch, "_LOOKUP_CACHE", {})
    with pytest.raises(ShapeError, match="axis=None cannot tell"):
        F.squeeze(Symbolic())


# ---------------------------------------------------------------------------------------------
# Gradients beyond the table


def test_split_gradient_fills_unused_parts_with_zeros():
    x = tracer.leaf(np.arange(6.0).reshape(2, 3))
    first, _, last = F.split(x, (1, 1, 1), axis=1)
    (grad,) = tracer.grad([first, last], [x], [np.ones((2, 1)), 2 * np.ones((2, 1))])
    np.testing.assert_array_equal(grad.value, [[1, 0, 2], [1, 0, 2]])


def test_second_order_through_getitem_and_its_adjoint():
    x = tracer.leaf(np.arange(5.0))
    weights = tracer.leaf(np.array([2.0, 3.0]))
    picked = F.getitem(x, slice(None, None, -3))
    loss = F.sum(F.mul(picked, weights))
    # the test tracer wants every leaf it meets listed
    grad_x, _ = tracer.grad([loss], [x, weights], [np.float64(1.0)])  # slice_grad of weights
    np.testing.assert_array_equal(grad_x.value, [0, 3, 0, 0, 2])
    # d<grad_x, v>/d weights runs slice_grad's own rule: the slice again
    v = np.arange(5.0) * 10
    _, grad_w = tracer.grad([F.sum(F.mul(grad_x, v))], [x, weights], [np.float64(1.0)])
    np.testing.assert_array_equal(grad_w.value, v[::-3])


# ---------------------------------------------------------------------------------------------
# Large sizes (the parallel kernels) and layouts the 4-d copy loops must cover


@pytest.mark.parametrize("parallel_from", [None, 1], ids=["default", "all-parallel"])
def test_large_inputs_match_numpy_on_serial_and_parallel_kernels(parallel_from, monkeypatch):
    if parallel_from is not None:
        monkeypatch.setattr(M, "PARALLEL_MIN_SIZE", parallel_from)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 400))
    strided = np.asfortranarray(x)[:, ::2]
    np.testing.assert_array_equal(F.concat([x, x[:7]], 0), np.concatenate([x, x[:7]], 0))
    np.testing.assert_array_equal(F.concat([strided, x], 1), np.concatenate([strided, x], 1))
    np.testing.assert_array_equal(F.stack([x, x], -1), np.stack([x, x], -1))
    np.testing.assert_array_equal(F.pad(strided, ((2, 1), (0, 3)), 7.0),
                                  np.pad(strided, ((2, 1), (0, 3)), constant_values=7.0))
    np.testing.assert_array_equal(M.contiguous(strided), strided)
    indices = rng.integers(0, 300, size=(1000,))
    np.testing.assert_array_equal(F.gather(x, indices, 0), x[indices])
    np.testing.assert_array_equal(F.gather(strided.T, indices[:50] % 200, 1),
                                  strided.T[:, indices[:50] % 200])
    updates = rng.standard_normal((1000, 400))
    expected = np.zeros((300, 400))
    np.add.at(expected, indices, updates)
    first = F.scatter_add(updates, indices, 0, 300)
    np.testing.assert_allclose(first, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(F.scatter_add(updates, indices, 0, 300), first)  # same order
    labels = rng.integers(0, 10, size=(7000,))
    np.testing.assert_array_equal(F.one_hot(labels, 10), np.eye(10, dtype=np.float32)[labels])
    small = x[:3, :5]
    np.testing.assert_array_equal(F.pad(small, 2, -1.0), np.pad(small, 2, constant_values=-1))
    np.testing.assert_array_equal(F.stack([small.T, small.T], 1), np.stack([small.T] * 2, 1))


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.float64])
def test_copies_cover_any_rank_and_stride_pattern(dtype):
    rng = np.random.default_rng(4)
    base = (rng.standard_normal((4, 3, 5, 2, 3, 4, 2)) * 5).astype(dtype)
    messy = base[::2, :, ::-2, :, 1:, ::3, :].transpose(3, 0, 6, 1, 5, 2, 4)  # 7-d, no merging
    assert M._collapsed_shape(messy.shape, messy.strides).__len__() > 4
    np.testing.assert_array_equal(M.contiguous(messy), messy)
    np.testing.assert_array_equal(F.pad(messy, 1), np.pad(messy, 1))
    np.testing.assert_array_equal(F.reshape(messy, (-1,)), messy.reshape(-1))


def test_contiguous_input_collapses_to_one_run():
    x = np.zeros((4, 5, 6))
    assert M._collapsed_shape(x.shape, x.strides) == (120,)
    assert M._collapsed_shape(x[:, 1:].shape, x[:, 1:].strides) == (4, 24)


@pytest.mark.parametrize("x, shape", [
    (np.array(2.5, np.float32), (3, 2)),  # a 0-d gradient spread over its input
    (np.arange(3.0), (2, 3)),
    (np.arange(6, dtype=np.int32).reshape(2, 1, 3), (4, 2, 5, 3)),
    (np.arange(12.0).reshape(3, 4)[1:2], (2, 1, 4)),  # a contiguous window of a larger array
    (np.arange(8.0)[::2], (3, 4)),  # strided: NumPy's own broadcast
    (np.ones(1, bool), (0,)),
    (np.zeros((0, 1)), (2, 0, 3)),
])
def test_broadcast_to_matches_numpy_and_stays_a_read_only_view(x, shape):
    stretched = F.broadcast_to(x, shape)
    expected = np.broadcast_to(x, shape)
    assert stretched.shape == expected.shape and stretched.dtype == x.dtype
    np.testing.assert_array_equal(stretched, expected)
    assert not stretched.flags.writeable
    if x.size and stretched.size:
        assert np.shares_memory(stretched, x)


def test_cached_shape_rules_still_refuse_bools_equal_to_valid_axes():
    # Ops are cached by value, and True == 1: a bool axis must still reach the rule that
    # refuses it even after the int version was accepted.
    x = np.zeros((2, 3))
    assert F.transpose(x, (1, 0)).shape == (3, 2)
    with pytest.raises(ShapeError, match="not a permutation"):
        F.transpose(x, (True, False))
    assert F.unsqueeze(x, 1).shape == (2, 1, 3)
    with pytest.raises(ShapeError, match="axis must be an int"):
        F.unsqueeze(x, (True,))
    assert F.squeeze(np.zeros((2, 1)), 1).shape == (2,)
    with pytest.raises(ShapeError, match="axis must be an int"):
        F.squeeze(np.zeros((2, 1)), (True,))
    with pytest.raises(ShapeError, match="invalid dimension"):
        F.reshape(x, (True, 6))


def test_shape_rules_answer_the_same_for_repeated_and_varied_shapes():
    for rows in (2, 5, 2, 7):
        x = np.arange(rows * 3.0).reshape(rows, 3)
        assert F.reshape(x, (-1,)).shape == (rows * 3,)
        assert F.transpose(x).shape == (3, rows)
        assert F.unsqueeze(x, -1).shape == (rows, 3, 1)
        assert F.getitem(x, (slice(1, None), 0)).shape == (rows - 1,)
        np.testing.assert_array_equal(F.getitem(x, (slice(1, None), 0)), x[1:, 0])
    with pytest.raises(ShapeError, match="cannot reshape"):
        F.reshape(np.zeros(7), (2, -1))
    with pytest.raises(ShapeError, match="cannot be broadcast together"):
        F.broadcast_to(np.zeros(3), (2, 4))


def test_unsqueeze_of_a_strided_value_is_a_writable_view():
    x = np.arange(12.0).reshape(3, 4)[:, ::2]
    view = F.unsqueeze(x, (0, -1))
    assert view.shape == (1, 3, 2, 1) and np.shares_memory(view, x)
    view[0, 1, 1, 0] = -1.0
    assert x[1, 1] == -1.0
