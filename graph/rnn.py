"""`tf.nn.dynamic_rnn` and `tf.nn.static_rnn`: a recurrent cell (`graph.rnn_cell`) run over
a sequence, with TensorFlow 1's arguments, variable names and `sequence_length` semantics.

`dynamic_rnn` is one `tf.while_loop` over the time steps, whose number may be known only when
the graph runs; `static_rnn` unrolls a Python list of time steps into the graph. Both make the
cell's variables under `scope` (default 'rnn'): `rnn/basic_lstm_cell/kernel`, ...

With `sequence_length` (one length per sequence), the outputs past a sequence's length are
zeros and its state stops changing there, so the final state is each sequence's state at its
last valid step; lengths are checked when the graph runs (one per sequence, none negative).

How the loop keeps every step's output without TensorFlow's TensorArray: the outputs are a
loop variable of shape (time, batch, size) that step t fills at row t through a where(), and
step t reads its inputs the same way, so the loop's gradient (graph.control_flow) flows
through ordinary ops and the number of steps may stay unknown until the graph runs. Each step
touches the whole (time, batch, size) array: time steps squared, in all, which is fine for the
sequence lengths these models use.
"""

from __future__ import annotations

import numpy as np

from framework import dtypes
from framework.ops import F
from framework.ops.registry import Spec
from graph.control_flow import while_loop
from graph.core import GraphError, Tensor, constant, site_of
from graph.gradients import identity
from graph.ops import GraphOp, register_graph_op
from graph.rnn_cell import (
    RNNCell,
    RNNTypeError,
    check_cell,
    checked_state,
    flatten,
    float_dtype,
    pack_like,
    size_shape,
    step_input,
)
from graph.variable_scope import variable_scope

__all__ = ["dynamic_rnn", "static_rnn"]


@register_graph_op
class CheckSequenceLength(GraphOp):
    """`sequence_length` (input 0) passed on once checked, when the graph runs, against the
    batch size (input 1): one length per sequence, none negative."""

    name = "CheckSequenceLength"
    no_gradient = "integer lengths"
    viz_family = "other"
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec(inputs[0].shape, inputs[0].dtype)]

    def run(self, run, op, inputs):
        lengths, batch = inputs
        where = f"in {op.name!r} created at {site_of(op)}"
        if np.ndim(lengths) != 1 or len(lengths) != int(batch):
            raise GraphError(f"{op.attrs['who']}: Expected shape for Tensor sequence_length "
                             f"({op.inputs[0].name!r}) is [{int(batch)}] (the batch size) but "
                             f"saw shape: {list(np.shape(lengths))}, {where}")
        if np.size(lengths) and np.min(lengths) < 0:
            raise GraphError(f"{op.attrs['who']}: sequence_length holds a negative length "
                             f"{int(np.min(lengths))} ({op.inputs[0].name!r}), {where}")
        return (lengths,)


_CHECK_SEQUENCE_LENGTH = CheckSequenceLength()


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None,
                parallel_iterations=None, swap_memory=False, time_major=False, scope=None):
    """Run `cell` over every time step of `inputs` in a `while_loop`; return (outputs,
    final_state).

    `inputs` is (batch, time, depth) ((time, batch, depth) with `time_major`), the depth known
    when the graph is built, batch and time possibly not. `outputs` has the same layout with
    the cell's output size as depth; `final_state` has the structure of `cell.state_size`.
    The loop starts from `initial_state`, else from zeros in `dtype` (one of the two must be
    given). See the module docstring for `sequence_length`. `parallel_iterations` and
    `swap_memory` are accepted for TensorFlow's sake: steps run one after another.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, None, 3))
    ...     cell = tf.nn.rnn_cell.BasicRNNCell(4)
    ...     outputs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=[2, 1],
    ...                                        dtype=tf.float32)
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         out, last = sess.run([outputs, state], {x: np.ones((2, 3, 3))})
    >>> out.shape, bool((out[1, 1:] == 0).all()), bool((last[1] == out[1, 0]).all())
    ((2, 3, 4), True, True)
    """
    del parallel_iterations, swap_memory  # one step after another, in host memory
    who = "dynamic_rnn"
    check_cell(who, cell)
    x = _sequence_inputs(who, inputs)
    with x.graph.as_default(), variable_scope(scope or "rnn") as varscope:
        x = x if time_major else F.transpose(x, (1, 0, 2))  # (time, batch, depth) from here
        state_dtype = _state_dtype(who, initial_state, dtype)
        _same_dtype(who, x, state_dtype)
        batch = x.shape[1] if x.shape[1] is not None else F.shape_of(x, dtypes.int32)[1]
        state = _start_state(who, cell, initial_state, batch, state_dtype)
        x, state = _agree_on_batch(who, x, state)
        lengths = _sequence_length(who, sequence_length, x.shape[1], batch)
        _make_variables(cell, x, state, varscope)
        outputs, state = _loop(cell, x, state, lengths)
        if not time_major:
            outputs = pack_like(outputs, [F.transpose(o, (1, 0, *range(2, o.ndim)))
                                          for o in flatten(outputs)])
    return outputs, state


