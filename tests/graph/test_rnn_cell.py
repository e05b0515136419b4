"""tf.nn.rnn_cell, tf.nn.dynamic_rnn and tf.nn.static_rnn as TensorFlow 1 has them: variable
names and shapes, one step of each cell against NumPy, sequence_length masking, gradients
through the while_loop against float64 finite differences, eager's nn.LSTM / nn.RNN given the
same weights, DropoutWrapper's masks, a toy model that learns, and the errors.

The `tensorflow`-marked test runs the same program in TensorFlow's compat.v1 where it is
installed and compares the variable names and the numbers.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import eager
import graph as tf

rnn_cell = tf.nn.rnn_cell
RNG = np.random.default_rng(14)


@pytest.fixture
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _names_and_shapes(variables):
    return [(v.op.name, tuple(v.shape)) for v in variables]


def _load(sess, values):
    """Set variables (a dict variable -> array) in `sess`."""
    for variable, value in values.items():
        variable.load(value, sess)


def _random_weights(variables, scale=0.5):
    return {v: RNG.standard_normal(tuple(v.shape)) * scale for v in variables}


# -- NumPy references of TensorFlow 1's steps --------------------------------------------------


def _lstm_step(x, c, h, kernel, bias, forget_bias=1.0):
    i, j, f, o = np.split(np.concatenate([x, h], 1) @ kernel + bias, 4, 1)
    c = c * _sigmoid(f + forget_bias) + _sigmoid(i) * np.tanh(j)
    return c, np.tanh(c) * _sigmoid(o)


def _gru_step(x, h, gate_kernel, gate_bias, candidate_kernel, candidate_bias):
    r, u = np.split(_sigmoid(np.concatenate([x, h], 1) @ gate_kernel + gate_bias), 2, 1)
    c = np.tanh(np.concatenate([x, r * h], 1) @ candidate_kernel + candidate_bias)
    return u * h + (1 - u) * c


def _run_masked(step, x, state, lengths):
    """TF1's dynamic_rnn semantics in NumPy: `step(x_t, state) -> (output, state)` over the
    time axis of x (batch, time, depth); past a sequence's length its outputs are zeros and its
    state stays."""
    batch, steps = x.shape[:2]
    lengths = np.full(batch, steps) if lengths is None else np.asarray(lengths)
    outputs = []
    for t in range(steps):
        output, new_state = step(x[:, t], state)
        valid = (t < lengths)[:, None]
        outputs.append(np.where(valid, output, 0.0))
        state = tuple(np.where(valid, new, old) for new, old in zip(new_state, state))
    return np.stack(outputs, 1), state


# -- cells: sizes, variables, one step ---------------------------------------------------------

CELLS = {
    "basic_rnn": (lambda: rnn_cell.BasicRNNCell(4),
                  [("rnn/basic_rnn_cell/kernel", (7, 4)), ("rnn/basic_rnn_cell/bias", (4,))]),
    "basic_lstm": (lambda: rnn_cell.BasicLSTMCell(4),
                   [("rnn/basic_lstm_cell/kernel", (7, 16)),
                    ("rnn/basic_lstm_cell/bias", (16,))]),
    "lstm": (lambda: rnn_cell.LSTMCell(4, use_peepholes=True, num_proj=2),
             [("rnn/lstm_cell/kernel", (5, 16)), ("rnn/lstm_cell/bias", (16,)),
              ("rnn/lstm_cell/w_f_diag", (4,)), ("rnn/lstm_cell/w_i_diag", (4,)),
              ("rnn/lstm_cell/w_o_diag", (4,)), ("rnn/lstm_cell/projection/kernel", (4, 2))]),
    "gru": (lambda: rnn_cell.GRUCell(4),
            [("rnn/gru_cell/gates/kernel", (7, 8)), ("rnn/gru_cell/gates/bias", (8,)),
             ("rnn/gru_cell/candidate/kernel", (7, 4)), ("rnn/gru_cell/candidate/bias", (4,))]),
    "multi": (lambda: rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(4),
                                             rnn_cell.GRUCell(2)]),
              [("rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel", (7, 16)),
               ("rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias", (16,)),
               ("rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel", (6, 4)),
               ("rnn/multi_rnn_cell/cell_1/gru_cell/gates/bias", (4,)),
               ("rnn/multi_rnn_cell/cell_1/gru_cell/candidate/kernel", (6, 2)),
               ("rnn/multi_rnn_cell/cell_1/gru_cell/candidate/bias", (2,))]),
    "dropout": (lambda: rnn_cell.DropoutWrapper(rnn_cell.BasicLSTMCell(4), 0.5, 0.5, 0.5),
                [("rnn/basic_lstm_cell/kernel", (7, 16)), ("rnn/basic_lstm_cell/bias", (16,))]),
}


@pytest.mark.parametrize("kind", list(CELLS))
def test_dynamic_rnn_names_variables_and_shapes_as_tensorflow_1(g, kind):
    make, expected = CELLS[kind]
    cell = make()
    x = tf.placeholder(tf.float32, (None, 5, 3))
    outputs, state = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    assert _names_and_shapes(tf.trainable_variables()) == expected
    assert _names_and_shapes(cell.variables) == expected
    out_size = {"lstm": 2, "multi": 2}.get(kind, 4)
    assert outputs.shape == (None, 5, out_size) and outputs.dtype == np.float32
    states = rnn_cell.flatten(state)
    sizes = rnn_cell.flatten(cell.state_size)
    assert [s.shape for s in states] == [(None, size) for size in sizes]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out, final = sess.run([outputs, state], {x: np.ones((2, 5, 3), np.float32)})
    assert out.shape == (2, 5, out_size)
    assert [f.shape for f in rnn_cell.flatten(final)] == [(2, size) for size in sizes]


def test_state_sizes_and_zero_states_follow_the_cell(g):
    lstm = rnn_cell.BasicLSTMCell(3)
    assert lstm.state_size == rnn_cell.LSTMStateTuple(3, 3) and lstm.output_size == 3
    assert rnn_cell.BasicLSTMCell(3, state_is_tuple=False).state_size == 6
    assert rnn_cell.LSTMCell(3, num_proj=2).state_size == (3, 2)
    multi = rnn_cell.MultiRNNCell([lstm, rnn_cell.GRUCell(2)])
    assert multi.state_size == (rnn_cell.LSTMStateTuple(3, 3), 2) and multi.output_size == 2
    batch = tf.placeholder(tf.int32, ())
    fixed, fed = multi.zero_state(4, tf.float64), multi.zero_state(batch, tf.float64)
    assert isinstance(fixed[0], rnn_cell.LSTMStateTuple)
    assert [s.shape for s in rnn_cell.flatten(fixed)] == [(4, 3), (4, 3), (4, 2)]
    assert [s.shape for s in rnn_cell.flatten(fed)] == [(None, 3), (None, 3), (None, 2)]
    with tf.Session() as sess:
        values = sess.run(rnn_cell.flatten(fed), {batch: 5})
        with pytest.raises(tf.GraphError, match="non-negative scalar integer"):
            sess.run(fed[1], {batch: -1})
    assert [v.shape for v in values] == [(5, 3), (5, 3), (5, 2)]
    assert all(v.dtype == np.float64 and not v.any() for v in values)


def test_multi_rnn_cell_with_a_concatenated_state_computes_what_the_tuple_one_does(g):
    layers = [rnn_cell.GRUCell(2), rnn_cell.BasicRNNCell(3)]
    stacked = rnn_cell.MultiRNNCell(layers)
    concatenated = rnn_cell.MultiRNNCell(layers, state_is_tuple=False)
    assert concatenated.state_size == 5
    x, h = tf.constant(RNG.standard_normal((2, 4))), RNG.standard_normal((2, 5))
    out, state = stacked(x, (tf.constant(h[:, :2]), tf.constant(h[:, 2:])))
    concat_out, concat_state = concatenated(x, tf.constant(h))  # the same cells and variables
    assert len(tf.trainable_variables()) == 6
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run([out, state, concat_out, concat_state])
    np.testing.assert_array_equal(got[0], got[2])
    np.testing.assert_array_equal(np.concatenate(got[1], 1), got[3])


def test_basic_cells_match_numpy_one_step(g):
    x, h, c = (RNG.standard_normal((2, n)) for n in (3, 4, 4))
    inputs = tf.constant(x)
    rnn = rnn_cell.BasicRNNCell(4, activation=tf.nn.relu)
    lstm = rnn_cell.BasicLSTMCell(4, forget_bias=0.5)
    lstm_concat = rnn_cell.BasicLSTMCell(4, state_is_tuple=False, name="concat_lstm")
    gru = rnn_cell.GRUCell(4)
    rnn_out, rnn_state = rnn(inputs, tf.constant(h))
    lstm_out, lstm_state = lstm(inputs, rnn_cell.LSTMStateTuple(tf.constant(c), tf.constant(h)))
    concat_out, concat_state = lstm_concat(inputs, tf.constant(np.concatenate([c, h], 1)))
    gru_out, gru_state = gru(inputs, tf.constant(h))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        weights = _random_weights(tf.trainable_variables())
        _load(sess, weights)
        got = sess.run([rnn_out, rnn_state, lstm_out, lstm_state, concat_out, concat_state,
                        gru_out, gru_state])
    w = [weights[v] for v in rnn.variables]
    expected_rnn = np.maximum(np.concatenate([x, h], 1) @ w[0] + w[1], 0)
    np.testing.assert_allclose(got[0], expected_rnn, rtol=1e-12)
    np.testing.assert_array_equal(got[1], got[0])
    new_c, new_h = _lstm_step(x, c, h, *(weights[v] for v in lstm.variables), forget_bias=0.5)
    np.testing.assert_allclose(got[2], new_h, rtol=1e-12)
    np.testing.assert_allclose(got[3].c, new_c, rtol=1e-12)
    np.testing.assert_allclose(got[3].h, new_h, rtol=1e-12)
    new_c, new_h = _lstm_step(x, c, h, *(weights[v] for v in lstm_concat.variables))
    np.testing.assert_allclose(got[5], np.concatenate([new_c, new_h], 1), rtol=1e-12)
    expected_gru = _gru_step(x, h, *(weights[v] for v in gru.variables))
    np.testing.assert_allclose(got[6], expected_gru, rtol=1e-12)
    np.testing.assert_array_equal(got[7], got[6])


def test_lstm_cell_peepholes_clipping_and_projection_match_numpy(g):
    x, c, m = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 4)) * 3, \
        RNG.standard_normal((2, 2))
    cell = rnn_cell.LSTMCell(4, use_peepholes=True, cell_clip=0.8, num_proj=2, proj_clip=0.3,
                             forget_bias=0.25)
    output, state = cell(tf.constant(x), rnn_cell.LSTMStateTuple(tf.constant(c), tf.constant(m)))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        weights = _random_weights(cell.variables, scale=1.0)
        _load(sess, weights)
        got_output, got_state = sess.run([output, state])
    kernel, bias, w_f, w_i, w_o, projection = (weights[v] for v in cell.variables)
    i, j, f, o = np.split(np.concatenate([x, m], 1) @ kernel + bias, 4, 1)
    new_c = np.clip(_sigmoid(f + 0.25 + w_f * c) * c + _sigmoid(i + w_i * c) * np.tanh(j),
                    -0.8, 0.8)
    new_m = np.clip((_sigmoid(o + w_o * new_c) * np.tanh(new_c)) @ projection, -0.3, 0.3)
    assert np.abs(new_c).max() == pytest.approx(0.8)  # the clips matter in this example
    np.testing.assert_allclose(got_state.c, new_c, rtol=1e-12)
    np.testing.assert_allclose(got_output, new_m, rtol=1e-12)
    np.testing.assert_array_equal(got_state.h, got_output)


def test_a_cell_keeps_its_scope_and_shares_its_variables_across_calls(g):
    cell, other = rnn_cell.BasicLSTMCell(2), rnn_cell.BasicLSTMCell(2)
    x = tf.ones((1, 3))
    with tf.variable_scope("encoder"):
        _, state = cell(x, cell.zero_state(1, tf.float32))
        other(x, other.zero_state(1, tf.float32))  # a scope of its own
    cell(x, state)  # outside the scope: the same variables
    assert cell.scope_name == "encoder/basic_lstm_cell"
    assert [v.op.name for v in tf.global_variables()] == [
        "encoder/basic_lstm_cell/kernel", "encoder/basic_lstm_cell/bias",
        "encoder/basic_lstm_cell_1/kernel", "encoder/basic_lstm_cell_1/bias"]
    named = rnn_cell.GRUCell(2, name="decoder_cell")
    named(x, tf.zeros((1, 2)), scope="explicit")
    assert named.scope_name == "explicit"
    with tf.variable_scope("encoder"):
        shared = rnn_cell.BasicLSTMCell(2, reuse=True)
        shared(x, shared.zero_state(1, tf.float32))
    assert shared.variables == cell.variables
    with pytest.raises(tf.GraphError, match="built for inputs of depth 3"):
        cell(tf.ones((1, 5)), state)


def test_threads_calling_a_new_cell_at_once_build_it_once(g):
    class SlowToBuild(rnn_cell.BasicRNNCell):
        def build(self, inputs_shape):
            time.sleep(0.05)  # every thread arrives while the first one builds
            super().build(inputs_shape)

    cell, errors, outputs = SlowToBuild(2), [], []

    def call():
        try:
            with g.as_default():
                outputs.append(cell(tf.ones((1, 3)), tf.zeros((1, 2)))[0])
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(outputs) == 4
    assert [v.op.name for v in tf.global_variables()] == ["slow_to_build/kernel",
                                                          "slow_to_build/bias"]


def test_two_dynamic_rnns_share_variables_under_a_reusing_scope(g):
    x = tf.placeholder(tf.float64, (2, 3, 2))
    with tf.variable_scope("model"):
        first, _ = tf.nn.dynamic_rnn(rnn_cell.GRUCell(3), x, dtype=tf.float64)
    with tf.variable_scope("model", reuse=True):
        second, _ = tf.nn.dynamic_rnn(rnn_cell.GRUCell(3), x, dtype=tf.float64)
    assert [v.op.name for v in tf.trainable_variables()] == [
        "model/rnn/gru_cell/gates/kernel", "model/rnn/gru_cell/gates/bias",
        "model/rnn/gru_cell/candidate/kernel", "model/rnn/gru_cell/candidate/bias"]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        a, b = sess.run([first, second], {x: RNG.standard_normal((2, 3, 2))})
    np.testing.assert_array_equal(a, b)


# -- dynamic_rnn and static_rnn ----------------------------------------------------------------


@pytest.mark.parametrize("time_major", [False, True])
def test_dynamic_rnn_masks_past_sequence_length_and_keeps_the_last_valid_state(g, time_major):
    batch, steps, depth, units = 4, 6, 3, 5
    x = RNG.standard_normal((batch, steps, depth))
    lengths = np.array([6, 2, 0, 4])
    shape = (None, None, depth)  # time and batch known only when fed
    inputs = tf.placeholder(tf.float64, shape)
    sequence_length = tf.placeholder(tf.int32, (None,))
    cell = rnn_cell.BasicLSTMCell(units)
    c0, h0 = RNG.standard_normal((2, batch, units))
    outputs, state = tf.nn.dynamic_rnn(
        cell, inputs, sequence_length=sequence_length, time_major=time_major,
        initial_state=rnn_cell.LSTMStateTuple(tf.constant(c0), tf.constant(h0)))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        weights = _random_weights(cell.variables)
        _load(sess, weights)
        fed = np.swapaxes(x, 0, 1) if time_major else x
        out, final = sess.run([outputs, state], {inputs: fed, sequence_length: lengths})
    kernel, bias = (weights[v] for v in cell.variables)
    expected, (c, h) = _run_masked(lambda x_t, s: (lambda c, h: (h, (c, h)))(
        *_lstm_step(x_t, s[0], s[1], kernel, bias)), x, (c0, h0), lengths)
    out = np.swapaxes(out, 0, 1) if time_major else out
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)
    assert not out[1, 2:].any() and not out[2].any()
    np.testing.assert_allclose(final.c, c, rtol=1e-12)
    np.testing.assert_allclose(final.h, h, rtol=1e-12)
    np.testing.assert_array_equal(final.h[2], h0[2])  # a sequence of length 0 keeps its start
    np.testing.assert_array_equal(final.h[1], out[1, 1])  # the state at the last valid step


def test_dynamic_rnn_takes_empty_sequences_and_empty_batches(g):
    x = tf.placeholder(tf.float32, (None, None, 2))
    outputs, state = tf.nn.dynamic_rnn(rnn_cell.BasicLSTMCell(3), x, dtype=tf.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        no_steps, start = sess.run([outputs, state], {x: np.ones((2, 0, 2))})
        no_sequences = sess.run(outputs, {x: np.ones((0, 4, 2))})
    assert no_steps.shape == (2, 0, 3) and start.h.shape == (2, 3) and not start.c.any()
    assert no_sequences.shape == (0, 4, 3)


def test_gru_through_dynamic_rnn_matches_tensorflow_1_equations_in_numpy(g):
    x = RNG.standard_normal((3, 4, 2))
    cell = rnn_cell.GRUCell(3)
    outputs, state = tf.nn.dynamic_rnn(cell, tf.constant(x), sequence_length=[4, 1, 3],
                                       dtype=tf.float64)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        weights = _random_weights(cell.variables, scale=1.0)
        _load(sess, weights)
        out, final = sess.run([outputs, state])
    w = [weights[v] for v in cell.variables]
    expected, (h,) = _run_masked(lambda x_t, s: (lambda h: (h, (h,)))(_gru_step(x_t, s[0], *w)),
                                 x, (np.zeros((3, 3)),), [4, 1, 3])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(final, h, rtol=1e-12)


def test_static_rnn_gives_dynamic_rnns_numbers_with_the_same_variables(g):
    x = RNG.standard_normal((3, 4, 2))
    lengths = [4, 1, 2]
    cell = rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(3), rnn_cell.BasicRNNCell(2)])
    steps = [tf.constant(x[:, t]) for t in range(4)]
    static_outputs, static_state = tf.nn.static_rnn(cell, steps, dtype=tf.float64,
                                                    sequence_length=lengths)
    names = [v.op.name for v in tf.trainable_variables()]
    assert names == ["rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel",
                     "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias",
                     "rnn/multi_rnn_cell/cell_1/basic_rnn_cell/kernel",
                     "rnn/multi_rnn_cell/cell_1/basic_rnn_cell/bias"]
    dynamic_outputs, dynamic_state = tf.nn.dynamic_rnn(  # the cell keeps its variables
        cell, tf.constant(x), sequence_length=lengths, dtype=tf.float64, scope="again")
    assert len(tf.trainable_variables()) == 4
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _load(sess, _random_weights(tf.trainable_variables()))
        got_static, got_static_state, got_dynamic, got_dynamic_state = sess.run(
            [static_outputs, static_state, dynamic_outputs, dynamic_state])
    np.testing.assert_allclose(np.stack(got_static, 1), got_dynamic, rtol=1e-12, atol=1e-15)
    for a, b in zip(rnn_cell.flatten(got_static_state), rnn_cell.flatten(got_dynamic_state)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert not np.stack(got_static, 1)[1, 1:].any()


def test_dynamic_rnn_runs_a_cell_written_as_tensorflow_1_users_wrote_them(g):
    class ScaledTanhCell(rnn_cell.RNNCell):  # get_variable in __call__, no build
        @property
        def state_size(self):
            return 2

        @property
        def output_size(self):
            return 2

        def __call__(self, inputs, state, scope=None):
            with tf.variable_scope(scope or "scaled_tanh"):
                w = tf.get_variable("w", [inputs.shape[1] + 2, 2], dtype=inputs.dtype)
                out = tf.tanh(tf.matmul(tf.concat([inputs, state], 1), w))
            return out, out

    x = RNG.standard_normal((2, 3, 1))
    outputs, state = tf.nn.dynamic_rnn(ScaledTanhCell(), tf.constant(x), dtype=tf.float64)
    assert [v.op.name for v in tf.global_variables()] == ["rnn/scaled_tanh/w"]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        (w,) = sess.run(tf.global_variables())
        out, final = sess.run([outputs, state])
    h = np.zeros((2, 2))
    for t in range(3):
        h = np.tanh(np.concatenate([x[:, t], h], 1) @ w)
        np.testing.assert_allclose(out[:, t], h, rtol=1e-12)
    np.testing.assert_allclose(final, h, rtol=1e-12)


# -- gradients ---------------------------------------------------------------------------------


def _directional_check(sess, loss, variables, feeds, directions=3, eps=1e-6):
    """d loss along random directions of each variable: gradients vs central differences."""
    grads = sess.run(tf.gradients(loss, variables), feeds)
    for variable, grad in zip(variables, grads):
        base = sess.run(variable)
        for _ in range(directions):
            direction = RNG.standard_normal(base.shape)
            values = []
            for sign in (1, -1):
                variable.load(base + sign * eps * direction, sess)
                values.append(sess.run(loss, feeds))
            variable.load(base, sess)
            numeric = (values[0] - values[1]) / (2 * eps)
            assert np.sum(grad * direction) == pytest.approx(numeric, rel=1e-6, abs=1e-9), \
                variable.op.name


@pytest.mark.parametrize("make", [lambda: rnn_cell.BasicLSTMCell(3),
                                  lambda: rnn_cell.LSTMCell(3, use_peepholes=True, num_proj=2),
                                  lambda: rnn_cell.GRUCell(3)],
                         ids=["basic_lstm", "lstm_peephole_proj", "gru"])
def test_gradients_through_dynamic_rnn_match_finite_differences(g, make):
    cell = make()
    x = tf.Variable(RNG.standard_normal((3, 4, 2)), name="x")  # a Variable: load() moves it
    start = [tf.Variable(RNG.standard_normal((3, n)), name=f"start_{k}")
             for k, n in enumerate(rnn_cell.flatten(cell.state_size))]
    lengths = tf.placeholder(tf.int32, (3,))
    outputs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths,
                                       initial_state=rnn_cell.pack_like(cell.state_size, start))
    weights = tf.constant(RNG.standard_normal((3, 4, cell.output_size)))
    loss = tf.reduce_sum(outputs * weights) + sum(tf.reduce_sum(tf.sin(s))
                                                  for s in rnn_cell.flatten(state))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _load(sess, _random_weights(cell.variables))
        _directional_check(sess, loss, cell.variables + [x] + start, {lengths: [4, 2, 3]})


def test_gradient_reaches_only_the_valid_steps_of_each_sequence(g):
    x = tf.Variable(RNG.standard_normal((2, 5, 2)), name="x")
    outputs, _ = tf.nn.dynamic_rnn(rnn_cell.GRUCell(3), x, sequence_length=[5, 2],
                                   dtype=tf.float64)
    (grad,) = tf.gradients(tf.reduce_sum(outputs), [x])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run(grad)
    assert not got[1, 2:].any() and np.abs(got[1, :2]).min() > 0 and np.abs(got[0]).min() > 0


# -- the same numbers as eager's recurrent layers ---------------------------------------------


def _tensorflow_layout(weight_ih, weight_hh, bias_ih, bias_hh, gates):
    """PyTorch's weights (gate rows i, f, g, o for an LSTM) as TF1's kernel and bias (column
    blocks i, j, f, o; j is PyTorch's g)."""
    units = weight_hh.shape[1]
    kernel = np.concatenate([weight_ih, weight_hh], 1).T
    bias = bias_ih + bias_hh
    order = [0, 2, 1, 3] if gates == 4 else [0]
    kernel = np.concatenate([kernel[:, k * units:(k + 1) * units] for k in order], 1)
    bias = np.concatenate([bias[k * units:(k + 1) * units] for k in order])
    return kernel, bias


@pytest.mark.parametrize("dtype, tolerance", [
    (np.float64, dict(rtol=1e-12, atol=1e-14)),
    # float32: eager adds x @ W_ih.T + b_ih + h @ W_hh.T + b_hh, the graph one matmul of [x, h]
    # with the fused kernel plus one bias: the sums round differently, by a few float32 ulps
    # (about 1e-7 here after 6 steps, also through two layers); ten times that is allowed.
    (np.float32, dict(rtol=1e-5, atol=1e-6)),
], ids=["float64", "float32"])
@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_gives_eager_nn_lstm_numbers_from_the_same_weights(g, dtype, tolerance, layers):
    depth, units = 3, 4
    x = RNG.standard_normal((2, 6, depth)).astype(dtype)
    h0, c0 = (RNG.standard_normal((layers, 2, units)).astype(dtype) for _ in range(2))
    lstm = eager.nn.LSTM(depth, units, num_layers=layers, batch_first=True, dtype=dtype)
    output, (h_n, c_n) = lstm(eager.tensor(x), (eager.tensor(h0), eager.tensor(c0)))

    cells = [rnn_cell.BasicLSTMCell(units, forget_bias=0.0) for _ in range(layers)]
    cell = cells[0] if layers == 1 else rnn_cell.MultiRNNCell(cells)
    start = tuple(rnn_cell.LSTMStateTuple(tf.constant(c0[k]), tf.constant(h0[k]))
                  for k in range(layers))
    outputs, state = tf.nn.dynamic_rnn(cell, tf.constant(x),
                                       initial_state=start[0] if layers == 1 else start)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for k, layer in enumerate(cells):
            weights = [getattr(lstm, f"{name}_l{k}").detach().numpy()
                       for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            kernel, bias = _tensorflow_layout(*weights, gates=4)
            _load(sess, dict(zip(layer.variables, (kernel, bias))))
        got_outputs, got_state = sess.run([outputs, state])
    got_state = [got_state] if layers == 1 else got_state
    assert got_outputs.dtype == dtype
    np.testing.assert_allclose(got_outputs, output.detach().numpy(), **tolerance)
    for k in range(layers):
        np.testing.assert_allclose(got_state[k].h, h_n.detach().numpy()[k], **tolerance)
        np.testing.assert_allclose(got_state[k].c, c_n.detach().numpy()[k], **tolerance)


def test_basic_rnn_cell_gives_eager_nn_rnn_numbers_from_the_same_weights(g):
    x = RNG.standard_normal((3, 5, 2))
    rnn = eager.nn.RNN(2, 4, batch_first=True, dtype=np.float64)
    output, h_n = rnn(eager.tensor(x))
    cell = rnn_cell.BasicRNNCell(4)
    outputs, state = tf.nn.dynamic_rnn(cell, tf.constant(x), dtype=tf.float64)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        weights = [p.detach().numpy() for p in (rnn.weight_ih_l0, rnn.weight_hh_l0,
                                                rnn.bias_ih_l0, rnn.bias_hh_l0)]
        _load(sess, dict(zip(cell.variables, _tensorflow_layout(*weights, gates=1))))
        got_outputs, got_state = sess.run([outputs, state])
    np.testing.assert_allclose(got_outputs, output.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got_state, h_n.detach().numpy()[0], rtol=1e-12, atol=1e-14)


# -- DropoutWrapper ----------------------------------------------------------------------------


def test_dropout_wrapper_draws_a_new_mask_at_each_time_step_and_scales_kept_values(g):
    cell = rnn_cell.DropoutWrapper(rnn_cell.BasicRNNCell(200, activation=lambda z: z),
                                   output_keep_prob=0.5, seed=3)
    x = tf.placeholder(tf.float32, (1, 4, 1))
    outputs, _ = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    (kernel, bias) = cell.variables
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        kernel.load(np.vstack([np.ones((1, 200)), np.zeros((200, 200))]), sess)
        first = sess.run(outputs, {x: np.ones((1, 4, 1))})
        second = sess.run(outputs, {x: np.ones((1, 4, 1))})
    kept = first[0] != 0
    assert set(np.unique(first)) == {0.0, 2.0}  # kept values scaled by 1 / keep_prob
    assert 0.35 < kept.mean() < 0.65
    assert len({kept[t].tobytes() for t in range(4)}) == 4  # one mask per time step
    assert len({(second[0, t] != 0).tobytes() for t in range(4)}) == 4  # compiled too
    assert not np.array_equal(first, second)  # and per run
    with tf.Graph().as_default(), tf.Session() as sess:  # the same seeds: the same masks
        again = rnn_cell.DropoutWrapper(rnn_cell.BasicRNNCell(200, activation=lambda z: z),
                                        output_keep_prob=0.5, seed=3)
        x = tf.placeholder(tf.float32, (1, 4, 1))
        outputs, _ = tf.nn.dynamic_rnn(again, x, dtype=tf.float32)
        sess.run(tf.global_variables_initializer())
        again.variables[0].load(np.vstack([np.ones((1, 200)), np.zeros((200, 200))]), sess)
        np.testing.assert_array_equal(sess.run(outputs, {x: np.ones((1, 4, 1))}), first)


def test_dropout_wrapper_keeps_everything_at_a_fed_keep_prob_of_one_and_spares_lstm_memory(g):
    keep_prob = tf.placeholder(tf.float64, ())
    lstm = rnn_cell.BasicLSTMCell(50)
    cell = rnn_cell.DropoutWrapper(lstm, input_keep_prob=keep_prob, output_keep_prob=keep_prob,
                                   state_keep_prob=keep_prob)
    x = RNG.standard_normal((4, 3, 2))
    outputs, state = tf.nn.dynamic_rnn(cell, tf.constant(x), dtype=tf.float64)
    with tf.variable_scope("plain"):
        plain_outputs, plain_state = tf.nn.dynamic_rnn(lstm, tf.constant(x), dtype=tf.float64)
    step_out, step_state = cell(tf.constant(x[:, 0]), lstm.zero_state(4, tf.float64))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _load(sess, _random_weights(lstm.variables))  # a bias: no c is zero by chance
        same = sess.run([outputs, state, plain_outputs, plain_state], {keep_prob: 1.0})
        dropped_out, dropped_state = sess.run([step_out, step_state], {keep_prob: 0.5})
        with pytest.raises(tf.GraphError, match=r"must be a scalar in \(0, 1\]"):
            sess.run(outputs, {keep_prob: 0.0})
    np.testing.assert_array_equal(same[0], same[2])
    np.testing.assert_array_equal(same[1].c, same[3].c)
    assert (dropped_out == 0).mean() > 0.3  # outputs dropped out
    assert (dropped_state.h == 0).mean() > 0.3  # h dropped out
    assert (dropped_state.c != 0).all()  # c never is, by TensorFlow 1's default filter


def test_dropout_wrapper_state_filter_and_seeded_sites(g):
    gru = rnn_cell.GRUCell(100)
    x = tf.ones((3, 2))
    nothing = rnn_cell.DropoutWrapper(gru, state_keep_prob=0.5,
                                      dropout_state_filter_visitor=lambda s: False)
    out, state = nothing(x, gru.zero_state(3, tf.float32))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_out, got_state = sess.run([out, state])
    np.testing.assert_array_equal(got_out, got_state)  # the state was left alone
    with pytest.raises(tf.GraphError, match="must be between 0 and 1"):
        rnn_cell.DropoutWrapper(gru, output_keep_prob=1.5)
    with pytest.raises(tf.GraphError, match="variational_recurrent"):
        rnn_cell.DropoutWrapper(gru, variational_recurrent=True)
    with pytest.raises(TypeError, match="must be callable"):
        rnn_cell.DropoutWrapper(gru, dropout_state_filter_visitor=True)


# -- a toy model learns ------------------------------------------------------------------------


def test_a_toy_lstm_classifier_learns_the_sign_of_a_sequence_sum():
    rng = np.random.default_rng(0)

    def batch(size=64):
        lengths = rng.integers(3, 9, size)
        x = rng.uniform(-1, 1, (size, 8, 1)).astype(np.float32)
        x[np.arange(8)[None, :] >= lengths[:, None]] = 0.0
        return x, lengths, (x.sum(axis=(1, 2)) > 0).astype(np.int64)

    with tf.Graph().as_default():
        tf.set_random_seed(1)
        x = tf.placeholder(tf.float32, (None, 8, 1))
        lengths = tf.placeholder(tf.int32, (None,))
        labels = tf.placeholder(tf.int64, (None,))
        cell = rnn_cell.BasicLSTMCell(8)
        _, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)
        logits = tf.layers.dense(state.h, 2)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits))
        train = tf.train.AdamOptimizer(0.05).minimize(loss)
        test_x, test_lengths, test_labels = batch(256)
        test = {x: test_x, lengths: test_lengths, labels: test_labels}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            before = sess.run(loss, test)
            for _ in range(120):
                bx, bl, by = batch()
                sess.run(train, {x: bx, lengths: bl, labels: by})
            after, scores = sess.run([loss, logits], test)
    accuracy = (scores.argmax(1) == test_labels).mean()
    assert before > 0.6 and after < 0.25 and accuracy > 0.9, (before, after, accuracy)


