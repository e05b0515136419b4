"""The graph compiler: Sessions compile a plan the second time it runs, the compiled step gives
the interpreter's bits, and each pass does what it says.

The differential tests draw random graphs (elementwise chains with broadcasting, reductions,
matmuls, cond, while_loop, their gradients) and check compiled == interpreted, bit for bit.
`make test` runs a few hundred; the slow suite (`pytest -m slow`) a thousand more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graph as tf
from framework.errors import ShapeError

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# -- the compiled step ------------------------------------------------------------------------


def mlp_training():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 6), name="x")
        y = tf.placeholder(tf.int64, (None,), name="y")
        hidden = tf.layers.dense(x, 5, tf.nn.relu)
        logits = tf.layers.dense(hidden, 3)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                             logits=logits))
        train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
        init = tf.global_variables_initializer()
    return g, x, y, loss, train, init


def batch(seed, rows=8):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, 6)).astype(np.float32), rng.integers(0, 3, rows)


def test_a_plan_is_compiled_on_its_second_run(interpreted_runs):
    g, x, y, loss, train, init = mlp_training()
    with g.as_default(), tf.Session() as sess:
        sess.run(init)
        images, labels = batch(0)
        interpreted_runs[0] = 0
        for _ in range(5):
            sess.run([train, loss], {x: images, y: labels})
        assert interpreted_runs[0] == 1  # the first run; then the compiled step
        sess.run([train, loss], {x: images[:3], y: labels[:3]})  # new shapes: a new plan
        assert interpreted_runs[0] == 2


def test_compiled_training_gives_the_interpreters_bits():
    g, x, y, loss, train, init = mlp_training()
    losses, weights = {}, {}
    for compiled in (False, True):
        with g.as_default(), tf.Session(compile=compiled) as sess:
            sess.run(init)
            losses[compiled] = [sess.run([train, loss], dict(zip((x, y), batch(step))))[1]
                                for step in range(12)]
            weights[compiled] = sess.run(tf.trainable_variables())
    np.testing.assert_array_equal(losses[True], losses[False])
    for a, b in zip(weights[True], weights[False]):
        np.testing.assert_array_equal(a, b)


def test_source_and_explain_name_the_ops_and_the_passes():
    g, x, y, loss, train, init = mlp_training()
    with g.as_default(), tf.Session() as sess:
        sess.run(init)
        compiled = sess.compile([train, loss], dict(zip((x, y), batch(0))))
    source = compiled.source()
    # The whole training step is one numba function; the Python step calls it and stages
    # the variables' new values in the run (committed when the run succeeds).
    assert source.startswith("@numba.njit(cache=True)\ndef segment_0(")
    assert source.count("@numba.njit") == 1 and "\ndef step(run, feeds):" in source
    assert "linear 'dense/linear' at test_compile.py:" in source
    assert "AssignSub" in source and "run.stage(" in source
    explained = compiled.explain()
    assert "numba functions 1, nodes called from Python 0" in explained
    for name in ("dead code", "algebraic simplification", "constant folding",
                 "common subexpressions", "memory plan"):
        assert name in explained
    assert compiled.peak_bytes > 0
    # The mean's gradient only needs the batch size, known when compiling: folded.
    assert "nodes folded 0" not in explained


def test_a_value_error_in_a_compiled_step_is_the_interpreters_error():
    g, x, y, loss, train, init = mlp_training()
    with g.as_default(), tf.Session() as sess:
        sess.run(init)
        images, labels = batch(1)
        for _ in range(2):
            sess.run([train, loss], {x: images, y: labels})
        before = sess.run(tf.trainable_variables())
        labels = labels.copy()
        labels[2] = 7  # out of range for 3 classes
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(IndexError, match=r"class label 7 at position \(2,\) is out of "
                                                 r"range for 3 classes") as info:
                sess.run([train, loss], {x: images, y: labels})
        assert "while running 'cross_entropy_labels' created at" in str(info.value)
        for a, b in zip(sess.run(tf.trainable_variables()), before):
            np.testing.assert_array_equal(a, b)  # the failed step changed nothing


def test_a_snapshot_of_a_variable_is_taken_where_it_runs():
    # tf.identity(v) before an assign in the same run keeps the old value: the compiler may
    # not replace it by a read of v.
    with tf.Graph().as_default():
        v = tf.Variable(1.0)
        before = tf.identity(v)
        with tf.control_dependencies([before]):
            bump = v.assign(before * 1.0 + 1.0)
        with tf.Session() as sess:
            sess.run(v.initializer)
            compiled = sess.compile([before, bump])
            assert [sess.run([before, bump]) for _ in range(3)] == [[1.0, 2.0], [2.0, 3.0],
                                                                     [3.0, 4.0]]
    assert "read(" in compiled.source()


def test_interpreted_sessions_stay_interpreted(interpreted_runs):
    g, x, y, loss, train, init = mlp_training()
    with g.as_default(), tf.Session(compile=False) as sess:
        sess.run(init)
        interpreted_runs[0] = 0
        for _ in range(3):
            sess.run(loss, dict(zip((x, y), batch(0))))
    assert interpreted_runs[0] == 3


# -- the passes -------------------------------------------------------------------------------


def compiled_report(build):
    """(the compiled step of `build`'s fetch and feeds, its value), the value checked against
    the interpreter's bit for bit."""
    with tf.Graph().as_default():
        fetch, feed_dict = build()
        with tf.Session(compile=False) as sess:
            expected = sess.run(fetch, feed_dict)
        with tf.Session() as sess:
            compiled = sess.compile(fetch, feed_dict)
            value = sess.run(fetch, feed_dict)
    np.testing.assert_array_equal(value, expected)
    return compiled, value


def changes(compiled, name):
    return next(c for n, _, _, c, _ in compiled.report if n == name)


def test_common_subexpressions_and_dead_code():
    def build():
        x = tf.placeholder(tf.float32, (3,))
        a, b = tf.exp(x), tf.exp(x)  # the same op on the same value
        return a + b, {x: [0.0, 1.0, 2.0]}

    compiled, value = compiled_report(build)
    assert changes(compiled, "common subexpressions") == {"nodes merged": 1}
    np.testing.assert_allclose(value, 2 * np.exp([0.0, 1.0, 2.0], dtype=np.float32))
    source = compiled.source()
    assert "# fused(exp, add)" in source and "# exp '" not in source  # one exp, fused


def test_elementwise_chains_fuse_into_one_kernel_with_the_same_bits():
    def build():
        x = tf.placeholder(tf.float32, (64, 33))
        bias = tf.placeholder(tf.float32, (33,))
        column = tf.placeholder(tf.float32, (64, 1))
        y = tf.tanh(x * 0.5 + bias) * tf.exp(-tf.abs(column)) - x
        rng = np.random.default_rng(3)
        return y, {x: rng.standard_normal((64, 33)), bias: rng.standard_normal(33),
                   column: rng.standard_normal((64, 1))}

    compiled, _ = compiled_report(build)  # checks the interpreter's bits
    # exp(-abs(column)) is (64, 1): a group of its own, read by the other as a column.
    assert changes(compiled, "elementwise fusion") == {
        "groups fused": 2, "ops in them": 8,
        "groups": "fused(abs, neg, exp); fused(mul, add, tanh, mul, sub)"}  # as explain() shows
    # Each node of the numba function is one commented block: two kernels, both fused.
    kernels = [line for line in compiled.functions_source.splitlines()
               if line.startswith("    # ")]
    assert len(kernels) == 2 and all("fused(" in line for line in kernels)
    assert "fused(abs, neg, exp)" in compiled.source()
    assert "fused(mul, add, tanh, mul, sub)" in compiled.draw().source  # a node lists its ops


def test_a_fetched_intermediate_value_is_not_fused_away():
    def build():
        x = tf.placeholder(tf.float64, (5,))
        middle = tf.exp(x) * 2.0
        return [middle, tf.sqrt(middle) + 1.0], {x: np.linspace(-1, 1, 5)}

    compiled, (middle, result) = compiled_report(build)
    np.testing.assert_allclose(result, np.sqrt(middle) + 1.0)
    assert changes(compiled, "elementwise fusion")["groups fused"] == 2


def test_ops_that_differ_in_an_attribute_are_not_merged():
    def build():
        x = tf.placeholder(tf.float32, (2, 2))
        return tf.reduce_sum(x, 0) * tf.reduce_sum(x, 1), {x: [[1.0, 2.0], [3.0, 4.0]]}

    compiled, value = compiled_report(build)
    assert changes(compiled, "common subexpressions") == {"nodes merged": 0}
    np.testing.assert_array_equal(value, [4.0 * 3.0, 6.0 * 7.0])


def test_algebraic_rewrites_keep_the_bits():
    def build():
        x = tf.placeholder(tf.float32, (4,))
        y = tf.negative(tf.negative(x * 1.0 / 1.0 - 0.0))
        return tf.transpose(tf.transpose(tf.reshape(tf.reshape(y, (2, 2)), (4, 1)))), \
            {x: [-0.0, 1.5, -2.0, np.inf]}

    compiled, value = compiled_report(build)
    assert changes(compiled, "algebraic simplification")["rewrites"] >= 6
    np.testing.assert_array_equal(value, [[-0.0], [1.5], [-2.0], [np.inf]])
    assert np.signbit(value[0, 0])  # -0.0 stayed -0.0


def test_x_plus_zero_is_not_rewritten():
    # -0.0 + 0.0 is +0.0: dropping the addition would change a bit.
    def build():
        x = tf.placeholder(tf.float32, (1,))
        return x + 0.0, {x: [-0.0]}

    compiled, value = compiled_report(build)
    assert not np.signbit(value[0])
    assert "add" in compiled.source()


def test_constant_subgraphs_are_folded():
    def build():
        x = tf.placeholder(tf.float32, (2,))
        scale = tf.exp(tf.constant([0.0, 1.0])) * 2.0
        return x * scale, {x: [1.0, 1.0]}

    compiled, value = compiled_report(build)
    assert changes(compiled, "constant folding")["nodes folded"] == 2
    np.testing.assert_allclose(value, np.exp(np.float32([0.0, 1.0])) * 2.0, rtol=1e-6)


# -- differential testing: random graphs, compiled == interpreted ------------------------------

SHAPES = [(3, 4), (4,), (1, 4), (3, 1), ()]
UNARY = [tf.exp, tf.tanh, tf.negative, tf.abs, tf.sigmoid, tf.square, tf.nn.relu,
         lambda t: t * 1.0, tf.identity]
BINARY = [tf.add, tf.subtract, tf.multiply, tf.maximum, tf.minimum]


@st.composite
def random_programs(draw):
    """A recipe: input shapes, then steps that each add one node built from earlier values."""
    shapes = draw(st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3))
    steps = draw(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 99), st.integers(0, 99),
                                    st.integers(0, 99)), min_size=1, max_size=12))
    seed = draw(st.integers(0, 2**16))
    return shapes, steps, seed


