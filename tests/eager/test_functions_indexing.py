"""PyTorch's indexing, sorting and scan functions on eager Tensors (eager/indexing.py).

Values are checked against NumPy, including the cases tutorials hit: negative dims, empty
tensors, integer dtypes, ties in sort and topk (stable: the lower index first), NaN in sorts,
zeros in cumprod's gradient. Bad indices raise before any kernel runs, naming the value and
its position, and leave an in-place target as it was. The spec tables (tests/framework/
specs_indexing.py, specs_sorting.py, specs_scan.py) check every op's forward, gradients and
eager == graph; the `torch`-marked tests compare with PyTorch where it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import eager
from framework.errors import ArgumentError, DTypeError, DTypeOverflowError, ShapeError
from framework.ops import indexing as indexing_ops
from framework.ops import movement as movement_ops


def _grad(function, *inputs):
    """d(sum(function(*inputs) * weights))/d(input) for float64 inputs, with fixed weights."""
    tensors = [eager.tensor(np.asarray(x, np.float64), requires_grad=True) for x in inputs]
    out = function(*tensors)
    weights = np.arange(1, out.numel() + 1, dtype=np.float64).reshape(out.shape)
    (out * eager.tensor(weights)).sum().backward()
    return [t.grad.numpy() for t in tensors], weights


@pytest.fixture
def no_kernels(monkeypatch):
    """Make every gather / scatter loop fail if it is reached."""

    def refuse(*args):
        raise AssertionError("a kernel ran on indices that were not checked")

    for module, names in ((indexing_ops, ("_take_serial", "_take_parallel", "_put_serial",
                                          "_put_parallel")),
                          (movement_ops, ("_gather_serial", "_gather_parallel"))):
        for name in names:
            monkeypatch.setattr(module, name, refuse)


# -- gather ---------------------------------------------------------------------------------------


def test_gather_picks_along_dim_as_take_along_axis():
    x = np.arange(12).reshape(3, 4)
    index = np.array([[3, 0], [1, 1], [0, 2]])
    got = eager.gather(eager.tensor(x), 1, eager.tensor(index))
    assert got.dtype == eager.int64
    np.testing.assert_array_equal(got.numpy(), np.take_along_axis(x, index, 1))
    np.testing.assert_array_equal(eager.tensor(x).gather(-1, eager.tensor(index)).numpy(),
                                  got.numpy())
    # an index smaller than the input along the other dims reads the leading corner
    corner = eager.tensor(x).gather(0, eager.tensor([[2, 0]]))
    assert corner.tolist() == [[8, 1]]


def test_gather_of_the_classic_label_pick_and_its_gradient():
    logits = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    labels = eager.tensor([[1], [0]])
    (grad,), weights = _grad(lambda x: x.gather(1, labels), logits)
    np.testing.assert_array_equal(grad, [[0, 1, 0], [2, 0, 0]])
    # repeated indices accumulate their gradients
    (grad,), _ = _grad(lambda x: x.gather(0, eager.tensor([1, 1, 0])), [1.0, 2.0])
    np.testing.assert_array_equal(grad, [3.0, 3.0])


def test_gather_on_empty_and_0d_tensors():
    empty = eager.zeros(0, 3).gather(1, eager.zeros(0, 2, dtype=eager.int64))
    assert empty.shape == (0, 2) and empty.dtype == eager.float32
    none_picked = eager.ones(2, 3).gather(1, eager.zeros(2, 0, dtype=eager.int64))
    assert none_picked.shape == (2, 0)
    assert eager.tensor(5.0).gather(0, eager.tensor(0)).item() == 5.0


@pytest.mark.parametrize("bad, message", [
    (5, r"gather: index 5 at position \(1, 0\) of the indices is out of range for axis 1 "
        r"\(size 3\) of shape \(2, 3\)"),
    (-1, r"index -1 at position \(1, 0\) .*negative indices are not wrapped"),
])
def test_gather_refuses_an_index_out_of_range_before_any_kernel(no_kernels, bad, message):
    x = eager.ones(2, 3)
    index = eager.tensor([[0, 2], [bad, 1]])
    with pytest.raises(IndexError, match=message.replace("gather", "take_along_axis")) as info:
        x.gather(1, index)
    assert isinstance(info.value, RuntimeError)  # PyTorch raises RuntimeError here
    assert info.value.site.filename == __file__


def test_gather_refuses_bad_index_dtypes_ranks_dims_and_shapes():
    x = eager.ones(2, 3)
    with pytest.raises(DTypeError, match="gather: index has dtype float32; it must be int64"):
        x.gather(1, eager.tensor([[0.0], [1.0]]))
    with pytest.raises(ShapeError, match=r"indices of shape \(2,\) must have as many "
                                         r"dimensions as the input of shape \(2, 3\)"):
        x.gather(1, eager.tensor([0, 1]))
    with pytest.raises(ShapeError, match="gather: axis 2 is out of range for a 2-d input"):
        x.gather(2, eager.tensor([[0]]))
    with pytest.raises(ShapeError, match=r"indices of shape \(3, 1\) are larger than the "
                                         r"input of shape \(2, 3\) along axis 0"):
        x.gather(1, eager.zeros(3, 1, dtype=eager.int64))


# -- scatter and scatter_add ----------------------------------------------------------------------


def test_scatter_writes_src_or_a_value_along_dim():
    x = eager.zeros(3, 4)
    index = eager.tensor([[0, 1, 2, 0], [2, 0, 0, 1]])
    src = eager.arange(1.0, 9.0).reshape(2, 4)
    expected = np.zeros((3, 4), np.float32)
    np.put_along_axis(expected, index.numpy(), src.numpy(), 0)
    np.testing.assert_array_equal(eager.scatter(x, 0, index, src).numpy(), expected)
    assert x.sum().item() == 0  # out of place
    by_value = x.scatter(1, eager.tensor([[3], [0], [1]]), 7.5)
    assert by_value.tolist() == [[0, 0, 0, 7.5], [7.5, 0, 0, 0], [0, 7.5, 0, 0]]
    assert x.scatter(1, eager.tensor([[3], [0], [1]]), value=1).sum().item() == 3
    # src larger than index: only the corner the index covers is read, as in PyTorch
    corner = eager.zeros(2, 2).scatter(1, eager.tensor([[1], [0]]), eager.tensor([[1.0, 9.0],
                                                                                  [2.0, 9.0]]))
    assert corner.tolist() == [[0.0, 1.0], [2.0, 0.0]]


def test_scatter_with_repeated_places_keeps_the_last_value():
    out = eager.zeros(3).scatter(0, eager.tensor([1, 1, 1]), eager.tensor([1.0, 2.0, 3.0]))
    assert out.tolist() == [0.0, 3.0, 0.0]


def test_scatter_gradients_skip_the_overwritten_input():
    index = eager.tensor([[2], [0]])
    (grad_input, grad_src), weights = _grad(lambda x, s: x.scatter(1, index, s),
                                            np.ones((2, 3)), [[5.0], [6.0]])
    np.testing.assert_array_equal(grad_input, [[1, 2, 0], [0, 5, 6]])
    np.testing.assert_array_equal(grad_src, [[3], [4]])


def test_scatter_add_sums_repeated_places_and_passes_gradients_through():
    index = eager.tensor([0, 2, 0, 0])
    out = eager.zeros(3, dtype=eager.int64).scatter_add(0, index, eager.tensor([1, 2, 3, 4]))
    assert out.tolist() == [8, 0, 2] and out.dtype == eager.int64
    assert eager.zeros(3).scatter(0, index, eager.ones(4), reduce="add").tolist() == [3, 0, 1]
    (grad_input, grad_src), _ = _grad(lambda x, s: eager.scatter_add(x, 0, index, s),
                                      np.zeros(3), np.ones(4))
    np.testing.assert_array_equal(grad_input, [1, 2, 3])
    np.testing.assert_array_equal(grad_src, [1, 3, 1, 1])


def test_scatter_in_place_changes_the_tensor_and_returns_it():
    x = eager.zeros(2, 3)
    version = x._version[0]
    result = x.scatter_(1, eager.tensor([[1], [2]]), 4.0)
    assert result is x and x.tolist() == [[0, 4, 0], [0, 0, 4]]
    x.scatter_add_(0, eager.tensor([[1, 1, 1]]), eager.ones(1, 3))
    assert x.tolist() == [[0, 4, 0], [1, 1, 5]] and x._version[0] == version + 2


def test_scatter_in_place_gradients_flow_to_src_and_the_old_contents():
    base = eager.tensor([1.0, 2.0, 3.0], requires_grad=True)
    src = eager.tensor([10.0], requires_grad=True)
    y = base * 1
    y.scatter_(0, eager.tensor([1]), src)
    (y * eager.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert base.grad.tolist() == [1.0, 0.0, 3.0] and src.grad.tolist() == [2.0]


@pytest.mark.parametrize("bad, where", [(3, r"\(0, 1\)"), (-2, r"\(0, 1\)")])
def test_scatter_in_place_refuses_bad_indices_and_leaves_the_tensor(no_kernels, bad, where):
    x = eager.arange(6.0).reshape(2, 3)
    version = x._version[0]
    with pytest.raises(IndexError, match=rf"index {bad} at position {where} of the indices is "
                                         r"out of range for axis 1 \(size 3\)"):
        x.scatter_(1, eager.tensor([[0, bad]]), eager.ones(1, 2))
    with pytest.raises(RuntimeError, match=f"index {bad}"):
        x.scatter_add_(1, eager.tensor([[0, bad]]), eager.ones(1, 2))
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]] and x._version[0] == version


def test_scatter_refuses_mismatched_dtypes_shapes_and_arguments():
    x = eager.zeros(2, 3)
    index = eager.tensor([[0], [1]])
    with pytest.raises(DTypeError, match="scatter: src has dtype int64 but input has dtype "
                                         "float32"):
        x.scatter_(1, index, eager.tensor([[1], [2]]))
    with pytest.raises(ShapeError, match=r"scatter_add: index of shape \(2, 1\) must have the "
                                         r"number of dimensions of src, of shape \(2,\)"):
        x.scatter_add(1, index, eager.ones(2))
    with pytest.raises(DTypeOverflowError, match="cannot be converted to int32"):
        eager.zeros(2, 3, dtype=eager.int32).scatter(1, index, 2**40)
    with pytest.raises(TypeError, match="scatter: give src or value, not both"):
        x.scatter(1, index, eager.ones(2, 1), value=1.0)
    with pytest.raises(TypeError, match="scatter_add: src must be a tensor"):
        x.scatter_add(1, index, 1.0)
    with pytest.raises(ArgumentError, match="reduce must be None or 'add'"):
        x.scatter(1, index, eager.ones(2, 1), reduce="multiply")
    assert x.sum().item() == 0


# -- index_select ---------------------------------------------------------------------------------


def test_index_select_picks_slices_in_order():
    x = np.arange(12.0).reshape(3, 4)
    got = eager.tensor(x).index_select(-1, eager.tensor([3, 0, 3]))
    np.testing.assert_array_equal(got.numpy(), x[:, [3, 0, 3]])
    assert eager.index_select(eager.tensor(x), 0, eager.tensor(2)).shape == (1, 4)
    assert eager.tensor(x).index_select(0, eager.zeros(0, dtype=eager.int64)).shape == (0, 4)
    (grad,), _ = _grad(lambda t: t.index_select(0, eager.tensor([1, 1])), [[1.0], [2.0]])
    np.testing.assert_array_equal(grad, [[0.0], [3.0]])


def test_index_select_refuses_matrices_and_out_of_range_positions(no_kernels):
    x = eager.ones(3, 2)
    with pytest.raises(IndexError, match=r"index must be a vector \(0-d or 1-d\), got a "
                                         r"tensor of shape \(1, 2\)"):
        x.index_select(0, eager.tensor([[0, 1]]))
    with pytest.raises(IndexError, match=r"index 3 at position \(1,\) is out of range for "
                                         r"axis 0 \(size 3\)"):
        x.index_select(0, eager.tensor([0, 3]))
    with pytest.raises(IndexError, match="index -1 at position"):
        x.index_select(0, eager.tensor([-1]))


# -- masked_fill and where ------------------------------------------------------------------------


def test_masked_fill_writes_where_the_mask_holds_and_broadcasts():
    scores = eager.zeros(2, 3)
    causal = eager.tensor([[False, True, True]])
    filled = scores.masked_fill(causal, float("-inf"))
    assert filled.tolist() == [[0, -np.inf, -np.inf]] * 2
    assert eager.masked_fill(eager.tensor([1, 2]), eager.tensor([True, False]), 9).tolist() \
        == [9, 2]
    scores.masked_fill_(causal, -1.0)
    assert scores.tolist() == [[0.0, -1.0, -1.0]] * 2


def test_masked_fill_with_a_0d_tensor_value_passes_gradients_to_it():
    x = eager.tensor([1.0, 2.0, 3.0], requires_grad=True)
    value = eager.tensor(5.0, requires_grad=True)
    out = x.masked_fill(eager.tensor([True, False, True]), value)
    (out * eager.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert out.tolist() == [5.0, 2.0, 5.0]
    assert x.grad.tolist() == [0.0, 2.0, 0.0] and value.grad.item() == 4.0


def test_masked_fill_refuses_int_masks_big_numbers_and_enlarging_masks():
    x = eager.tensor([[1, 2], [3, 4]], dtype=eager.int32)
    with pytest.raises(DTypeError, match="masked_fill: mask has dtype int64; it must be bool"):
        x.masked_fill(eager.tensor([1, 0]), 0)
    with pytest.raises(DTypeOverflowError, match="cannot be converted to int32"):
        x.masked_fill(eager.tensor([True, False]), 2**40)
    with pytest.raises(ShapeError, match=r"masked_fill_: a mask of shape \(3, 2, 2\) would "
                                         r"enlarge the tensor of shape \(2, 2\)"):
        x.masked_fill_(eager.ones(3, 2, 2, dtype=eager.bool), 0)
    with pytest.raises(ShapeError, match="value must be a number or a 0-d tensor"):
        x.masked_fill_(eager.tensor([True, False]), eager.tensor([1, 2]))
    assert x.tolist() == [[1, 2], [3, 4]]


def test_where_selects_and_with_the_condition_alone_lists_indices():
    x = eager.tensor([[-1.0, 2.0], [3.0, -4.0]])
    assert eager.where(x > 0, x, 0.0).tolist() == [[0.0, 2.0], [3.0, 0.0]]
    assert x.where(x > 0, eager.tensor(-9.0)).tolist() == [[-9.0, 2.0], [3.0, -9.0]]
    rows, cols = eager.where(x > 0)
    assert rows.dtype == cols.dtype == eager.int64
    assert (rows.tolist(), cols.tolist()) == tuple(a.tolist() for a in np.nonzero(x.numpy() > 0))
    assert x.nonzero().tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert eager.nonzero(eager.zeros(0, 3)).shape == (0, 2)
    assert [t.tolist() for t in eager.tensor(2.0).nonzero(as_tuple=True)] == [[0]]
    with pytest.raises(DTypeError, match="condition has dtype float32"):
        eager.where(x, x, 0.0)


# -- sort, argsort, topk --------------------------------------------------------------------------


def _stable_order(row, descending):
    return sorted(range(len(row)), key=lambda j: row[j], reverse=descending)


@pytest.mark.parametrize("dtype", [eager.int32, eager.int64, eager.float32, eager.float64,
                                   eager.bool])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_stable_with_ties_in_every_dtype(dtype, descending):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 3, size=(4, 50)).astype(dtype)
    result = eager.tensor(data).sort(dim=-1, descending=descending)
    assert isinstance(result, tuple) and result._fields == ("values", "indices")
    values, indices = result
    expected = np.array([_stable_order(row, descending) for row in data])
    np.testing.assert_array_equal(indices.numpy(), expected)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(data, expected, 1))
    assert values.dtype == dtype and indices.dtype == eager.int64
    np.testing.assert_array_equal(eager.argsort(eager.tensor(data), -1, descending).numpy(),
                                  expected)


def test_sort_puts_nan_above_every_number_and_works_along_any_dim():
    x = eager.tensor([[3.0, float("nan"), -1.0], [float("nan"), 0.0, float("inf")]])
    ascending = x.sort(1)
    assert ascending.indices.tolist() == [[2, 0, 1], [1, 2, 0]]
    assert x.sort(1, descending=True).indices.tolist() == [[1, 0, 2], [0, 2, 1]]
    assert x.sort(dim=0).indices.tolist() == [[0, 1, 0], [1, 0, 1]]
    assert eager.sort(eager.zeros(0, 4), dim=0).values.shape == (0, 4)


def test_topk_gives_the_largest_with_lower_indices_first_among_ties():
    x = eager.tensor([[1, 5, 3, 5, 5], [2, 2, 2, 2, 0]])
    values, indices = x.topk(3)
    assert values.tolist() == [[5, 5, 5], [2, 2, 2]]
    assert indices.tolist() == [[1, 3, 4], [0, 1, 2]]
    smallest = eager.topk(eager.tensor([[2, 1], [1, 1], [1, 0]]), 2, dim=0, largest=False)
    assert smallest._fields == ("values", "indices")
    assert smallest.values.tolist() == [[1, 0], [1, 1]]
    assert smallest.indices.tolist() == [[1, 2], [2, 0]]
    assert x.topk(0).values.shape == (2, 0)
    nan_first = eager.tensor([1.0, float("nan"), 7.0]).topk(2)
    assert nan_first.indices.tolist() == [1, 2]


@pytest.mark.parametrize("largest", [True, False])
def test_topk_of_a_few_from_long_rows_is_the_head_of_the_stable_sort(largest):
    data = np.random.default_rng(5).integers(0, 4, size=(3, 100)).astype(np.float64)
    data[0, [7, 50]] = np.nan
    x = eager.tensor(data)
    top, head = x.topk(5, largest=largest), x.sort(descending=largest)
    assert top.indices.tolist() == head.indices[:, :5].tolist()
    np.testing.assert_array_equal(top.values.numpy(), head.values[:, :5].numpy())


def test_topk_gradient_reaches_the_picked_elements_only():
    (grad,), _ = _grad(lambda t: t.topk(2, dim=1).values, [[0.1, 0.9, 0.5], [0.3, 0.2, 0.4]])
    np.testing.assert_array_equal(grad, [[0, 1, 2], [4, 0, 3]])
    (grad,), _ = _grad(lambda t: t.sort(descending=True).values, [0.5, 0.1, 0.9])
    np.testing.assert_array_equal(grad, [2, 3, 1])


def test_topk_refuses_k_beyond_the_dimension():
    with pytest.raises(ArgumentError, match=r"topk: k=4 is out of range for axis 1 \(size 3\) "
                                            r"of shape \(2, 3\); k must lie in \[0, 3\]"):
        eager.ones(2, 3).topk(4)
    with pytest.raises(ArgumentError, match="k=-1 is out of range"):
        eager.ones(2, 3).topk(-1, dim=0)
    with pytest.raises(ShapeError, match="topk: axis 2 is out of range for a 2-d input"):
        eager.ones(2, 3).topk(1, dim=2)


# -- cumsum and cumprod ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, expected", [(eager.int32, eager.int64), (eager.bool, eager.int64),
                                             (eager.int64, eager.int64),
                                             (eager.float32, eager.float32)])
def test_cumsum_and_cumprod_follow_pytorch_dtypes(dtype, expected):
    data = np.array([[1, 0, 2], [3, 1, 1]]).astype(dtype)
    for method, reference in (("cumsum", np.cumsum), ("cumprod", np.cumprod)):
        got = getattr(eager.tensor(data), method)(-1)
        assert got.dtype == expected
        np.testing.assert_array_equal(got.numpy(), reference(data, -1))


def test_cumsum_with_dtype_negative_dims_and_empty_tensors():
    x = eager.tensor([[1, 2], [3, 4]])
    assert eager.cumsum(x, dim=-2, dtype=eager.float64).tolist() == [[1.0, 2.0], [4.0, 6.0]]
    assert eager.cumsum(x, 0, dtype=eager.float64).dtype == eager.float64
    assert eager.zeros(0, 3).cumsum(0).shape == (0, 3)
    assert eager.tensor(2.0).cumprod(0).item() == 2.0
    with pytest.raises(ShapeError, match="cumsum: axis 2 is out of range for a 2-d input"):
        x.cumsum(2)


def test_cumsum_of_float32_accumulates_in_float64():
    x = eager.full((100_000,), 0.1)
    total = x.cumsum(0)[-1].item()
    assert abs(total - 10_000.0) < 1e-3  # a float32 running sum is off by about 1


@pytest.mark.parametrize("values", [[2.0, 0.0, 3.0, 4.0], [0.0, 2.0, 0.0, 5.0],
                                    [1.5, -2.0, 0.5, 3.0]])
def test_cumprod_gradient_is_exact_with_zeros(values):
    weights = np.array([1.0, -2.0, 3.0, 0.5])

    def loss(x):
        return float(np.sum(np.cumprod(x) * weights))

    x = eager.tensor(values, dtype=eager.float64, requires_grad=True)
    (x.cumprod(0) * eager.tensor(weights)).sum().backward()
    numeric = []
    for j in range(len(values)):
        step = np.zeros(len(values))
        step[j] = 1e-6
        numeric.append((loss(np.array(values) + step) - loss(np.array(values) - step)) / 2e-6)
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-6, atol=1e-8)


# -- flip, roll, tril, triu -----------------------------------------------------------------------


def test_flip_returns_a_copy_reversed_along_dims():
    data = np.arange(24).reshape(2, 3, 4)
    x = eager.tensor(data)
    np.testing.assert_array_equal(eager.flip(x, (0, -1)).numpy(), np.flip(data, (0, -1)))
    np.testing.assert_array_equal(x.flip(1).numpy(), np.flip(data, 1))
    np.testing.assert_array_equal(x.flip(0, 2).numpy(), x.flip([0, 2]).numpy())
    flipped = x.flip(0)
    flipped.add_(100)
    assert x.tolist() == data.tolist()  # a copy, as in PyTorch
    with pytest.raises(ShapeError, match=r"flip: axes \(1, 1\) name an axis more than once"):
        x.flip(1, -2)


def test_roll_rotates_along_dims_or_the_flattened_tensor():
    data = np.arange(12).reshape(3, 4)
    x = eager.tensor(data)
    np.testing.assert_array_equal(x.roll(5).numpy(), np.roll(data, 5))
    np.testing.assert_array_equal(eager.roll(x, (1, -1), (0, 1)).numpy(),
                                  np.roll(data, (1, -1), (0, 1)))
    np.testing.assert_array_equal(x.roll(-7, dims=-1).numpy(), np.roll(data, -7, -1))
    with pytest.raises(ArgumentError, match=r"roll: shifts \(1, 2\) and axes \(0,\) must have "
                                            "the same length"):
        x.roll((1, 2), 0)
    (grad,), _ = _grad(lambda t: t.roll(1), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(grad, [2.0, 3.0, 1.0])


def test_tril_and_triu_keep_a_triangle_of_the_last_two_dims():
    data = np.arange(1, 25).reshape(2, 3, 4)
    x = eager.tensor(data)
    for diagonal in (-1, 0, 2):
        np.testing.assert_array_equal(x.tril(diagonal).numpy(), np.tril(data, diagonal))
        np.testing.assert_array_equal(eager.triu(x, diagonal=diagonal).numpy(),
                                      np.triu(data, diagonal))
    causal = eager.tril(eager.ones(3, 3, dtype=eager.bool))
    assert causal.dtype == eager.bool and causal.sum().item() == 6
    (grad,), weights = _grad(lambda t: t.triu(), np.ones((2, 2)))
    np.testing.assert_array_equal(grad, np.triu(weights))
    with pytest.raises(ShapeError, match=r"tril: the input must have at least 2 dimensions, "
                                         r"got shape \(3,\)"):
        eager.ones(3).tril()


# -- optional comparisons with PyTorch ------------------------------------------------------------


@pytest.mark.torch
def test_values_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    data = rng.normal(size=(3, 5))
    data[0, 1] = data[0, 3] = 0.0  # ties, and zeros for cumprod
    index = rng.integers(0, 3, size=(2, 5))
    distinct = np.array([[4, 0], [1, 2], [3, 0]])  # no place written twice in a row
    mask = data > 0.3
    cases = {
        "gather": lambda m, x: m.gather(x, 0, _as(m, index)),
        "scatter": lambda m, x: m.scatter(x, 1, _as(m, distinct), x[:, :2] * 2),
        "scatter_value": lambda m, x: x.scatter(1, _as(m, distinct), -3.0),
        "scatter_add": lambda m, x: m.scatter_add(x, 0, _as(m, index), x[:2] * 2),
        "index_select": lambda m, x: m.index_select(x, 1, _as(m, np.array([4, 0, 4]))),
        "masked_fill": lambda m, x: x.masked_fill(_as(m, mask), -2.0),
        "where": lambda m, x: m.where(_as(m, mask), x, x * 3),
        "topk": lambda m, x: m.topk(x, 2, dim=0).values,  # no ties along dim 0
        "sort": lambda m, x: m.sort(x, dim=0, descending=True).values,
        "cumsum": lambda m, x: m.cumsum(x, dim=1),
        "cumprod": lambda m, x: m.cumprod(x, dim=1),
        "flip": lambda m, x: m.flip(x, (0, 1)),
        "roll": lambda m, x: m.roll(x, (1, -2), (0, 1)),
        "tril": lambda m, x: m.tril(x, -1),
        "triu": lambda m, x: m.triu(x, 1),
    }
    for name, case in cases.items():
        ours_in = eager.tensor(data, requires_grad=True)
        theirs_in = torch.tensor(data, requires_grad=True)
        ours, theirs = case(eager, ours_in), case(torch, theirs_in)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
    ties = np.array([[1, 3, 3, 0, 3]])
    for descending in (False, True):
        assert eager.tensor(ties).sort(descending=descending, stable=True).indices.tolist() \
            == torch.tensor(ties).sort(descending=descending, stable=True).indices.tolist()
        assert eager.argsort(eager.tensor(data), 0, descending, stable=True).tolist() \
            == torch.argsort(torch.tensor(data), 0, descending, stable=True).tolist()
    assert [t.tolist() for t in eager.where(eager.tensor(mask))] \
        == [t.tolist() for t in torch.where(torch.tensor(mask))]


def _as(module, array):
    return module.tensor(array)
