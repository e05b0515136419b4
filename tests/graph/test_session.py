"""Session.run and Variables: fetch structures, feeds and their checks, running only what the
fetches need, all-or-nothing runs, runs from many threads, and variable state.
"""

from __future__ import annotations

import collections
import sys
import threading

import numpy as np
import pytest

import graph as tf
from framework.errors import IndexingError


@pytest.fixture
def g():
    """A fresh graph, the default one for the test."""
    graph = tf.Graph()
    with graph.as_default():
        yield graph


@pytest.fixture
def fast_thread_switching():
    """Switch threads as often as possible, so a race has every chance to show."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def _in_threads(work, count=8):
    """Run work(i) in `count` threads started together; re-raise the first failure."""
    errors = []
    barrier = threading.Barrier(count)

    def target(i):
        try:
            barrier.wait()
            work(i)
        except BaseException as error:  # noqa: BLE001  (reported to the test below)
            errors.append(error)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


# -- sessions -------------------------------------------------------------------------------


def test_a_session_is_the_default_inside_with_and_closed_after(g):
    c = tf.constant(2.0)
    assert tf.get_default_session() is None
    with tf.Session() as sess:
        assert tf.get_default_session() is sess
        assert c.eval() == 2.0
    assert tf.get_default_session() is None
    with pytest.raises(tf.GraphError, match="closed Session"):
        sess.run(c)


def test_as_default_does_not_close_the_session(g):
    v = tf.Variable(3.0)
    sess = tf.Session()
    with sess.as_default():
        v.initializer.run()
        assert v.eval() == 3.0
    assert tf.get_default_session() is None
    assert sess.run(v) == 3.0


def test_the_default_session_is_per_thread(g):
    seen = []
    with tf.Session():
        worker = threading.Thread(target=lambda: seen.append(tf.get_default_session()))
        worker.start()
        worker.join()
    assert seen == [None]


def test_interactive_session_is_default_until_closed(g):
    c = tf.constant(1.5)
    sess = tf.InteractiveSession()
    try:
        assert tf.get_default_session() is sess and c.eval() == 1.5
    finally:
        sess.close()
    assert tf.get_default_session() is None


def test_eval_and_run_without_a_usable_session_say_why(g):
    c = tf.constant(1.0)
    with pytest.raises(tf.GraphError, match="no default session"):
        c.eval()
    with pytest.raises(tf.GraphError, match="no default session"):
        tf.no_op().run()
    with tf.Graph().as_default(), tf.Session():
        with pytest.raises(tf.GraphError, match="not the session's graph"):
            c.eval()


# -- fetches --------------------------------------------------------------------------------


Pair = collections.namedtuple("Pair", "total doubled")


def test_fetches_come_back_in_their_structure(g):
    x = tf.placeholder(tf.float32, (2,), name="x")
    total, doubled = tf.reduce_sum(x), x * 2.0
    step = tf.no_op(name="train_op")
    feed = {x: [1.0, 2.0]}
    with tf.Session() as sess:
        assert sess.run(total, feed) == 3.0
        assert sess.run(step, feed) is None
        assert np.array_equal(sess.run("x:0", feed), [1.0, 2.0])
        assert sess.run("train_op") is None
        nested = sess.run({"loss": total, "parts": [doubled, (step, "x:0")]}, feed)
        pair = sess.run(Pair(total, doubled), feed)
        ordered = sess.run(collections.OrderedDict([("b", total), ("a", step)]), feed)
        assert sess.run([]) == [] and sess.run(()) == ()
    assert nested["loss"] == 3.0 and isinstance(nested["parts"], list)
    assert np.array_equal(nested["parts"][0], [2.0, 4.0])
    assert isinstance(nested["parts"][1], tuple) and nested["parts"][1][0] is None
    assert isinstance(pair, Pair) and pair.total == 3.0
    assert np.array_equal(pair.doubled, [2.0, 4.0])
    assert isinstance(ordered, collections.OrderedDict) and list(ordered) == ["b", "a"]


def test_only_the_ops_the_fetches_need_run(g):
    v = tf.Variable(1.0)
    unfetched_update = v.assign(100.0)
    unfed = tf.placeholder(tf.float32, ())
    unused = unfed * 2.0  # needs a feed, but nothing fetched needs it
    doubled = v * 2.0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(doubled) == 2.0
        assert sess.run(v) == 1.0  # the assign was never asked for
        sess.run(unfetched_update)
        assert sess.run(v) == 100.0
    assert unused.op.name


def test_fetched_arrays_are_copies_of_the_sessions_state(g):
    v = tf.Variable(np.zeros(3, np.float32))
    source = np.array([1.0, 2.0], np.float32)
    c = tf.constant(source)
    source[0] = 99.0  # the constant kept its own copy
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(v)[:] = 7.0
        sess.run(tf.identity(v))[:] = 7.0
        sess.run(v.assign_add(np.ones(3, np.float32)))[:] = 7.0
        sess.run(c)[:] = 7.0
        assert np.array_equal(sess.run(v), [1.0, 1.0, 1.0])
        assert np.array_equal(sess.run(c), [1.0, 2.0])


# -- feeds ----------------------------------------------------------------------------------


def test_feeds_are_checked(g):
    x = tf.placeholder(tf.float32, (None, 3), name="x")
    count = tf.placeholder(tf.int32, (2,), name="count")
    y = x * 2.0
    with tf.Graph().as_default():
        stranger = tf.placeholder(tf.float32, (None, 3), name="x")
    with tf.Session() as sess:
        with pytest.raises(tf.GraphError, match="The operation, 'nope', does not exist"):
            sess.run(y, {"nope:0": np.ones((1, 3))})
        with pytest.raises(tf.GraphError, match="is an operation"):
            sess.run(y, {x.op: np.ones((1, 3))})
        with pytest.raises(tf.GraphError, match="another graph"):
            sess.run(y, {stranger: np.ones((1, 3))})
        with pytest.raises(tf.GraphError) as info:
            sess.run(y, {x: np.ones((2, 4))})
        message = str(info.value)
        assert "'x:0'" in message and "(None, 3)" in message and "(2, 4)" in message
        assert 'tf.placeholder(tf.float32, (None, 3), name="x")' in message  # creation line
        with pytest.raises(tf.GraphError, match=r"shape \(3,\)"):
            sess.run(y, {x: np.ones(3)})
        with pytest.raises(tf.GraphError, match="dtype float64 for 'count:0' of dtype int32"):
            sess.run(count, {count: [1.5, 2.0]})
        with pytest.raises(tf.GraphError, match="fed twice"):
            sess.run(y, {x: np.ones((1, 3)), "x:0": np.ones((1, 3))})
        with pytest.raises(tf.GraphError, match="symbolic"):
            sess.run(y, {x: tf.ones((1, 3))})
        ints_to_floats = sess.run(x, {x: np.ones((1, 3), np.int64)})
        assert ints_to_floats.dtype == np.float32
        assert sess.run(count, {count: np.array([1, 2], np.int64)}).dtype == np.int32


def test_an_int_feed_that_does_not_fit_its_placeholder_is_refused(g):
    index = tf.placeholder(tf.int32, (None,), name="index")
    rows = tf.gather(tf.constant([[1.0], [2.0], [3.0]]), index)
    wide = tf.placeholder(tf.int64, (), name="wide")
    with tf.Session() as sess:
        # NumPy's cast would wrap 2**32 + 1 around to 1 and gather the wrong row.
        for value in (np.array([0, 2**32 + 1]), [0, 2**32 + 1], np.uint64([0, 2**32 + 1])):
            with pytest.raises(tf.GraphError) as info:
                sess.run(rows, {index: value})
            message = str(info.value)
            assert "cannot feed 'index:0' of dtype int32: 4294967297 at index (1,)" in message
            assert "int32's range [-2147483648, 2147483647]" in message
            assert "sess.run(rows, {index: value})" in message  # the user's line
        with pytest.raises(tf.GraphError, match=r"-2147483649 at index \(0,\) is outside"):
            sess.run(index, {index: np.array([-2**31 - 1])})
        with pytest.raises(tf.GraphError, match=f"'wide:0' of dtype int64: {2**70} is outside"):
            sess.run(wide, {wide: 2**70})  # too large even for NumPy's integers
        with pytest.raises(tf.GraphError, match=f"'wide:0' of dtype int64: {2**63} is outside"):
            sess.run(wide, {wide: np.uint64(2**63)})
        # Values that fit still feed, whatever their integer type.
        assert sess.run(rows, {index: np.array([2, 0], np.int64)}).tolist() == [[3.0], [1.0]]
        assert sess.run(index, {index: [2**31 - 1, -2**31]}).tolist() == [2**31 - 1, -2**31]
        assert sess.run(wide, {wide: np.uint64(2**63 - 1)}) == 2**63 - 1


def test_a_float_feed_beyond_its_placeholders_range_is_refused(g):
    x = tf.placeholder(tf.float32, (None,), name="x")
    with tf.Session() as sess:
        with pytest.raises(tf.GraphError, match=r"'x:0' of dtype float32: 1e\+39 at index "
                                                r"\(1,\) is beyond float32's largest"):
            sess.run(x, {x: [1.0, 1e39]})  # NumPy's cast would make it inf
        fed = sess.run(x, {x: np.array([0.1, -np.inf, -3.4e38])})  # rounding is fine
    np.testing.assert_array_equal(fed, np.float32([0.1, -np.inf, -3.4e38]))


def test_a_ragged_feed_is_refused_naming_the_placeholder(g):
    x = tf.placeholder(tf.float32, (None, None), name="x")
    with tf.Session() as sess:
        with pytest.raises(tf.GraphError) as info:
            sess.run(x, {x: [[1.0, 2.0], [3.0]]})
        assert sess.run(x, {x: [[1.0, 2.0], [3.0, 4.0]]}).shape == (2, 2)
    message = str(info.value)
    assert "cannot feed 'x:0' of dtype float32: Can't convert non-rectangular Python sequence " \
           "to Tensor: value[1] has length 1, but value[0] has length 2" in message
    assert "sess.run(x, {x: [[1.0, 2.0], [3.0]]})" in message  # the user's line


def test_a_missing_feed_names_the_placeholder_and_where_it_was_made(g):
    x = tf.placeholder(tf.float32, (None,), name="images")
    y = tf.reduce_sum(x)
    with tf.Session() as sess, pytest.raises(tf.GraphError) as info:
        sess.run(y)
    message = str(info.value)
    assert "placeholder 'images'" in message
    assert 'tf.placeholder(tf.float32, (None,), name="images")' in message
    assert message.count("created at") == 1  # said once, not repeated by a wrapper


def test_an_uninitialized_variable_is_named(g):
    weights = tf.Variable([1.0], name="weights")
    with tf.Session() as sess, pytest.raises(tf.GraphError, match="uninitialized.*'weights'"):
        sess.run(weights * 2.0)


def test_feeding_any_tensor_overrides_its_computation(g):
    x = tf.placeholder(tf.float32, ())
    hidden = x * 2.0
    out = hidden + 1.0
    v = tf.Variable(5.0)
    parts = tf.split(tf.placeholder(tf.float32, (4,)), 2)  # one op, two outputs
    with tf.Session() as sess:
        assert sess.run(out, {hidden: 10.0}) == 11.0  # x is not needed at all
        assert sess.run(v * 3.0, {v: 2.0}) == 6.0  # even uninitialized
        first, second = sess.run(parts, {parts[0]: [9.0, 9.0], parts[0].op.inputs[0]:
                                         [0.0, 1.0, 2.0, 3.0]})
    assert np.array_equal(first, [9.0, 9.0]) and np.array_equal(second, [2.0, 3.0])


# -- all or nothing -------------------------------------------------------------------------


def test_a_failing_run_changes_no_variable_and_a_good_run_then_does(g):
    counter = tf.Variable(0.0, name="counter")
    weights = tf.Variable([1.0, 2.0], name="weights")
    update = tf.group(counter.assign_add(1.0), weights.assign([5.0, 6.0]))
    index = tf.placeholder(tf.int32, (None,))
    picked = tf.gather(tf.constant([10.0, 20.0, 30.0]), index)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(IndexingError, match="out of range") as info:
            sess.run([update, picked], {index: [7]})  # the update was computed first
        assert "while running" in str(info.value) and __file__ in str(info.value)
        assert sess.run(counter) == 0.0 and np.array_equal(sess.run(weights), [1.0, 2.0])
        _, values = sess.run([update, picked], {index: [2, 0]})
        assert np.array_equal(values, [30.0, 10.0])
        assert sess.run(counter) == 1.0 and np.array_equal(sess.run(weights), [5.0, 6.0])


# -- threads --------------------------------------------------------------------------------


def test_forward_runs_from_eight_threads_match_serial_runs(g, fast_thread_switching):
    x = tf.placeholder(tf.float32, (None, 4))
    w = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3) / 10.0)
    y = tf.tanh(tf.matmul(x, w)) * 2.0 + tf.reduce_sum(x, axis=1, keepdims=True)
    batches = [np.random.default_rng(i).standard_normal((5, 4)).astype(np.float32)
               for i in range(8)]
    with tf.Session() as sess:
        sess.run(w.initializer)
        serial = [sess.run(y, {x: batch}) for batch in batches]
        concurrent = [[] for _ in batches]

        def work(i):
            for _ in range(20):
                concurrent[i].append(sess.run(y, {x: batches[i]}))

        _in_threads(work)
    for expected, results in zip(serial, concurrent):
        for result in results:
            np.testing.assert_array_equal(result, expected)


def test_assign_add_from_eight_threads_loses_no_update(g, fast_thread_switching):
    counter = tf.Variable(0.0, name="counter")
    steps = tf.Variable(0, name="steps", trainable=False)
    noise = tf.reduce_sum(tf.tanh(tf.constant(np.ones(64, np.float32))) * 3.0)
    # The independent work after the increments widens the gap between read and commit.
    increment = [counter.assign_add(1.0), steps.assign_sub(-1), noise]
    repeats = 250
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _in_threads(lambda i: [sess.run(increment) for _ in range(repeats)])
        assert sess.run(counter) == 8 * repeats
        assert sess.run(steps) == 8 * repeats


def test_reads_during_concurrent_updates_see_committed_values(g, fast_thread_switching):
    a, b = tf.Variable(0.0), tf.Variable(0.0)
    both = tf.group(a.assign_add(1.0), b.assign_add(1.0))
    difference = a - b
    seen = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())

        def work(i):
            for _ in range(100):
                if i % 2:
                    sess.run(both)
                else:
                    seen.append(float(sess.run(difference)))

        _in_threads(work)
        assert sess.run([a, b]) == [400.0, 400.0]
    assert set(seen) == {0.0}  # a run never sees one variable of a commit without the other


def test_a_run_that_reads_a_variable_and_assigns_it_is_one_atomic_step(g, fast_thread_switching):
    counter = tf.Variable(0, name="counter")
    before = tf.identity(counter)
    with tf.control_dependencies([before]):
        increment = counter.assign(before + 1)  # a plain Assign, not assign_add
    seen = []
    with tf.Session() as sess:
        sess.run(counter.initializer)
        _in_threads(lambda i: [seen.append(sess.run([before, increment])) for _ in range(25)])
        assert sess.run(counter) == 200
    assert sorted(int(old) for old, _ in seen) == list(range(200))  # no two runs read one value
    assert all(new == old + 1 for old, new in seen)


def test_an_assign_inside_a_cond_branch_or_a_loop_body_is_atomic_too(g, fast_thread_switching):
    counter = tf.Variable(0.0, name="counter")
    go = tf.placeholder(tf.bool, ())
    step = tf.cond(go, lambda: counter.assign(counter + 1.0), lambda: tf.identity(counter))

    def body(i):
        with tf.control_dependencies([counter.assign(counter + 1.0)]):
            return i + 1

    three_steps = tf.while_loop(lambda i: i < 3, body, [tf.constant(0)])
    with tf.Session() as sess:
        sess.run(counter.initializer)
        _in_threads(lambda i: [sess.run(step, {go: j % 5 != 0}) for j in range(25)])
        assert sess.run(counter) == 8 * 20
        _in_threads(lambda i: [sess.run(three_steps) for _ in range(10)])
        assert sess.run(counter) == 8 * 20 + 8 * 10 * 3


# -- variables ------------------------------------------------------------------------------


def test_initial_values_from_arrays_tensors_and_callables(g):
    from_list = tf.Variable([1.0, 2.0], name="from_list")
    from_array = tf.Variable(np.arange(3, dtype=np.float64), name="from_array")
    from_tensor = tf.Variable(tf.constant([3.0]) * 2.0, name="from_tensor")
    from_callable = tf.Variable(lambda: tf.ones((2, 2)) * 5.0, name="from_callable")
    as_double = tf.Variable([1, 2], dtype=tf.float64, name="as_double")
    assert from_list.dtype == np.float32 and from_array.dtype == np.float64  # as TensorFlow
    assert as_double.dtype == np.float64 and from_callable.shape == (2, 2)
    # The callable ran inside the variable's scope, as TensorFlow does.
    assert from_callable.initial_value.op.name.startswith("from_callable/")
    values = _initialized_values([from_list, from_array, from_tensor, from_callable, as_double])
    assert np.array_equal(values[0], [1.0, 2.0]) and np.array_equal(values[1], [0.0, 1.0, 2.0])
    assert values[2] == [6.0] and np.array_equal(values[3], np.full((2, 2), 5.0))
    assert np.array_equal(values[4], [1.0, 2.0])
    with pytest.raises(tf.GraphError, match="unknown shape"):
        tf.Variable(tf.placeholder(tf.float32, (None,)))
    with pytest.raises(TypeError):
        tf.Variable(1.0, False)  # TensorFlow's second argument is `trainable`: keywords only


def _initialized_values(variables):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(variables)


def test_variables_are_named_like_tensorflows(g):
    w = tf.Variable(1.0, name="w")
    w_again = tf.Variable(1.0, name="w")
    with tf.name_scope("layer"):
        inner = tf.Variable(1.0, name="w")
    names = [(v.op.name, v.initializer.name, v.initial_value.op.name)
             for v in (w, w_again, inner)]
    assert names == [("w", "w/Assign", "w/initial_value"),
                     ("w_1", "w_1/Assign", "w_1/initial_value"),
                     ("layer/w", "layer/w/Assign", "layer/w/initial_value")]
    assert w.name == "w:0" and g.get_tensor_by_name("layer/w:0") is inner


def test_initializers_and_trainable_collections(g):
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(2.0, name="b", trainable=False)
    assert tf.global_variables() == [a, b] and tf.trainable_variables() == [a]
    assert tf.global_variables(g) == [a, b]
    with tf.Session() as sess:
        sess.run(a.initializer)  # one variable's initializer initializes only it
        assert sess.run(a) == 1.0
        with pytest.raises(tf.GraphError, match="uninitialized variable 'b'"):
            sess.run(b)
        sess.run(tf.variables_initializer([b]))
        assert sess.run(b) == 2.0
        sess.run(a.assign(10.0))
        sess.run(tf.global_variables_initializer())  # back to the initial values
        assert sess.run([a, b]) == [1.0, 2.0]
        assert sess.variable_values() == {"a": 1.0, "b": 2.0}


def test_an_initializer_ignores_the_control_dependencies_around_its_variable(g):
    counter = tf.Variable(0.0)
    step = counter.assign_add(1.0)
    with tf.control_dependencies([step]):
        made_inside = tf.Variable(5.0)
    assert made_inside.initializer.control_inputs == ()
    with tf.Session() as sess:
        sess.run(counter.initializer)
        sess.run(made_inside.initializer)
        assert sess.run(counter) == 0.0  # initializing did not take a step


def test_assign_assign_add_and_assign_sub(g):
    v = tf.Variable([1.0, 2.0])
    delta = tf.placeholder(tf.float32, (None,))
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert np.array_equal(sess.run(v.assign([5.0, 5.0])), [5.0, 5.0])
        assert np.array_equal(sess.run(tf.assign_add(v, [1.0, 2.0])), [6.0, 7.0])
        assert np.array_equal(sess.run(v.assign_sub(delta), {delta: [6.0, 7.0]}), [0.0, 0.0])
        # A value of unknown shape is checked when it arrives, before it could broadcast.
        with pytest.raises(tf.GraphError, match=r"value of shape \(1,\)"):
            sess.run(v.assign_add(delta), {delta: [1.0]})
        assert np.array_equal(sess.run(v), [0.0, 0.0])
    with pytest.raises(tf.GraphError, match="does not match"):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises(tf.GraphError, match="dtype float64"):
        v.assign(tf.constant(np.zeros(2)))
    with pytest.raises(tf.GraphError, match="cannot become"):
        tf.Variable([1, 2]).assign([0.5, 1.5])  # a float would be truncated
    with pytest.raises(tf.GraphError, match="needs a Variable"):
        tf.assign(tf.constant(1.0), 2.0)


def test_variable_load_sets_a_value_with_the_feed_rules(g):
    v = tf.Variable(np.zeros((2, 2), np.float32))
    with tf.Session() as sess:
        v.load(np.eye(2))
        assert np.array_equal(sess.run(v), np.eye(2))
        v.load([[1, 2], [3, 4]], session=sess)
        assert np.array_equal(sess.run(v), [[1.0, 2.0], [3.0, 4.0]])
        with pytest.raises(tf.GraphError, match="shape"):
            v.load(np.zeros(3))
    count = tf.Variable(0)
    with tf.Session() as sess, pytest.raises(tf.GraphError, match="dtype float64"):
        count.load(1.5)


def test_ints_that_do_not_fit_a_variable_are_refused_and_change_nothing(g):
    count = tf.Variable(np.int32(5), name="count")
    with pytest.raises(tf.GraphError, match=f"Assign to 'count' of dtype int32: {2**40} is "
                                            "outside int32's range"):
        count.assign(2**40)
    with tf.Session() as sess:
        sess.run(count.initializer)
        with pytest.raises(tf.GraphError, match=f"cannot load 'count:0' of dtype int32: {2**40}"):
            count.load(np.int64(2**40))
        assert sess.run(count) == 5
        count.load(np.int64(-2**31))
        assert sess.run(count) == -2**31


def test_a_ragged_value_for_a_variable_is_refused_where_it_is_written(g):
    with pytest.raises(tf.GraphError, match=r"non-rectangular Python sequence to Tensor: "
                                            r"value\[1\] has length 1") as info:
        tf.Variable([[1.0, 2.0], [3.0]])
    assert "tf.Variable([[1.0, 2.0], [3.0]])" in str(info.value)
    v = tf.Variable([1.0, 2.0], name="v")
    with pytest.raises(tf.GraphError, match=r"Assign to 'v' of dtype float32: Can't convert "
                                            r"non-rectangular Python sequence to Tensor"):
        v.assign([[1.0], [2.0, 3.0]])


def test_dropout_draws_a_new_mask_each_run_and_its_gradient_agrees():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (256,))
        y = tf.nn.dropout(x, rate=0.5)
        (g,) = tf.gradients(tf.reduce_sum(y), [x])
        ones = {x: np.ones(256, np.float32)}
        with tf.Session() as sess:
            first, first_grad = sess.run([y, g], ones)
            second, second_grad = sess.run([y, g], ones)
        with tf.Session() as again:
            replay = again.run(y, ones)
    assert not np.array_equal(first, second)  # TensorFlow draws a new mask per run
    np.testing.assert_array_equal(first, first_grad)  # the gradient uses the run's own mask
    np.testing.assert_array_equal(second, second_grad)
    np.testing.assert_array_equal(first, replay)  # and a program re-run repeats its numbers