def _sequence_inputs(who: str, inputs) -> Tensor:
    if isinstance(inputs, (list, tuple)):
        raise GraphError(f"{who}: inputs must be one tensor (batch, time, depth); nested "
                         "structures of inputs are not built in dualgraph's dynamic_rnn (for a "
                         "list of time steps, use static_rnn)")
    x = inputs if isinstance(inputs, Tensor) else constant(inputs)
    if not dtypes.is_float(x.dtype):
        raise GraphError(f"{who}: inputs must be floating point, got {x.name!r} of dtype "
                         f"{x.dtype}; cast them with tf.cast")
    if x.shape.ndims != 3:
        raise GraphError(f"{who}: inputs must be (batch, time, depth) (or (time, batch, depth) "
                         f"with time_major=True), got {x.name!r} of shape {x.shape}")
    if x.shape[2] is None:
        raise GraphError(f"{who}: Input size (depth of inputs) must be accessible via shape "
                         f"inference, but saw value None ({x.name!r} of shape {x.shape})")
    return x


def _state_dtype(who: str, initial_state, dtype):
    if initial_state is not None:
        leaves = flatten(initial_state)
        first = leaves[0] if leaves else None
        if isinstance(first, Tensor):
            return first.dtype
        return float_dtype(who, dtype if dtype is not None else np.asarray(first).dtype)
    if dtype is None:
        raise GraphError(f"{who}: If there is no initial_state, you must give a dtype.")
    return float_dtype(who, dtype)


def _same_dtype(who: str, x: Tensor, dtype) -> None:
    if x.dtype != dtype:
        raise GraphError(f"{who}: the inputs {x.name!r} have dtype {x.dtype}, the state "
                         f"{dtype}; the cell computes both in one dtype")


def _start_state(who: str, cell, initial_state, batch, dtype):
    if initial_state is None:
        return cell.zero_state(batch, dtype)
    return checked_state(f"{who}: initial_state", cell.state_size, initial_state, dtype,
                         batch if isinstance(batch, int) else None)


def _agree_on_batch(who: str, x: Tensor, state):
    """Inputs and state with one static batch size where either knows it, so the loop's
    values keep their shapes from one step to the next."""
    known = {x.shape[1]} | {leaf.shape[0] for leaf in flatten(state)}
    known.discard(None)
    if len(known) > 1:
        raise GraphError(f"{who}: the inputs ({x.name!r}, shape {x.shape}) and the initial "
                         f"state ({[str(leaf.shape) for leaf in flatten(state)]}) disagree on "
                         "the batch size")
    if not known:
        return x, state
    (batch,) = known

    def with_batch(tensor, shape):
        if tensor.shape == shape:
            return tensor
        refined = identity(tensor, name="with_batch")
        refined.set_shape(shape)
        return refined

    x = with_batch(x, (x.shape[0], batch, x.shape[2]))
    leaves = [with_batch(leaf, (batch, *leaf.shape[1:])) for leaf in flatten(state)]
    return x, pack_like(state, leaves)


