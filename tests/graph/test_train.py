"""graph.train: optimizer trajectories against NumPy versions of TensorFlow 1's update
formulas, optimizer state as Variables, the global step, and Saver."""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest

import graph as tf
from framework.checkpoint import CheckpointError, load_state, save_state

SCALES = [np.array([1.0, 0.5, 3.0]), np.array([[2.0, 0.1], [1.0, 4.0]])]
TARGETS = [np.array([0.5, -1.0, 2.0]), np.array([[1.0, -2.0], [0.0, 3.0]])]
STARTS = [np.array([2.0, 1.0, -1.0]), np.array([[0.0, 1.0], [-1.0, 0.5]])]


def _quadratic_problem(dtype):
    """Two variables and loss = sum(a * (w - c)^2) / 2 over both: gradient a * (w - c)."""
    variables = [tf.Variable(start.astype(dtype), name=f"w{i}")
                 for i, start in enumerate(STARTS)]
    loss = sum(tf.reduce_sum(tf.constant(a.astype(dtype)) * tf.square(w - c.astype(dtype)))
               for w, a, c in zip(variables, SCALES, TARGETS)) * 0.5
    return variables, loss


def _numpy_gradients(values):
    return [a * (w - c) for w, a, c in zip(values, SCALES, TARGETS)]


def _numpy_sgd(steps, lr):
    values = [s.copy() for s in STARTS]
    for _ in range(steps):
        values = [w - lr * g for w, g in zip(values, _numpy_gradients(values))]
    return values


def _numpy_momentum(steps, lr, momentum, nesterov):
    values = [s.copy() for s in STARTS]
    accumulators = [np.zeros_like(s) for s in STARTS]
    for _ in range(steps):
        grads = _numpy_gradients(values)
        accumulators = [momentum * acc + g for acc, g in zip(accumulators, grads)]
        if nesterov:
            values = [w - lr * (g + momentum * acc)
                      for w, g, acc in zip(values, grads, accumulators)]
        else:
            values = [w - lr * acc for w, acc in zip(values, accumulators)]
    return values


def _numpy_tf1_adam(steps, lr, beta1, beta2, epsilon):
    values = [s.copy() for s in STARTS]
    m = [np.zeros_like(s) for s in STARTS]
    v = [np.zeros_like(s) for s in STARTS]
    for t in range(1, steps + 1):
        grads = _numpy_gradients(values)
        lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        m = [beta1 * mi + (1 - beta1) * g for mi, g in zip(m, grads)]
        v = [beta2 * vi + (1 - beta2) * g * g for vi, g in zip(v, grads)]
        values = [w - lr_t * mi / (np.sqrt(vi) + epsilon) for w, mi, vi in zip(values, m, v)]
    return values


def _numpy_rmsprop(steps, lr, decay, momentum, epsilon, centered):
    values = [s.copy() for s in STARTS]
    rms = [np.ones_like(s) for s in STARTS]
    mg = [np.zeros_like(s) for s in STARTS]
    mom = [np.zeros_like(s) for s in STARTS]
    for _ in range(steps):
        grads = _numpy_gradients(values)
        rms = [r + (g * g - r) * (1 - decay) for r, g in zip(rms, grads)]
        mg = [m + (g - m) * (1 - decay) for m, g in zip(mg, grads)]
        denominators = [r - m * m if centered else r for r, m in zip(rms, mg)]
        mom = [momentum * p + lr * g / np.sqrt(d + epsilon)
               for p, g, d in zip(mom, grads, denominators)]
        values = [w - p for w, p in zip(values, mom)]
    return values


def _numpy_adagrad(steps, lr, initial):
    values = [s.copy() for s in STARTS]
    accumulators = [np.full_like(s, initial) for s in STARTS]
    for _ in range(steps):
        grads = _numpy_gradients(values)
        accumulators = [a + g * g for a, g in zip(accumulators, grads)]
        values = [w - lr * g / np.sqrt(a) for w, g, a in zip(values, grads, accumulators)]
    return values


def _train(make_optimizer, steps, dtype=np.float64):
    with tf.Graph().as_default():
        variables, loss = _quadratic_problem(dtype)
        train_op = make_optimizer().minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                sess.run(train_op)
            return sess.run(variables)


