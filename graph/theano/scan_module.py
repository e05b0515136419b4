"""`theano.scan` (and `map`, `reduce`, `foldl`, `foldr`), built on the graph's `while_loop`.

`fn` is called with Theano's argument order: the current element of each sequence (one per
tap), the previous values of each output that feeds back (one per tap), then the
non-sequences. Each output's values over the steps come back stacked along a new axis 0.

How it is built. The stacked outputs are loop variables of constant shape (n_steps, ...),
written one row per step (an IncSubtensor, so gradients flow through them); their per-step
shape is known only once `fn` has run, so the first step is taken before the loop (`fn` is
traced twice: once for that step, once for the loop body) and the loop runs steps 1 to
n_steps - 1. A scan therefore needs at least one step. Gradients flow through the loop to
the sequences, the initial states, the non-sequences and any shared variable `fn` reads.

>>> import graph as tf
>>> import graph.theano as theano
>>> import graph.theano.tensor as T
>>> with tf.Graph().as_default():
...     x = T.dvector("x")
...     sums, _ = theano.scan(lambda v, total: total + v, sequences=x,
...                           outputs_info=T.constant(0.0))
...     print(sums.eval({x: [1.0, 2.0, 3.0]}))
[1. 3. 6.]
"""

from __future__ import annotations

import collections

import numpy as np

from framework import dtypes
from framework.ops import F
from graph.control_flow import while_loop
from graph.core import Tensor, constant, get_default_graph
from graph.theano.ops import Alloc, Slot, inc_subtensor_node, subtensor_node
from graph.theano.var import (
    TensorVariable,
    TheanoTypeError,
    as_tensor_variable,
)

__all__ = ["foldl", "foldr", "map", "reduce", "scan"]


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _sequences(sequences) -> list:
    normalized = []
    for item in _as_list(sequences):
        if isinstance(item, dict):
            if "input" not in item:
                raise ValueError(f"scan: a sequence given as a dict needs an 'input', got "
                                 f"{item!r}")
            taps = item.get("taps")
            taps = [0] if taps is None else _as_list(taps)
            variable = as_tensor_variable(item["input"])
        else:
            taps, variable = [0], as_tensor_variable(item)
        if variable.ndim < 1:
            raise TheanoTypeError(f"scan: a sequence must have at least one dimension (the "
                                  f"steps run along axis 0), got {variable} with none")
        normalized.append((variable, [int(t) for t in taps]))
    return normalized


def _outputs_info(outputs_info) -> list | None:
    """One entry per output: None (not fed back) or (initial variable, taps)."""
    if outputs_info is None:
        return None
    infos = []
    for item in _as_list(outputs_info):
        if item is None:
            infos.append(None)
            continue
        if isinstance(item, dict):
            initial, taps = item.get("initial"), item.get("taps")
            if item.get("return_steps") is not None:
                raise ValueError("scan: return_steps is not supported; index the result "
                                 "instead")
            if initial is None:
                if taps:
                    raise ValueError(f"If you are using slices of an output you need to "
                                     f"provide a initial state for it: {item!r}")
                infos.append(None)
                continue
            taps = [-1] if taps is None else [int(t) for t in _as_list(taps)]
            if len(set(taps)) != len(taps):
                raise ValueError(f"All the taps must be different in `outputs_info`: {item!r}")
            if any(t >= 0 for t in taps):
                raise ValueError(f"All the tap values must be smaller than 0 (an output's "
                                 f"past values only): {item!r}")
        else:
            initial, taps = item, [-1]
        infos.append((as_tensor_variable(initial), taps))
    return infos


def _steps_of(n_steps, sliced) -> Tensor:
    if n_steps is not None:
        if isinstance(n_steps, (TensorVariable, Tensor)):
            steps = n_steps.tensor if isinstance(n_steps, TensorVariable) else n_steps
            if steps.dtype.kind not in "iu" or steps.shape.ndims not in (0, None):
                raise TheanoTypeError(f"scan: n_steps must be an integer scalar, got {n_steps}")
            return F.cast(steps, dtypes.int64) if steps.dtype != dtypes.int64 else steps
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)):
            raise TheanoTypeError(f"scan: n_steps must be an int or an integer scalar "
                                  f"variable, got {n_steps!r}")
        if n_steps < 1:
            raise ValueError(f"scan: n_steps must be at least 1 here, got {n_steps} (the "
                             "first step runs before the loop; for steps backwards in time "
                             "pass go_backwards=True)")
        return constant(np.int64(n_steps), name="n_steps")
    if not sliced:
        raise ValueError("No information about the number of steps provided. Either provide "
                         "a value for n_steps argument of scan or provide an input sequence")
    steps = None
    for sequence in sliced:
        length = F.getitem(F.shape_of(sequence, dtypes.int64), 0)
        steps = length if steps is None else F.minimum(steps, length)
    return steps


