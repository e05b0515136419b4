"""The graph front-end on the GPU: `tf.device` scopes, placement in the Session (interpreted and
compiled), copies between devices, soft placement, and the kernel launches of a step.

Without a GPU the tests that run kernels run under numba's CUDA simulator: `make test` runs this
file again with NUMBA_ENABLE_CUDASIM=1. In a plain run without a GPU they skip; the device
strings, the errors and the CPU fallbacks are tested in every run. Shapes are tiny: the
simulator runs each GPU thread as a Python thread.
"""

from __future__ import annotations

import numpy as np
import pytest

import eager
import graph as tf
from eager import nn, optim
from eager.nn import functional as NF
from framework import device
from framework.errors import DeviceError
from graph import placement
from tests.cuda_setup import CUDA_PROBLEM, needs_cuda, quick_thread_switches  # noqa: F401


@pytest.fixture
def no_cuda(monkeypatch):
    """As on a machine where CUDA cannot run (whatever this one has)."""
    monkeypatch.setattr(device, "_cuda_problem", ["no usable NVIDIA GPU (test)"])


# -- device strings -----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling, canonical", [
    ("/gpu:0", "/device:GPU:0"), ("/GPU:0", "/device:GPU:0"), ("/device:GPU:0", "/device:GPU:0"),
    ("/device:gpu:1", "/device:GPU:1"), ("/cpu:0", "/device:CPU:0"),
    ("/device:CPU:0", "/device:CPU:0"), ("cuda", "/device:GPU:*"), ("cuda:0", "/device:GPU:0"),
    ("cpu", "/device:CPU:*"), ("/gpu:*", "/device:GPU:*"),
    ("/job:localhost/replica:0/task:0/device:GPU:0",
     "/job:localhost/replica:0/task:0/device:GPU:0"),
])
def test_every_spelling_gives_tf1s_canonical_device(spelling, canonical):
    with tf.Graph().as_default():
        with tf.device(spelling):
            x = tf.constant(1.0)
            y = x + 1.0
    assert x.op.device == canonical and y.op.device == canonical and y.device == canonical


def test_scopes_nest_inner_wins_partial_specs_merge_and_none_clears():
    with tf.Graph().as_default() as g:
        outside = tf.constant(0.0)
        with tf.device("/job:worker/task:1"):
            with g.device("/device:GPU:1"):  # Graph.device: the same scopes
                merged = tf.constant(1.0)
                with tf.device("/cpu:0"):
                    inner = tf.constant(2.0)
                with tf.device(None):
                    cleared = tf.constant(3.0)
            back = tf.constant(4.0)
    assert outside.op.device == ""
    assert merged.op.device == "/job:worker/task:1/device:GPU:1"
    assert inner.op.device == "/job:worker/task:1/device:CPU:0"
    assert cleared.op.device == ""
    assert back.op.device == "/job:worker/task:1"


def test_a_device_function_is_called_per_op_and_sees_inner_scopes():
    seen = []

    def matmuls_on_gpu(op):
        seen.append((op.type, op.device))
        return "/gpu:0" if op.type == "matmul" else op.device

    with tf.Graph().as_default():
        a = tf.constant(np.ones((2, 2), np.float32))
        with tf.device(matmuls_on_gpu):
            product = tf.matmul(a, a)
            total = tf.reduce_sum(product)
            with tf.device("/cpu:0"):
                pinned = tf.matmul(a, a)
    assert product.op.device == "/device:GPU:0" and total.op.device == ""
    assert pinned.op.device == "/device:GPU:0"  # the function has the last word, as in TF1
    assert ("matmul", "/device:CPU:0") in seen and ("sum", "") in seen


def test_optimizer_slots_live_on_their_variables_device_whatever_scope_minimize_runs_in():
    with tf.Graph().as_default():
        with tf.device("/gpu:0"):
            w = tf.Variable(np.ones((2, 2), np.float32), name="w")
        v = tf.Variable(np.ones(2, np.float32), name="v")
        loss = tf.reduce_sum(w) + tf.reduce_sum(v)
        with tf.device("/cpu:0"):  # TF1 colocates slots with their variable, not this scope
            optimizer = tf.train.AdamOptimizer(0.1)
            optimizer.minimize(loss)
    for slot in ("m", "v"):
        assert optimizer.get_slot(w, slot).op.device == "/device:GPU:0"
        assert optimizer.get_slot(v, slot).op.device == ""


