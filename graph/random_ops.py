"""Random numbers in the graph, seeded as TensorFlow 1 seeds them.

A random op draws new numbers each time a Session runs it, and the n-th run of a new Session
draws what the n-th run of any other Session of the same graph drew. Which numbers depends on
two seeds, combined by TensorFlow 1's rule (`get_seed`):

- the graph-level seed, `set_random_seed(seed)`, and an op-level `seed=`: both decide;
- the graph-level seed alone: the op's seed is derived from how many ops the graph had when
  the op was built, so two random ops of one graph differ, and rebuilding the same graph gives
  the same numbers;
- an op-level seed alone: the graph-level seed is TensorFlow's default one;
- neither: the op takes a fresh seed from the shared generator (`framework.ops.random`), so,
  unlike TensorFlow, `framework.ops.random.manual_seed(s)` still makes the run reproducible.

The same seeds serve the initializers (`graph.initializers`), which draw when the variable is
built.

>>> import graph as tf
>>> def draw():
...     with tf.Graph().as_default():
...         tf.set_random_seed(1)
...         a, b = tf.random_uniform([2]), tf.random_uniform([2])
...         with tf.Session() as sess:
...             return sess.run([a, b]), sess.run(a)
>>> (a, b), a_again = draw()
>>> bool((a != b).all() and (a != a_again).all()), bool((draw()[0][0] == a).all())
(True, True)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from framework import dtypes
from framework.ops import F
from framework.ops import random as framework_random
from framework.ops.random import Generator
from framework.ops.registry import Spec
from graph.api import _scoped
from graph.core import GraphError, Tensor, constant, get_default_graph
from graph.ops import GraphOp, register_graph_op

__all__ = ["DEFAULT_GRAPH_SEED", "categorical", "get_seed", "multinomial", "normal",
           "random_normal", "random_shuffle", "random_uniform", "seed_generator",
           "set_random_seed", "shuffle", "truncated_normal", "uniform"]

DEFAULT_GRAPH_SEED = 87654321  # TensorFlow's, used when only an op-level seed is given
_MAXINT32 = 2**31 - 1


# ---------------------------------------------------------------------------------------------
# Seeds


def set_random_seed(seed) -> None:
    """Set the graph-level random seed of the default graph (None unsets it).

    Random ops and initializers built afterwards in this graph draw reproducible numbers:
    the same graph and seeds give the same numbers in every new Session.

    >>> import graph as tf
    >>> with tf.Graph().as_default() as g:
    ...     tf.set_random_seed(42)
    ...     g.seed
    42
    """
    if seed is not None and (isinstance(seed, bool) or not hasattr(seed, "__index__")):
        raise GraphError(f"set_random_seed: the seed must be an int or None, got {seed!r}")
    get_default_graph().seed = None if seed is None else seed.__index__()


def get_seed(op_seed):
    """The (graph-level, op-level) seeds a random op built now uses, by TensorFlow 1's rule
    (see the module docstring); (None, None) when neither seed is set.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     before = tf.get_seed(None)
    ...     tf.set_random_seed(7)
    ...     _ = tf.constant(1.0)
    ...     before, tf.get_seed(None), tf.get_seed(3)
    ((None, None), (7, 1), (7, 3))
    """
    if op_seed is not None and (isinstance(op_seed, bool) or not hasattr(op_seed, "__index__")):
        raise GraphError(f"a random op's seed must be an int or None, got {op_seed!r}")
    graph = get_default_graph()
    if graph.seed is not None:
        if op_seed is None:
            op_seed = graph._last_id
        seeds = _truncated(graph.seed), _truncated(op_seed)
    elif op_seed is not None:
        seeds = DEFAULT_GRAPH_SEED, _truncated(op_seed)
    else:
        seeds = None, None
    # TensorFlow's kernels read (0, 0) as "not seeded"; it moves that pair out of the way.
    return (0, _MAXINT32) if seeds == (0, 0) else seeds


def _truncated(seed) -> int:
    return seed.__index__() % (_MAXINT32 + 1)


def op_seed(seed=None) -> int:
    """The seed a random op built now binds, from `get_seed(seed)`; each Session run then
    combines it with the run's number. An op-level seed alone is used as it is, so
    `tf.nn.dropout(x, rate, seed=s)` draws the mask `framework.ops.random.dropout` draws with
    seed s; a graph-level seed picks its own stream, indexed by the op-level seed; no seed at
    all takes a fresh one from the shared default generator.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     op_seed(5) == 5, op_seed(None) == op_seed(None)
    (True, False)
    """
    graph_seed, seed_ = get_seed(seed)
    if graph_seed is None:
        return framework_random.default_generator.next_seed()
    if graph_seed == DEFAULT_GRAPH_SEED:
        return framework_random.as_seed(seed if seed is not None else seed_)
    # The op seed indexes the graph seed's stream: each (graph, op) pair its own seed.
    generator = Generator(graph_seed)
    generator.set_state((graph_seed, seed_))
    return generator.next_seed()


def seed_generator(seed=None) -> Generator:
    """Where an initializer built now draws from: `Generator(op_seed(seed))`, or the shared
    default generator itself when no seed is set. So an initializer with `seed=s` draws what
    eager's initializers draw from `Generator(s)`.

    >>> seed_generator(5).next_seed() == Generator(5).next_seed()
    True
    """
    if get_seed(seed) == (None, None):
        return framework_random.default_generator
    return Generator(op_seed(seed))


# ---------------------------------------------------------------------------------------------
# Draws on arrays: what the ops run, and what the initializers call


def truncated_normal_array(shape, seed, mean=0.0, stddev=1.0, dtype=dtypes.float32):
    """Normal values with every one more than 2 standard deviations from the mean drawn again
    (until none is), as TensorFlow's truncated_normal; a function of `seed` alone.

    >>> x = truncated_normal_array((10000,), seed=1, stddev=0.5)
    >>> bool(abs(x).max() <= 1.0), x.dtype
    (True, dtype('float32'))
    """
    generator = Generator(seed)
    values = framework_random.normal(tuple(shape), generator.next_seed(), 0.0, 1.0,
                                     dtypes.float64)
    flat = values.reshape(-1)
    redraw = np.flatnonzero(np.abs(flat) > 2.0)
    while redraw.size:
        fresh = framework_random.normal((redraw.size,), generator.next_seed(), 0.0, 1.0,
                                        dtypes.float64)
        flat[redraw] = fresh
        redraw = redraw[np.abs(fresh) > 2.0]
    return (mean + stddev * values).astype(dtypes.as_dtype(dtype))


def _uniform_ints(shape, seed, low, high, dtype):
    units = framework_random.uniform(shape, seed, 0.0, 1.0, dtypes.float64)
    values = np.floor(low + units * float(high - low)).astype(np.int64)
    return np.minimum(values, high - 1).astype(dtype)  # rounding must not reach `high`


_DRAWS = {
    "normal": lambda shape, seed, p, dtype: framework_random.normal(shape, seed, p[0], p[1],
                                                                    dtype),
    "truncated_normal": lambda shape, seed, p, dtype: truncated_normal_array(shape, seed, p[0],
                                                                             p[1], dtype),
    "uniform": lambda shape, seed, p, dtype: framework_random.uniform(shape, seed, p[0], p[1],
                                                                      dtype),
    "uniform_int": lambda shape, seed, p, dtype: _uniform_ints(shape, seed, p[0], p[1], dtype),
}


# ---------------------------------------------------------------------------------------------
# Graph ops


@dataclasses.dataclass(frozen=True)
class _Seed:
    """A seed the Session's per-run reseeding (`Run.reseeded`) can rewrite."""

    seed: int


