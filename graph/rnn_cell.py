"""`tf.nn.rnn_cell`: TensorFlow 1's recurrent cells on graph Tensors.

A cell is one time step: `output, new_state = cell(inputs, state)` with inputs of shape
(batch, depth) and a state shaped by `cell.state_size` (`cell.zero_state(batch_size, dtype)`
makes a zero one). `tf.nn.dynamic_rnn` and `tf.nn.static_rnn` (`graph.rnn`) run a cell over a
sequence.

A cell makes its variables with `get_variable` the first time it is called, in a variable
scope of its own inside the scope of that call, and keeps that scope: later calls share the
variables. The names and layouts are TensorFlow 1's, so checkpoints and code that reads
variables by name line up: inside `dynamic_rnn`, `rnn/basic_lstm_cell/kernel` of shape
(depth + units, 4 * units) and `rnn/basic_lstm_cell/bias` (4 * units); a GRU has
`gru_cell/gates/kernel` (depth + units, 2 * units), `gates/bias` (starting at ones),
`candidate/kernel` (depth + units, units) and `candidate/bias`; `MultiRNNCell` puts each layer
under `multi_rnn_cell/cell_<i>/`; `DropoutWrapper` adds no scope of its own.

Gate orders. An LSTM kernel holds the blocks i, j, f, o (input gate, candidate, forget gate,
output gate) along its columns, and `forget_bias` (1.0 by default) is added to f. PyTorch
(and eager's `nn.LSTM`) keep weight_ih (4H, in) and weight_hh (4H, H) with two biases in the
order i, f, g, o: TensorFlow's kernel is concat([weight_ih, weight_hh], 1).T with its column
blocks reordered (g is j), its bias the sum of the two, and forget_bias 0.

The GRUs differ in the maths, not only the layout: TensorFlow 1 applies the reset gate to the
state before the candidate's matmul, c = act(W_c [x, r * h] + b_c), while PyTorch applies it
after the hidden matmul, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); and TensorFlow's
update gate u keeps the old state, h' = u * h + (1 - u) * c, as PyTorch's z does. No choice of
weights makes the two the same function, so a GRU does not move between them.

>>> import numpy as np
>>> import graph as tf
>>> with tf.Graph().as_default():
...     cell = tf.nn.rnn_cell.BasicLSTMCell(4)
...     x = tf.placeholder(tf.float32, (None, 3))
...     output, state = cell(x, cell.zero_state(2, tf.float32))
...     [(v.op.name, v.shape) for v in cell.variables], output.shape, type(state).__name__
([('basic_lstm_cell/kernel', (7, 16)), ('basic_lstm_cell/bias', (16,))], (2, 4), \
'LSTMStateTuple')
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import re
import threading
import weakref

import numpy as np

from framework import dtypes
from framework.ops import F
from framework.ops import random as framework_random
from framework.ops.registry import Spec, run_op
from graph import random_ops
from graph.core import GraphError, Tensor, TensorShape, constant, get_default_graph, site_of
from graph.initializers import Constant, Zeros
from graph.ops import GraphOp, register_graph_op
from graph.variable_scope import get_variable, variable_scope

__all__ = ["BasicLSTMCell", "BasicRNNCell", "DropoutWrapper", "GRUCell", "LSTMCell",
           "LSTMStateTuple", "MultiRNNCell", "RNNCell"]


class RNNTypeError(GraphError, TypeError):
    """A value of the wrong kind where TensorFlow 1 raises TypeError (a cell that is not an
    RNNCell, cells not given as a list). A GraphError too, as the graph API's other errors."""


# ---------------------------------------------------------------------------------------------
# Nested structures of states and sizes (tuples, lists and namedtuples such as LSTMStateTuple)


def _is_structure(value) -> bool:
    return isinstance(value, (list, tuple)) and not isinstance(value, TensorShape)


def flatten(structure) -> list:
    """The leaves of a nested tuple / list / namedtuple, depth first."""
    if _is_structure(structure):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_like(structure, leaves):
    """`structure` with its leaves replaced, in order, by `leaves`."""
    remaining = iter(leaves)

    def rebuild(node):
        if not _is_structure(node):
            return next(remaining)
        items = [rebuild(item) for item in node]
        return type(node)(*items) if hasattr(node, "_fields") else type(node)(items)

    return rebuild(structure)


