"""dualgraph's graph front-end: define-and-run with TensorFlow 1's names and semantics.

>>> import graph as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, (None, 2), name="x")
...     w = tf.Variable([[1.0], [2.0]], name="w")
...     y = tf.matmul(x, w)
...     with tf.Session() as sess:
...         sess.run(tf.global_variables_initializer())
...         print(sess.run(y, feed_dict={x: [[3.0, 4.0]]}))
[[11.]]
"""

from framework import dtypes as _dtypes
from graph import initializers, layers, losses, nn, summary, train, viz
from graph import random_ops as random
from graph.api import *  # noqa: F403
from graph.clip_ops import clip_by_global_norm, clip_by_norm, global_norm
from graph.control_flow import cond, while_loop
from graph.core import (
    Graph,
    GraphError,
    GraphKeys,
    Operation,
    Tensor,
    TensorShape,
    constant,
    convert_to_tensor,
    get_default_graph,
    placeholder,
    placeholder_with_default,
    reset_default_graph,
)
from graph.debugging import (
    Assert,
    AssertionFailedError,
    NumericsError,
    Print,
    add_check_numerics_ops,
    assert_equal,
    check_numerics,
    print_,
)
from graph.gradients import gradients, identity, stop_gradient
from graph.initializers import (
    constant_initializer,
    glorot_normal_initializer,
    glorot_uniform_initializer,
    ones_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    truncated_normal_initializer,
    variance_scaling_initializer,
    zeros_initializer,
)
from graph.not_built import NotBuiltError, missing_names
from graph.ops import check_graph_ops as _check_graph_ops  # noqa: E402
from graph.placement import ConfigProto, DeviceSpec, device
from graph.random_ops import (
    get_seed,
    multinomial,
    random_normal,
    random_shuffle,
    random_uniform,
    set_random_seed,
    truncated_normal,
)
from graph.session import (
    InteractiveSession,
    RunMetadata,
    RunOptions,
    Session,
    get_default_session,
)
from graph.variable_scope import (
    AUTO_REUSE,
    VariableScope,
    get_local_variable,
    get_variable,
    get_variable_scope,
    variable_scope,
)
from graph.variables import (
    Variable,
    assign,
    assign_add,
    assign_sub,
    global_variables,
    global_variables_initializer,
    group,
    local_variables,
    local_variables_initializer,
    no_op,
    trainable_variables,
    variables_initializer,
)

_check_graph_ops()  # every graph op kind, cond and while included, has all of its rules

float32 = _dtypes.float32
float64 = _dtypes.float64
int32 = _dtypes.int32
int64 = _dtypes.int64
bool = _dtypes.bool_  # noqa: A001  (TensorFlow's name)


__all__ = [  # noqa: F405  (with the star-imported TensorFlow-named ops of graph.api)
    "Graph", "GraphError", "InteractiveSession", "Operation", "Session", "Tensor", "Variable",
    "assign", "assign_add", "assign_sub", "constant", "control_dependencies",
    "get_default_graph", "get_default_session", "global_variables",
    "global_variables_initializer", "gradients", "group", "identity", "name_scope", "no_op",
    "placeholder", "reset_default_graph", "stop_gradient", "trainable_variables",
    "variables_initializer", "float32", "float64", "int32", "int64", "bool",
    "layers", "losses", "nn", "train", "constant_initializer", "glorot_normal_initializer",
    "glorot_uniform_initializer", "ones_initializer", "random_normal_initializer",
    "random_uniform_initializer", "zeros_initializer",
    "clip_by_global_norm", "clip_by_norm", "global_norm", "summary",
    "cond", "while_loop", "RunMetadata", "RunOptions", "NumericsError",
    "add_check_numerics_ops", "check_numerics", "viz", "Print", "Assert", "assert_equal",
    "AssertionFailedError",
    "GraphKeys", "TensorShape", "add_to_collection", "add_to_collections", "get_collection",
    "get_collection_ref", "local_variables", "local_variables_initializer",
    "initializers", "truncated_normal_initializer", "variance_scaling_initializer",
    "random", "get_seed", "set_random_seed", "random_normal", "random_uniform",
    "truncated_normal", "random_shuffle", "multinomial",
    "AUTO_REUSE", "VariableScope", "get_local_variable", "get_variable", "get_variable_scope",
    "variable_scope", "double", "placeholder_with_default", "convert_to_tensor",
    "NotBuiltError", "ConfigProto", "DeviceSpec", "device",
]

double = float64  # TensorFlow's other name for float64


_missing = missing_names("graph", "tf", "TensorFlow 1", "graph front-end", "TF1's")


def __getattr__(name):
    # tf.print is served here, not bound in this module, so the builtin print stays print
    # for this module's own code and doctests.
    if name == "print":
        return print_
    return _missing(name)


def add_to_collection(name, value) -> None:
    """Add `value` to the default graph's collection `name` (see GraphKeys)."""
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value) -> None:
    """Add `value` to each of the default graph's collections `names`."""
    get_default_graph().add_to_collections(names, value)


def get_collection(key, scope=None) -> list:
    """A copy of the default graph's collection `key`; with `scope`, only the items whose name
    matches it from the start.

    >>> with Graph().as_default():
    ...     add_to_collection("outputs", constant(1.0, name="head/out"))
    ...     [t.name for t in get_collection("outputs", scope="head")]
    ['head/out:0']
    """
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key) -> list:
    """The default graph's collection `key` itself (a list: changing it changes the
    collection)."""
    return get_default_graph().get_collection_ref(key)


def name_scope(name, default_name=None, values=None):
    """Prefix the names of ops created inside with `name/` (nested scopes nest)."""
    return get_default_graph().name_scope(name, default_name, values)


def control_dependencies(control_inputs):
    """Ops created inside run only after `control_inputs` (None clears the outer ones)."""
    return get_default_graph().control_dependencies(control_inputs)