def build_random_graph(shapes, steps, seed):
    """Build the recipe's graph: (output, gradients or None, feed values). Half the graphs have
    no gradients: every cond and loop of theirs must run inside the numba functions (a loop
    whose gradient reads its record stays on the interpreter's path)."""
    rng = np.random.default_rng(seed)
    inputs = [tf.placeholder(tf.float64, shape) for shape in shapes]
    values = list(inputs)
    weight = tf.constant(rng.standard_normal((4, 2)))
    pred, inner_pred = tf.placeholder(tf.bool, ()), tf.placeholder(tf.bool, ())
    for kind, a, b, c in steps:
        x, z = values[a % len(values)], values[b % len(values)]
        if kind <= 2:
            y = UNARY[c % len(UNARY)](tf.clip_by_value(x, -3.0, 3.0))
        elif kind <= 4:
            try:
                y = BINARY[c % len(BINARY)](x, z)
            except ShapeError:  # shapes that do not broadcast: the recipe skips this step
                continue
        elif kind == 5:
            reduce = (tf.reduce_sum, tf.reduce_mean, tf.reduce_max)[c % 3]
            axis = (None, 0, -1)[b % 3] if x.shape else None
            y = reduce(x, axis=axis, keepdims=bool(a % 2))
        elif kind == 6 and x.shape and x.shape[-1] == 4:
            y = tf.matmul(tf.reshape(x, (-1, 4)), weight)
        elif kind == 7 and c % 2:  # nested
            y = tf.cond(pred, lambda x=x: tf.cond(inner_pred, lambda: tf.tanh(x),
                                                  lambda: x - 1.0),
                        lambda x=x: tf.abs(x) * 2.0)
        elif kind == 7:
            y = tf.cond(pred, lambda x=x: tf.exp(tf.clip_by_value(x, -3.0, 3.0)),
                        lambda x=x, z=z: x * 2.0)
        elif kind == 8 and c % 3 == 0:  # a cond inside, and an iteration limit
            _, y = tf.while_loop(
                lambda i, acc: i < 5,
                lambda i, acc, x=x: (i + 1, tf.cond(tf.reduce_sum(acc) > 0.0,
                                                    lambda: acc * 0.5, lambda: acc + x)),
                [tf.constant(0), x], maximum_iterations=3)
        elif kind == 8 and not x.shape:
            _, y = tf.while_loop(lambda i, acc: i < 3,
                                 lambda i, acc, x=x: (i + 1, acc * 0.5 + x),
                                 [tf.constant(0), x])
        else:
            y = x + tf.constant(float(c))  # constant operands, for folding
        values.append(y)
    output = tf.reduce_sum(values[-1]) + tf.reduce_sum(values[-1] * values[-1])
    gradients = [g for g in tf.gradients(output, inputs) if g is not None] \
        if (seed // 4) % 2 == 0 else None
    feed = {t: rng.uniform(-2, 2, shape) for t, shape in zip(inputs, shapes)}
    feed[pred] = bool(seed % 2)
    feed[inner_pred] = bool((seed // 2) % 2)
    return output, gradients, feed


def assert_compiled_matches_interpreted(shapes, steps, seed):
    with tf.Graph().as_default():
        output, gradients, feed = build_random_graph(shapes, steps, seed)
        fetches = [output, *(gradients or [])]
        with tf.Session(compile=False) as sess:
            expected = sess.run(fetches, feed)
        with tf.Session() as sess:
            compiled = sess.compile(fetches, feed)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a compiled step that fails is a bug
                got = sess.run(fetches, feed)
    if gradients is None:  # every cond and loop runs inside the numba functions
        assert not compiled.program.has_control_flow
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_programs())
def test_random_graphs_compile_to_the_interpreters_bits(program):
    assert_compiled_matches_interpreted(*program)


@pytest.mark.compiler_suite
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_programs())
def test_a_thousand_random_graphs_compile_to_the_interpreters_bits(program):
    assert_compiled_matches_interpreted(*program)


# -- the disk cache of compiled steps ----------------------------------------------------------

_CACHE_PROCESS = """
import json, time
import numpy as np
import graph as tf
with tf.Graph().as_default():
    x = tf.placeholder(tf.float32, (4, 3), name="x")
    w = tf.Variable(np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2), name="w")
    b = tf.Variable(np.zeros(2, np.float32), name="b")
    loss = tf.reduce_mean(tf.square(tf.nn.relu(tf.matmul(x, w) + b) - 1.0))
    train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        feed = {x: np.arange(12, dtype=np.float32).reshape(4, 3) / 10}
        compiled = sess.compile([train, loss], feed)
        losses = [float(sess.run([train, loss], feed)[1]) for _ in range(3)]
        stats = [f.stats for f in compiled.numba_functions]
        print(json.dumps({"hits": sum(sum(s.cache_hits.values()) for s in stats),
                          "misses": sum(sum(s.cache_misses.values()) for s in stats),
                          "functions": len(stats), "losses": losses,
                          "file": compiled.numba_functions[0].py_func.__code__.co_filename}))
"""


def _compile_in_a_new_process(salt: str) -> tuple[dict, str]:
    """(what the process printed, its standard error) of compiling and running a small
    training step in a fresh process whose compiled-step file is named with `salt`."""
    env = {**os.environ, "DUALGRAPH_COMPILE_SALT": salt}
    result = subprocess.run([sys.executable, "-c", _CACHE_PROCESS], capture_output=True,
                            text=True, env=env, check=True, cwd=_REPO)
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def _cache_entries(report: dict) -> list:
    """numba's cache files (index and data) of the compiled step's functions."""
    stem = os.path.splitext(os.path.basename(report["file"]))[0]
    root = os.environ.get("NUMBA_CACHE_DIR") or os.path.dirname(report["file"])
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files
            if f.startswith(stem + ".segment_")]