def size_shape(size, what: str) -> tuple:
    """A state or output size (an int, or a TensorShape for a leaf of several dimensions) as
    the shape of one example."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        return (int(size),)
    if isinstance(size, TensorShape) and size.is_fully_defined():
        return tuple(int(d) for d in size)
    raise GraphError(f"{what}: a state or output size must be an int or a fully known "
                     f"TensorShape, got {size!r}")


class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """The state of an LSTM cell with `state_is_tuple=True`: the memory c and the output h,
    each (batch, units).

    >>> LSTMStateTuple(c=1, h=2).h
    2
    """

    __slots__ = ()

    @property
    def dtype(self):
        c, h = self
        if c.dtype != h.dtype:
            raise RNNTypeError(f"Inconsistent internal state: {c.dtype} vs {h.dtype}")
        return c.dtype


# ---------------------------------------------------------------------------------------------
# Graph ops: zeros for a batch size known at run time, and a recurrent dropout mask


@register_graph_op
class ZerosForBatch(GraphOp):
    """Zeros of shape (batch, *attrs["shape"]) in attrs["dtype"], the batch size (input 0, a
    scalar int) read when the graph runs: a zero state for `tf.shape(x)[0]` sequences."""

    name = "ZerosForBatch"
    no_gradient = "zeros: a function of an integer size only"
    viz_family = "creation"
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec((None, *attrs["shape"]), attrs["dtype"])]

    def run(self, run, op, inputs):
        (size,) = inputs
        if np.ndim(size) != 0 or np.asarray(size).dtype.kind not in "iu" or int(size) < 0:
            raise GraphError(f"zero_state: batch_size must be a non-negative scalar integer, got "
                             f"{np.asarray(size)!r} (from {op.inputs[0].name!r}), in "
                             f"{op.name!r} created at {site_of(op)}")
        return (np.zeros((int(size), *op.attrs["shape"]), op.attrs["dtype"]),)


_executions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # run -> {op: count}
_executions_lock = threading.Lock()


def _execution_index(run, op) -> int:
    """How many times `op` ran before in this Session.run (0 outside loops)."""
    with _executions_lock:
        counts = _executions.setdefault(run, {})
        index = counts.get(op, 0)
        counts[op] = index + 1
    return index


@register_graph_op
class RecurrentDropoutMask(GraphOp):
    """DropoutWrapper's mask: 0 or 1 / keep_prob in the shape and dtype of input 0, keeping
    with the probability input 1 holds (a scalar in (0, 1]). Like TensorFlow's random ops it
    draws anew each time it runs, so inside dynamic_rnn's loop each time step has its own
    mask; the n-th execution in a run draws from a seed derived from the op's seed, n and the
    run's number, so the same graph and seeds give the same masks."""

    name = "RecurrentDropoutMask"
    no_gradient = "a random mask: the product x * mask carries the gradient to x"
    viz_family = "random"
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec(inputs[0].shape, inputs[0].dtype)]

    def run(self, run, op, inputs):
        like, keep = inputs
        if np.ndim(keep) != 0 or not 0.0 < float(keep) <= 1.0:
            raise GraphError(f"DropoutWrapper: {op.attrs['what']} must be a scalar in (0, 1], "
                             f"got {np.asarray(keep)!r} (from {op.inputs[1].name!r}), in "
                             f"{op.name!r} created at {site_of(op)}")
        keep = float(keep)
        dtype = op.outputs[0].dtype
        seed = op.attrs["seed"]
        index = _execution_index(run, op)
        if index:
            seed = int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0])
        draw = run.reseeded(framework_random.Uniform(np.shape(like), seed, dtype=dtype))
        uniform = run_op(draw, [])[1]
        # keep + U[0, 1) >= 1 keeps with probability keep (TensorFlow's rule).
        mask = np.where(uniform >= 1.0 - keep, dtype.type(1.0 / keep), dtype.type(0.0))
        return (mask.astype(dtype, copy=False),)


_ZEROS_FOR_BATCH, _DROPOUT_MASK = ZerosForBatch(), RecurrentDropoutMask()


# ---------------------------------------------------------------------------------------------
# Checks shared by the cells, dynamic_rnn and static_rnn


def _snake_case(name: str) -> str:
    """TensorFlow's default layer name for a class: BasicLSTMCell -> basic_lstm_cell."""
    words = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()


def check_cell(who: str, cell) -> None:
    """Refuse what is not a cell (TensorFlow 1: TypeError 'cell must be an instance of
    RNNCell'): a cell has state_size, output_size and is callable."""
    names = dir(cell)  # looks the sizes up without computing them
    if not (callable(cell) and "state_size" in names and "output_size" in names):
        raise RNNTypeError(f"{who}: cell must be an instance of RNNCell (with state_size, "
                           f"output_size and a call), got {type(cell).__name__} {cell!r}")


def float_dtype(who: str, dtype) -> np.dtype:
    dtype = dtypes.as_dtype(dtype)
    if not dtypes.is_float(dtype):
        raise GraphError(f"{who}: recurrent cells compute in floating point, got dtype {dtype}")
    return dtype


def step_input(who: str, inputs) -> Tensor:
    """One time step's inputs: a float Tensor (batch, depth) with a known depth."""
    x = inputs if isinstance(inputs, Tensor) else constant(inputs)
    if not dtypes.is_float(x.dtype):
        raise GraphError(f"{who}: inputs must be floating point, got {x.name!r} of dtype "
                         f"{x.dtype}; cast them with tf.cast")
    if x.shape.ndims != 2:
        raise GraphError(f"{who}: the inputs of one time step must be (batch, depth), got "
                         f"{x.name!r} of shape {x.shape}")
    if x.shape[-1] is None:
        raise GraphError(f"{who}: Expected inputs.shape[-1] to be known, saw shape: {x.shape} "
                         f"({x.name!r}); give the inputs a shape")
    return x


def checked_state(who: str, state_size, state, dtype, batch=None):
    """`state` checked against `state_size` (same structure, each leaf (batch, *size) in
    `dtype`), arrays and numbers made constants; `batch` (an int or None) is the batch size
    the inputs have, where known."""
    sizes, leaves = flatten(state_size), flatten(state)
    if _is_structure(state_size) != _is_structure(state) or len(leaves) != len(sizes):
        raise GraphError(f"{who}: the state must have the structure of the cell's state_size "
                         f"{state_size!r}, got {_describe(state)}")
    checked = []
    for index, (leaf, size) in enumerate(zip(leaves, sizes)):
        value = leaf if isinstance(leaf, Tensor) else constant(np.asarray(leaf, dtype))
        shape = size_shape(size, who)
        place = f"state part {index}" if len(sizes) > 1 else "the state"
        if value.dtype != dtype:
            raise GraphError(f"{who}: {place} ({value.name!r}) has dtype {value.dtype}, the "
                             f"inputs have {dtype}; give both one dtype")
        if value.shape.ndims is not None and (
                value.shape.ndims != 1 + len(shape)
                or not TensorShape(value.shape[1:]).is_compatible_with(shape)
                or None not in (batch, value.shape[0]) and value.shape[0] != batch):
            expected = TensorShape((batch, *shape))
            raise GraphError(f"{who}: {place} ({value.name!r}) must have shape {expected} (batch, "
                             f"size), got {value.shape}")
        checked.append(value)
    return pack_like(state_size, checked)


