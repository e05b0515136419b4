"""The Theano-style API on the graph front-end (`import graph.theano as theano`, `import
graph.theano.tensor as T`): symbolic types and floatX, shared variables, `theano.function` with
updates, givens and Theano's input rules, compiled steps, `grad`, indexing (the NLL idiom
included), `scan`, the lazy `ifelse`, `switch` and `T.nnet`.

Values are checked against NumPy (gradients also against finite differences); the
`pytensor`-marked test runs the same programs in PyTensor where it is installed.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import graph as tf
import graph.theano as theano
import graph.theano.tensor as T
from graph.compile import Compiled
from graph.theano.ifelse import ifelse

THIS_FILE = "test_theano.py"


@pytest.fixture(autouse=True)
def fresh_graph():
    """Theano code builds in the default graph: each test gets a new one."""
    with tf.Graph().as_default() as graph:
        yield graph


@pytest.fixture
def float32_config():
    saved = theano.config.floatX
    theano.config.floatX = "float32"
    try:
        yield
    finally:
        theano.config.floatX = saved


def numeric_gradient(f, value, eps=1e-6):
    value = np.array(value, dtype=np.float64)
    grad = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        step = np.zeros_like(value)
        step[index] = eps
        grad[index] = (f(value + step) - f(value - step)) / (2 * eps)
    return grad


# -- types and floatX ---------------------------------------------------------------------------


def test_symbolic_inputs_have_theano_dtypes_ranks_and_names():
    assert T.matrix("x").dtype == "float64" and T.matrix().ndim == 2  # floatX, as Theano
    assert (T.scalar().ndim, T.vector().ndim, T.tensor3().ndim, T.tensor4().ndim) == (0, 1, 3, 4)
    typed = {"fmatrix": ("float32", 2), "dvector": ("float64", 1), "lvector": ("int64", 1),
             "ivector": ("int32", 1), "iscalar": ("int32", 0), "lscalar": ("int64", 0),
             "ftensor4": ("float32", 4), "dtensor3": ("float64", 3)}
    for name, (dtype, ndim) in typed.items():
        variable = getattr(T, name)(name)
        assert (variable.dtype, variable.ndim, variable.name) == (dtype, ndim, name), name
    assert T.matrix(dtype="int32").dtype == "int32"
    assert str(T.fmatrix().type) == "TensorType(float32, matrix)"
    assert T.row().broadcastable == (True, False) and T.col().broadcastable == (False, True)
    a, b = T.dmatrices("a", "b")
    assert (a.name, b.name, a.dtype) == ("a", "b", "float64")


def test_floatX_is_settable_and_checked(float32_config):
    assert theano.config.floatX == "float32"
    assert T.matrix().dtype == "float32" and T.constant(0.5).dtype == "float32"
    assert T.dmatrix().dtype == "float64"  # typed constructors keep their dtype
    with pytest.raises(ValueError, match="Invalid value .* for configuration variable 'floatX'"):
        theano.config.floatX = "float16"
    with pytest.raises(AttributeError, match="no settable flag 'floatx'"):
        theano.config.floatx = "float64"  # a misspelt flag is not silently kept


def test_a_dtype_the_graph_front_end_lacks_is_refused_with_its_name():
    with pytest.raises(TypeError, match="dtype 'int8' is not supported"):
        T.tensor("int8", (False,))
    with pytest.raises(TypeError, match="'float16' is not supported"):
        T.cast(T.dvector(), "float16")


# -- theano.function ----------------------------------------------------------------------------


def test_function_returns_numpy_values_one_or_a_list():
    x, y = T.dmatrices("x", "y")
    single = theano.function([x, y], T.dot(x, y))
    both = theano.function([x, y], [x + y, (x * y).sum()])
    a, b = np.arange(4.0).reshape(2, 2), np.ones((2, 2)) * 3
    np.testing.assert_allclose(single(a, b), a @ b)
    added, total = both(a, b)
    np.testing.assert_allclose(added, a + b)
    assert isinstance(total, np.ndarray) and total.shape == ()  # a 0-d array, as Theano
    assert float(total) == (a * b).sum()
    assert theano.function([x], None, on_unused_input="ignore")(a) == []


def test_function_is_compiled_on_its_first_call_and_shows_its_step():
    x = T.dvector("x")
    w = theano.shared(np.array([1.0, 2.0, 3.0]), name="w")
    f = theano.function([x], T.sum(x * 1.0) * w.sum(), name="weighted")
    assert f.compiled is None
    with pytest.raises(tf.GraphError, match="has not been called yet"):
        f.explain()
    assert float(f([1.0, 1.0, 1.0])) == 18.0
    step = f.compiled
    assert isinstance(step, Compiled) and step.session is f.session
    assert "compiled step" in f.explain() and "algebraic simplification" in f.explain()
    assert f.source().startswith("def step(run, feeds):") and THIS_FILE in f.source()
    assert float(f([2.0, 0.0, 0.0])) == 12.0 and f.compiled is step  # same shapes: reused
    assert float(f([1.0, 1.0])) == 12.0 and f.compiled is not step  # a new shape: compiled
    drawing = f.draw().source
    assert "label=weighted" in drawing and "label=mul" in drawing and "w\\n(3,) float64" in drawing


def test_a_shape_error_names_the_line_and_changes_nothing():
    x = T.dvector("x")
    w = theano.shared(np.array([1.0, 2.0, 3.0]), name="w")
    count = theano.shared(0, name="count")
    f = theano.function([x], T.sum(x * w), updates=[(count, count + 1)])
    f([1.0, 1.0, 1.0])
    with pytest.raises(ValueError) as error:
        f([1.0, 1.0])
    assert THIS_FILE in str(error.value)
    assert int(count.get_value()) == 1  # the failed call applied no update


def test_shared_values_persist_across_functions_and_set_value():
    counter = theano.shared(0, name="counter")
    assert counter.dtype == "int64" and theano.shared(0.5).dtype == "float64"
    increment = theano.function([], [], updates=[(counter, counter + 1)])
    read = theano.function([], counter)
    increment()
    increment()
    assert int(read()) == 2 and int(counter.get_value()) == 2
    counter.set_value(10)
    assert int(read()) == 10
    value = counter.get_value()
    value += 5  # a copy: changing it changes nothing
    assert int(read()) == 10


def test_shared_set_value_follows_the_input_rules_and_keeps_the_shape():
    w = theano.shared(np.zeros(3, np.float32), name="w")
    with pytest.raises(TypeError, match="cannot store a value of dtype float64"):
        w.set_value(np.ones(3))
    with pytest.raises(ValueError, match=r"w has shape \(3,\), fixed when it was made"):
        w.set_value(np.ones(4, np.float32))
    w.set_value(np.ones(3, np.int16) * 2)  # float32 holds every int16: allowed
    np.testing.assert_array_equal(w.get_value(), [2.0, 2.0, 2.0])
    assert w.get_value().dtype == np.float32
    with pytest.raises(TypeError, match="No suitable SharedVariable constructor"):
        theano.shared([1.0, 2.0])


def test_updates_see_old_values_and_are_applied_together():
    a = theano.shared(np.array([1.0, 2.0]), name="a")
    b = theano.shared(np.array([10.0, 20.0]), name="b")
    swap = theano.function([], [a + 0.0, b + 0.0], updates=[(a, b), (b, a)])
    before = swap()
    np.testing.assert_array_equal(before[0], [1.0, 2.0])  # outputs see the old values
    np.testing.assert_array_equal(a.get_value(), [10.0, 20.0])
    np.testing.assert_array_equal(b.get_value(), [1.0, 2.0])
    ordered = theano.function([], a, updates=dict([(a, a * 2)]))
    np.testing.assert_array_equal(ordered(), [10.0, 20.0])
    np.testing.assert_array_equal(a.get_value(), [20.0, 40.0])


def test_update_errors_are_theanos():
    w32 = theano.shared(np.zeros(2, np.float32), name="w32")
    x = T.dvector("x")
    with pytest.raises(TypeError, match="An update must have the same type as the original"):
        theano.function([x], [], updates=[(w32, w32 + x)])  # float64 into float32
    with pytest.raises(TypeError, match="update target must be a SharedVariable"):
        theano.function([x], [], updates=[(x, x + 1)])
    with pytest.raises(ValueError, match="already has an update expression"):
        theano.function([], [], updates=[(w32, w32 + 1), (w32, w32 - 1)])
    with pytest.raises(TypeError, match="Cannot use a shared variable \\(w32\\) as explicit"):
        theano.function([w32], w32 * 2)


def test_concurrent_calls_apply_every_update_once():
    counter = theano.shared(0, name="counter")
    step = theano.function([], [], updates=[(counter, counter + 1)])
    step()

    def work():
        for _ in range(50):
            step()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert int(counter.get_value()) == 201


def test_givens_replace_a_variable_by_an_expression_with_symbolic_slices():
    data = theano.shared(np.arange(12.0).reshape(6, 2), name="data")
    x = T.dmatrix("x")
    index = T.lscalar("index")
    batch = theano.function([index], x.sum(axis=0),
                            givens={x: data[index * 2:(index + 1) * 2]})
    for i in range(3):
        np.testing.assert_array_equal(batch(i), np.arange(12.0).reshape(6, 2)[2 * i:2 * i + 2]
                                      .sum(axis=0))
    np.testing.assert_array_equal(batch(5), [0.0, 0.0])  # past the end: empty, as NumPy
    y = T.dvector("y")
    with pytest.raises(TypeError, match=r"Cannot convert Type TensorType\(float64, vector\)"):
        theano.function([y], x.sum(), givens={x: y})


def test_input_rules_follow_theano(float32_config):
    x = T.fvector("x")
    f = theano.function([x], x * 2, name="double")
    with pytest.raises(TypeError) as error:
        f(np.array([1.0, 2.0]))  # float64 data into a float32 input
    message = str(error.value)
    assert 'Bad input argument with name "x" to theano function with name "double" at index ' \
           "0 (0-based)" in message
    assert "cannot store a value of dtype float64 without risking loss of precision" in message
    assert "allow_input_downcast=True" in message and THIS_FILE in message
    assert f([0.5, 0.25]).dtype == np.float32  # lists convert where no value changes
    with pytest.raises(TypeError, match="cannot store accurately value"):
        f([0.1])
    assert theano.function([x], x, allow_input_downcast=True)(np.array([0.1]))[0] == \
        np.float32(0.1)
    s = T.scalar("s")  # floatX is float32 here: a Python float may become it
    assert float(theano.function([s], s)(0.1)) == np.float32(0.1)
    d = T.dvector("d")
    np.testing.assert_array_equal(theano.function([d], d)(np.array([1, 2])), [1.0, 2.0])
    labels = T.lvector("labels")
    with pytest.raises(TypeError, match="TensorType\\(int64, vector\\) cannot store a value of "
                                        "dtype float64"):
        theano.function([labels], labels)(np.array([1.0]))
    with pytest.raises(TypeError, match="Wrong number of dimensions: expected 1, got 2"):
        f(np.ones((2, 2), np.float32))


def test_call_arguments_by_position_or_name():
    x, y = T.dscalars("x", "y")
    f = theano.function([x, y], x - y)
    assert float(f(5.0, 2.0)) == float(f(y=2.0, x=5.0)) == 3.0
    with pytest.raises(TypeError, match="Too many parameters"):
        f(1.0, 2.0, 3.0)
    with pytest.raises(TypeError, match="Missing required input: y"):
        f(1.0)


def test_unused_and_missing_inputs():
    x, y = T.dvectors("x", "y")
    with pytest.raises(theano.UnusedInputError, match="input variable at index 1 is not part"):
        theano.function([x, y], x * 2)
    with pytest.warns(UserWarning, match="at index 1"):
        theano.function([x, y], x * 2, on_unused_input="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theano.function([x, y], x * 2, on_unused_input="ignore")
    with pytest.raises(theano.MissingInputError, match="the outputs need the input 'y'"):
        theano.function([x], x + y)
    with pytest.raises(TypeError, match="should be contained in a list"):
        theano.function(x, x * 2)


# -- grad ---------------------------------------------------------------------------------------


def test_grad_matches_numpy_and_finite_differences():
    x = T.dmatrix("x")
    w = theano.shared(np.array([[0.5, -1.0], [2.0, 0.25], [-0.5, 1.0]]), name="w")
    cost = T.sum(T.tanh(T.dot(x, w)) ** 2)
    g_w, g_x = T.grad(cost, [w, x])
    f = theano.function([x], [g_w, g_x])
    xv = np.array([[0.1, 0.2, 0.3], [-0.4, 0.5, 0.6]])
    wv = w.get_value()
    got_w, got_x = f(xv)
    np.testing.assert_allclose(got_w, numeric_gradient(
        lambda v: np.sum(np.tanh(xv @ v) ** 2), wv), rtol=1e-6)
    np.testing.assert_allclose(got_x, numeric_gradient(
        lambda v: np.sum(np.tanh(v @ wv) ** 2), xv), rtol=1e-6)
    assert theano.grad is T.grad


def test_grad_errors_and_options():
    x, y = T.dscalars("x", "y")
    with pytest.raises(TypeError, match="cost must be a scalar"):
        T.grad(T.stack([x, y]), x)
    with pytest.raises(theano.DisconnectedInputError, match="not part of the computational "
                                                             "graph of the cost"):
        T.grad(x * 2, y)
    zero = T.grad(x * 2, y, disconnected_inputs="ignore")
    assert float(zero.eval({y: 3.0})) == 0.0
    both = x * y
    g = T.grad(both * x, x, consider_constant=[both])  # both counts as a constant
    assert float(g.eval({x: 2.0, y: 5.0})) == 10.0


# -- indexing -----------------------------------------------------------------------------------


def test_the_negative_log_likelihood_idiom_and_its_gradient():
    p = T.dmatrix("p")
    y = T.lvector("y")
    picked = T.log(p)[T.arange(y.shape[0]), y]
    nll = -T.mean(picked)
    f = theano.function([p, y], [picked, T.grad(nll, p)])
    pv = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    yv = np.array([1, 0, 1])
    got, grad = f(pv, yv)
    np.testing.assert_allclose(got, np.log(pv)[np.arange(3), yv])
    expected = np.zeros_like(pv)
    expected[np.arange(3), yv] = -1.0 / (3 * pv[np.arange(3), yv])
    np.testing.assert_allclose(grad, expected)


def test_symbolic_indices_slices_and_integer_arrays_as_numpy():
    v = T.dvector("v")
    m = T.dmatrix("m")
    i, j = T.lscalars("i", "j")
    f = theano.function([v, m, i, j], [v[i], v[i:j], v[-1], v[[0, 2]], v[::-1], m[:, i],
                                       m[i], m[[1, 0], [2, 1]], v[i:]])
    vv, mv = np.array([1.0, 2.0, 3.0]), np.arange(6.0).reshape(2, 3)
    expected = [vv[1], vv[1:3], vv[-1], vv[[0, 2]], vv[::-1], mv[:, 1], mv[1], mv[[1, 0], [2, 1]],
                vv[1:]]
    for got, want in zip(f(vv, mv, 1, 3), expected):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(f(vv, mv, -1, 3)[0], vv[-1])  # negative: from the end
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 3") \
            as error:
        f(vv, mv, 5, 3)
    assert THIS_FILE in str(error.value)
    with pytest.raises(TypeError, match="boolean mask indexing is not built"):
        v[v > 0]


def test_set_and_inc_subtensor_with_gradients():
    v = T.dvector("v")
    y = T.dscalar("y")
    written = T.set_subtensor(v[1:], y)
    added = T.inc_subtensor(v[[0, 0, 2]], y)
    f = theano.function([v, y], [written, added, T.grad(written.sum() + 2 * added.sum(), y),
                                 T.grad((written * written).sum(), v)])
    vv = np.array([1.0, 2.0, 3.0])
    got_written, got_added, g_y, g_v = f(vv, 5.0)
    np.testing.assert_array_equal(got_written, [1.0, 5.0, 5.0])
    np.testing.assert_array_equal(got_added, [11.0, 2.0, 8.0])  # a repeated index adds twice
    assert float(g_y) == 2 + 2 * 3  # y is written twice and added three times
    np.testing.assert_array_equal(g_v, [2.0, 0.0, 0.0])  # overwritten entries pass nothing back
    with pytest.raises(TypeError, match="must be the result of a subtensor operation"):
        T.set_subtensor(v + 1, y)


# -- tensor functions and methods ----------------------------------------------------------------


_X = np.array([[0.5, -1.5, 2.0], [3.0, 0.25, -0.75]])
_Y = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 4.0]])
_TABLE = [
    ("sum", lambda x, y: x.sum(), lambda x, y: x.sum()),
    ("sum axis", lambda x, y: T.sum(x, axis=1), lambda x, y: x.sum(axis=1)),
    ("mean keepdims", lambda x, y: x.mean(axis=0, keepdims=True),
     lambda x, y: x.mean(axis=0, keepdims=True)),
    ("max", lambda x, y: T.max(x, axis=0), lambda x, y: x.max(axis=0)),
    ("min", lambda x, y: x.min(), lambda x, y: x.min()),
    ("argmax axis", lambda x, y: T.argmax(x, axis=1), lambda x, y: x.argmax(axis=1)),
    ("argmax all", lambda x, y: x.argmax(), lambda x, y: x.argmax()),
    ("var", lambda x, y: T.var(x, axis=1), lambda x, y: x.var(axis=1)),
    ("transpose", lambda x, y: x.T, lambda x, y: x.T),
    ("dimshuffle", lambda x, y: x.dimshuffle(1, "x", 0), lambda x, y: x.T[:, None, :]),
    ("reshape", lambda x, y: x.reshape((x.shape[1], -1)), lambda x, y: x.reshape(3, -1)),
    ("flatten", lambda x, y: x.flatten(), lambda x, y: x.ravel()),
    ("shape", lambda x, y: x.shape, lambda x, y: np.array(x.shape)),
    ("dot", lambda x, y: T.dot(x, y.T), lambda x, y: x @ y.T),
    ("dot vector", lambda x, y: T.dot(x[0], y[1]), lambda x, y: x[0] @ y[1]),
    ("outer", lambda x, y: T.outer(x[0], y[0]), lambda x, y: np.outer(x[0], y[0])),
    ("exp", lambda x, y: T.exp(x), lambda x, y: np.exp(x)),
    ("log", lambda x, y: T.log(abs(x)), lambda x, y: np.log(abs(x))),
    ("tanh", lambda x, y: T.tanh(x), lambda x, y: np.tanh(x)),
    ("sqr sqrt", lambda x, y: T.sqrt(T.sqr(x)), lambda x, y: np.abs(x)),
    ("maximum", lambda x, y: T.maximum(x, y), np.maximum),
    ("minimum", lambda x, y: T.minimum(x, 0.0), lambda x, y: np.minimum(x, 0.0)),
    ("clip", lambda x, y: T.clip(x, -1.0, 1.0), lambda x, y: np.clip(x, -1.0, 1.0)),
    ("switch", lambda x, y: T.switch(T.gt(x, y), x, y * 10),
     lambda x, y: np.where(x > y, x, y * 10)),
    ("eq neq", lambda x, y: T.eq(x, x) & T.neq(x, y), lambda x, y: (x == x) & (x != y)),
    ("compare", lambda x, y: (x < y) | (x >= 2.0), lambda x, y: (x < y) | (x >= 2.0)),
    ("zeros_like", lambda x, y: T.zeros_like(x), lambda x, y: np.zeros_like(x)),
    ("ones_like", lambda x, y: T.ones_like(x, dtype="int64"),
     lambda x, y: np.ones_like(x, np.int64)),
    ("arange", lambda x, y: T.arange(x.shape[0] + 1), lambda x, y: np.arange(3)),
    ("cast", lambda x, y: T.cast(x, "int64"), lambda x, y: x.astype(np.int64)),
    ("concatenate", lambda x, y: T.concatenate([x, y], axis=1),
     lambda x, y: np.concatenate([x, y], axis=1)),
    ("stack", lambda x, y: T.stack([x, y]), lambda x, y: np.stack([x, y])),
    ("arithmetic", lambda x, y: (2 - x) * y / (1 + abs(y)) ** 2 - x // 1 + x % 2,
     lambda x, y: (2 - x) * y / (1 + abs(y)) ** 2 - x // 1 + x % 2),
    ("zeros symbolic", lambda x, y: T.zeros((x.shape[0], 2)), lambda x, y: np.zeros((2, 2))),
    ("alloc", lambda x, y: T.alloc(1.5, x.shape[1]), lambda x, y: np.full(3, 1.5)),
    ("cumsum", lambda x, y: T.cumsum(x, axis=1), lambda x, y: np.cumsum(x, axis=1)),
    ("shape_padleft", lambda x, y: T.shape_padleft(x[0]), lambda x, y: x[0][None]),
    ("squeeze", lambda x, y: T.squeeze(x.dimshuffle("x", 0, 1)), lambda x, y: x),
    ("cumprod", lambda x, y: T.cumprod(x), lambda x, y: np.cumprod(x)),
    ("max_and_argmax", lambda x, y: T.stack(T.max_and_argmax(x, axis=1)),
     lambda x, y: np.stack([x.max(1), x.argmax(1)])),
    ("isnan isinf", lambda x, y: T.isnan(T.log(x)) | T.isinf(1 / y * 0 + T.log(abs(x) - 0.5)),
     lambda x, y: np.isnan(np.log(x)) | np.isinf(1 / y * 0 + np.log(abs(x) - 0.5))),
    ("theano.dot", lambda x, y: theano.dot(x, y.T), lambda x, y: x @ y.T),
]


@pytest.mark.parametrize("name, build, reference", _TABLE, ids=[row[0] for row in _TABLE])
def test_tensor_functions_and_methods_against_numpy(name, build, reference):
    x, y = T.dmatrices("x", "y")
    result = build(x, y)
    f = theano.function([x, y], result, on_unused_input="ignore")
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.asarray(reference(_X, _Y))
    got = f(_X, _Y)
    assert got.shape == expected.shape and result.ndim == expected.ndim
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    if expected.dtype.kind in "biu":
        assert got.dtype == expected.dtype, name


def test_dtype_rules_as_theano():
    i, j = T.lvectors("i", "j")
    b = T.ivector("b")
    assert (i / j).dtype == "float64" and T.mean(i).dtype == "float64"
    assert T.sum(b).dtype == "int64" and T.neq(i, j).dtype == "bool"
    assert T.mean(T.neq(i, j)).dtype == "float64" and T.exp(i).dtype == "float64"
    assert (i * 0.5).dtype == "float64" and (i * 2).dtype == "int64"
    f32 = T.fvector("f32")
    assert (f32 * 0.5).dtype == "float32"  # a Python float takes a float tensor's dtype
    f = theano.function([i, j], [i / j, T.mean(T.neq(i, j))])
    ratio, error = f([1, 3], [2, 3])
    np.testing.assert_array_equal(ratio, [0.5, 1.0])
    assert float(error) == 0.5


def test_dimshuffle_refuses_to_drop_a_non_broadcastable_axis():
    r = T.row("r")
    assert r.dimshuffle(1).ndim == 1  # dropping the size-1 axis is allowed
    with pytest.raises(ValueError, match="You cannot drop a non-broadcastable dimension"):
        T.matrix("m").dimshuffle(1)


def test_variables_refuse_python_truth_and_iteration():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="Variables do not support boolean operations"):
        bool(x > 0)
    with pytest.raises(TypeError, match="does not support iteration"):
        sum(x)


def test_eval_and_clone():
    x, y = T.dscalars("x", "y")
    z = x * y + 1
    assert float(z.eval({x: 2.0, y: 3.0})) == 7.0
    replaced = theano.clone(z, replace={y: x + 1})
    assert float(replaced.eval({x: 2.0})) == 7.0
    assert float(theano.shared(np.float64(4.0)).eval()) == 4.0


def test_a_theano_name_that_is_not_built_says_so():
    with pytest.raises(AttributeError, match="Theano's theano.tensor.nnet.conv2d is not built "
                                             "in dualgraph's Theano API") as info:
        T.nnet.conv2d  # noqa: B018
    assert THIS_FILE in str(info.value)  # the line that asked
    assert not hasattr(theano, "printing") and hasattr(T, "ltensor3")


# -- nnet ---------------------------------------------------------------------------------------


def test_nnet_against_numpy():
    x = T.dmatrix("x")
    t = T.dmatrix("t")
    labels = T.lvector("labels")
    p = T.nnet.softmax(x)
    f = theano.function([x, t, labels], [
        p, T.nnet.sigmoid(x), T.nnet.relu(x), T.nnet.relu(x, alpha=0.1), T.nnet.softplus(x),
        T.nnet.categorical_crossentropy(p, t), T.nnet.categorical_crossentropy(p, labels),
        T.nnet.binary_crossentropy(T.nnet.sigmoid(x), t)])
    xv = np.array([[1.0, -2.0, 0.5], [30.0, 0.0, -30.0]])
    tv = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    lv = np.array([1, 0])
    softmax = np.exp(xv - xv.max(1, keepdims=True))
    softmax /= softmax.sum(1, keepdims=True)
    sigmoid = 1 / (1 + np.exp(-xv))
    expected = [softmax, sigmoid, np.maximum(xv, 0), np.where(xv > 0, xv, 0.1 * xv),
                np.log1p(np.exp(xv)), -(tv * np.log(softmax)).sum(1),
                -np.log(softmax[np.arange(2), lv]),
                -(tv * np.log(sigmoid) + (1 - tv) * np.log(1 - sigmoid))]
    for got, want in zip(f(xv, tv, lv), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# -- scan ---------------------------------------------------------------------------------------


def test_scan_passes_sequences_prior_outputs_then_non_sequences():
    x = T.dvector("x")
    k = T.dscalar("k")
    seen = []

    def step(element, previous, factor):
        seen.append((element.ndim, previous.ndim, factor))
        return previous * factor + element

    out, updates = theano.scan(step, sequences=x, outputs_info=T.constant(1.0),
                               non_sequences=k)
    assert updates == {} and seen[0] == (0, 0, k)
    f = theano.function([x, k], out)
    xv = np.array([1.0, 2.0, 3.0, 4.0])
    expected, state = [], 1.0
    for element in xv:
        state = state * 0.5 + element
        expected.append(state)
    np.testing.assert_allclose(f(xv, 0.5), expected)
    assert out.ndim == 1


def test_scan_forms_map_taps_n_steps_backwards_and_several_outputs():
    s = T.dvector("s")
    sv = np.array([1.0, 4.0, 9.0, 16.0])
    doubled, _ = theano.map(lambda v: v * 2, sequences=s)
    differences, _ = theano.scan(lambda previous, current: current - previous,
                                 sequences={"input": s, "taps": [-1, 0]})
    backwards, _ = theano.scan(lambda v: v, sequences=s, go_backwards=True)
    fibonacci, _ = theano.scan(lambda a, b: a + b, n_steps=6, outputs_info={
        "initial": T.constant(np.array([0.0, 1.0])), "taps": [-2, -1]})
    squares, cubes = theano.scan(lambda v: [v * v, v * v * v], sequences=s)[0]
    total, _ = theano.reduce(lambda v, acc: acc + v, sequences=s, outputs_info=T.constant(0.0))
    f = theano.function([s], [doubled, differences, backwards, fibonacci, squares, cubes, total])
    expected = [sv * 2, np.diff(sv), sv[::-1], [1.0, 2.0, 3.0, 5.0, 8.0, 13.0], sv ** 2, sv ** 3,
                sv.sum()]
    for got, want in zip(f(sv), expected):
        np.testing.assert_allclose(got, want)


def test_scan_gradient_through_every_step():
    x = T.dmatrix("x")
    h0 = T.dvector("h0")
    w = theano.shared(np.array([[0.5, -0.3], [0.2, 0.8]]), name="w")
    hs, _ = theano.scan(lambda xt, h, w: T.tanh(xt + T.dot(h, w)), sequences=x,
                        outputs_info=h0, non_sequences=w)
    cost = (hs ** 2).sum()
    f = theano.function([x, h0], [hs, *T.grad(cost, [w, x, h0])])
    xv = np.array([[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]])
    h0v, wv = np.array([0.1, -0.2]), w.get_value()

    def forward(wv, xv, h0v):
        h, states = h0v, []
        for row in xv:
            h = np.tanh(row + h @ wv)
            states.append(h)
        return np.array(states)

    got_hs, g_w, g_x, g_h0 = f(xv, h0v)
    np.testing.assert_allclose(got_hs, forward(wv, xv, h0v))
    np.testing.assert_allclose(g_w, numeric_gradient(
        lambda v: (forward(v, xv, h0v) ** 2).sum(), wv), rtol=1e-6)
    np.testing.assert_allclose(g_x, numeric_gradient(
        lambda v: (forward(wv, v, h0v) ** 2).sum(), xv), rtol=1e-6)
    np.testing.assert_allclose(g_h0, numeric_gradient(
        lambda v: (forward(wv, xv, v) ** 2).sum(), h0v), rtol=1e-6)


def test_scan_errors_are_clear():
    s = T.dvector("s")
    with pytest.raises(ValueError, match="No information about the number of steps"):
        theano.scan(lambda: T.constant(1.0))
    with pytest.raises(TypeError, match="has dtype float64, but fn returns it with dtype "
                                        "float32"):
        theano.scan(lambda v, h: T.cast(h + v, "float32"), sequences=s,
                    outputs_info=T.constant(0.0))
    with pytest.raises(ValueError, match="Please provide None as outputs_info"):
        theano.scan(lambda v, h: [h + v, v], sequences=s, outputs_info=T.constant(0.0))
    with pytest.raises(ValueError, match="tap values must be smaller than 0"):
        theano.scan(lambda v, h: h, sequences=s, outputs_info={"initial": s, "taps": [0]})
    empty, _ = theano.scan(lambda v: v * 2, sequences=s)
    with pytest.raises(IndexError, match="index 0 is out of (range|bounds) for axis 0"):
        theano.function([s], empty)(np.zeros(0))  # a scan takes one step at least


# -- ifelse and switch --------------------------------------------------------------------------


def test_ifelse_runs_only_the_chosen_branch():
    x = T.dvector("x")
    choose = T.lscalar("choose")
    safe = x[0] * 2
    out_of_bounds = x[10] * 3  # fails if it runs
    f = theano.function([choose, x], ifelse(choose, safe, out_of_bounds))
    assert float(f(1, [1.5, 2.0])) == 3.0  # the failing branch did not run
    with pytest.raises(IndexError, match="index 10 is out of (range|bounds)") as error:
        f(0, [1.5, 2.0])
    assert "out_of_bounds = x[10] * 3" in str(error.value)  # the line that made it
    both = theano.function([choose, x], T.switch(choose, safe, out_of_bounds))
    with pytest.raises(IndexError):  # switch computes both sides
        both(1, [1.5, 2.0])


def test_ifelse_lists_gradients_and_type_errors():
    a, b = T.dscalars("a", "b")
    first, second = ifelse(T.lt(a, b), [a * 2, b], [b * 3, a])
    g = T.grad(first, a)
    f = theano.function([a, b], [first, second, g])
    assert [float(v) for v in f(1.0, 2.0)] == [2.0, 2.0, 2.0]
    assert [float(v) for v in f(5.0, 2.0)] == [6.0, 5.0, 0.0]
    with pytest.raises(TypeError, match="The two branches should have identical types"):
        ifelse(T.lt(a, b), a, T.dvector())
    with pytest.raises(ValueError, match="variables on `then` 2, variables on `else` 1"):
        ifelse(T.lt(a, b), [a, b], [a])


# -- more elementwise, reductions and shape ops ---------------------------------------------------


def test_more_elementwise_ops_match_numpy():
    value = np.array([-2.5, -1.5, -0.5, 0.0, 0.4, 0.5, 1.5, 2.5, 3.7])
    x = T.dvector("x")
    ops = {"tan": (T.tan(x), np.tan(value)), "arctan": (T.arctan(x), np.arctan(value)),
           "floor": (T.floor(x), np.floor(value)), "ceil": (T.ceil(x), np.ceil(value)),
           "round": (T.round(x), np.sign(value) * np.floor(np.abs(value) + 0.5)),
           "even": (T.round(x, "half_to_even"), np.round(value))}
    f = theano.function([x], [op for op, _ in ops.values()])
    for (key, (_, expected)), got in zip(ops.items(), f(value)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=key)
    assert T.floor(T.lvector()).dtype == "float64"
    with pytest.raises(TypeError, match="mode must be"):
        T.round(x, "half_up")


def test_tan_and_arctan_gradients_and_rounding_is_flat():
    x = T.dvector("x")
    value = np.array([-0.7, 0.2, 1.1])
    for op, derivative in ((T.tan, lambda v: 1 / np.cos(v) ** 2),
                           (T.arctan, lambda v: 1 / (1 + v ** 2))):
        f = theano.function([x], T.grad(op(x).sum(), x))
        np.testing.assert_allclose(f(value), derivative(value), rtol=1e-10)
        cost = theano.function([x], op(x).sum())
        np.testing.assert_allclose(f(value), numeric_gradient(cost, value), rtol=1e-6)
    flat = theano.function([x], T.grad((T.floor(x) + T.ceil(x) + x.round()).sum(), x))
    np.testing.assert_array_equal(flat(value), np.zeros(3))


def test_all_any_eye_tile_repeat_roll():
    m = T.lmatrix("m")
    value = np.array([[0, 2, 3], [1, 0, 0]])
    f = theano.function([m], [T.all(m), T.all(m, axis=0), T.any(m, axis=1, keepdims=True),
                              T.tile(m, (2, 1)), T.repeat(m, 2, axis=1), T.repeat(m, 3),
                              m.repeat(2, axis=0), T.roll(T.arange(5), 2)])
    got = f(value)
    assert got[0] == np.False_ and got[1].dtype == np.bool_
    np.testing.assert_array_equal(got[1], value.all(0))
    np.testing.assert_array_equal(got[2], value.any(1, keepdims=True))
    np.testing.assert_array_equal(got[3], np.tile(value, (2, 1)))
    np.testing.assert_array_equal(got[4], np.repeat(value, 2, axis=1))
    np.testing.assert_array_equal(got[5], np.repeat(value, 3))
    np.testing.assert_array_equal(got[6], np.repeat(value, 2, axis=0))
    np.testing.assert_array_equal(got[7], np.roll(np.arange(5), 2))
    identity = T.eye(2, 3, k=1)
    assert identity.dtype == theano.config.floatX
    np.testing.assert_array_equal(identity.eval(), np.eye(2, 3, 1))
    with pytest.raises(TypeError, match="repeats must be a non-negative int"):
        T.repeat(m, -1)


def test_repeat_and_tile_gradients_sum_the_copies():
    x = T.dmatrix("x")
    value = np.array([[0.5, -1.0], [2.0, 0.25]])
    weights = np.arange(1.0, 17.0).reshape(4, 4)
    for build in (lambda v: T.repeat(v, 2, axis=0), lambda v: T.tile(v, (2, 1))):
        cost = (T.repeat(build(x), 2, axis=1) * weights).sum()  # shape (4, 4), unknown at build
        f = theano.function([x], T.grad(cost, x))
        value_of = theano.function([x], cost)
        np.testing.assert_allclose(f(value), numeric_gradient(value_of, value), rtol=1e-6)


def test_sort_argsort_and_nonzero():
    m = T.dmatrix("m")
    value = np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 0.0]])
    f = theano.function([m], [T.sort(m), T.sort(m, axis=0), m.sort(axis=None), T.argsort(m),
                              m.argsort(), *T.nonzero(m), T.nonzero(m, return_matrix=True),
                              *m.nonzero()])
    got = f(value)
    np.testing.assert_array_equal(got[0], np.sort(value))
    np.testing.assert_array_equal(got[1], np.sort(value, axis=0))
    np.testing.assert_array_equal(got[2], np.sort(value, axis=None))
    assert got[3].dtype == np.int64
    np.testing.assert_array_equal(got[3], np.argsort(value, kind="stable"))
    np.testing.assert_array_equal(got[4], got[3])
    rows, columns = np.nonzero(value)
    np.testing.assert_array_equal(got[5], rows)
    np.testing.assert_array_equal(got[6], columns)
    np.testing.assert_array_equal(got[7], np.array([rows, columns]))
    np.testing.assert_array_equal(got[8], rows)
    gradient = theano.function([m], T.grad((T.sort(m) * np.arange(3.0)).sum(), m))
    np.testing.assert_array_equal(gradient(value), [[2.0, 0.0, 1.0], [1.0, 0.0, 2.0]])



def test_nnet_elu_and_softsign_values_and_gradients():
    x = T.dvector("x")
    value = np.array([-3.0, -0.5, 0.25, 2.0])
    for op, expected in ((lambda v: T.nnet.elu(v), np.where(value > 0, value, np.expm1(value))),
                         (lambda v: T.nnet.elu(v, alpha=0.5),
                          np.where(value > 0, value, 0.5 * np.expm1(value))),
                         (T.nnet.softsign, value / (1 + np.abs(value)))):
        np.testing.assert_allclose(theano.function([x], op(x))(value), expected, rtol=1e-12)
        cost = theano.function([x], op(x).sum())
        gradient = theano.function([x], T.grad(op(x).sum(), x))
        np.testing.assert_allclose(gradient(value), numeric_gradient(cost, value), rtol=1e-6)
    assert T.nnet.softsign(T.lvector()).dtype == "float64"


def test_disconnected_grad_and_zero_grad_stop_the_gradient():
    x = T.dscalar("x")
    y = x ** 2
    through_one = theano.function([x], T.grad(y * theano.gradient.disconnected_grad(y), x))
    assert through_one(3.0) == 54.0  # d/dx of x**2 times the constant 9
    assert theano.function([x], theano.gradient.zero_grad(y))(3.0) == 9.0
    assert theano.function([x], T.grad(theano.gradient.zero_grad(y) * 2.0, x))(3.0) == 0.0
    with pytest.raises(theano.DisconnectedInputError):
        T.grad(theano.gradient.disconnected_grad(y) * 2.0, x)



def test_tensordot_matches_numpy_and_differentiates():
    a, b = T.dtensor3("a"), T.dmatrix("b")
    rng = np.random.default_rng(8)
    av, bv = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 3))
    f = theano.function([a, b], [T.tensordot(a, b, 1), T.tensordot(a, b, [[1, 2], [1, 0]])])
    got = f(av, bv)
    np.testing.assert_allclose(got[0], np.tensordot(av, bv, 1), rtol=1e-12)
    np.testing.assert_allclose(got[1], np.tensordot(av, bv, [[1, 2], [1, 0]]), rtol=1e-12)
    cost = (T.tensordot(a, b, 1) ** 2).sum()
    gradient = theano.function([a, b], T.grad(cost, b))
    value_of = theano.function([a, b], cost)
    np.testing.assert_allclose(gradient(av, bv),
                               numeric_gradient(lambda v: value_of(av, v), bv), rtol=1e-6)



def test_jacobian_stacks_one_gradient_row_per_entry():
    x, w = T.dvector("x"), T.dmatrix("w")
    y = T.tanh(T.dot(w, x))
    jx, jw = theano.gradient.jacobian(y, [x, w])
    single = theano.gradient.jacobian(x ** 3, x)
    xv, wv = np.array([0.3, -0.2, 0.5]), np.arange(6.0).reshape(2, 3) / 10
    got_x, got_w, got_single = theano.function([x, w], [jx, jw, single])(xv, wv)
    slope = 1 - np.tanh(wv @ xv) ** 2
    np.testing.assert_allclose(got_x, slope[:, None] * wv, rtol=1e-12)
    expected_w = np.zeros((2, 2, 3))
    for i in range(2):
        expected_w[i, i] = slope[i] * xv
    np.testing.assert_allclose(got_w, expected_w, rtol=1e-12)
    np.testing.assert_allclose(got_single, np.diag(3 * xv ** 2), rtol=1e-12)
    with pytest.raises(TypeError, match="vector or a scalar"):
        theano.gradient.jacobian(T.outer(x, x), x)


# -- against PyTensor, where it is installed -----------------------------------------------------


@pytest.mark.pytensor
def test_same_numbers_as_pytensor():
    pytensor = pytest.importorskip("pytensor")
    pt = pytest.importorskip("pytensor.tensor")
    pytest.importorskip("pytensor.tensor.special")  # pt.special.softmax

    def program(api, tensor):
        x, y = tensor.dmatrix("x"), tensor.lvector("y")
        w = api.shared(np.linspace(-1.0, 1.0, 6).reshape(3, 2), name="w")
        p = tensor.special.softmax(tensor.dot(x, w), axis=-1) if hasattr(tensor, "special") \
            else tensor.nnet.softmax(tensor.dot(x, w))
        cost = -tensor.mean(tensor.log(p)[tensor.arange(y.shape[0]), y])
        hs, _ = api.scan(lambda row, h: tensor.tanh(row + h), sequences=x,
                         outputs_info=tensor.zeros_like(x[0]))
        train = api.function([x, y], [cost, hs], updates=[(w, w - 0.1 * api.grad(cost, w))])
        xv = np.array([[0.1, 0.2, 0.3], [-0.3, 0.2, 0.1]])
        results = [train(xv, np.array([0, 1])) for _ in range(3)]
        return results, w.get_value()

    ours, ours_w = program(theano, T)
    theirs, theirs_w = program(pytensor, pt)
    for (our_cost, our_hs), (their_cost, their_hs) in zip(ours, theirs):
        np.testing.assert_allclose(our_cost, their_cost, rtol=1e-12)
        np.testing.assert_allclose(our_hs, their_hs, rtol=1e-12)
    np.testing.assert_allclose(ours_w, theirs_w, rtol=1e-12)