def _element(sequence: Tensor, t) -> Tensor:
    """sequence[t]: a static slice for the first step, a Subtensor inside the loop."""
    if isinstance(t, int):
        return F.getitem(sequence, t)
    return subtensor_node(sequence, (Slot(1),), [t])


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient=-1, go_backwards=False, mode=None, name=None, profile=False,
         allow_gc=None, strict=False, return_list=False):
    """Apply `fn` over steps: returns (outputs, updates), outputs stacked along axis 0 (a
    variable for one output unless `return_list`), updates an empty OrderedDict.

    `sequences` are variables (or dicts {'input': x, 'taps': [-1, 0]}) read one element per
    step; `outputs_info` has one entry per output of `fn`: None for an output that is not fed
    back, an initial value (tap -1), or a dict {'initial': x, 'taps': [-2, -1]} whose initial
    holds the first values along axis 0; `non_sequences` are passed to every step as they are.
    The number of steps is `n_steps`, else the shortest sequence's length. With
    `go_backwards` the sequences are read from the end.
    """
    del mode, profile, allow_gc, strict
    if truncate_gradient != -1:
        raise NotImplementedError("scan(truncate_gradient=...) is not built in the graph "
                                  "front-end's Theano API; gradients flow through every step")
    seqs = _sequences(sequences)
    infos = _outputs_info(outputs_info)
    non_seqs = [TensorVariable(v) if isinstance(v, Tensor) else v
                for v in _as_list(non_sequences)]
    graph = _graph_of([v for v, _ in seqs] + [i[0] for i in infos or () if i] +
                      [v for v in non_seqs if isinstance(v, TensorVariable)])
    with graph.as_default(), graph.name_scope(name or "scan"):
        sliced = []
        for variable, taps in seqs:
            low, high = min(min(taps), 0), max(max(taps), 0)
            for tap in taps:
                end = tap - high
                part = F.getitem(variable.tensor, slice(tap - low, end if end else None))
                if go_backwards:
                    part = F.getitem(part, slice(None, None, -1))
                sliced.append(part)
        steps = _steps_of(n_steps, sliced)
        recurrent = [] if infos is None else [(j, info) for j, info in enumerate(infos) if info]
        windows = []
        for j, (initial, taps) in recurrent:
            if taps == [-1]:
                windows.append(initial.tensor)
            else:
                if initial.ndim < 1:
                    raise TheanoTypeError(f"scan: output {j} has taps {taps}, so its initial "
                                          f"value needs a leading axis of the past values; "
                                          f"{initial} has no dimensions")
                windows.append(F.getitem(initial.tensor, slice(0, -min(taps))))

        def arguments(t, states):
            args = [TensorVariable(_element(s, t)) for s in sliced]
            for (_, (_, taps)), state in zip(recurrent, states):
                if taps == [-1]:
                    args.append(TensorVariable(state))
                else:
                    args += [TensorVariable(F.getitem(state, -min(taps) + tap)) for tap in taps]
            return args + non_seqs

        def call(t, states):
            result = fn(*arguments(t, states))
            if isinstance(result, dict) or (isinstance(result, (list, tuple)) and any(
                    isinstance(r, dict) for r in result)):
                raise NotImplementedError("scan: fn returned updates (a dict); updates of "
                                          "shared variables inside scan are not built")
            results = _as_list(result)
            if not results:
                raise ValueError("scan: fn returned no output")
            return [as_tensor_variable(r).tensor for r in results]

        first = call(0, windows)
        if infos is None:
            infos = [None] * len(first)
        if len(first) != len(infos):
            raise ValueError(f"scan: fn returned {len(first)} outputs but outputs_info has "
                             f"{len(infos)} entries. Please provide None as outputs_info for any "
                             "output that does not feed back into scan (i.e. it behaves like a "
                             "map)")
        _check_states(recurrent, first)

        def shifted(states, outputs):
            new = []
            for (j, (_, taps)), state in zip(recurrent, states):
                out = outputs[j]
                new.append(out if taps == [-1] else F.concat(
                    [F.getitem(state, slice(1, None)), F.getitem(out, (None,))], 0))
            return new

        stacks = []
        for out in first:
            dims, slots = [Slot(1)], [steps]
            for axis, size in enumerate(out.shape):
                if size is None:
                    slots.append(F.getitem(F.shape_of(out, dtypes.int64), axis))
                    dims.append(Slot(len(slots)))
                else:
                    dims.append(size)
            zero = constant(np.zeros((), out.dtype), name="zero")
            empty = graph.add_operation(Alloc(), [zero, *slots], name="Alloc",
                                        attrs={"shape": tuple(dims), "dtype": out.dtype})
            stacks.append(inc_subtensor_node(empty.outputs[0], out, (0,), [], True))

        def keep_going(t, *_):
            return F.lt(t, steps)

        def step(t, *carried):
            states, stacked = carried[:len(recurrent)], carried[len(recurrent):]
            outputs = call(t, list(states))
            if len(outputs) != len(stacked):
                raise ValueError(f"scan: fn returned {len(outputs)} outputs in the loop, "
                                 f"{len(stacked)} the first time")
            _check_states(recurrent, outputs)
            written = [inc_subtensor_node(acc, out, (Slot(1),), [t], True)
                       for acc, out in zip(stacked, outputs)]
            return [t + constant(np.int64(1), name="one"), *shifted(states, outputs), *written]

        start = constant(np.int64(1), name="start")
        finals = while_loop(keep_going, step, [start, *shifted(windows, first), *stacks],
                            name="loop", return_same_structure=True)
    outputs = [TensorVariable(t) for t in finals[1 + len(recurrent):]]
    result = outputs[0] if len(outputs) == 1 and not return_list else outputs
    return result, collections.OrderedDict()