def test_a_second_process_loads_the_compiled_step_from_disk():
    salt = f"test-{uuid.uuid4().hex}"
    first, _ = _compile_in_a_new_process(salt)
    second, _ = _compile_in_a_new_process(salt)
    assert first["misses"] == first["functions"] >= 1 and first["hits"] == 0
    assert second["hits"] == second["functions"] and second["misses"] == 0
    assert second["losses"] == first["losses"]


def test_a_damaged_cache_entry_is_rebuilt_not_trusted():
    salt = f"test-{uuid.uuid4().hex}"
    first, _ = _compile_in_a_new_process(salt)
    entries = _cache_entries(first)
    assert entries
    for path in entries:
        with open(path, "wb") as file:
            file.write(b"\x00 not what numba wrote")
    again, errors = _compile_in_a_new_process(salt)
    assert "Warning" not in errors  # rebuilt in place, not a fall-back to Python calls
    assert again["losses"] == first["losses"] and again["misses"] == again["functions"]
    third, _ = _compile_in_a_new_process(salt)
    assert third["hits"] == third["functions"]  # the rebuilt entry is good


def test_two_processes_compiling_one_graph_at_once_both_succeed():
    env = {**os.environ, "DUALGRAPH_COMPILE_SALT": f"test-{uuid.uuid4().hex}"}
    processes = [subprocess.Popen([sys.executable, "-c", _CACHE_PROCESS], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env, cwd=_REPO)
                 for _ in range(2)]
    reports = []
    for process in processes:
        out, errors = process.communicate(timeout=600)
        assert process.returncode == 0, errors
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert reports[0]["losses"] == reports[1]["losses"]