# -- errors ------------------------------------------------------------------------------------


def test_dynamic_rnn_refuses_bad_arguments_before_building(g):
    cell = rnn_cell.BasicLSTMCell(2)
    x = tf.placeholder(tf.float32, (2, 3, 4))
    with pytest.raises(tf.GraphError, match="you must give a dtype"):
        tf.nn.dynamic_rnn(cell, x)
    with pytest.raises(TypeError, match="must be an instance of RNNCell"):
        tf.nn.dynamic_rnn(lambda x, s: (x, s), x, dtype=tf.float32)
    with pytest.raises(tf.GraphError, match="must be accessible via shape inference"):
        tf.nn.dynamic_rnn(cell, tf.placeholder(tf.float32, (2, 3, None)), dtype=tf.float32)
    with pytest.raises(tf.GraphError, match=r"\(batch, time, depth\)"):
        tf.nn.dynamic_rnn(cell, tf.placeholder(tf.float32, (2, 3)), dtype=tf.float32)
    with pytest.raises(tf.GraphError, match="floating point"):
        tf.nn.dynamic_rnn(cell, tf.placeholder(tf.int32, (2, 3, 4)), dtype=tf.float32)
    with pytest.raises(tf.GraphError, match="dtype float32, the state float64"):
        tf.nn.dynamic_rnn(cell, x, dtype=tf.float64)
    with pytest.raises(tf.GraphError, match="vector of length batch_size"):
        tf.nn.dynamic_rnn(cell, x, sequence_length=[[1, 2]], dtype=tf.float32)
    with pytest.raises(tf.GraphError, match="3 lengths for a batch of 2"):
        tf.nn.dynamic_rnn(cell, x, sequence_length=[1, 2, 3], dtype=tf.float32)
    with pytest.raises(tf.GraphError, match="negative length"):
        tf.nn.dynamic_rnn(cell, x, sequence_length=[1, -2], dtype=tf.float32)
    with pytest.raises(tf.GraphError, match="structure of the cell's state_size"):
        tf.nn.dynamic_rnn(cell, x, initial_state=tf.zeros((2, 2)))
    with pytest.raises(tf.GraphError, match=r"must have shape \(2, 2\)"):
        tf.nn.dynamic_rnn(cell, x, initial_state=rnn_cell.LSTMStateTuple(
            tf.zeros((2, 2)), tf.zeros((2, 3))))
    assert tf.global_variables() == []  # nothing was built by the refused calls