def test_a_malformed_device_is_an_error_at_the_with_line():
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match=r"malformed device '/gpu:x'.*"
                           r"Accepted forms[\s\S]*test_graph_cuda.py"):
            with tf.device("/gpu:x"):
                pass
        for bad in ("/tpu:0", "gpu0", "/job:a//gpu:0", "/device:GPU:0:1"):
            with pytest.raises(tf.GraphError, match="malformed device"):
                tf.device(bad)
        with pytest.raises(tf.GraphError, match="got int 3"):
            tf.device(3)

        with tf.device(lambda op: "/gpu:zero"):
            with pytest.raises(tf.GraphError, match=r"returned '/gpu:zero'[\s\S]*test_graph_cuda"):
                tf.constant(1.0)


def test_session_config_is_a_config_proto():
    config = tf.ConfigProto(allow_soft_placement=True)
    assert config.allow_soft_placement and not config.log_device_placement
    with tf.Graph().as_default():
        assert tf.Session(config=config).config is config
        with pytest.raises(tf.GraphError, match="config must be a tf.ConfigProto"):
            tf.Session(config={"allow_soft_placement": True})
    with pytest.raises(tf.GraphError, match="no gpu_options setting; it takes "
                       "allow_soft_placement and log_device_placement"):
        tf.ConfigProto(gpu_options=None)


# -- placement without a GPU --------------------------------------------------------------------


def test_a_pure_cpu_graph_has_no_placement_and_runs_as_before():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2,))
        w = tf.Variable(np.float32([1.0, 2.0]))
        with tf.device("/cpu:0"):
            y = tf.reduce_sum(x * w)
        z = tf.reduce_sum(x * w)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(y, {x: [3.0, 4.0]}) == 11.0
            for fetch in (y, z):
                plan = sess._plan([fetch], sess._validate_feeds({x: np.zeros(2, np.float32)}))
                assert plan[2] is None
            assert type(sess._variables[w.op]) is np.ndarray


def test_a_gpu_op_without_cuda_names_the_op_device_and_line(no_cuda):
    with tf.Graph().as_default():
        with tf.device("/gpu:0"):
            y = tf.constant(2.0) * 3.0  # the line the error names
        with tf.Session() as sess:
            with pytest.raises(DeviceError, match=r"cannot place 'mul' \(mul\) on "
                               r"/device:GPU:0: .*no usable NVIDIA GPU.*allow_soft_placement"
                               r"[\s\S]*test_graph_cuda.py.*y = tf.constant"):
                sess.run(y)


def test_soft_placement_falls_back_to_the_cpu(no_cuda):
    with tf.Graph().as_default():
        with tf.device("/gpu:0"):
            w = tf.Variable(np.float32([1.0, 2.0]))
            y = tf.reduce_sum(w * 3.0)
        with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(y) == 9.0
            assert type(sess._variables[w.op]) is np.ndarray


# -- on the GPU ---------------------------------------------------------------------------------

BATCH, FEATURES, HIDDEN, CLASSES = 4, 3, 5, 2
RNG = np.random.default_rng(7)
X = RNG.standard_normal((BATCH, FEATURES)).astype(np.float32)
Y = RNG.integers(0, CLASSES, BATCH)