def test_a_plan_that_keeps_running_moves_to_the_numba_step(monkeypatch):
    # Second run: a step calling each kernel from Python (cheap to build); after
    # WHOLE_STEP_AFTER_RUNS runs of it, the numba step, with the same numbers all along
    # (here a compile is taken to cost nothing: it never outweighs the runs).
    import graph.compile

    monkeypatch.setattr(graph.compile, "SECONDS_PER_STATEMENT", 0.0)
    g, x, y, loss, train, init = mlp_training()
    feed = dict(zip((x, y), batch(0)))
    with g.as_default(), tf.Session(compile=False) as reference:
        reference.run(init)
        expected = [reference.run([train, loss], feed)[1] for _ in range(60)]
    with g.as_default(), tf.Session() as sess:
        sess.run(init)
        losses, kinds = [], []
        for _ in range(60):
            losses.append(sess.run([train, loss], feed)[1])
            steps = [s for s in sess._steps.values() if s is not None and type(s) is not int]
            kinds.append(bool(steps[0].numba_functions) if steps else None)
    assert losses == expected
    assert kinds[:2] == [None, False] and kinds[-1] is True
    first = tf.Session.COMPILE_AFTER_RUNS + tf.Session.WHOLE_STEP_AFTER_RUNS - 1
    assert kinds.index(True) == first