OPTIMIZERS = [
    ("sgd", lambda: tf.train.GradientDescentOptimizer(0.1), lambda n: _numpy_sgd(n, 0.1)),
    ("momentum", lambda: tf.train.MomentumOptimizer(0.05, 0.9),
     lambda n: _numpy_momentum(n, 0.05, 0.9, False)),
    ("nesterov", lambda: tf.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
     lambda n: _numpy_momentum(n, 0.05, 0.9, True)),
    ("adam", lambda: tf.train.AdamOptimizer(0.1), lambda n: _numpy_tf1_adam(n, 0.1, 0.9, 0.999,
                                                                          1e-8)),
    # A large epsilon: TensorFlow's placement (added to sqrt(v), not to the corrected one)
    # then changes the trajectory visibly.
    ("adam_epsilon", lambda: tf.train.AdamOptimizer(0.05, 0.8, 0.99, epsilon=0.5),
     lambda n: _numpy_tf1_adam(n, 0.05, 0.8, 0.99, 0.5)),
    ("rmsprop", lambda: tf.train.RMSPropOptimizer(0.05),
     lambda n: _numpy_rmsprop(n, 0.05, 0.9, 0.0, 1e-10, False)),
    # A large epsilon shows that it sits inside the square root.
    ("rmsprop_momentum", lambda: tf.train.RMSPropOptimizer(0.02, decay=0.8, momentum=0.5,
                                                           epsilon=0.3),
     lambda n: _numpy_rmsprop(n, 0.02, 0.8, 0.5, 0.3, False)),
    ("rmsprop_centered", lambda: tf.train.RMSPropOptimizer(0.02, momentum=0.9, epsilon=1e-6,
                                                           centered=True),
     lambda n: _numpy_rmsprop(n, 0.02, 0.9, 0.9, 1e-6, True)),
    ("adagrad", lambda: tf.train.AdagradOptimizer(0.3),
     lambda n: _numpy_adagrad(n, 0.3, 0.1)),
    ("adagrad_initial", lambda: tf.train.AdagradOptimizer(0.3, initial_accumulator_value=2.0),
     lambda n: _numpy_adagrad(n, 0.3, 2.0)),
]


@pytest.mark.parametrize("name, make_optimizer, reference", OPTIMIZERS,
                         ids=[o[0] for o in OPTIMIZERS])
def test_trajectory_matches_tensorflow_1_formula(name, make_optimizer, reference):
    for steps in (1, 12):
        got = _train(make_optimizer, steps)
        for ours, expected in zip(got, reference(steps)):
            np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, make_optimizer, reference", OPTIMIZERS,
                         ids=[o[0] for o in OPTIMIZERS])
def test_trajectory_in_float32(name, make_optimizer, reference):
    got = _train(make_optimizer, 12, np.float32)
    for ours, expected in zip(got, reference(12)):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)


def test_tensorflow_adam_differs_from_pytorch_adam_by_epsilon_placement():
    # PyTorch: p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
    lr, beta1, beta2, epsilon = 0.05, 0.8, 0.99, 0.5
    g = _numpy_gradients(STARTS)
    m = [(1 - beta1) * gi for gi in g]
    v = [(1 - beta2) * gi * gi for gi in g]
    torch_step = [s - lr / (1 - beta1) * mi / (np.sqrt(vi) / np.sqrt(1 - beta2) + epsilon)
                  for s, mi, vi in zip(STARTS, m, v)]
    ours = _train(OPTIMIZERS[4][1], 1)
    assert not np.allclose(ours[0], torch_step[0], rtol=1e-3)
    np.testing.assert_allclose(ours[0], _numpy_tf1_adam(1, lr, beta1, beta2, epsilon)[0])


def test_optimizer_state_is_variables_with_tensorflow_names():
    with tf.Graph().as_default():
        variables, loss = _quadratic_problem(np.float32)
        adam = tf.train.AdamOptimizer(0.1)
        train_op = adam.minimize(loss)
        names = [v.op.name for v in tf.global_variables()]
        assert names == ["w0", "w1", "beta1_power", "beta2_power", "w0/Adam", "w0/Adam_1",
                         "w1/Adam", "w1/Adam_1"]
        assert [v.op.name for v in tf.trainable_variables()] == ["w0", "w1"]
        assert adam.get_slot_names() == ["m", "v"]
        assert adam.get_slot(variables[0], "m").op.name == "w0/Adam"
        assert sorted(v.op.name for v in adam.variables()) == sorted(names[2:])
        assert train_op.name == "Adam"
        beta1_power, beta2_power = adam._get_beta_accumulators()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(adam.get_slot(variables[1], "v")), 0)
            for _ in range(3):
                sess.run(train_op)
            powers = sess.run([beta1_power, beta2_power])
    np.testing.assert_allclose(powers, [0.9**4, 0.999**4], rtol=1e-6)