def _sequence_length(who: str, sequence_length, batch_static, batch):
    """The lengths as an int tensor checked at run time, or None."""
    if sequence_length is None:
        return None
    if isinstance(sequence_length, Tensor):
        lengths = sequence_length
    else:
        array = np.asarray(sequence_length)
        if array.dtype.kind not in "iu" and array.size:
            raise GraphError(f"{who}: sequence_length must hold integers, got {sequence_length!r}")
        if array.size and array.min() < 0:
            raise GraphError(f"{who}: sequence_length holds a negative length {array.min()}")
        lengths = constant(array.astype(np.int32), name="sequence_length")
    if lengths.dtype.kind not in "iu":
        raise GraphError(f"{who}: sequence_length must be an integer tensor, got "
                         f"{lengths.name!r} of dtype {lengths.dtype}")
    shape = lengths.shape
    if shape.ndims is not None and shape.ndims != 1:
        raise GraphError(f"{who}: sequence_length must be a vector of length batch_size, but "
                         f"saw shape: {shape}")
    if shape.ndims == 1 and None not in (shape[0], batch_static) and shape[0] != batch_static:
        raise GraphError(f"{who}: sequence_length has {shape[0]} lengths for a batch of "
                         f"{batch_static} sequences")
    batch_tensor = batch if isinstance(batch, Tensor) else constant(np.int32(batch))
    checked = lengths.graph.add_operation(_CHECK_SEQUENCE_LENGTH, [lengths, batch_tensor],
                                          name="sequence_length_check", attrs={"who": who})
    return checked.outputs[0]


def _make_variables(cell, x: Tensor, state, varscope) -> None:
    """Make the cell's variables before the loop: variables cannot be made inside one. A
    built-in cell builds them; another cell is called once here (ops that never run), as its
    first call would make them; either way the scope then reuses."""
    if isinstance(cell, RNNCell) and cell.can_build_outside_loop():
        cell.check_step_inputs("dynamic_rnn", x.dtype, x.shape[2], x.name)
        cell.build_outside_loop(x.shape[2], x.dtype)
    else:
        cell(x[0], state)
    varscope.reuse_variables()


def _loop(cell, x: Tensor, state, lengths):
    """The while_loop over time: (outputs (time, batch, ...), final state)."""
    steps = x.shape[0] if x.shape[0] is not None else F.shape_of(x, dtypes.int32)[0]
    # Row t of the time index holds t: the rows a step reads and writes are where it equals t.
    time_index = F.sub(F.cumsum(F.ones_like(F.sum(x, (1, 2)), dtypes.int32), 0), 1)
    sizes = flatten(cell.output_size)
    zero_outputs = [F.add(F.zeros_like(x[:, :, :1]),
                          np.zeros(size_shape(size, "dynamic_rnn"), x.dtype)) for size in sizes]
    state_leaves = flatten(state)
    count = len(state_leaves)
    bound = steps
    if lengths is not None:  # no step past the longest sequence changes anything
        longest = F.max(F.concat([F.cast(lengths, dtypes.int32), constant([1], np.int32)], 0))
        bound = F.minimum(steps, longest)

    def keep_going(time, *_):
        return F.lt(time, bound)

    def step(time, *leaves):
        old_state = pack_like(state, leaves[:count])
        here = F.eq(time_index, time)
        x_t = F.sum(F.where(here[:, None, None], x, 0.0), 0)
        output, new_state = cell(x_t, old_state)
        outputs, new_leaves = flatten(output), flatten(new_state)
        _check_step(cell, output, new_state, state)
        if lengths is not None:
            done = F.ge(time, lengths)
            outputs = [F.where(_per_example(done, o), 0.0, o) for o in outputs]
            new_leaves = [F.where(_per_example(done, new), old, new)
                          for old, new in zip(leaves[:count], new_leaves)]
        written = [F.where(_per_step(here, o), o[None], accumulated)
                   for o, accumulated in zip(outputs, leaves[count:])]
        return (F.add(time, 1), *new_leaves, *written)

    finals = while_loop(keep_going, step, [constant(0, np.int32), *state_leaves, *zero_outputs])
    final_state = pack_like(state, finals[1:1 + count])
    outputs = pack_like(cell.output_size, finals[1 + count:])
    return outputs, final_state