def test_a_plan_moves_to_numba_only_once_its_runs_have_cost_what_the_compile_would():
    # A tiered JIT's rule: 50 runs are not enough when numba would take longer to compile the
    # step than the Python step has run so far (a short tutorial run never waits for it).
    g, x, y, loss, train, init = mlp_training()
    feed = dict(zip((x, y), batch(0)))
    with g.as_default(), tf.Session() as sess:
        sess.run(init)
        for _ in range(tf.Session.COMPILE_AFTER_RUNS + tf.Session.WHOLE_STEP_AFTER_RUNS + 10):
            sess.run([train, loss], feed)
        (step,) = [s for s in sess._steps.values() if s is not None and type(s) is not int]
        assert not step.whole and not step.numba_functions  # still the Python step
        assert 0 < step.python_seconds < step.numba_estimate
        assert step.numba_estimate > 20 * 0.05  # the step's statements, 0.05 s apiece
        step.python_seconds = step.numba_estimate  # as if it had run that long
        sess.run([train, loss], feed)
        (step,) = [s for s in sess._steps.values() if s is not None and type(s) is not int]
        assert step.whole and step.numba_functions


# -- nodes with no compiled path ---------------------------------------------------------------


def test_a_node_with_no_compiled_path_is_named_in_a_warning_at_the_users_line():
    from graph.compile import FallbackWarning

    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2, 3))
        noise = tf.random_normal((2, 3), seed=1, name="noise")
        y = tf.reduce_sum(tf.exp(x) + noise)
        feed = {x: np.ones((2, 3), np.float32)}
        with tf.Session(compile=False) as sess:
            expected = sess.run(y, feed)
        with tf.Session() as sess:
            with pytest.warns(FallbackWarning) as caught:
                compiled = sess.compile(y, feed)
            value = sess.run(y, feed)
    message = str(caught[0].message)
    assert "normal 'noise'" in message and "test_compile.py" in message
    assert caught[0].filename == __file__  # shown at the line that compiled the step
    assert "left to Python normal" in compiled.explain()
    assert value == expected  # the node ran, from Python, with the same seeded stream


def test_a_step_compiled_whole_warns_about_nothing():
    g, x, y, loss, train, init = mlp_training()
    images, labels = batch(0)
    with g.as_default(), tf.Session() as sess:
        sess.run(init)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # every node has a compiled path: no warning
            compiled = sess.compile([train, loss], {x: images, y: labels})
    assert compiled.in_python == [] and len(compiled.numba_functions) == 1


def test_large_outputs_of_the_numba_functions_ask_for_huge_pages_before_their_first_write():
    from framework.kernels import cpu

    elements = cpu.HUGE_PAGE_MIN_BYTES // 4  # float32: exactly the threshold
    with tf.Graph().as_default():
        big = tf.placeholder(tf.float32, (elements,))
        small = tf.placeholder(tf.float32, (8,))
        outputs = [tf.exp(big) * 2.0, tf.exp(small) * 2.0]
        feed = {big: np.linspace(-1, 1, elements, dtype=np.float32),
                small: np.linspace(-1, 1, 8, dtype=np.float32)}
        with tf.Session(compile=False) as sess:
            expected = sess.run(outputs, feed)
        with tf.Session() as sess:
            compiled = sess.compile(outputs, feed)
            got = sess.run(outputs, feed)
    module = sys.modules[compiled.numba_functions[0].py_func.__module__]
    advise = [name for name in dir(module) if getattr(module, name) is cpu.advise_huge_pages]
    lines = compiled.functions_source.splitlines()
    calls = [i for i, line in enumerate(lines) if advise and line.strip().startswith(
        f"{advise[0]}(")] if sys.platform.startswith("linux") else []
    if sys.platform.startswith("linux"):
        assert len(calls) == 1  # the large output only
        assert f"= np.empty(({elements},)" in lines[calls[0] - 1]  # right after its allocation
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_fetched_arrays_never_alias_what_the_session_keeps_and_fresh_ones_are_not_copied():
    start = np.arange(6, dtype=np.float32).reshape(2, 3)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2, 3))
        v = tf.Variable(start)
        new = tf.assign_add(v, x)
        fetches = [tf.transpose(v), tf.reshape(v, (6,)), new, tf.transpose(new),
                   tf.exp(x) * 2.0]
        feed = {x: np.ones((2, 3), np.float32)}
        with tf.Session() as sess:
            sess.run(v.initializer)
            compiled = sess.compile(fetches, feed)
            assert compiled.in_python == []  # every value below came out of a numba function
            got = sess.run(fetches, feed)
            for array in got[:4]:  # a user writing into a fetched array...
                array[...] = -1.0
            kept = sess.run(v)  # ...changes nothing the session holds
    np.testing.assert_array_equal(kept, start + 1.0)
    # The numba function's own output came back as it is: no copy of a fresh buffer.
    assert type(got[4].base).__name__ == "_MemInfo" and got[4].base.parent is None