def test_rmsprop_and_adagrad_slots_have_tensorflow_names_and_initial_values():
    for centered, slots in ((False, ["RMSProp", "RMSProp_1"]),
                            (True, ["RMSProp", "RMSProp_1", "RMSProp_2"])):
        with tf.Graph().as_default():
            (w0, w1), loss = _quadratic_problem(np.float32)
            rmsprop = tf.train.RMSPropOptimizer(0.1, centered=centered)
            rmsprop.minimize(loss)
            names = [v.op.name for v in tf.global_variables()[2:]]
            assert names == [f"w{i}/{slot}" for i in (0, 1) for slot in slots]
            expected_slots = ["mg", "momentum", "rms"] if centered else ["momentum", "rms"]
            assert rmsprop.get_slot_names() == expected_slots
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                np.testing.assert_array_equal(sess.run(rmsprop.get_slot(w1, "rms")),
                                              np.ones((2, 2)))
    with tf.Graph().as_default():
        (w0, _), loss = _quadratic_problem(np.float64)
        adagrad = tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.5)
        train_op = adagrad.minimize(loss)
        assert [v.op.name for v in adagrad.variables()] == ["w0/Adagrad", "w1/Adagrad"]
        assert adagrad.get_slot_names() == ["accumulator"] and train_op.name == "Adagrad"
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(adagrad.get_slot(w0, "accumulator")),
                                          np.full(3, 0.5))
        with pytest.raises(tf.GraphError, match=r"initial_accumulator_value must be in \(0"):
            tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)
        with pytest.raises(tf.GraphError, match=r"decay must be in"):
            tf.train.RMSPropOptimizer(0.1, decay=1.5)


def test_tensorflow_1_training_names_not_built_here_say_so():
    with pytest.raises(AttributeError, match="tf.train.FtrlOptimizer is not built"):
        tf.train.FtrlOptimizer(0.1)
    assert not hasattr(tf.train, "linear_cosine_decay") and not hasattr(tf.train, "no_such_name")
    assert tf.train.cosine_decay is not None  # built since: no longer in the not-built list


@pytest.mark.tensorflow
def test_rmsprop_and_adagrad_with_a_decaying_rate_match_tensorflow_1():
    tensorflow = pytest.importorskip("tensorflow")
    v1 = tensorflow.compat.v1
    results = []
    for module in (tf, v1):
        graph = module.Graph()
        with graph.as_default():
            variables = [module.Variable(start.astype(np.float32)) for start in STARTS]
            loss = sum(module.reduce_sum(a.astype(np.float32) * (w - c.astype(np.float32)) ** 2)
                       for w, a, c in zip(variables, SCALES, TARGETS)) * 0.5
            step = module.train.get_or_create_global_step()
            rate = module.train.exponential_decay(0.05, step, 3, 0.7, staircase=True)
            train_ops = [
                module.train.RMSPropOptimizer(rate, momentum=0.5, centered=True).minimize(
                    loss, var_list=variables[:1]),
                module.train.AdagradOptimizer(rate).minimize(loss, global_step=step,
                                                             var_list=variables[1:])]
            with module.Session(graph=graph) as sess:
                sess.run(module.global_variables_initializer())
                for _ in range(10):
                    sess.run(train_ops)
                results.append(sess.run(variables))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_momentum_slots_and_reuse_across_calls():
    with tf.Graph().as_default():
        variables, loss = _quadratic_problem(np.float64)
        optimizer = tf.train.MomentumOptimizer(0.1, 0.5)
        first = optimizer.minimize(loss)
        second = optimizer.minimize(loss * 2.0)
        slots = [v.op.name for v in tf.global_variables()[2:]]
        assert slots == ["w0/Momentum", "w1/Momentum"]  # the second call reuses them
        assert first.name == "Momentum" and second.name != first.name
        assert not any(v.trainable for v in optimizer.variables())


def test_global_step_counts_steps():
    with tf.Graph().as_default():
        assert tf.train.get_global_step() is None
        step = tf.train.get_or_create_global_step()
        assert tf.train.get_or_create_global_step() is step
        with pytest.raises(tf.GraphError, match="already has a global step"):
            tf.train.create_global_step()
        _, loss = _quadratic_problem(np.float32)
        train_op = tf.train.AdamOptimizer().minimize(loss, global_step=step)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(4):
                sess.run(train_op)
            assert int(sess.run(step)) == 4
        with pytest.raises(tf.GraphError, match="integer Variable"):
            tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=tf.constant(0))