def _check_states(recurrent, outputs) -> None:
    for j, (initial, taps) in recurrent:
        out = outputs[j]
        ndim = initial.ndim - (0 if taps == [-1] else 1)
        if out.dtype != initial.tensor.dtype:
            raise TheanoTypeError(
                f"scan: the initial state (outputs_info) of output {j}, {initial}, has dtype "
                f"{initial.dtype}, but fn returns it with dtype {out.dtype}; fn must keep each "
                "fed-back output's dtype (an upcast or downcast inside fn does this: cast the "
                "result, or give the initial state the result's dtype)")
        if out.shape.ndims is not None and out.shape.ndims != ndim:
            raise TheanoTypeError(
                f"scan: output {j} is fed back with {ndim} dimensions (its initial state "
                f"{initial} with taps {taps}), but fn returns it with {out.shape.ndims}")


def _graph_of(variables):
    for variable in variables:
        if isinstance(variable, TensorVariable):
            return variable.tensor.graph
    return get_default_graph()


def map(fn, sequences, non_sequences=None, truncate_gradient=-1, go_backwards=False,  # noqa: A001
        mode=None, name=None):
    """fn applied to each element of the sequences: scan without fed-back outputs."""
    return scan(fn, sequences=sequences, outputs_info=None, non_sequences=non_sequences,
                truncate_gradient=truncate_gradient, go_backwards=go_backwards, mode=mode,
                name=name)


def reduce(fn, sequences, outputs_info, non_sequences=None, go_backwards=False, mode=None,
           name=None):
    """The last step of a scan: (the final value of each output, updates)."""
    outputs, updates = scan(fn, sequences=sequences, outputs_info=outputs_info,
                            non_sequences=non_sequences, go_backwards=go_backwards, mode=mode,
                            name=name)
    if isinstance(outputs, list):
        return [o[-1] for o in outputs], updates
    return outputs[-1], updates


def foldl(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """reduce, from the first element to the last."""
    return reduce(fn, sequences, outputs_info, non_sequences, False, mode, name)


def foldr(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """reduce, from the last element to the first."""
    return reduce(fn, sequences, outputs_info, non_sequences, True, mode, name)