# -- convolution and pooling inside the numba functions ----------------------------------------


def _cnn_training(compiles: bool):
    """(compiled step or None, losses, variable values) of 3 SGD steps of the digits CNN."""
    from compare.bench_graph import _graph_training_run

    session, fetches, feed = _graph_training_run("cnn", 8, None, compiles)
    compiled = None
    if compiles:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a FallbackWarning would name a node left out
            compiled = session.compile(fetches, feed)
    losses = [session.run(fetches, feed)[1] for _ in range(3)]
    return compiled, losses, session.run(tf.global_variables(graph=session.graph))


_CONV_OPS = ("conv2d", "conv2d_input_grad", "conv2d_weight_grad", "max_pool2d",
             "max_pool2d_backward")


def test_the_cnn_training_step_is_one_numba_function_with_the_interpreters_bits():
    compiled, losses, variables = _cnn_training(compiles=True)
    _, expected_losses, expected_variables = _cnn_training(compiles=False)
    # conv2d, its two gradients, max_pool2d and its gradient, the per-channel bias add and its
    # gradient's sum run inside one numba function: nothing is called from Python.
    assert compiled.in_python == [] and len(compiled.numba_functions) == 1
    assert "left to Python" not in compiled.explain()
    source = compiled.functions_source
    assert all(f"# {op} " in source for op in _CONV_OPS)
    np.testing.assert_array_equal(losses, expected_losses)
    assert len(variables) == len(expected_variables) == 8
    for got, expected in zip(variables, expected_variables):
        np.testing.assert_array_equal(got, expected)


def test_convolutions_and_pools_in_numba_keep_the_bits_over_chunks_groups_and_strides(
        monkeypatch):
    from framework.ops import conv

    rng = np.random.default_rng(3)
    x_value = rng.standard_normal((5, 4, 7, 6)).astype(np.float32)
    w_value = rng.standard_normal((6, 2, 3, 2)).astype(np.float32)
    attributes = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    # Chunks of two images (5 = 2 + 2 + 1): the drivers' loop, with a short last chunk.
    out_hw = conv.windows_shape("conv2d", x_value.shape, (3, 2), (2, 1), (1, 2), (1, 2))
    rows = 2 * 2 * 3 * 2  # of one image's columns: groups x in_channels / groups x kH x kW
    monkeypatch.setattr(conv, "CHUNK_BYTES", 2 * rows * out_hw[0] * out_hw[1] * 4)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, x_value.shape)
        w = tf.Variable(w_value)
        y = conv.conv2d(x, w, **attributes)
        peaks = conv.max_pool2d(y, 2, 1, padding=1)
        means = conv.avg_pool2d(y, 3, 2, padding=1)
        loss = tf.reduce_sum(peaks * peaks) + tf.reduce_sum(means * means)
        fetches = [loss, *tf.gradients(loss, [x, w])]
        feed = {x: x_value}
        with tf.Session(compile=False) as sess:
            sess.run(w.initializer)
            expected = sess.run(fetches, feed)
        with tf.Session() as sess:
            sess.run(w.initializer)
            compiled = sess.compile(fetches, feed)
            got = sess.run(fetches, feed)
    assert compiled.in_python == []
    kinds = {line.split()[1] for line in compiled.functions_source.splitlines()
             if line.strip().startswith("# ")}
    assert {"conv2d", "conv2d_input_grad", "conv2d_weight_grad", "max_pool2d",
            "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"} <= kinds
    assert "in range(0, 5, 2):" in compiled.functions_source  # the chunk loop
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "adagrad", "rmsprop"])
def test_training_with_a_global_step_runs_whole_in_numba_with_the_interpreters_bits(optimizer):
    """Every update of a tutorial's training step, the int64 global step and Adam's scalar beta
    powers included, is inside the numba function; SGD's `v -= lr * grad` is one fused kernel
    (`variable updates` then fusion), and the bits are the interpreter's."""
    make = {"sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
            "momentum": lambda: tf.train.MomentumOptimizer(0.1, 0.9),
            "adam": lambda: tf.train.AdamOptimizer(0.01),
            "adagrad": lambda: tf.train.AdagradOptimizer(0.1),
            "rmsprop": lambda: tf.train.RMSPropOptimizer(0.01)}[optimizer]
    g, x, y, loss, _, _ = mlp_training()
    with g.as_default():
        step = tf.train.get_or_create_global_step()
        train = make().minimize(loss, global_step=step)
        init = tf.global_variables_initializer()
        variables = tf.global_variables()
    results, start = [], None
    for compiles in (False, True):
        with g.as_default(), tf.Session(compile=compiles) as sess:
            sess.run(init)
            if start is None:
                start = sess.run(variables)
            for variable, value in zip(variables, start):  # both runs from the same values
                variable.load(value, sess)
            if compiles:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")  # nothing left to Python, nothing fails
                    compiled = sess.compile([train, loss], dict(zip((x, y), batch(0))))
                    losses = [sess.run([train, loss], dict(zip((x, y), batch(seed))))[1]
                              for seed in range(3)]
            else:
                losses = [sess.run([train, loss], dict(zip((x, y), batch(seed))))[1]
                          for seed in range(3)]
            results.append((losses, sess.run(variables)))
    assert compiled.in_python == []
    if optimizer == "sgd":
        assert changes(compiled, "variable updates")["updates rewritten"] == 4
        assert "fused(mul, sub) x4" in changes(compiled, "elementwise fusion")["groups"]
    (expected_losses, expected), (losses, got) = results
    np.testing.assert_array_equal(losses, expected_losses)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    assert int(got[variables.index(step)]) == 3  # the global step, counted inside numba