def _run_seed(run, op) -> int:
    return run.reseeded(_Seed(op.attrs["seed"])).seed


@register_graph_op
class RandomDraw(GraphOp):
    """Random values of a distribution (`attrs["distribution"]`, `attrs["params"]`) drawn anew
    in each run from `attrs["seed"]`, as the random primitives are. The shape is
    `attrs["shape"]`, or the value of input 0 (a 1-d int tensor) when known only at run time."""

    name = "RandomDraw"
    no_gradient = "random values: nothing to differentiate"
    viz_family = "random"

    def infer(self, inputs, attrs):
        return [Spec.raw(attrs["static_shape"], attrs["dtype"])]

    def run(self, run, op, inputs):
        shape = op.attrs["shape"]
        if shape is None:
            shape = _run_time_shape(op, inputs[0])
        draw = _DRAWS[op.attrs["distribution"]]
        return (draw(shape, _run_seed(run, op), op.attrs["params"], op.attrs["dtype"]),)


def _run_time_shape(op, value) -> tuple:
    value = np.asarray(value)
    if value.ndim != 1 or value.dtype.kind not in "iu" or (value < 0).any():
        raise GraphError(f"{op.name}: the shape must be a 1-d tensor of non-negative ints, got "
                         f"{value.tolist()!r}")
    shape = tuple(int(d) for d in value)
    static = op.outputs[0].shape
    if not static.is_compatible_with(shape):
        raise GraphError(f"{op.name}: the shape {shape} fed or computed in this run does not "
                         f"fit the static shape {static}")
    return shape