def test_var_list_and_gradient_errors():
    with tf.Graph().as_default():
        (w0, w1), loss = _quadratic_problem(np.float64)
        unused = tf.Variable(np.zeros(2), name="unused")
        optimizer = tf.train.GradientDescentOptimizer(0.1)
        pairs = optimizer.compute_gradients(loss)
        assert [v.op.name for _, v in pairs] == ["w0", "w1", "unused"]
        assert pairs[2][0] is None
        train_only_w0 = optimizer.minimize(loss, var_list=[w0])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train_only_w0)
            np.testing.assert_array_equal(sess.run(w1), STARTS[1])
            np.testing.assert_allclose(sess.run(w0), _numpy_sgd(1, 0.1)[0])
        with pytest.raises(tf.GraphError, match="no gradients provided"):
            optimizer.minimize(loss, var_list=[unused])
        with pytest.raises(tf.GraphError, match="no gradients provided"):
            optimizer.apply_gradients([(None, unused)])
        with pytest.raises(tf.GraphError, match="does not match"):
            optimizer.apply_gradients([(tf.constant(np.zeros(3, np.float32)), w0)])
        with pytest.raises(tf.GraphError, match="must hold Variables"):
            optimizer.minimize(loss, var_list=[loss])
        with pytest.raises(tf.GraphError, match="floating point"):
            optimizer.minimize(tf.cast(loss, tf.int32))
        with pytest.raises(tf.GraphError, match=r"learning_rate must be in"):
            tf.train.GradientDescentOptimizer(-1.0)
        with pytest.raises(tf.GraphError, match=r"beta1 must be in"):
            tf.train.AdamOptimizer(beta1=1.0)


def test_learning_rate_may_be_a_placeholder():
    with tf.Graph().as_default():
        variables, loss = _quadratic_problem(np.float64)
        lr = tf.placeholder(tf.float32, ())
        train_op = tf.train.GradientDescentOptimizer(lr).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train_op, {lr: 0.25})  # exact in float32, then cast to float64
            values = sess.run(variables)
    for ours, expected in zip(values, _numpy_sgd(1, 0.25)):
        np.testing.assert_allclose(ours, expected, rtol=1e-14)


def test_a_failed_step_changes_nothing():
    with tf.Graph().as_default():
        variables, loss = _quadratic_problem(np.float64)
        lr = tf.placeholder(tf.float64, (None,))
        train_op = tf.train.MomentumOptimizer(tf.reduce_sum(lr), 0.9).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            with pytest.raises(tf.GraphError, match="must feed"):
                sess.run(train_op)
            np.testing.assert_array_equal(sess.run(variables[0]), STARTS[0])


def _steps_in_threads(sess, train_op, feed, threads, steps):
    """`steps` runs of `train_op` in each of `threads` threads started together."""
    errors = []
    barrier = threading.Barrier(threads)

    def work():
        try:
            barrier.wait()
            for _ in range(steps):
                sess.run(train_op, feed)
        except BaseException as error:  # noqa: BLE001  (reported to the test below)
            errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so a race shows
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    if errors:
        raise errors[0]


@pytest.mark.parametrize("name, make_optimizer, reference", OPTIMIZERS,
                         ids=[o[0] for o in OPTIMIZERS])
def test_steps_from_eight_threads_equal_sequential_steps_bit_for_bit(name, make_optimizer,
                                                                    reference):
    # Every step sees the same batch, so 200 steps give one result whichever thread takes
    # which: a step must read and write the weights, the slots, the beta powers and the global
    # step as one, or the moments drift from the weights and the bias correction.
    every_optimizer = {value for value in vars(tf.train).values() if isinstance(value, type)
                       and issubclass(value, tf.train.Optimizer)} - {tf.train.Optimizer}
    assert every_optimizer <= {type(make()) for _, make, _ in OPTIMIZERS}  # all are tested
    rng = np.random.default_rng(7)
    batch = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    results = []
    for threads, steps in ((1, 200), (8, 25)):
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float64, (None, 3))
            y = tf.placeholder(tf.float64, (None, 2))
            hidden = tf.tanh(tf.matmul(x, tf.Variable(np.linspace(-0.5, 0.5, 12).reshape(3, 4))))
            out = tf.matmul(hidden, tf.Variable(np.linspace(-1.0, 1.0, 8).reshape(4, 2)))
            loss = tf.reduce_mean(tf.square(out - y))
            step = tf.train.create_global_step()
            train_op = make_optimizer().minimize(loss, global_step=step)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                _steps_in_threads(sess, train_op, {x: batch[0], y: batch[1]}, threads, steps)
                results.append(sess.variable_values())
    sequential, concurrent = results
    assert sequential.keys() == concurrent.keys() and concurrent["global_step"] == 200
    for variable, value in sequential.items():
        np.testing.assert_array_equal(concurrent[variable], value, err_msg=variable)