def test_lengths_are_checked_when_the_graph_runs(g):
    x = tf.placeholder(tf.float32, (None, 3, 1))
    lengths = tf.placeholder(tf.int32, (None,))
    outputs, _ = tf.nn.dynamic_rnn(rnn_cell.GRUCell(2), x, sequence_length=lengths,
                                   dtype=tf.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.GraphError, match=r"sequence_length .* is \[2\] .* saw shape: "
                                                r"\[3\]"):
            sess.run(outputs, {x: np.ones((2, 3, 1)), lengths: [1, 2, 3]})
        with pytest.raises(tf.GraphError, match="negative length -1"):
            sess.run(outputs, {x: np.ones((2, 3, 1)), lengths: [1, -1]})
        assert sess.run(outputs, {x: np.ones((2, 3, 1)), lengths: [3, 9]}).shape == (2, 3, 2)


def test_cells_and_static_rnn_refuse_bad_arguments(g):
    with pytest.raises(TypeError, match="cells must be a list or tuple"):
        rnn_cell.MultiRNNCell(rnn_cell.GRUCell(2))
    with pytest.raises(tf.GraphError, match="at least one cell"):
        rnn_cell.MultiRNNCell([])
    with pytest.raises(tf.GraphError, match="state_is_tuple is not set"):
        rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(2)], state_is_tuple=False)
    with pytest.raises(tf.GraphError, match="num_units must be a positive int"):
        rnn_cell.GRUCell(0)
    with pytest.raises(tf.GraphError, match="num_unit_shards is not built"):
        rnn_cell.LSTMCell(2, num_unit_shards=2)
    cell = rnn_cell.GRUCell(2)
    with pytest.raises(tf.GraphError, match=r"must be \(batch, depth\)"):
        cell(tf.ones((2, 3, 1)), tf.zeros((2, 2)))
    with pytest.raises(tf.GraphError, match="the inputs have float64"):
        cell(tf.ones((2, 3), tf.float64), tf.zeros((2, 2)))
    with pytest.raises(TypeError, match="inputs must be a sequence"):
        tf.nn.static_rnn(cell, tf.ones((2, 3)), dtype=tf.float32)
    with pytest.raises(tf.GraphError, match="must not be empty"):
        tf.nn.static_rnn(cell, [], dtype=tf.float32)
    with pytest.raises(tf.GraphError, match="differs from inputs"):
        tf.nn.static_rnn(cell, [tf.ones((2, 3)), tf.ones((2, 4))], dtype=tf.float32)
    assert tf.global_variables() == []