@register_graph_op
class RandomShuffle(GraphOp):
    """Input 0 with its first dimension permuted, a new permutation in each run."""

    name = "RandomShuffle"
    no_gradient = "a random permutation (TensorFlow has no gradient for it either)"
    viz_family = "random"

    def infer(self, inputs, attrs):
        return [Spec.raw(inputs[0].shape, inputs[0].dtype)]

    def run(self, run, op, inputs):
        value = np.asarray(inputs[0])
        if value.ndim == 0:
            raise GraphError(f"random_shuffle: the value must have at least one dimension, but "
                             f"{op.inputs[0].name!r} is a scalar in this run")
        keys = framework_random.uniform((value.shape[0],), _run_seed(run, op), 0.0, 1.0,
                                        dtypes.float64)
        return (np.ascontiguousarray(value[np.argsort(keys, kind="stable")]),)


@register_graph_op
class Multinomial(GraphOp):
    """`attrs["num_samples"]` class indices per row of the logits (input 0, (batch, classes)),
    drawn with probabilities softmax(logits), anew in each run."""

    name = "Multinomial"
    no_gradient = "sampled indices: integers, not a differentiable function"
    viz_family = "random"

    def infer(self, inputs, attrs):
        logits = inputs[0]
        rows = None if logits.shape.ndims is None else logits.shape[0]
        return [Spec.raw((rows, attrs["num_samples"]), attrs["dtype"])]

    def run(self, run, op, inputs):
        logits = np.asarray(inputs[0], dtypes.float64)
        where = f"multinomial {op.name!r}"
        if logits.ndim != 2 or logits.shape[1] == 0:
            raise GraphError(f"{where}: logits must be 2-d (batch, classes) with at least one "
                             f"class, got shape {logits.shape} in this run")
        if np.isnan(logits).any() or np.isposinf(logits).any():
            raise GraphError(f"{where}: the logits hold NaN or +inf in this run")
        top = logits.max(axis=1, keepdims=True)
        if np.isneginf(top).any():
            row = int(np.flatnonzero(np.isneginf(top[:, 0]))[0])
            raise GraphError(f"{where}: row {row} of the logits has no finite value")
        cumulative = np.cumsum(np.exp(logits - top), axis=1)
        count = op.attrs["num_samples"]
        units = framework_random.uniform((logits.shape[0], count), _run_seed(run, op), 0.0, 1.0,
                                         dtypes.float64)
        samples = np.empty((logits.shape[0], count), op.outputs[0].dtype)
        for row in range(logits.shape[0]):
            found = np.searchsorted(cumulative[row], units[row] * cumulative[row, -1], "right")
            samples[row] = np.minimum(found, logits.shape[1] - 1)
        return (samples,)