def _describe(state) -> str:
    if _is_structure(state):
        return f"{type(state).__name__} of {len(state)}: ({', '.join(map(_describe, state))})"
    if isinstance(state, Tensor):
        return f"Tensor {state.name!r} {state.shape}"
    return repr(state)


def _positive_int(who: str, what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise GraphError(f"{who}: {what} must be a positive int, got {value!r}")
    return int(value)


_ACTIVATIONS = {"tanh": F.tanh, "sigmoid": F.sigmoid, "relu": F.relu}


def _activation(who: str, activation):
    if activation is None:
        return F.tanh
    if isinstance(activation, str) and activation in _ACTIVATIONS:
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise GraphError(f"{who}: activation must be a function of a tensor (tf.tanh, "
                         f"tf.nn.relu, ...) or one of {sorted(_ACTIVATIONS)}, got "
                         f"{activation!r}")
    return activation


def _not_built(who: str, **arguments) -> None:
    for what, value in arguments.items():
        if value is not None:
            raise GraphError(f"{who}: {what} is not built in dualgraph's rnn_cell; leave it at "
                             "None")


# ---------------------------------------------------------------------------------------------
# The base class

_first_call_lock = threading.RLock()  # a cell's first call (scope and variables), one at a time


class RNNCell:
    """The base of every cell: subclasses give `state_size`, `output_size`, `build(shape)` (make
    the variables, with `add_variable`) and `call(inputs, state)` (one step).

    `cell(inputs, state, scope=None)` checks the inputs (a float (batch, depth) tensor of known
    depth) and the state, enters the cell's variable scope (made at the first call: `scope` if
    given, else a new scope named after the class, 'basic_lstm_cell', 'basic_lstm_cell_1', ...,
    inside the current variable scope; with `reuse=True`, the class name itself), builds the
    variables the first time, and returns `call`'s (output, new_state).

    >>> import graph as tf
    >>> class Doubler(tf.nn.rnn_cell.RNNCell):
    ...     state_size = output_size = 2
    ...     def build(self, inputs_shape):
    ...         self.w = self.add_variable("w", [inputs_shape[-1], 2])
    ...     def call(self, inputs, state):
    ...         out = tf.matmul(inputs, self.w) + 2.0 * state
    ...         return out, out
    >>> with tf.Graph().as_default():
    ...     cell = Doubler()
    ...     out, _ = cell(tf.ones((1, 3)), cell.zero_state(1, tf.float32))
    ...     [v.op.name for v in cell.variables]
    ['doubler/w']
    """

    # Class defaults, so a subclass that skips __init__ (TensorFlow 1 code does) still works.
    built = False
    trainable = True
    _scope = None
    _reuse = None
    _dtype = None
    _input_depth = None
    _name = None

    def __init__(self, trainable=True, name=None, dtype=None, reuse=None, _reuse=None):
        who = type(self).__name__
        if name is not None and (not isinstance(name, str) or not name):
            raise GraphError(f"{who}: name must be a non-empty string, got {name!r}")
        self.trainable = bool(trainable)
        self._name = name
        self._dtype = None if dtype is None else float_dtype(who, dtype)
        self._reuse = reuse if reuse is not None else _reuse
        self._scope = None
        self._own_variables = []
        self.built = False

    # -- what a subclass gives -----------------------------------------------------------------

    @property
    def state_size(self):
        raise NotImplementedError(f"{type(self).__name__} must define state_size")

    @property
    def output_size(self):
        raise NotImplementedError(f"{type(self).__name__} must define output_size")

    def build(self, inputs_shape) -> None:
        """Make the cell's variables for inputs of `inputs_shape` (batch, depth)."""

    def call(self, inputs, state):
        raise NotImplementedError(f"{type(self).__name__} must define call(inputs, state)")

    # -- what the base gives -------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name or _snake_case(type(self).__name__)

    @property
    def dtype(self):
        return self._dtype

    @property
    def scope_name(self) -> str | None:
        """The name of the cell's variable scope, once it was called."""
        return None if self._scope is None else self._scope.name

    @property
    def variables(self) -> list:
        """The variables the cell made (its inner cells' included), in creation order."""
        return list(self.__dict__.get("_own_variables", ())) + [
            v for cell in self._inner_cells() for v in cell.variables]

    @property
    def trainable_variables(self) -> list:
        return [v for v in self.variables if v.trainable]

    weights = variables
    trainable_weights = trainable_variables

    def _inner_cells(self) -> list:
        return []

    def add_variable(self, name, shape, dtype=None, initializer=None, regularizer=None,
                     trainable=None, **unsupported):
        """A variable of the cell, made with get_variable in its scope (TensorFlow's
        Layer.add_variable); call it from `build`."""
        _not_built(f"{type(self).__name__}.add_variable", **unsupported)
        dtype = self._dtype if dtype is None else dtype
        variable = get_variable(name, shape, dtype, initializer, regularizer,
                                trainable=self.trainable if trainable is None else trainable)
        owned = self.__dict__.setdefault("_own_variables", [])
        if variable not in owned:
            owned.append(variable)
        return variable

    add_weight = add_variable

    def __call__(self, inputs, state, scope=None):
        who = f"{type(self).__name__} {self.name!r}"
        x = step_input(who, inputs)
        # The first call captures the scope and builds: one thread at a time, the others then
        # find the cell built.
        with _first_call_lock if not self.built else contextlib.nullcontext():
            self.check_step_inputs(who, x.dtype, x.shape[-1], x.name)
            state = checked_state(who, self.state_size, state, x.dtype, x.shape[0])
            with self._variable_scope(scope):
                if not self.built:
                    self._build(x.shape[-1], x.dtype)
                return self.call(x, state)

    def check_step_inputs(self, who: str, dtype, depth: int, name: str) -> None:
        """Refuse inputs (`name`, of `dtype` and `depth`) the cell cannot take: another dtype
        than its variables', another depth than it was built for."""
        if self._dtype is not None and dtype != self._dtype:
            raise GraphError(f"{who}: the cell {self.name!r} computes in {self._dtype}, got "
                             f"inputs {name!r} of dtype {dtype}")
        if self.built and self._input_depth is not None and depth != self._input_depth:
            raise GraphError(f"{who}: the cell {self.name!r} was built for inputs of depth "
                             f"{self._input_depth} (its variables are in scope "
                             f"{self.scope_name!r}), got inputs {name!r} of depth {depth}; a "
                             "cell shares its variables across calls: use one cell per input "
                             "depth")

    def _build(self, depth: int, dtype) -> None:
        if self._dtype is None:
            self._dtype = dtypes.as_dtype(dtype)
        self.build(TensorShape((None, depth)))
        self._input_depth = depth
        self.built = True

    @contextlib.contextmanager
    def _variable_scope(self, scope):
        """The cell's variable scope: the one captured at the first call, entered again."""
        if self._scope is not None:
            with variable_scope(self._scope, reuse=True if self.built else self._reuse):
                yield
            return
        if scope is not None:
            opened = variable_scope(scope, reuse=self._reuse or None)
        elif self._reuse:
            opened = variable_scope(self.name, reuse=self._reuse)
        else:
            opened = variable_scope(None, default_name=self.name)
        with opened as captured:
            self._scope = captured
            yield

    def can_build_outside_loop(self) -> bool:
        """Whether `build_outside_loop` makes every variable a call will use (true of the
        built-in cells): dynamic_rnn then makes them before its while_loop, where variables
        must be made. Other cells are traced once outside the loop instead."""
        return False

    def build_outside_loop(self, depth: int, dtype) -> None:
        """Make the variables a call on inputs of `depth` will use, in the scope that call
        would make, without building the step's ops."""
        with _first_call_lock:
            if self.built:
                return
            with self._variable_scope(None):
                self._build(depth, dtype)

    def zero_state(self, batch_size, dtype):
        """A state of zeros with the structure of `state_size`, each part (batch_size, size);
        `batch_size` is an int or a scalar int Tensor (`tf.shape(x)[0]`).

        >>> import graph as tf
        >>> with tf.Graph().as_default():
        ...     state = tf.nn.rnn_cell.BasicLSTMCell(3).zero_state(tf.constant(5), tf.float32)
        ...     with tf.Session() as sess:
        ...         print(sess.run(state.h).shape)
        (5, 3)
        """
        who = f"{type(self).__name__}.zero_state"
        dtype = float_dtype(who, dtype)
        batch = _batch_size(who, batch_size)
        sizes = [size_shape(size, who) for size in flatten(self.state_size)]
        graph = get_default_graph()
        with graph.name_scope(f"{type(self).__name__}ZeroState"):
            return pack_like(self.state_size, [zeros_for_batch(batch, size, dtype)
                                               for size in sizes])

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        """zero_state for `inputs`' batch size and dtype, or for `batch_size` and `dtype`."""
        if inputs is not None:
            x = inputs if isinstance(inputs, Tensor) else constant(inputs)
            batch = x.shape[0] if x.shape.ndims and x.shape[0] is not None else \
                F.shape_of(x, dtypes.int32)[0]
            return self.zero_state(batch, x.dtype if dtype is None else dtype)
        if batch_size is None or dtype is None:
            raise GraphError(f"{type(self).__name__}.get_initial_state: give inputs, or both "
                             "batch_size and dtype")
        return self.zero_state(batch_size, dtype)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _batch_size(who: str, batch_size):
    if isinstance(batch_size, Tensor):
        if batch_size.dtype.kind not in "iu" or not batch_size.shape.is_compatible_with(()):
            raise GraphError(f"{who}: batch_size must be a scalar integer tensor, got "
                             f"{batch_size.name!r} of dtype {batch_size.dtype} and shape "
                             f"{batch_size.shape}")
        return batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 0:
        raise GraphError(f"{who}: batch_size must be a non-negative int or a scalar int tensor, "
                         f"got {batch_size!r}")
    return int(batch_size)


def zeros_for_batch(batch, shape: tuple, dtype) -> Tensor:
    """Zeros (batch, *shape): a constant for an int batch, else read when the graph runs."""
    if isinstance(batch, Tensor):
        return batch.graph.add_operation(_ZEROS_FOR_BATCH, [batch], name="zeros",
                                         attrs={"shape": tuple(shape),
                                                "dtype": dtype}).outputs[0]
    return constant(np.zeros((batch, *shape), dtype), name="zeros")


def _linear(inputs, state, kernel, bias):
    """[inputs, state] @ kernel + bias: one matmul for the input and the recurrent weights."""
    return F.add(F.matmul(F.concat([inputs, state], 1), kernel), bias)


# ---------------------------------------------------------------------------------------------
# The cells


class BasicRNNCell(RNNCell):
    """h' = activation([x, h] @ kernel + bias): `kernel` (depth + units, units), `bias` (units,
    zeros at first); output and new state are both h'.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     cell = tf.nn.rnn_cell.BasicRNNCell(5)
    ...     out, state = cell(tf.ones((2, 3)), tf.zeros((2, 5)))
    ...     out.shape, [v.shape for v in cell.variables]
    ((2, 5), [(8, 5), (5,)])
    """

    def __init__(self, num_units, activation=None, reuse=None, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, reuse=reuse, **kwargs)
        self._num_units = _positive_int(type(self).__name__, "num_units", num_units)
        self._activation = _activation(type(self).__name__, activation)

    @property
    def state_size(self):
        return self._num_units

    @property
    def output_size(self):
        return self._num_units

    def build(self, inputs_shape):
        units = self._num_units
        self._kernel = self.add_variable("kernel", [inputs_shape[-1] + units, units])
        self._bias = self.add_variable("bias", [units], initializer=Zeros())

    def can_build_outside_loop(self) -> bool:
        return True

    def call(self, inputs, state):
        output = self._activation(_linear(inputs, state, self._kernel, self._bias))
        return output, output


class BasicLSTMCell(RNNCell):
    """An LSTM step. [x, h] @ kernel + bias gives the blocks i, j, f, o (each `num_units`
    wide); c' = c * sigmoid(f + forget_bias) + sigmoid(i) * activation(j) and
    h' = activation(c') * sigmoid(o). The state is LSTMStateTuple(c, h) (or, with
    `state_is_tuple=False`, concat([c, h], 1)); the output is h'. `kernel` is
    (depth + units, 4 * units), `bias` (4 * units,) of zeros at first.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     cell = tf.nn.rnn_cell.BasicLSTMCell(4, forget_bias=0.0)
    ...     cell.state_size, cell.output_size
    (LSTMStateTuple(c=4, h=4), 4)
    """

    def __init__(self, num_units, forget_bias=1.0, state_is_tuple=True, activation=None,
                 reuse=None, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, reuse=reuse, **kwargs)
        who = type(self).__name__
        self._num_units = _positive_int(who, "num_units", num_units)
        self._forget_bias = _number(who, "forget_bias", forget_bias)
        self._state_is_tuple = bool(state_is_tuple)
        self._activation = _activation(who, activation)

    @property
    def state_size(self):
        units = self._num_units
        return LSTMStateTuple(units, units) if self._state_is_tuple else 2 * units

    @property
    def output_size(self):
        return self._num_units

    def build(self, inputs_shape):
        units = self._num_units
        self._kernel = self.add_variable("kernel", [inputs_shape[-1] + units, 4 * units])
        self._bias = self.add_variable("bias", [4 * units], initializer=Zeros())

    def can_build_outside_loop(self) -> bool:
        return True

    def call(self, inputs, state):
        c, h = state if self._state_is_tuple else F.split(state, 2, 1)
        i, j, f, o = F.split(_linear(inputs, h, self._kernel, self._bias), 4, 1)
        new_c = F.add(F.mul(c, F.sigmoid(F.add(f, self._forget_bias))),
                      F.mul(F.sigmoid(i), self._activation(j)))
        new_h = F.mul(self._activation(new_c), F.sigmoid(o))
        if self._state_is_tuple:
            return new_h, LSTMStateTuple(new_c, new_h)
        return new_h, F.concat([new_c, new_h], 1)


def _number(who: str, what: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise GraphError(f"{who}: {what} must be a number, got {value!r}")
    return float(value)


def _clip_value(who: str, what: str, value):
    if value is None:
        return None
    clip = _number(who, what, value)
    if not clip > 0:
        raise GraphError(f"{who}: {what} must be positive, got {value!r}")
    return clip


class LSTMCell(RNNCell):
    """BasicLSTMCell's step with TensorFlow 1's options: `use_peepholes` (diagonal weights
    w_f_diag, w_i_diag, w_o_diag from c into the gates), `cell_clip` (c' clipped to
    [-cell_clip, cell_clip]), `num_proj` (h' projected by `projection/kernel` (units,
    num_proj), then clipped to `proj_clip`) and `initializer` (for the kernels and peepholes).
    The state is LSTMStateTuple(c, h) with h of size num_proj when projecting.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     cell = tf.nn.rnn_cell.LSTMCell(4, use_peepholes=True, num_proj=2)
    ...     out, state = cell(tf.ones((1, 3)), cell.zero_state(1, tf.float32))
    ...     [v.op.name for v in cell.variables]
    ['lstm_cell/kernel', 'lstm_cell/bias', 'lstm_cell/w_f_diag', 'lstm_cell/w_i_diag', \
'lstm_cell/w_o_diag', 'lstm_cell/projection/kernel']
    """

    def __init__(self, num_units, use_peepholes=False, cell_clip=None, initializer=None,
                 num_proj=None, proj_clip=None, num_unit_shards=None, num_proj_shards=None,
                 forget_bias=1.0, state_is_tuple=True, activation=None, reuse=None, name=None,
                 dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, reuse=reuse, **kwargs)
        who = type(self).__name__
        _not_built(who, num_unit_shards=num_unit_shards, num_proj_shards=num_proj_shards)
        self._num_units = _positive_int(who, "num_units", num_units)
        self._use_peepholes = bool(use_peepholes)
        self._cell_clip = _clip_value(who, "cell_clip", cell_clip)
        self._initializer = initializer
        self._num_proj = None if num_proj is None else _positive_int(who, "num_proj", num_proj)
        self._proj_clip = _clip_value(who, "proj_clip", proj_clip)
        self._forget_bias = _number(who, "forget_bias", forget_bias)
        self._state_is_tuple = bool(state_is_tuple)
        self._activation = _activation(who, activation)

    @property
    def state_size(self):
        output = self._num_proj or self._num_units
        if self._state_is_tuple:
            return LSTMStateTuple(self._num_units, output)
        return self._num_units + output

    @property
    def output_size(self):
        return self._num_proj or self._num_units

    def build(self, inputs_shape):
        units, init = self._num_units, self._initializer
        depth = inputs_shape[-1] + (self._num_proj or units)
        self._kernel = self.add_variable("kernel", [depth, 4 * units], initializer=init)
        self._bias = self.add_variable("bias", [4 * units], initializer=Zeros())
        if self._use_peepholes:
            self._w_f_diag = self.add_variable("w_f_diag", [units], initializer=init)
            self._w_i_diag = self.add_variable("w_i_diag", [units], initializer=init)
            self._w_o_diag = self.add_variable("w_o_diag", [units], initializer=init)
        if self._num_proj is not None:
            self._proj_kernel = self.add_variable("projection/kernel", [units, self._num_proj],
                                                  initializer=init)

    def can_build_outside_loop(self) -> bool:
        return True

    def call(self, inputs, state):
        units = self._num_units
        if self._state_is_tuple:
            c_prev, m_prev = state
        else:
            c_prev, m_prev = F.split(state, [units, self.output_size], 1)
        i, j, f, o = F.split(_linear(inputs, m_prev, self._kernel, self._bias), 4, 1)
        forget = F.add(f, self._forget_bias)
        if self._use_peepholes:
            forget = F.add(forget, F.mul(self._w_f_diag, c_prev))
            i = F.add(i, F.mul(self._w_i_diag, c_prev))
        c = F.add(F.mul(F.sigmoid(forget), c_prev), F.mul(F.sigmoid(i), self._activation(j)))
        if self._cell_clip is not None:
            c = F.clip(c, -self._cell_clip, self._cell_clip)
        if self._use_peepholes:
            o = F.add(o, F.mul(self._w_o_diag, c))
        m = F.mul(F.sigmoid(o), self._activation(c))
        if self._num_proj is not None:
            m = F.matmul(m, self._proj_kernel)
            if self._proj_clip is not None:
                m = F.clip(m, -self._proj_clip, self._proj_clip)
        if self._state_is_tuple:
            return m, LSTMStateTuple(c, m)
        return m, F.concat([c, m], 1)


class GRUCell(RNNCell):
    """A GRU step as TensorFlow 1 computes it: r, u = sigmoid([x, h] @ gates/kernel +
    gates/bias) (gates/bias starts at ones), c = activation([x, r * h] @ candidate/kernel +
    candidate/bias), h' = u * h + (1 - u) * c; output and new state are h'. The reset gate
    multiplies the state before the candidate's matmul, which is not PyTorch's GRU (see the
    module docstring).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     cell = tf.nn.rnn_cell.GRUCell(4)
    ...     out, state = cell(tf.ones((1, 3)), tf.zeros((1, 4)))
    ...     [(v.op.name, v.shape) for v in cell.variables]
    [('gru_cell/gates/kernel', (7, 8)), ('gru_cell/gates/bias', (8,)), \
('gru_cell/candidate/kernel', (7, 4)), ('gru_cell/candidate/bias', (4,))]
    """

    def __init__(self, num_units, activation=None, reuse=None, kernel_initializer=None,
                 bias_initializer=None, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, reuse=reuse, **kwargs)
        who = type(self).__name__
        self._num_units = _positive_int(who, "num_units", num_units)
        self._activation = _activation(who, activation)
        self._kernel_initializer = kernel_initializer
        self._bias_initializer = bias_initializer

    @property
    def state_size(self):
        return self._num_units

    @property
    def output_size(self):
        return self._num_units

    def build(self, inputs_shape):
        units = self._num_units
        depth = inputs_shape[-1] + units
        kernel_init, bias_init = self._kernel_initializer, self._bias_initializer
        self._gate_kernel = self.add_variable("gates/kernel", [depth, 2 * units],
                                              initializer=kernel_init)
        self._gate_bias = self.add_variable("gates/bias", [2 * units],
                                            initializer=bias_init or Constant(1.0))
        self._candidate_kernel = self.add_variable("candidate/kernel", [depth, units],
                                                   initializer=kernel_init)
        self._candidate_bias = self.add_variable("candidate/bias", [units],
                                                 initializer=bias_init or Zeros())

    def can_build_outside_loop(self) -> bool:
        return True

    def call(self, inputs, state):
        gates = F.sigmoid(_linear(inputs, state, self._gate_kernel, self._gate_bias))
        r, u = F.split(gates, 2, 1)
        candidate = self._activation(_linear(inputs, F.mul(r, state), self._candidate_kernel,
                                             self._candidate_bias))
        new_h = F.add(F.mul(u, state), F.mul(F.sub(1.0, u), candidate))
        return new_h, new_h


# ---------------------------------------------------------------------------------------------
# Cells made of cells


class MultiRNNCell(RNNCell):
    """Cells stacked: each cell's output is the next one's input, the last one's is the output.
    The state is the tuple of the cells' states (or, with `state_is_tuple=False`, their
    concatenation, for cells whose states are single tensors). Cell i's variables live under
    `multi_rnn_cell/cell_<i>/`.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     cell = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.GRUCell(4) for _ in range(2)])
    ...     out, state = cell(tf.ones((1, 3)), cell.zero_state(1, tf.float32))
    ...     [v.op.name for v in cell.variables][::4], len(state)
    (['multi_rnn_cell/cell_0/gru_cell/gates/kernel', \
'multi_rnn_cell/cell_1/gru_cell/gates/kernel'], 2)
    """

    def __init__(self, cells, state_is_tuple=True):
        super().__init__()
        if not _is_structure(cells):
            raise RNNTypeError(f"MultiRNNCell: cells must be a list or tuple, but saw: {cells!r}")
        if not cells:
            raise GraphError("MultiRNNCell: Must specify at least one cell for MultiRNNCell.")
        for index, cell in enumerate(cells):
            check_cell(f"MultiRNNCell: cells[{index}]", cell)
        self._cells = list(cells)
        self._state_is_tuple = bool(state_is_tuple)
        if not self._state_is_tuple and any(_is_structure(c.state_size) for c in self._cells):
            raise GraphError("MultiRNNCell: Some cells return tuples of states, but the flag "
                             "state_is_tuple is not set. State sizes are: "
                             f"{[c.state_size for c in self._cells]}")

    @property
    def state_size(self):
        if self._state_is_tuple:
            return tuple(cell.state_size for cell in self._cells)
        return sum(cell.state_size for cell in self._cells)

    @property
    def output_size(self):
        return self._cells[-1].output_size

    def _inner_cells(self) -> list:
        return [cell for cell in self._cells if isinstance(cell, RNNCell)]

    def zero_state(self, batch_size, dtype):
        if not self._state_is_tuple:
            return super().zero_state(batch_size, dtype)
        with get_default_graph().name_scope(f"{type(self).__name__}ZeroState"):
            return tuple(cell.zero_state(batch_size, dtype) for cell in self._cells)

    def can_build_outside_loop(self) -> bool:
        return all(isinstance(cell, RNNCell) and cell.can_build_outside_loop()
                   for cell in self._cells)

    def build_outside_loop(self, depth: int, dtype) -> None:
        with _first_call_lock:
            if not self.built:
                self._build_cells_outside_loop(depth, dtype)

    def _build_cells_outside_loop(self, depth: int, dtype) -> None:
        with self._variable_scope(None):
            input_depth = depth
            for index, cell in enumerate(self._cells):
                with variable_scope(f"cell_{index}"):
                    cell.build_outside_loop(depth, dtype)
                depth = size_shape(cell.output_size, "MultiRNNCell")[-1]
            if self._dtype is None:
                self._dtype = dtypes.as_dtype(dtype)
            self._input_depth = input_depth
            self.built = True

    def call(self, inputs, state):
        output, new_states, start = inputs, [], 0
        for index, cell in enumerate(self._cells):
            with variable_scope(f"cell_{index}"):
                if self._state_is_tuple:
                    cell_state = state[index]
                else:
                    cell_state = state[:, start:start + cell.state_size]
                    start += cell.state_size
                output, new_state = cell(output, cell_state)
            new_states.append(new_state)
        if self._state_is_tuple:
            return output, tuple(new_states)
        return output, F.concat(new_states, 1)


def _keep_probability(what: str, value):
    if isinstance(value, Tensor):
        if not dtypes.is_float(value.dtype) or not value.shape.is_compatible_with(()):
            raise GraphError(f"DropoutWrapper: {what} must be a number or a scalar float tensor, "
                             f"got {value.name!r} of dtype {value.dtype} and shape {value.shape}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise GraphError(f"DropoutWrapper: {what} must be a number or a scalar float tensor, "
                         f"got {value!r}")
    if not 0.0 < float(value) <= 1.0:
        raise GraphError(f"DropoutWrapper: Parameter {what} must be between 0 and 1: {value!r} "
                         "(a probability of keeping, in (0, 1])")
    return float(value)


def _derived_seed(seed: int, salt: str, index: int) -> int:
    """A seed per dropout site from the wrapper's seed, stable across processes (as
    TensorFlow's DropoutWrapper derives its sites' seeds by hashing)."""
    digest = hashlib.md5(f"{seed}{salt}_{index}".encode()).hexdigest()
    return int(digest[:8], 16) & 0x7FFFFFFF


def _default_state_filter(substate):
    """Drop out every part of the state but an LSTM's memory c (TensorFlow 1's default)."""
    if isinstance(substate, LSTMStateTuple):
        return LSTMStateTuple(c=False, h=True)
    return True


class DropoutWrapper(RNNCell):
    """`cell` with dropout on its inputs, outputs and new state: each element kept with
    probability `input_keep_prob`, `output_keep_prob`, `state_keep_prob` (numbers in (0, 1] or
    scalar float tensors such as a fed `keep_prob` placeholder) and scaled by 1 / keep_prob. A
    number 1.0 adds nothing. Inside dynamic_rnn each time step draws a new mask. `seed` makes
    the masks reproducible; `dropout_state_filter_visitor(substate)` says which parts of the
    state to drop out (True, False, or a structure of bools), by default all but an LSTM's c.
    The wrapper has no variable scope of its own: the cell's variables keep their names.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     keep_prob = tf.placeholder(tf.float32, ())
    ...     cell = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(3),
    ...                                          output_keep_prob=keep_prob, seed=1)
    ...     out, _ = cell(tf.ones((2, 4)), cell.zero_state(2, tf.float32))
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         print(sess.run(out, {keep_prob: 1.0}).shape, [v.op.name for v in cell.variables])
    (2, 3) ['gru_cell/gates/kernel', 'gru_cell/gates/bias', 'gru_cell/candidate/kernel', \
'gru_cell/candidate/bias']
    """

    def __init__(self, cell, input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0,
                 variational_recurrent=False, input_size=None, dtype=None, seed=None,
                 dropout_state_filter_visitor=None):
        super().__init__()
        check_cell("DropoutWrapper", cell)
        if variational_recurrent:
            raise GraphError("DropoutWrapper: variational_recurrent=True (one mask for every "
                             "time step) is not built in dualgraph's rnn_cell; leave it False")
        if seed is not None and (isinstance(seed, bool) or not hasattr(seed, "__index__")):
            raise GraphError(f"DropoutWrapper: seed must be an int or None, got {seed!r}")
        if dropout_state_filter_visitor is not None and not callable(dropout_state_filter_visitor):
            raise RNNTypeError("DropoutWrapper: dropout_state_filter_visitor must be callable, "
                               f"got {dropout_state_filter_visitor!r}")
        del input_size, dtype  # used by TensorFlow for variational_recurrent only
        self._cell = cell
        self._input_keep_prob = _keep_probability("input_keep_prob", input_keep_prob)
        self._output_keep_prob = _keep_probability("output_keep_prob", output_keep_prob)
        self._state_keep_prob = _keep_probability("state_keep_prob", state_keep_prob)
        self._seed = None if seed is None else seed.__index__()
        self._state_filter = dropout_state_filter_visitor or _default_state_filter

    @property
    def wrapped_cell(self):
        return self._cell

    @property
    def name(self) -> str:
        return getattr(self._cell, "name", None) or _snake_case(type(self._cell).__name__)

    @property
    def state_size(self):
        return self._cell.state_size

    @property
    def output_size(self):
        return self._cell.output_size

    def _inner_cells(self) -> list:
        return [self._cell] if isinstance(self._cell, RNNCell) else []

    def zero_state(self, batch_size, dtype):
        with get_default_graph().name_scope(f"{type(self).__name__}ZeroState"):
            return self._cell.zero_state(batch_size, dtype)

    def can_build_outside_loop(self) -> bool:
        return isinstance(self._cell, RNNCell) and self._cell.can_build_outside_loop()

    def build_outside_loop(self, depth: int, dtype) -> None:
        self._cell.build_outside_loop(depth, dtype)

    def check_step_inputs(self, who: str, dtype, depth: int, name: str) -> None:
        if isinstance(self._cell, RNNCell):
            self._cell.check_step_inputs(who, dtype, depth, name)

    def __call__(self, inputs, state, scope=None):
        x = step_input(f"DropoutWrapper({self.name!r})", inputs)
        if _drops(self._input_keep_prob):
            x = self._dropout(x, "input", 0, self._input_keep_prob)
        output, new_state = self._cell(x, state, scope=scope)
        if _drops(self._state_keep_prob):
            chosen = _chosen_parts(self._state_filter, new_state)
            leaves = flatten(new_state)
            leaves = [self._dropout(leaf, "state", index, self._state_keep_prob) if keep else leaf
                      for index, (leaf, keep) in enumerate(zip(leaves, chosen))]
            new_state = pack_like(new_state, leaves)
        if _drops(self._output_keep_prob):
            leaves = [self._dropout(leaf, "output", index, self._output_keep_prob)
                      for index, leaf in enumerate(flatten(output))]
            output = pack_like(output, leaves)
        return output, new_state

    def _dropout(self, value: Tensor, salt: str, index: int, keep):
        seed = None if self._seed is None else _derived_seed(self._seed, salt, index)
        graph = value.graph
        with graph.name_scope("dropout"):
            keep_tensor = keep if isinstance(keep, Tensor) else constant(keep, name="keep_prob")
            mask = graph.add_operation(
                _DROPOUT_MASK, [value, keep_tensor], name="mask",
                attrs={"seed": framework_random.as_seed(random_ops.op_seed(seed)),
                       "what": f"{salt}_keep_prob"}).outputs[0]
            return F.mul(value, mask)


def _drops(keep) -> bool:
    return isinstance(keep, Tensor) or keep < 1.0


def _chosen_parts(visitor, state) -> list:
    """One bool per leaf of `state`: whether the state filter lets dropout apply to it."""
    decision = visitor(state)
    if not _is_structure(state):
        if not isinstance(decision, (bool, np.bool_)):
            raise GraphError(f"DropoutWrapper: dropout_state_filter_visitor must return a bool "
                             f"for a state tensor, got {decision!r}")
        return [bool(decision)]
    if isinstance(decision, (bool, np.bool_)):
        decisions = [bool(decision)] * len(state)
    elif _is_structure(decision) and len(decision) == len(state):
        decisions = list(decision)
    else:
        raise GraphError(f"DropoutWrapper: dropout_state_filter_visitor returned {decision!r} "
                         f"for a state of {len(state)} parts; return a bool or one per part")
    chosen = []
    for part, keep in zip(state, decisions):
        if isinstance(keep, (bool, np.bool_)):
            chosen += _chosen_parts(visitor, part) if keep else [False] * len(flatten(part))
            continue
        flags = flatten(keep)  # one bool per tensor of this part
        if len(flags) != len(flatten(part)) or not all(
                isinstance(flag, (bool, np.bool_)) for flag in flags):
            raise GraphError(f"DropoutWrapper: dropout_state_filter_visitor gave {keep!r} for "
                             f"the state part {_describe(part)}; give a bool or one per tensor")
        chosen += [bool(flag) for flag in flags]
    return chosen