_THREADS_PROCESS = """
import json
import numba.np.ufunc.parallel as threads
from framework.ops import conv
from framework.ops.registry import Spec
started = [threads._is_initialized]
serial = conv.Conv2d((1, 1), (1, 1), (1, 1), 1).nopython(Spec((1, 1, 8, 8), "float32"),
                                                         Spec((1, 1, 3, 3), "float32"))
started.append(threads._is_initialized)
parallel = conv.Conv2d((1, 1), (1, 1), (1, 1), 1).nopython(Spec((8, 16, 8, 8), "float32"),
                                                           Spec((4, 16, 3, 3), "float32"))
started.append(threads._is_initialized)
print(json.dumps({"started": started,
                  "serial": conv._unfold_serial in serial.objects.values(),
                  "parallel": conv._unfold_parallel in parallel.objects.values()}))
"""


def test_lowering_a_parallel_conv_kernel_starts_numbas_threads_first():
    # A step's numba function loaded from numba's cache does not start the threads of the
    # parallel kernels it calls (numba issue #8578: "Symbol not found: allocate_sched", an
    # abort): lowering starts them, in every process that compiles the step, before loading.
    result = subprocess.run([sys.executable, "-c", _THREADS_PROCESS], capture_output=True,
                            text=True, check=True, cwd=_REPO)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"started": [False, False, True], "serial": True, "parallel": True}


_PARALLEL_PROCESS = """
import numpy as np
import graph as tf
with tf.Graph().as_default():
    x = tf.placeholder(tf.float32, (1 << 20,))
    y = tf.exp(x) * 2.0  # large enough for the parallel map kernel
    with tf.Session() as sess:
        compiled = sess.compile(y, {x: np.zeros(1 << 20, np.float32)})
        print(float(sess.run(y, {x: np.ones(1 << 20, np.float32)})[-1]))
"""


def test_a_step_calling_parallel_kernels_loads_from_disk_in_a_new_process_and_runs():
    # numba does not start its thread pool when it loads a function from its disk cache: the
    # second process used to die in the step's first call (a segfault) until
    # load_segments started the pool itself.
    env = {**os.environ, "DUALGRAPH_COMPILE_SALT": f"parallel-{uuid.uuid4().hex}"}
    for _ in range(2):  # the first compiles and caches, the second loads
        result = subprocess.run([sys.executable, "-c", _PARALLEL_PROCESS], capture_output=True,
                                text=True, env=env, cwd=_REPO)
        assert result.returncode == 0, result.stderr[-2000:]
        np.testing.assert_allclose(float(result.stdout.split()[-1]), 2 * np.e, rtol=1e-6)