def _mlp(device_name, optimizer, *, first_layer_device=None):
    """A TF1 MLP training step with every op under `device_name` (the first layer under
    `first_layer_device` when given): (graph, x, y, variables, loss, train_op)."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(3)
        x = tf.placeholder(tf.float32, (None, FEATURES), name="x")
        y = tf.placeholder(tf.int64, (None,), name="y")
        with tf.device(device_name):
            with tf.device(first_layer_device or device_name):
                w1 = tf.Variable(tf.glorot_uniform_initializer()((FEATURES, HIDDEN)), name="w1")
                b1 = tf.Variable(np.zeros(HIDDEN, np.float32), name="b1")
                hidden = tf.nn.relu(tf.matmul(x, w1) + b1)
            w2 = tf.Variable(tf.glorot_uniform_initializer()((HIDDEN, CLASSES)), name="w2")
            b2 = tf.Variable(np.zeros(CLASSES, np.float32), name="b2")
            logits = tf.matmul(hidden, w2) + b2
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=logits))
            train_op = optimizer().minimize(loss)
    return graph, x, y, [w1, b1, w2, b2], loss, train_op


def _train(model, steps=3, compile=False):  # noqa: A002
    graph, x, y, variables, loss, train_op = model
    with graph.as_default(), tf.Session(compile=compile) as sess:
        sess.run(tf.global_variables_initializer())
        losses = [sess.run([loss, train_op], {x: X, y: Y})[0] for _ in range(steps)]
        stored = [sess._variables[v.op] for v in variables]
        return losses, sess.run(variables), stored


def _gradient_descent():
    return tf.train.GradientDescentOptimizer(0.5)


def _adam():
    return tf.train.AdamOptimizer(0.05)


@needs_cuda
@pytest.mark.parametrize("optimizer", [_gradient_descent, _adam], ids=["sgd", "adam"])
def test_an_mlp_step_on_the_gpu_matches_the_cpu(optimizer):
    cpu_losses, cpu_values, _ = _train(_mlp("/cpu:0", optimizer))
    gpu_losses, gpu_values, stored = _train(_mlp("/gpu:0", optimizer))
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-5, atol=1e-6)
    assert cpu_losses[-1] < cpu_losses[0]
    for gpu, cpu in zip(gpu_values, cpu_values):
        assert type(gpu) is np.ndarray  # fetches come back as NumPy arrays
        np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-6)
    # The variables stay resident on the device between runs.
    assert all(device.device_of(value).type == "cuda" for value in stored)


@needs_cuda
def test_the_compiled_step_on_the_gpu_matches_and_counts_its_launches():
    cpu_losses, cpu_values, _ = _train(_mlp("/cpu:0", _gradient_descent))
    graph, x, y, variables, loss, train_op = _mlp("/gpu:0", _gradient_descent)
    with graph.as_default(), tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        compiled = sess.compile([loss, train_op], {x: X, y: Y})
        assert compiled.launches is None and "not counted yet" in compiled.explain()
        losses = [compiled.run({x: X, y: Y})[0] for _ in range(3)]
        assert all(device.device_of(sess._variables[v.op]).type == "cuda" for v in variables)
        np.testing.assert_allclose(losses, cpu_losses, rtol=1e-5, atol=1e-6)
        for value, expected in zip(sess.run(variables), cpu_values):
            np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)
        assert compiled.launches > 0
        assert f"kernel launches per step: {compiled.launches}" in compiled.explain()
        assert "on cuda:0" in compiled.source()
    graph_launches = compiled.launches

    # The same model in eager, one step: the compiled graph launches no more kernels.
    eager.manual_seed(0)
    model = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(),
                          nn.Linear(HIDDEN, CLASSES)).to("cuda")
    sgd = optim.SGD(model.parameters(), lr=0.5)
    inputs, labels = eager.tensor(X).to("cuda"), eager.tensor(Y).to("cuda")
    from framework.kernels.cuda import counting_launches

    with counting_launches() as launches:
        sgd.zero_grad()
        NF.cross_entropy(model(inputs), labels).backward()
        sgd.step()
    assert 0 < graph_launches <= launches.count


@needs_cuda
def test_the_cpu_compiled_step_has_no_launch_count():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2,))
        y = tf.reduce_sum(x * 2.0)
        with tf.Session() as sess:
            compiled = sess.compile(y, {x: [1.0, 2.0]})
            assert compiled.run({x: [1.0, 2.0]}) == 6.0
    assert compiled.launches is None and "kernel launches" not in compiled.explain()


@needs_cuda
@pytest.mark.parametrize("compile", [False, True], ids=["interpreted", "compiled"])
def test_mixed_placement_copies_between_devices(compile):  # noqa: A002
    cpu_losses, cpu_values, _ = _train(_mlp("/cpu:0", _gradient_descent), compile=compile)
    losses, values, stored = _train(_mlp("/gpu:0", _gradient_descent, first_layer_device="/cpu:0"),
                                    compile=compile)
    np.testing.assert_allclose(losses, cpu_losses, rtol=1e-5, atol=1e-6)
    for value, expected in zip(values, cpu_values):
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)
    # The first layer's variables on the host, the second's on the device.
    assert [device.device_of(value).type for value in stored] == ["cpu", "cpu", "cuda", "cuda"]


@needs_cuda
def test_feeds_are_copied_once_per_run_and_constants_once_per_session(monkeypatch):
    copied = []
    to_device = device.to_device

    def counting(array, where):
        copied.append(np.asarray(array).shape)
        return to_device(array, where)

    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (3,), name="x")
        with tf.device("/gpu:0"):
            scale = tf.constant(np.float32([1.0, 2.0, 3.0]))
            y = tf.reduce_sum(x * scale) + tf.reduce_sum(x + scale)
        with tf.Session(compile=False) as sess:
            monkeypatch.setattr(device, "to_device", counting)
            assert sess.run(y, {x: [1.0, 1.0, 1.0]}) == 15.0
            assert len(copied) == 2  # the feed once for its two readers, the constant once
            assert sess.run(y, {x: [2.0, 2.0, 2.0]}) == 24.0
            assert len(copied) == 3  # only the new feed


@needs_cuda
def test_cpu_ops_read_gpu_values_through_a_copy_and_host_ops_run_on_the_host():
    with tf.Graph().as_default():
        with tf.device("/gpu:0"):
            w = tf.Variable(np.float32([1.0, -2.0]))
            doubled = w * 2.0
            checked = tf.check_numerics(doubled, "bad")  # a graph-level op: on the host
            flipped = tf.cond(tf.reduce_sum(w) < 0.0, lambda: -checked, lambda: checked)
        with tf.device("/cpu:0"):
            on_host = doubled + 1.0
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(on_host), [3.0, -3.0])
            np.testing.assert_array_equal(sess.run(flipped), [-2.0, 4.0])
            # A load puts the value where the variable lives.
            w.load([5.0, 6.0], sess)
            assert device.device_of(sess._variables[w.op]).type == "cuda"
            np.testing.assert_array_equal(sess.run([w, flipped]), [[5.0, 6.0], [10.0, 12.0]])


@needs_cuda
@pytest.mark.parametrize("compile", [False, True], ids=["interpreted", "compiled"])
def test_a_kernel_without_a_cuda_version_needs_soft_placement(monkeypatch, compile):  # noqa: A002
    from framework.ops.registry import REGISTRY

    monkeypatch.setattr(REGISTRY["tanh"], "cuda", None)  # as an op without a CUDA kernel
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2,))
        with tf.device("/gpu:0"):
            y = tf.tanh(x * 2.0) + 1.0  # the line the error names
        with tf.Session(compile=compile) as sess:
            with pytest.raises(DeviceError, match=r"cannot place 'tanh' \(tanh\) on "
                               r"/device:GPU:0: tanh has no CUDA kernel[\s\S]*"
                               r"test_graph_cuda.py.*y = tf.tanh"):
                sess.run(y, {x: [0.0, 1.0]})
        with tf.Session(config=tf.ConfigProto(allow_soft_placement=True),
                        compile=compile) as sess:
            for _ in range(3):  # compiled from the second run
                np.testing.assert_allclose(sess.run(y, {x: [0.0, 1.0]}),
                                           [1.0, 1.0 + np.tanh(2.0)], rtol=1e-6)


def test_placement_of_an_unplaced_op_follows_its_gpu_inputs(monkeypatch):
    monkeypatch.setattr(device, "_cuda_problem", [None])  # resolving runs no kernel
    with tf.Graph().as_default():
        with tf.device("/gpu:0"):
            w = tf.Variable(np.float32([1.0]))
        y = w * 2.0
        z = tf.check_numerics(y, "bad")  # a graph-level op: on the host
        c = tf.constant(1.0) + 1.0
        found = placement.plan_placement([w.op, y.op, z.op, c.op], tf.ConfigProto())
    assert found.device_for(y.op).type == "cuda"
    assert found.device_for(z.op).type == "cpu" and found.device_for(c.op).type == "cpu"
    assert found.device_for(w.initializer).type == "cuda"  # an assign goes with its variable


@needs_cuda
def test_log_device_placement_prints_each_ops_device(capsys):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2,), name="x")
        with tf.device("/gpu:0"):
            y = tf.reduce_sum(x * 2.0, name="total")
        with tf.Session(config=tf.ConfigProto(log_device_placement=True)) as sess:
            assert sess.run(y, {x: [1.0, 2.0]}) == 6.0
    printed = capsys.readouterr().out
    assert "total: (sum): /job:localhost/replica:0/task:0/device:GPU:0" in printed
    assert "mul: (mul): /job:localhost/replica:0/task:0/device:GPU:0" in printed
    assert "Const: (Const): /job:localhost/replica:0/task:0/device:CPU:0" in printed  # host


@needs_cuda
def test_a_saver_round_trip_keeps_gpu_variables_on_the_gpu(tmp_path):
    with tf.Graph().as_default():
        with tf.device("/gpu:0"):
            w = tf.Variable(np.float32([[1.0, 2.0], [3.0, 4.0]]), name="w")
            bump = w.assign_add(np.ones((2, 2), np.float32))
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(bump)
            path = saver.save(sess, str(tmp_path / "model"))
        with tf.Session() as sess:
            saver.restore(sess, path)
            assert device.device_of(sess._variables[w.op]).type == "cuda"
            np.testing.assert_array_equal(sess.run(w), [[2.0, 3.0], [4.0, 5.0]])
            assert sess.variable_values()["w"].dtype == np.float32


@needs_cuda
@pytest.mark.parametrize("compile", [False, True], ids=["interpreted", "compiled"])
def test_cond_and_while_loop_with_gpu_ops_in_their_bodies(compile):  # noqa: A002
    def build_and_run(device_name):
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, (3,))
            p = tf.placeholder(tf.bool, ())
            with tf.device(device_name):
                w = tf.Variable(np.float32([1.0, 2.0, 3.0]))
                y = tf.cond(p, lambda: tf.reduce_sum(x * w), lambda: tf.reduce_sum(x + w))
                # The loop's cond is computed on the GPU and read on the host each iteration.
                _, acc = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * 2.0 + w),
                                       [tf.constant(0), x])
                grad = tf.gradients(y, w)[0]
            with tf.Session(compile=compile) as sess:
                sess.run(tf.global_variables_initializer())
                ones = np.ones(3, np.float32)
                return [sess.run([y, acc, grad], {x: ones, p: taken}) for taken in
                        (True, False, True)]

    for got, expected in zip(build_and_run("/gpu:0"), build_and_run("/cpu:0")):
        for value, want in zip(got, expected):
            assert type(value) in (np.ndarray, np.float32)
            np.testing.assert_allclose(value, want, rtol=1e-6)


@needs_cuda
def test_run_metadata_counts_and_times_the_ops_run_on_the_gpu():
    from graph.session import RunMetadata

    with tf.Graph().as_default():
        with tf.device("/gpu:0"):
            w = tf.Variable(tf.random_normal((2,), seed=1), name="w")  # a draw on the GPU
            bump = w.assign_add(np.ones(2, np.float32), name="bump")
        with tf.Session() as sess:
            metadata = RunMetadata()
            sess.run(tf.global_variables_initializer(), run_metadata=metadata)
            # The draw and the assign run through the GPU's own paths, and are noted too.
            assert metadata.executed_ops == ["random_normal", "w/Assign", "init"]
            sess.run(bump, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                     run_metadata=metadata)
            assert metadata.op_counts["bump"] == 1
            assert [stat.name for stat in metadata.step_stats] == metadata.executed_ops


@needs_cuda
def test_a_cond_with_gpu_ops_in_its_branches_is_not_lowered_to_the_cpus_numba_code():
    # Lowered, a branch's ops would run on the CPU inside the numba function whatever their
    # tf.device said; left to the interpreter's path, each runs on its device.
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (3,))
        p = tf.placeholder(tf.bool, ())
        with tf.device("/gpu:0"):
            y = tf.cond(p, lambda: tf.exp(x), lambda: x * 2.0)
        feed = {x: np.float32([0.0, 1.0, 2.0]), p: True}
        with tf.Session() as sess:
            compiled = sess.compile(y, feed)
            value = sess.run(y, feed)
    (cond,) = [node for node in compiled.program.nodes if not node.is_primitive
               and node.feed is None]
    assert cond.kind.name == "Cond" and cond.control is None  # not lowered
    assert compiled.functions_source is None  # so no numba function runs its branches
    np.testing.assert_allclose(value, np.exp(np.float32([0.0, 1.0, 2.0])), rtol=1e-6)
