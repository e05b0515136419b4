"""Autograd semantics a PyTorch user relies on, and the safety errors with their messages."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import eager
from eager import Tensor


def leaf(values, dtype="float64"):
    return eager.tensor(np.asarray(values, dtype), requires_grad=True)


def test_gradients_accumulate_into_leaves_only():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    z = (y * y).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 18 * np.array([1.0, 2.0]))
    assert y.grad is None and y.grad_fn is not None and not y.is_leaf
    (x * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 18 * np.array([1.0, 2.0]) + 2)


def test_requires_grad_propagates_and_no_grad_stops_it():
    x = leaf([1.0])
    c = eager.tensor([2.0])
    assert (x * c).requires_grad and not (c * c).requires_grad
    with eager.no_grad():
        y = x * c
        with eager.enable_grad():
            assert (x * c).requires_grad
    assert not y.requires_grad and y.grad_fn is None

    @eager.no_grad()
    def frozen(t):
        return t * 2

    assert not frozen(x).requires_grad


def test_set_grad_enabled_switches_at_once_and_restores_as_a_block_or_decorator():
    x = leaf([1.0])
    with eager.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with eager.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not eager.is_grad_enabled()
    assert eager.is_grad_enabled()
    with pytest.raises(KeyError):
        with eager.set_grad_enabled(False):
            {}["missing"]
    assert eager.is_grad_enabled()

    @eager.set_grad_enabled(False)
    def frozen(t):
        return t * 2

    assert eager.is_grad_enabled()  # decorating switches nothing
    assert not frozen(x).requires_grad and eager.is_grad_enabled()

    try:
        eager.set_grad_enabled(False)  # a plain call switches, and stays switched
        assert not eager.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        eager.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_fan_out_sums_both_paths():
    x = leaf([3.0])
    y = x * x + x  # x used three times
    y.backward(eager.ones(1, dtype="float64"))
    np.testing.assert_allclose(x.grad.numpy(), [2 * 3.0 + 1])


def test_backward_twice_without_retain_graph_names_the_problem():
    x = leaf([1.0, 2.0])
    loss = (x.exp() * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    loss = (x.exp()).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]))


def test_non_scalar_backward_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (x * 2).backward()
    (x * 2).backward(gradient=eager.tensor([1.0, 10.0], dtype="float64"))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        eager.tensor([1.0]).sum().backward()


def test_in_place_change_of_a_saved_value_is_detected():
    x = leaf([1.0, 2.0])
    y = x * 1.0
    z = y * y  # saves y
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation.*MulBackward"):
        z.sum().backward()


def test_in_place_on_an_output_saved_by_exp_is_detected():
    x = leaf([1.0, 2.0])
    y = x.exp()  # saves its output
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match="output 0 of ExpBackward.*version 1; expected "
                                           "version 0"):
        y.sum().backward()


def test_in_place_on_a_leaf_that_requires_grad_is_refused():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad.*in-place"):
        x.add_(1.0)
    with eager.no_grad():
        x.add_(1.0)  # the optimizer's way
    np.testing.assert_allclose(x.detach().numpy(), [2.0])


def test_in_place_on_a_non_leaf_keeps_gradients_right():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    y.mul_(3.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_setitem_is_differentiable():
    x = leaf([1.0, 2.0, 3.0])
    v = leaf([10.0])
    y = x * 1.0
    y[1:2] = v * 2.0
    (y * eager.tensor([1.0, 2.0, 3.0], dtype="float64")).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 3.0])
    np.testing.assert_allclose(v.grad.numpy(), [4.0])


def test_grad_returns_gradients_without_touching_dot_grad():
    x = leaf([1.0, 2.0])
    (g,) = eager.grad((x ** 3).sum(), x)
    np.testing.assert_allclose(g.numpy(), 3 * np.array([1.0, 2.0]) ** 2)
    assert x.grad is None


def test_second_order_with_create_graph():
    x = leaf([0.5, -1.5])
    (g,) = eager.grad(x.tanh().sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = eager.grad(g.sum(), x)
    t = np.tanh([0.5, -1.5])
    np.testing.assert_allclose(h.numpy(), -2 * t * (1 - t ** 2), rtol=1e-12)


def test_unused_input_needs_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="was not used"):
        eager.grad((x * 2).sum(), [x, unused])
    gx, gu = eager.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx.tolist() == [2.0]


def test_hooks_see_and_can_replace_gradients():
    x = leaf([1.0, 2.0])
    seen = []
    y = x * 2.0
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 10.0)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 20.0])


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = leaf([1.0, 2.0])
    y = x * x
    y.retain_grad()
    (y * 3.0).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [3.0, 3.0])


def test_detach_shares_data_but_not_history():
    x = leaf([1.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None


def test_saved_values_are_freed_after_backward():
    x = leaf(np.ones(1000))
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    assert node.saved_shapes == [] and node.released


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="only floating point tensors"):
        eager.tensor([1, 2], requires_grad=True)


def test_anomaly_mode_names_the_op_and_line_of_a_nan():
    x = leaf([-1.0])
    with eager.detect_anomaly():
        with pytest.raises(eager.AnomalyError, match=r"sqrt produced NaN at .*test_autograd") \
                as caught:
            x.sqrt()
    assert caught.value.op == "sqrt"
    assert caught.value.site[0] == __file__ and caught.value.site[2] == \
        "test_anomaly_mode_names_the_op_and_line_of_a_nan"
    y = leaf([0.0])
    with eager.detect_anomaly():
        loss = (y.sqrt() * 0.0).sum()  # forward is fine, the gradient is 0 * inf = NaN
        with pytest.raises(eager.AnomalyError, match="gradient 0 of .*Backward is NaN"):
            loss.backward()


def test_the_recorded_graph_is_introspectable():
    x = leaf([1.0, 2.0])
    y = (x * 2.0).exp()
    node = y.grad_fn
    assert node.name == "ExpBackward" and node.op.name == "exp"
    (parent, index), = node.next_functions
    assert parent.name == "MulBackward" and index == 0
    assert node.site[0] == __file__
    assert node.saved_shapes == [(2,)]
    leaf_edges = [edge for edge in parent.next_functions if edge[0] is not None]
    assert leaf_edges[0][0].name == "AccumulateGrad" and leaf_edges[0][0].variable is x


def test_a_leaf_keeps_one_accumulator_and_no_reference_cycle():
    import weakref

    x = leaf([1.0, 2.0])
    first = (x * 2.0).grad_fn.next_functions[0][0]
    assert (x + 1.0).grad_fn.next_functions[0][0] is first  # one AccumulateGrad per leaf
    gc.disable()
    try:
        y = leaf([3.0])
        alive = weakref.ref(y)
        z = (y * y).sum()
        del y
        z.backward(retain_graph=True)  # the saved input keeps the leaf; its gradient arrives
        assert alive() is not None and alive().grad.tolist() == [6.0]
        del z
        assert alive() is None  # freed by reference counting alone: no cycle through the tape
        w = leaf([1.0])
        out = (w + 1.0).sum()  # add saves nothing: the tape does not keep w alive
        accumulator = out.grad_fn.next_functions[0][0].next_functions[0][0]
        del w
        assert accumulator.variable is None and "freed leaf" in repr(accumulator)
        out.backward()  # a gradient for a leaf nobody can read any more is dropped quietly
    finally:
        gc.enable()


def test_leaf_gradients_never_share_memory_with_anything_else():
    # A first gradient nobody else holds becomes .grad without a copy; everything else is
    # copied. Each case here would alias if a shared buffer were taken.
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x + y).backward(eager.tensor([1.0, 1.0], dtype=eager.float64))  # one g for both leaves
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    x.grad.numpy()[0] = 100.0
    assert y.grad.tolist() == [1.0, 1.0]

    z = leaf([1.0, 2.0])
    seed = eager.tensor([5.0, 6.0], dtype=eager.float64)
    (z + 0.0).backward(seed)  # the user's gradient passes straight through to the leaf
    seed.numpy()[0] = -1.0
    assert z.grad.tolist() == [5.0, 6.0]

    kept = []
    w = leaf([1.0, 2.0])
    w.register_hook(lambda g: kept.append(g))  # a hook that keeps what it sees
    (w * 3.0).sum().backward()
    kept[0].numpy()[0] = 0.0
    assert w.grad.tolist() == [3.0, 3.0]

    b = leaf([1.0, 2.0])
    (b * 2.0).sum().backward()  # a fresh buffer nobody else holds: kept, and still correct
    assert b.grad.tolist() == [2.0, 2.0] and b.grad.numpy().flags.writeable


def test_graph_memory_is_released_when_the_output_dies():
    x = leaf(np.ones(10_000))
    gc.collect()
    before = eager.memory_allocated()
    y = x.exp().exp()
    assert eager.memory_allocated() > before
    del y
    gc.collect()
    assert eager.memory_allocated() == before


def test_deep_chains_backprop_without_recursion_limits():
    x = leaf([1.0])
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
    assert isinstance(y, Tensor)


@pytest.mark.parametrize("layer", ["linear", "matmul", "conv2d"])
def test_backward_skips_gradients_nobody_needs(layer, monkeypatch):
    # The data batch of a first layer does not require grad: its gradient (a GEMM, or a whole
    # transposed convolution) must not be computed, as PyTorch's needs_input_grad.
    from framework.ops import REGISTRY

    ran = []
    for name in ("matmul", "linear", "linear_weight_grad", "conv2d", "conv2d_input_grad",
                 "conv2d_weight_grad"):
        original = REGISTRY[name].cpu
        monkeypatch.setattr(REGISTRY[name], "cpu",
                            lambda self, *a, _f=original, _n=name: ran.append(_n) or _f(self, *a))
    rng = np.random.default_rng(0)
    if layer == "conv2d":
        x = eager.tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32))
        w = eager.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
        out = eager.nn.functional.conv2d(x, w)
    else:
        x = eager.tensor(rng.standard_normal((6, 3)).astype(np.float32))
        w = eager.tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
        out = eager.nn.functional.linear(x, w) if layer == "linear" else x @ w.T
    ran.clear()
    out.sum().backward()
    if layer == "conv2d":
        assert ran == ["conv2d_weight_grad"]  # no transposed convolution for the input
    elif layer == "linear":
        assert ran == ["linear_weight_grad"]  # the weight's GEMM, not the input's
    else:
        assert ran == ["matmul"]
    assert w.grad.shape == w.shape
    # With the input asking for its gradient too, both are computed and right.
    x.requires_grad_(True)
    x.grad = w.grad = None
    out = (eager.nn.functional.conv2d(x, w) if layer == "conv2d" else
           eager.nn.functional.linear(x, w) if layer == "linear" else x @ w.T)
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_leaf_gradients_count_in_the_memory_statistics():
    # .grad buffers are memory the user holds, as in PyTorch's memory_allocated.
    w = eager.zeros(1000, requires_grad=True)
    loss = (w * 2.0).sum()
    gc.collect()
    before = eager.memory_allocated()
    loss.backward()
    del loss
    gc.collect()
    assert eager.memory_allocated() - before >= w.grad._array.nbytes - 64  # less the loss
    (w * 3.0).sum().backward()  # accumulation replaces the buffer: the count stays level
    gc.collect()
    assert eager.memory_allocated() - before < 2 * w.grad._array.nbytes
    np.testing.assert_array_equal(w.grad.numpy(), np.full(1000, 5.0, np.float32))


# ---------------------------------------------------------------------------------------------
# Hooks: handles, and replacements that cannot stand for the gradient


def test_a_hook_handle_removes_the_hook():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    calls = []
    leaf_handle = x.register_hook(lambda g: calls.append("leaf") or g * 10.0)
    node_handle = y.register_hook(lambda g: calls.append("node"))
    y.sum().backward()
    assert calls == ["node", "leaf"]
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 20.0])
    leaf_handle.remove()
    node_handle.remove()
    leaf_handle.remove()  # a second remove does nothing
    x.grad = None
    (x * 2.0).sum().backward()
    assert calls == ["node", "leaf"]
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_a_hook_handle_is_a_context_manager():
    x = leaf([1.0])
    with x.register_hook(lambda g: g * 0.0):
        (x * 3.0).sum().backward()
    assert x.grad.tolist() == [0.0]
    (x * 3.0).sum().backward()
    assert x.grad.tolist() == [3.0]


@pytest.mark.parametrize("make_bad, problem", [
    (lambda g: eager.ones(5), r"changed the shape of the gradient from \(3,\) to \(5,\)"),
    (lambda g: eager.ones((3, 1)), r"from \(3,\) to \(3, 1\)"),
    (lambda g: g.double(), "changed the dtype of the gradient from float32 to float64"),
    (lambda g: 1.0, "returned a float, not a Tensor"),
])
def test_a_leaf_hook_may_not_change_the_gradient_shape_or_dtype(make_bad, problem):
    w = eager.tensor(np.ones(3, np.float32), requires_grad=True)
    w.name = "w"

    def bad_hook(g):
        return make_bad(g)

    w.register_hook(bad_hook)
    with pytest.raises(RuntimeError, match=problem) as info:
        (w * 2.0).sum().backward()
    message = str(info.value)
    assert "hook 'bad_hook'" in message and "leaf tensor 'w' of shape (3,)" in message
    assert message.count(__file__) == 2  # where it was registered, and the backward call
    assert w.grad is None  # nothing half-written


def test_a_hook_on_an_intermediate_tensor_may_not_change_the_shape():
    weight = eager.tensor(np.ones((3, 4)), requires_grad=True)
    hidden = weight * 2.0
    hidden.register_hook(lambda g: eager.ones((3, 5)))
    with pytest.raises(RuntimeError, match=r"output 0 of MulBackward .* shape \(3, 4\).*"
                                           r"from \(3, 4\) to \(3, 5\)"):
        hidden.sum().backward()
    assert weight.grad is None


def test_a_float32_leaf_keeps_a_float32_grad_under_hooks():
    w = eager.tensor(np.ones(3, np.float32), requires_grad=True)
    w.register_hook(lambda g: g * 2.0)  # a Python float keeps the dtype
    (w * 3.0).sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [6.0, 6.0, 6.0]


# ---------------------------------------------------------------------------------------------
# Threads


def test_concurrent_backward_into_one_leaf_loses_nothing(monkeypatch):
    # PyTorch accumulates every thread's gradient into a shared leaf; so must we. Adding into
    # `.grad` is a read-modify-write: a thread switch in the middle of it (forced here, at the
    # worst moment, by a sleep that yields the GIL inside the addition) must lose nothing.
    import sys
    import threading
    import time

    from framework.ops import F

    add = F.add

    def add_after_a_thread_switch(*args, **kwargs):
        time.sleep(0)
        return add(*args, **kwargs)

    monkeypatch.setattr(F, "add", add_after_a_thread_switch)
    w = eager.tensor(np.ones(1000), requires_grad=True)
    c = eager.tensor(np.full(1000, 0.5))
    threads, rounds = 8, 25
    start = threading.Barrier(threads)
    errors = []

    def work():
        try:
            start.wait()
            for _ in range(rounds):
                (w * c).sum().backward()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(switch)
    assert not errors
    np.testing.assert_array_equal(w.grad.numpy(), np.full(1000, 0.5 * threads * rounds))