def test_a_per_channel_broadcast_and_a_sum_over_interleaved_axes_run_in_numba():
    # The ufunc's broadcasts (NCHW + (C, 1, 1)) as a loop of map kernels, and reductions over
    # axes that interleave with kept ones after as_rows' copy: inside the numba function.
    rng = np.random.default_rng(4)
    x_value = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)
    b_value = rng.standard_normal((4, 1, 1)).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, x_value.shape)
        b = tf.placeholder(tf.float32, b_value.shape)
        fetches = [x + b, tf.tanh(b) - x, tf.reduce_sum(x, axis=(0, 2, 3)),
                   tf.reduce_max(x, axis=[0, 3], keepdims=True)]
        feed = {x: x_value, b: b_value}
        with tf.Session(compile=False) as sess:
            expected = sess.run(fetches, feed)
        with tf.Session() as sess:
            compiled = sess.compile(fetches, feed)
            got = sess.run(fetches, feed)
    assert compiled.in_python == []
    assert "_slice in range(3):" in compiled.functions_source
    assert "np.transpose(" in compiled.functions_source
    for a, e in zip(got, expected):
        np.testing.assert_array_equal(a, e)


# -- numerical stabilization -------------------------------------------------------------------


def test_log_of_softmax_and_log_of_one_plus_x_compile_to_their_stable_ops():
    logits = np.float32([[0.0, 200.0, -200.0], [1.0, 2.0, 3.0]])
    tiny = np.float32([1e-10, -1e-9, 3e-8])
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2, 3))
        t = tf.placeholder(tf.float32, (3,))
        fetches = [tf.log(tf.nn.softmax(x)), tf.log(1.0 + t), tf.log(t + 1.0)]
        feed = {x: logits, t: tiny}
        with tf.Session(compile=False) as sess:
            written = sess.run(fetches, feed)
        with tf.Session() as sess:
            compiled = sess.compile(fetches, feed)
            stable = sess.run(fetches, feed)
    assert changes(compiled, "numerical stabilization") == {
        "log_softmax made": 1, "log1p made": 2, "cross_entropy_probs made": 0}
    assert np.isneginf(written[0][0, 2])  # softmax underflowed to 0: the log is -inf
    shifted = logits - logits.max(axis=1, keepdims=True)
    expected = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(stable[0], expected, rtol=1e-6)  # finite: -400 and the rest
    assert np.all(written[1] == 0.0)  # 1 + 1e-10 is 1 in float32
    for value in stable[1:]:
        np.testing.assert_allclose(value, np.log1p(tiny.astype(np.float64)), rtol=1e-6)


def test_tf1_beginners_hand_written_cross_entropy_becomes_the_fused_stable_op():
    # "MNIST for ML beginners": y = softmax(xW + b); -reduce_sum(y_ * log(y), [1]), which is
    # NaN once a softmax underflows; compiled, it is cross_entropy_probs, finite, and its
    # gradient (built from the expression as written) still trains.
    rng = np.random.default_rng(0)
    images = rng.standard_normal((6, 4)).astype(np.float32) * 60.0  # saturating logits
    labels = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 6)]
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 4))
        y_ = tf.placeholder(tf.float32, (None, 3))
        W = tf.Variable(rng.standard_normal((4, 3)).astype(np.float32))
        y = tf.nn.softmax(tf.matmul(x, W))
        cross_entropy = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y), reduction_indices=[1]))
        feed = {x: images, y_: labels}
        with tf.Session(compile=False) as sess:
            sess.run(W.initializer)
            assert not np.isfinite(sess.run(cross_entropy, feed))  # as written: log(0)
        with tf.Session() as sess:
            sess.run(W.initializer)
            logits = images @ sess.run(W)
            compiled = sess.compile(cross_entropy, feed)
            value = sess.run(cross_entropy, feed)
    assert changes(compiled, "numerical stabilization")["cross_entropy_probs made"] == 1
    assert "cross_entropy_probs" in compiled.source()
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted.astype(np.float64)).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(value, np.mean(-(labels * log_probs).sum(axis=1)), rtol=1e-5)


def test_a_stabilized_node_of_a_shape_known_only_at_run_time_runs_its_own_op():
    # Shapes unknown when the step is generated: the step calls the node through the seam,
    # with the op the pass gave it (log_softmax), not its graph operation's (log).
    logits = np.float32([[0.0, 200.0, -200.0], [1.0, 2.0, 3.0]])
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2, 3))
        rows = tf.placeholder(tf.int32, ())
        reshaped = tf.reshape(x, tf.stack([rows, 3]))  # (None, 3) until it runs
        y = tf.log(tf.nn.softmax(reshaped))
        feed = {x: logits, rows: 2}
        with tf.Session() as sess:
            compiled = sess.compile(y, feed)
            value = sess.run(y, feed)
    assert "_run_primitive(" in compiled.source()
    shifted = logits - logits.max(axis=1, keepdims=True)
    expected = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(value, expected, rtol=1e-6)