# -- Saver -------------------------------------------------------------------------------------


def _adam_model():
    variables, loss = _quadratic_problem(np.float32)
    step = tf.train.create_global_step()
    train_op = tf.train.AdamOptimizer(0.1).minimize(loss, global_step=step)
    return variables, train_op, step


def test_saver_round_trip_includes_optimizer_state(tmp_path):
    path = str(tmp_path / "model.ckpt")
    with tf.Graph().as_default():
        variables, train_op, step = _adam_model()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run(train_op)
            written = saver.save(sess, path, global_step=step)
            assert written == path + "-3"
            saved = {name: value.copy() for name, value in sess.variable_values().items()}
            for _ in range(2):
                sess.run(train_op)
            continued = sess.run(variables)
    state = load_state(written)
    assert sorted(state) == sorted(saved)
    assert set(state) >= {"w0", "w0/Adam", "w0/Adam_1", "beta1_power", "global_step"}
    # A new graph built the same way, restored, continues exactly where the first left off.
    with tf.Graph().as_default():
        variables, train_op, step = _adam_model()
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, written)
            assert int(sess.run(step)) == 3
            for name, value in sess.variable_values().items():
                np.testing.assert_array_equal(value, saved[name])
            for _ in range(2):
                sess.run(train_op)
            for ours, expected in zip(sess.run(variables), continued):
                np.testing.assert_array_equal(ours, expected)


def test_saver_with_a_var_list_dict_and_list(tmp_path):
    path = tmp_path / "weights.ckpt"
    with tf.Graph().as_default():
        (w0, w1), _ = _quadratic_problem(np.float32)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            tf.train.Saver({"layer/weights": w1}).save(sess, path)
            assert sorted(load_state(path)) == ["layer/weights"]
            only_w0 = tf.train.Saver([w0])
            assert only_w0.var_names == ["w0"]
            with pytest.raises(CheckpointError, match="no value for 'w0'"):
                only_w0.restore(sess, path)
        with pytest.raises(tf.GraphError, match="two variables"):
            tf.train.Saver([w0, w0])
        with pytest.raises(tf.GraphError, match="must hold Variables"):
            tf.train.Saver([tf.constant(1.0)])


def test_restore_checks_everything_before_changing_anything(tmp_path):
    with tf.Graph().as_default():
        (w0, w1), _ = _quadratic_problem(np.float32)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            good = {"w0": np.full(3, 7.0, np.float32), "w1": np.zeros((2, 2), np.float32)}
            cases = [
                ({**good, "w1": np.zeros((2, 3), np.float32)}, "shape"),
                ({**good, "w1": np.zeros((2, 2), np.float64)}, "dtype float64"),
                ({"w0": good["w0"]}, "no value for 'w1'"),
                ({**good, "w1": "text"}, "not an array"),
            ]
            for i, (state, message) in enumerate(cases):
                path = tmp_path / f"bad{i}.ckpt"
                save_state(state, path)
                with pytest.raises(CheckpointError, match=message):
                    saver.restore(sess, path)
                np.testing.assert_array_equal(sess.run(w0), STARTS[0].astype(np.float32))
            with pytest.raises(CheckpointError, match="does not exist"):
                saver.restore(sess, tmp_path / "missing.ckpt")
            extra = tmp_path / "extra.ckpt"
            save_state({**good, "unrelated": np.ones(1)}, extra)
            saver.restore(sess, extra)  # entries for other variables are ignored
            np.testing.assert_array_equal(sess.run(w0), good["w0"])


def test_save_needs_initialized_variables(tmp_path):
    with tf.Graph().as_default():
        _quadratic_problem(np.float32)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            with pytest.raises(tf.GraphError, match="not initialized"):
                saver.save(sess, tmp_path / "never.ckpt")
        assert not os.path.exists(tmp_path / "never.ckpt")
    with tf.Graph().as_default(), pytest.raises(tf.GraphError, match="no variables"):
        tf.train.Saver()