# ---------------------------------------------------------------------------------------------
# TensorFlow 1's functions


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Values from N(mean, stddev**2), new in each run (see the module docstring for seeds).

    `shape` is a list of ints, or a 1-d int Tensor (tf.shape(x)), or a list mixing ints and
    scalar int Tensors; mean and stddev are numbers or Tensors.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.random_normal([2, 3], mean=1.0, stddev=0.1, seed=4)
    ...     with tf.Session() as sess:
    ...         first, second = sess.run(x), sess.run(x)
    >>> first.shape, bool((first != second).all())
    ((2, 3), True)
    """
    dtype = _float_dtype("random_normal", dtype)
    return _scoped(name or "random_normal", lambda: _located(
        "random_normal", "normal", shape, dtype, seed, mean, stddev, 0.0, 1.0))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Values from N(mean, stddev**2), every one further than 2 stddev from the mean drawn
    again: what TF1 tutorials initialize weights with.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable(tf.truncated_normal([100, 10], stddev=0.1, seed=1))
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         bool(abs(sess.run(w)).max() <= 0.2)
    True
    """
    dtype = _float_dtype("truncated_normal", dtype)
    return _scoped(name or "truncated_normal", lambda: _located(
        "truncated_normal", "truncated_normal", shape, dtype, seed, mean, stddev, 0.0, 1.0))


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Values uniform in [minval, maxval): floats (maxval defaults to 1), or ints, for which
    maxval must be given.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     dice = tf.random_uniform([1000], 1, 7, dtype=tf.int32, seed=2)
    ...     with tf.Session() as sess:
    ...         rolls = sess.run(dice)
    >>> sorted(set(rolls.tolist())), rolls.dtype
    ([1, 2, 3, 4, 5, 6], dtype('int32'))
    """
    function = "random_uniform"
    dtype = dtypes.as_dtype(dtype)
    if dtype.kind == "f":
        high = 1.0 if maxval is None else maxval
        return _scoped(name or function, lambda: _located(
            function, "uniform", shape, dtype, seed, minval, high, 0.0, 1.0))
    if dtype.kind not in "iu":
        raise GraphError(f"{function}: dtype must be a float or int dtype, got {dtype}")
    if maxval is None:
        raise GraphError(f"{function}: Must specify maxval for integer dtype {dtype}")
    bounds = []
    for what, bound in (("minval", minval), ("maxval", maxval)):
        if isinstance(bound, (bool, np.bool_)) or not isinstance(bound, (int, np.integer)):
            raise GraphError(f"{function}: {what} of an int draw must be a Python int here, "
                             f"got {bound!r}")
        bounds.append(int(bound))
    low, high = bounds
    info = np.iinfo(dtype)
    if not info.min <= low < high <= info.max + 1:
        raise GraphError(f"{function}: Need minval < maxval within {dtype}'s range, got "
                         f"minval={low}, maxval={high}")
    if high - low > 2**53:
        raise GraphError(f"{function}: the range [{low}, {high}) is wider than 2**53, which "
                         "this draw cannot cover evenly")

    def build():
        static, shape_input = _shape_argument(function, shape)
        return _random_draw("uniform_int", static, shape_input, dtype, seed, (low, high))

    return _scoped(name or function, build)


def random_shuffle(value, seed=None, name=None):
    """`value` with its first dimension shuffled, a new order in each run.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     order = tf.random_shuffle([0, 1, 2, 3, 4], seed=1)
    ...     with tf.Session() as sess:
    ...         sorted(sess.run(order).tolist())
    [0, 1, 2, 3, 4]
    """
    def build():
        x = value if isinstance(value, Tensor) else constant(value)
        if x.shape.ndims == 0:
            raise GraphError(f"random_shuffle: the value must have at least one dimension, "
                             f"got the scalar {x.name!r}")
        return x.graph.add_operation(RandomShuffle(), [x], name="RandomShuffle",
                                     attrs={"seed": op_seed(seed)}).outputs[0]

    return _scoped(name or "random_shuffle", build)


def multinomial(logits, num_samples, seed=None, name=None, output_dtype=None):
    """`num_samples` class indices for each row of `logits` (batch, classes), class j drawn
    with probability softmax(logits)[j]; int64 unless `output_dtype` says int32.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     samples = tf.multinomial(tf.log([[0.5, 0.5, 0.0]]), 100, seed=3)
    ...     with tf.Session() as sess:
    ...         drawn = sess.run(samples)
    >>> drawn.shape, sorted(set(drawn.ravel().tolist()))
    ((1, 100), [0, 1])
    """
    function = "multinomial"
    dtype = dtypes.int64 if output_dtype is None else dtypes.as_dtype(output_dtype)
    if dtype not in dtypes.INTS:
        raise GraphError(f"{function}: output_dtype must be int32 or int64, got {dtype}")
    if isinstance(num_samples, (bool, np.bool_)) or not isinstance(num_samples,
                                                                   (int, np.integer)) \
            or num_samples < 0:
        raise GraphError(f"{function}: num_samples must be an int >= 0, got {num_samples!r}")

    def build():
        x = logits if isinstance(logits, Tensor) else constant(logits)
        if not dtypes.is_float(x.dtype) or x.shape.ndims not in (None, 2):
            raise GraphError(f"{function}: logits must be a 2-d (batch, classes) float tensor, "
                             f"got {x.name!r} of shape {x.shape} and dtype {x.dtype}")
        return x.graph.add_operation(Multinomial(), [x], name="Multinomial",
                                     attrs={"seed": op_seed(seed),
                                            "num_samples": int(num_samples),
                                            "dtype": dtype}).outputs[0]

    return _scoped(name or function, build)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """`multinomial` under its later name (tf.random.categorical)."""
    return multinomial(logits, num_samples, seed=seed, name=name or "categorical",
                       output_dtype=dtype)


# tf.random's names for the same functions (TensorFlow 1.13 and later).
normal, uniform, shuffle = random_normal, random_uniform, random_shuffle


def _float_dtype(function: str, dtype) -> np.dtype:
    dtype = dtypes.as_dtype(dtype)
    if not dtypes.is_float(dtype):
        raise GraphError(f"{function}: dtype must be float32 or float64, got {dtype}")
    return dtype


def _located(function, distribution, shape, dtype, seed, location, scale, standard_location,
             standard_scale):
    """A draw of `distribution` moved to (location, scale): (mean, stddev) for the normals,
    (minval, maxval) for uniform. Numbers become the op's attributes; a Tensor scales a
    standard draw instead (standard_location, standard_scale), where the graph runs."""
    static, shape_input = _shape_argument(function, shape)
    if not isinstance(location, Tensor) and not isinstance(scale, Tensor):
        for what, number in (("the location", location), ("the scale", scale)):
            if isinstance(number, (bool, np.bool_)) or not isinstance(
                    number, (int, float, np.integer, np.floating)):
                raise GraphError(f"{function}: {what} must be a number or a Tensor, got "
                                 f"{number!r}")
        return _random_draw(distribution, static, shape_input, dtype, seed,
                            (float(location), float(scale)))
    standard = _random_draw(distribution, static, shape_input, dtype, seed,
                            (standard_location, standard_scale))
    location, scale = (F.cast(v, dtype) if isinstance(v, Tensor) else v
                       for v in (location, scale))
    if distribution == "uniform":  # minval + (maxval - minval) * U[0, 1)
        return F.add(F.mul(standard, F.sub(scale, location)), location)
    return F.add(F.mul(standard, scale), location)


def _random_draw(distribution, static, shape_input, dtype, seed, params) -> Tensor:
    """The node that draws: a registry primitive (normal, uniform) where the shape is known,
    which the compiler and drawings know like any other, else a RandomDraw."""
    seed = op_seed(seed)
    if shape_input is None and distribution in ("normal", "uniform"):
        from framework.ops.dispatch import frontend_of_type

        kind = framework_random.Normal if distribution == "normal" else \
            framework_random.Uniform
        primitive = kind(static, seed, params[0], params[1], dtype)
        primitive.infer()  # a bad attribute (stddev < 0, minval >= maxval) fails here
        return frontend_of_type(Tensor).apply(primitive, [])
    inputs = [] if shape_input is None else [shape_input]
    if distribution == "uniform" and not params[0] < params[1]:
        raise GraphError(f"random_uniform: Need minval < maxval, got {params[0]} and "
                         f"{params[1]}")
    attrs = {"distribution": distribution, "params": params, "dtype": dtype, "seed": seed,
             "shape": static if shape_input is None else None, "static_shape": static}
    graph = get_default_graph() if shape_input is None else shape_input.graph
    return graph.add_operation(RandomDraw(), inputs, name=distribution, attrs=attrs).outputs[0]


def _shape_argument(function, shape) -> tuple:
    """(the shape as a tuple of ints, None) when it is known now, else (the static shape:
    a tuple with None where unknown, or None for an unknown length; a 1-d int tensor that
    holds the shape when the graph runs)."""
    if isinstance(shape, Tensor):
        if shape.op.type == "Const":
            return _shape_argument(function, shape.op.attrs["value"].tolist())
        if shape.dtype.kind not in "iu" or shape.shape.ndims not in (None, 1):
            raise GraphError(f"{function}: shape must be a 1-d int tensor, got {shape.name!r} "
                             f"of shape {shape.shape} and dtype {shape.dtype}")
        from graph.dynamic_shapes import known_shape_value

        return known_shape_value(shape), shape
    if isinstance(shape, np.ndarray):
        shape = shape.tolist()
    if not isinstance(shape, (list, tuple)):
        raise GraphError(f"{function}: shape must be a list of ints (or a 1-d int tensor, "
                         f"e.g. tf.shape(x)), got {shape!r}")
    if any(isinstance(d, Tensor) for d in shape):
        return _stacked_shape(function, shape)
    if not all(_is_size(d) for d in shape):
        raise GraphError(f"{function}: shape must hold ints >= 0, got {list(shape)!r}")
    return tuple(int(d) for d in shape), None


def _is_size(d) -> bool:
    return isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) and d >= 0


def _stacked_shape(function, shape) -> tuple:
    """A shape listing ints and scalar int tensors: (what is known now, the stacked tensor)."""
    parts = []
    for d in shape:
        if isinstance(d, Tensor):
            if d.dtype.kind not in "iu" or d.shape.ndims not in (None, 0):
                raise GraphError(f"{function}: each element of shape must be an int or a "
                                 f"scalar int tensor, got {d.name!r} of shape {d.shape} and "
                                 f"dtype {d.dtype}")
            parts.append(F.cast(d, dtypes.int64))
        elif _is_size(d):
            parts.append(constant(np.int64(d)))
        else:
            raise GraphError(f"{function}: shape must hold ints >= 0 or scalar int tensors, "
                             f"got {d!r}")
    from graph.dynamic_shapes import known_scalar_value

    known = tuple(known_scalar_value(d) if isinstance(d, Tensor) else int(d) for d in shape)
    return known, F.stack(parts, 0)