def _per_example(flags, like):
    """(batch,) flags shaped to broadcast over `like` (batch, ...)."""
    return flags[(slice(None),) + (None,) * (like.ndim - 1)]


def _per_step(flags, like):
    """(time,) flags shaped to broadcast over a step value `like` (batch, ...) stacked in time."""
    return flags[(slice(None),) + (None,) * like.ndim]


def _check_step(cell, output, new_state, state) -> None:
    who = f"dynamic_rnn: the cell {type(cell).__name__}"
    if len(flatten(new_state)) != len(flatten(state)):
        raise GraphError(f"{who} returned a state of {len(flatten(new_state))} tensors, its "
                         f"state_size {cell.state_size!r} has {len(flatten(state))}")
    if len(flatten(output)) != len(flatten(cell.output_size)):
        raise GraphError(f"{who} returned {len(flatten(output))} outputs, its output_size "
                         f"{cell.output_size!r} has {len(flatten(cell.output_size))}")


def static_rnn(cell, inputs, initial_state=None, dtype=None, sequence_length=None, scope=None):
    """Run `cell` over a list of time steps, unrolled into the graph; return (outputs,
    final_state), outputs a list with one (batch, output_size) tensor per step.

    Each input is (batch, depth), the depth known. Variables, `initial_state` / `dtype` and
    `sequence_length` are as in dynamic_rnn.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     steps = [tf.ones((2, 3)) for _ in range(4)]
    ...     cell = tf.nn.rnn_cell.GRUCell(5)
    ...     outputs, state = tf.nn.static_rnn(cell, steps, dtype=tf.float32)
    ...     len(outputs), outputs[-1].shape, [v.op.name for v in tf.global_variables()][:1]
    (4, (2, 5), ['rnn/gru_cell/gates/kernel'])
    """
    who = "static_rnn"
    check_cell(who, cell)
    if not isinstance(inputs, (list, tuple)):
        raise RNNTypeError(f"{who}: inputs must be a sequence (a list of time steps, each "
                           f"(batch, depth)), got {type(inputs).__name__}")
    if not inputs:
        raise GraphError(f"{who}: inputs must not be empty")
    steps = [step_input(f"{who}: inputs[{t}]", x) for t, x in enumerate(inputs)]
    first = steps[0]
    for t, x in enumerate(steps[1:], 1):
        if x.dtype != first.dtype or x.shape[1] != first.shape[1]:
            raise GraphError(f"{who}: inputs[{t}] ({x.name!r}, {x.dtype} {x.shape}) differs from "
                             f"inputs[0] ({first.dtype} {first.shape}); every time step has "
                             "the same depth and dtype")
    with first.graph.as_default(), variable_scope(scope or "rnn") as varscope:
        state_dtype = _state_dtype(who, initial_state, dtype)
        _same_dtype(who, first, state_dtype)
        batch = first.shape[0] if first.shape[0] is not None else \
            F.shape_of(first, dtypes.int32)[0]
        state = _start_state(who, cell, initial_state, batch, state_dtype)
        lengths = _sequence_length(who, sequence_length, first.shape[0], batch)
        outputs = []
        for t, x in enumerate(steps):
            if t > 0:
                varscope.reuse_variables()
            output, new_state = cell(x, state)
            if lengths is not None:
                done = F.le(lengths, t)
                output = pack_like(output, [F.where(_per_example(done, o), 0.0, o)
                                            for o in flatten(output)])
                new_state = pack_like(new_state, [
                    F.where(_per_example(done, new), old, new)
                    for old, new in zip(flatten(state), flatten(new_state))])
            outputs.append(output)
            state = new_state
    return outputs, state
