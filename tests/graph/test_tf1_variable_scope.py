"""Variables and collections as TensorFlow 1 has them: `variable_scope` (reuse=True, AUTO_REUSE,
reuse_variables, nesting, re-entering a scope object, default initializer, regularizer and
dtype), `get_variable` with its errors, tf.layers sharing the same variables, `GraphKeys` and
the collection functions, lookups by name raising KeyError, and reset_default_graph.

The `tensorflow`-marked test runs the same program in TensorFlow's compat.v1 where it is
installed and compares the variable names.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graph as tf

THIS_FILE = "test_tf1_variable_scope.py"


@pytest.fixture
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def _values(variables):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(variables)


def _names(variables):
    return [v.op.name for v in variables]


# -- get_variable and variable_scope -----------------------------------------------------------


def test_get_variable_names_follow_variable_scopes_not_name_scopes(g):
    with tf.name_scope("outer_ops"):
        with tf.variable_scope("model") as scope:
            with tf.variable_scope("layer1"):
                w = tf.get_variable("w", [2, 3])
                y = tf.matmul(tf.ones([1, 2]), w)
    assert scope.name == "model" and w.op.name == "model/layer1/w" and w.name == \
        "model/layer1/w:0"
    assert y.op.name == "outer_ops/model/layer1/matmul"  # ops keep their name scopes
    assert w.shape == (2, 3) and w.dtype == np.float32
    bound = np.sqrt(6 / 5)  # get_variable's default: Glorot uniform
    assert 0 < np.abs(_values(w)).max() <= bound


def test_reuse_true_shares_and_refuses_what_does_not_exist(g):
    with tf.variable_scope("foo"):
        w = tf.get_variable("w", [2], initializer=tf.constant_initializer(3.0))
    with tf.variable_scope("foo", reuse=True):
        assert tf.get_variable("w", [2]) is w
        assert tf.get_variable("w") is w  # the shape may be left out when sharing
        with pytest.raises(ValueError, match="Variable foo/v does not exist, or was not "
                                             "created with tf.get_variable\\(\\). Did you mean "
                                             "to set reuse=tf.AUTO_REUSE in VarScope\\?"):
            tf.get_variable("v", [2])
        with pytest.raises(ValueError, match="Trying to share variable foo/w, but specified "
                                             "shape \\(3,\\) and found shape \\(2,\\)"):
            tf.get_variable("w", [3])
        with pytest.raises(ValueError, match="specified dtype float64 and found dtype "
                                             "float32"):
            tf.get_variable("w", [2], dtype=tf.float64)
    np.testing.assert_array_equal(_values(w), [3.0, 3.0])


def test_creating_a_variable_twice_is_refused_with_tensorflows_message(g):
    with tf.variable_scope("foo"):
        tf.get_variable("w", [1])  # the line the error points back to
    with tf.variable_scope("foo"):
        with pytest.raises(ValueError) as info:
            tf.get_variable("w", [1])
    message = str(info.value)
    assert message.startswith("Variable foo/w already exists, disallowed. Did you mean to set "
                              "reuse=True or reuse=tf.AUTO_REUSE in VarScope? Originally "
                              "defined at:")
    assert 'tf.get_variable("w", [1])  # the line the error points back to' in message
    assert isinstance(info.value, tf.GraphError)


def test_auto_reuse_creates_once_then_shares(g):
    def block(x):
        with tf.variable_scope("block", reuse=tf.AUTO_REUSE):
            return x * tf.get_variable("scale", [], initializer=tf.ones_initializer())

    y = block(block(tf.constant(2.0)))
    assert _names(tf.global_variables()) == ["block/scale"]
    assert _values(y) == 2.0


def test_reuse_variables_and_inheritance_in_nested_scopes(g):
    with tf.variable_scope("net") as scope:
        a = tf.get_variable("a", [1])
        with tf.variable_scope("inner"):
            b = tf.get_variable("b", [1])
        scope.reuse_variables()
        assert scope.reuse and tf.get_variable("a", [1]) is a
        with tf.variable_scope("inner", reuse=False):  # reuse cannot be turned off inside
            assert tf.get_variable_scope().reuse is True
            assert tf.get_variable("b", [1]) is b


def test_reentering_a_scope_object_reuses_its_name_and_name_scope(g):
    with tf.variable_scope("encoder") as encoder:
        w = tf.get_variable("w", [2])
    with tf.variable_scope("decoder"):
        with tf.variable_scope(encoder, reuse=True) as again:
            assert again.name == "encoder" and tf.get_variable("w", [2]) is w
            op = tf.constant(1.0, name="c")
        with tf.variable_scope(encoder):  # a new variable in the re-entered scope
            v = tf.get_variable("v", [2])
    assert op.op.name == "encoder/c" and encoder.original_name_scope == "encoder/"
    assert v.op.name == "encoder/v"


def test_default_names_are_made_unique_and_reset_with_the_outer_scope(g):
    x = tf.placeholder(tf.float32, [None, 3])
    with tf.variable_scope("model"):
        tf.layers.dense(x, 2)
        tf.layers.dense(x, 2)
    with tf.variable_scope("model", reuse=True):  # the same default names again: shared
        tf.layers.dense(x, 2)
        tf.layers.dense(x, 2)
    assert _names(tf.trainable_variables()) == ["model/dense/kernel", "model/dense/bias",
                                               "model/dense_1/kernel", "model/dense_1/bias"]
    with tf.variable_scope(None, default_name="block") as first:
        pass
    with tf.variable_scope(None, default_name="block") as second:
        pass
    assert (first.name, second.name) == ("block", "block_1")
    with pytest.raises(ValueError, match="reuse=True cannot be used without a name_or_scope"):
        with tf.variable_scope(None, default_name="x", reuse=True):
            pass
    with pytest.raises(ValueError, match="If default_name is None then name_or_scope is "
                                         "required"):
        tf.variable_scope(None)


def test_scope_defaults_for_initializer_regularizer_and_dtype(g):
    def l2(v):
        return tf.reduce_sum(tf.square(v)) * 0.5

    with tf.variable_scope("reg", initializer=tf.constant_initializer(2.0), regularizer=l2,
                           dtype=tf.float64):
        w = tf.get_variable("w", [3])
        with tf.variable_scope("inner"):
            b = tf.get_variable("b", [2], initializer=tf.zeros_initializer())
        n = tf.get_variable("n", [2], dtype=tf.int32)
    assert (w.dtype, b.dtype, n.dtype) == (np.float64, np.float64, np.int32)
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 3 and losses[0].op.name.startswith("reg/w/Regularizer/")
    values = _values([w, b, n] + losses)
    np.testing.assert_array_equal(values[0], [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(values[1], [0.0, 0.0])
    np.testing.assert_array_equal(values[2], [2, 2])  # the scope's initializer, for ints too
    assert values[3:] == [6.0, 0.0, 4.0]


def test_get_variable_arguments_as_tensorflow_takes_them(g):
    v = tf.get_variable("v", initializer=[[1.0, 2.0]])  # a value: its shape, its dtype
    step = tf.get_variable("step", [], tf.int64, tf.zeros_initializer, trainable=False)
    local = tf.get_variable("local", [2], collections=[tf.GraphKeys.LOCAL_VARIABLES])
    assert v.shape == (1, 2) and step.dtype == np.int64 and _values(step) == 0
    assert tf.trainable_variables() == [v, local] and tf.global_variables() == [v, step]
    assert tf.local_variables() == [local]
    with tf.Session() as sess:  # tf.initializers' initializer ops
        sess.run([tf.initializers.global_variables(), tf.initializers.local_variables()])
        assert sess.run(step) == 0 and sess.run(local).shape == (2,)
        sess.run(tf.initializers.variables([v]))
    with pytest.raises(ValueError, match="If initializer is a constant, do not specify shape"):
        tf.get_variable("c", [2], initializer=[1.0, 2.0])
    with pytest.raises(ValueError, match="Shape of a new variable \\(u\\) must be fully "
                                         "defined, but instead was \\(None, 2\\)"):
        tf.get_variable("u", [None, 2])
    with pytest.raises(ValueError, match="Initializer type 'float32' and explicit dtype "
                                         "'int32' don't match"):
        tf.get_variable("m", initializer=[1.0], dtype=tf.int32)
    with pytest.raises(ValueError, match="partitioner is not supported"):
        tf.get_variable("p", [2], partitioner=lambda *a: None)


def test_concurrent_get_variable_with_auto_reuse_makes_one_variable(g):
    found, errors = [], []

    def worker():
        try:
            with g.as_default(), tf.variable_scope("shared", reuse=tf.AUTO_REUSE):
                found.append(tf.get_variable("w", [4]))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len({id(v) for v in found}) == 1
    assert _names(tf.global_variables()) == ["shared/w"]


def test_a_threads_open_variable_scope_does_not_name_another_threads_variables(g):
    entered, made = threading.Event(), threading.Event()
    names = {}

    def inside_a_scope():
        with g.as_default(), tf.variable_scope("worker"):
            entered.set()
            made.wait(10)
            names["worker"] = tf.get_variable("w", [1]).op.name

    thread = threading.Thread(target=inside_a_scope)
    thread.start()
    entered.wait(10)
    names["main"] = tf.get_variable("w", [1]).op.name  # while the other thread is in "worker"
    made.set()
    thread.join()
    assert names == {"main": "w", "worker": "worker/w"}


# -- tf.layers share the variables of get_variable ---------------------------------------------


def test_layers_and_get_variable_share_variables(g):
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.layers.dense(x, 2, name="fc")
    shared = tf.layers.dense(x, 2, name="fc", reuse=True)
    with tf.variable_scope("fc", reuse=True):
        kernel = tf.get_variable("kernel")
    assert kernel.op.name == "fc/kernel" and len(tf.trainable_variables()) == 2
    with tf.variable_scope("fc", reuse=True):
        assert tf.get_variable("bias", [2]) is tf.trainable_variables()[1]
    with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
        for _ in range(3):
            tf.layers.dense(x, 2, name="head")
    assert _names(tf.trainable_variables())[2:] == ["auto/head/kernel", "auto/head/bias"]
    with pytest.raises(ValueError, match="Variable fc/kernel already exists"):
        tf.layers.dense(x, 2, name="fc")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        data = np.arange(6.0).reshape(2, 3)
        a, b, k = sess.run([y, shared, kernel], {x: data})
    np.testing.assert_allclose(a, data @ k, rtol=1e-6)
    np.testing.assert_array_equal(a, b)


# -- collections -------------------------------------------------------------------------------


def test_graph_keys_and_collection_functions(g):
    assert tf.GraphKeys.GLOBAL_VARIABLES == "variables"
    assert tf.GraphKeys.TRAINABLE_VARIABLES == "trainable_variables"
    assert (tf.GraphKeys.UPDATE_OPS, tf.GraphKeys.LOSSES, tf.GraphKeys.SUMMARIES) == \
        ("update_ops", "losses", "summaries")
    with tf.variable_scope("enc"):
        a = tf.get_variable("a", [1])
    with tf.variable_scope("dec"):
        b = tf.get_variable("b", [1])
        frozen = tf.Variable(1.0, name="frozen", trainable=False)
    assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == [a, b, frozen]
    assert tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="dec") == [b]
    assert tf.trainable_variables(scope="enc") == [a]
    assert tf.global_variables(scope="dec") == [b, frozen]
    assert tf.global_variables("d.c") == [b, frozen]  # a regular expression, from the start
    assert tf.global_variables("ec") == []
    tf.add_to_collection("mine", a)
    tf.add_to_collections(["mine", "yours"], b)
    assert tf.get_collection("mine") == [a, b] and tf.get_collection("yours") == [b]
    assert tf.get_collection("nothing") == []
    ref = tf.get_collection_ref("mine")
    ref.remove(a)
    assert tf.get_collection("mine") == [b]
    copy = tf.get_collection("mine")
    copy.clear()
    assert tf.get_collection("mine") == [b]  # get_collection returns a copy
    update = tf.no_op(name="update")
    tf.add_to_collection(tf.GraphKeys.UPDATE_OPS, update)
    assert tf.get_default_graph().get_collection(tf.GraphKeys.UPDATE_OPS) == [update]
    assert "mine" in tf.get_default_graph().get_all_collection_keys()


def test_lookups_by_name_raise_key_error_as_tensorflow(g):
    x = tf.placeholder(tf.float32, name="x")
    assert g.get_tensor_by_name("x:0") is x and g.get_operation_by_name("x") is x.op
    with pytest.raises(KeyError, match="The name 'y:0' refers to a Tensor which does not "
                                       "exist. The operation, 'y', does not exist in the "
                                       "graph.") as info:
        tf.get_default_graph().get_tensor_by_name("y:0")
    assert THIS_FILE in str(info.value) and "\n" in str(info.value)  # not KeyError's repr
    with pytest.raises(KeyError, match="The name 'y' refers to an Operation not in the graph"):
        g.get_operation_by_name("y")
    with pytest.raises(KeyError, match="'x', exists but only has 1 outputs"):
        g.get_tensor_by_name("x:1")


def test_reset_default_graph_starts_over():
    tf.reset_default_graph()
    with tf.variable_scope("s"):
        tf.get_variable("w", [1])
    tf.set_random_seed(3)
    tf.reset_default_graph()
    graph = tf.get_default_graph()
    assert graph.get_operations() == [] and tf.global_variables() == [] and graph.seed is None
    with tf.variable_scope("s"):  # the store went with the old graph
        assert tf.get_variable("w", [1]).op.name == "s/w"
    tf.reset_default_graph()


# -- against TensorFlow, where it is installed ---------------------------------------------------


@pytest.mark.tensorflow
def test_same_variable_names_as_tensorflow():
    tf1 = pytest.importorskip("tensorflow").compat.v1
    tf1.disable_eager_execution()

    def names(api):
        with api.Graph().as_default():
            x = api.placeholder(api.float32, [None, 3])
            with api.name_scope("ops_only"):
                with api.variable_scope("model"):
                    api.layers.dense(x, 2)
                    api.layers.dense(x, 2, name="fc")
                    api.get_variable("w", [1])
            with api.variable_scope("model", reuse=True):
                api.layers.dense(x, 2)
            with api.variable_scope("other", reuse=api.AUTO_REUSE):
                api.get_variable("v", [2])
                api.get_variable("v", [2])
            return [v.op.name for v in api.global_variables()]

    assert names(tf) == names(tf1)