# -- TensorFlow 1 itself -----------------------------------------------------------------------


@pytest.mark.tensorflow
def test_same_names_and_numbers_as_tensorflow_1():
    tensorflow = pytest.importorskip("tensorflow")
    v1 = tensorflow.compat.v1
    x = RNG.standard_normal((3, 5, 2)).astype(np.float32)
    lengths = np.array([5, 2, 3])
    results, weights = [], None
    for module in (tf, v1):
        graph = module.Graph()
        with graph.as_default():
            cells = module.nn.rnn_cell
            cell = cells.MultiRNNCell([cells.BasicLSTMCell(4), cells.GRUCell(3),
                                       cells.LSTMCell(2, use_peepholes=True)])
            outputs, state = module.nn.dynamic_rnn(cell, module.constant(x),
                                                   sequence_length=lengths, dtype=module.float32)
            variables = module.trainable_variables()
            with module.Session(graph=graph) as sess:
                sess.run(module.global_variables_initializer())
                if weights is None:
                    weights = [RNG.standard_normal(tuple(v.shape)).astype(np.float32) * 0.5
                               for v in variables]
                for variable, value in zip(variables, weights):
                    variable.load(value, sess)
                values = sess.run([outputs, state])
            results.append(([(v.op.name, tuple(v.shape)) for v in variables], values))
    (ours_names, ours), (their_names, theirs) = results
    assert ours_names == their_names
    for a, b in zip(rnn_cell.flatten(ours), rnn_cell.flatten(theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
