"""`theano.function`: a callable that runs part of the graph, compiled by the graph compiler.

A function is a fixed Session.run of its graph's hidden Session (`var.hidden_session`, one per
graph, so every function sees the same shared values): the outputs, and one op that applies the
updates. Calling it checks and converts the arguments by Theano's rules (`TensorType.filter`),
then runs that step. On the first call with arguments of new dtypes and shapes the step is
compiled (`Session.compile`: the graph compiler's passes and generated code, kept as
`f.compiled`, with `f.explain()` and `f.source()`); later calls with the same kinds of
arguments reuse it. A step the compiler cannot take runs on the interpreter.

Updates are Theano's: every update value and every output is computed from the values before
the call, then all updates are applied together; if anything fails, nothing is applied.

`givens` are applied by copying the part of the graph between the replaced variables and the
outputs (`clone.clone_replace`, as Theano clones its graph), not by feeding values: the given
expressions are computed in the same run as the rest.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from framework.ops.autodiff import toposort
from graph.compile import NotCompilable
from graph.core import GraphError, Tensor, site_of
from graph.gradients import identity
from graph.ops import Placeholder
from graph.theano.clone import clone_replace
from graph.theano.var import (
    SharedVariable,
    TensorConstant,
    TensorVariable,
    TheanoTypeError,
    as_tensor_variable,
    hidden_session,
)

__all__ = ["Function", "MissingInputError", "UnusedInputError", "function"]


class UnusedInputError(GraphError):
    """An input the outputs and updates do not need (Theano's error; on_unused_input='warn'
    or 'ignore' accepts it)."""


class MissingInputError(GraphError):
    """An input of the graph the outputs need but the function's inputs do not provide."""


def function(inputs, outputs=None, mode=None, updates=None, givens=None,
             no_default_updates=False, accept_inplace=False, name=None, rebuild_strict=True,
             allow_input_downcast=None, profile=None, on_unused_input=None):
    """A callable computing `outputs` from `inputs` and applying `updates`.

    `inputs`: a list of symbolic variables (not shared variables nor constants); the call
    takes one value each, positionally or by the variables' names. `outputs`: a variable
    (the call returns its value) or a list of them (a list of values), or None. `updates`:
    (shared variable, new value) pairs, as a list or an OrderedDict. `givens`: {variable:
    replacement}, pairs or a dict, replacing variables of the outputs' graph by others of the
    same type. `allow_input_downcast`: see `TensorType.filter`. `on_unused_input`: 'raise'
    (the default), 'warn' or 'ignore' for an input the outputs do not need.

    >>> import graph as tf
    >>> import graph.theano as theano
    >>> import graph.theano.tensor as T
    >>> with tf.Graph().as_default():
    ...     x = T.dvector("x")
    ...     total = theano.shared(0.0, name="total")
    ...     add = theano.function([x], x.sum(), updates=[(total, total + x.sum())])
    ...     print(add([1.0, 2.0]), add([3.0]), total.get_value())
    3.0 3.0 6.0
    """
    del mode, no_default_updates, accept_inplace, rebuild_strict, profile
    on_unused_input = "raise" if on_unused_input is None else on_unused_input
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise ValueError(f"Invalid value for keyword on_unused_input of theano.function: "
                         f"{on_unused_input!r}. Valid values are 'raise', 'warn', and "
                         "'ignore'.")
    if not isinstance(inputs, (list, tuple)):
        raise TheanoTypeError("Input variables of a Theano function should be contained in a "
                              "list, even when there is a single input.")
    input_vars = [_input_variable(v, i) for i, v in enumerate(inputs)]
    seen: dict = {}
    for i, variable in enumerate(input_vars):
        if variable.tensor in seen:
            raise ValueError(f"Variable {variable} is used twice in inputs to theano.function, "
                             f"at indices {seen[variable.tensor]} and {i}. This would result in "
                             "values provided for it being ignored. Please do not duplicate "
                             "variables in the inputs list.")
        seen[variable.tensor] = i
    single = outputs is not None and not isinstance(outputs, (list, tuple))
    output_vars = [as_tensor_variable(o) for o in
                   ([] if outputs is None else [outputs] if single else list(outputs))]
    update_pairs = _update_pairs(updates)
    replace = _givens(givens)
    tensors = [v.tensor for v in output_vars] + [value.tensor for _, value in update_pairs]
    graph = _common_graph(input_vars + output_vars + [s for s, _ in update_pairs] +
                          [TensorVariable(t) for pair in replace.items() for t in pair])
    with graph.as_default(), graph.name_scope(name or "function"):
        if replace:
            tensors = clone_replace(tensors, replace)
        results = [identity(t, name="output") for t in tensors[:len(output_vars)]]
        new_values = [identity(t, name="update_value") for t in tensors[len(output_vars):]]
        fetches: list = list(results)
        if update_pairs:
            with graph.control_dependencies(results + new_values):
                assigns = [shared.variable.assign(value, name="update")
                           for (shared, _), value in zip(update_pairs, new_values)]
            from graph.variables import group

            fetches.append(group(*assigns, name="updates"))
    _check_inputs(input_vars, fetches, on_unused_input)
    return Function(graph, input_vars, fetches, len(output_vars), single, name,
                    allow_input_downcast)


def _input_variable(value, index) -> TensorVariable:
    if isinstance(value, SharedVariable):
        raise TheanoTypeError(f"Cannot use a shared variable ({value}) as explicit input. "
                              "Consider substituting a non-shared variable via the `givens` "
                              "parameter")
    if isinstance(value, TensorConstant):
        raise TheanoTypeError(f"Cannot take a constant ({value}) as input {index} of a "
                              "function: inputs are symbolic variables (T.matrix(), ...)")
    if isinstance(value, Tensor):
        return TensorVariable(value)
    if not isinstance(value, TensorVariable):
        raise TheanoTypeError(f"function: input {index} must be a symbolic variable, got "
                              f"{type(value).__name__} {value!r}")
    return value


def _update_pairs(updates) -> list:
    if updates is None:
        return []
    if isinstance(updates, dict):
        pairs = list(updates.items())
    elif isinstance(updates, (list, tuple)):
        pairs = list(updates)
    else:
        raise TheanoTypeError(f"updates must be a list of (shared variable, new value) pairs or "
                              f"an OrderedDict, got {type(updates).__name__}")
    checked, targets = [], set()
    for pair in pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TheanoTypeError(f"each update must be a (shared variable, new value) pair, "
                                  f"got {pair!r}")
        shared, value = pair
        if not isinstance(shared, SharedVariable):
            raise TheanoTypeError(f"update target must be a SharedVariable, got {shared!r}")
        if shared.variable in targets:
            raise ValueError(f"this shared variable already has an update expression: "
                             f"{shared}")
        targets.add(shared.variable)
        value = as_tensor_variable(value) if isinstance(value, (TensorVariable, Tensor)) else \
            as_tensor_variable(shared.type.filter(value, allow_downcast=True))
        if value.dtype != shared.dtype or value.ndim != shared.ndim:
            raise TheanoTypeError(
                f"An update must have the same type as the original shared variable "
                f"(shared_var={shared}, shared_var.type={shared.type}, update_val={value}, "
                f"update_val.type={value.type}): cast the new value "
                f"(T.cast(value, '{shared.dtype}')) or make the shared variable of its type")
        checked.append((shared, value))
    return checked


def _givens(givens) -> dict:
    if givens is None:
        return {}
    pairs = list(givens.items()) if isinstance(givens, dict) else list(givens)
    replace = {}
    for pair in pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TheanoTypeError(f"givens must be a dict or (variable, replacement) pairs, got "
                                  f"{pair!r}")
        old, new = pair
        if not isinstance(old, (TensorVariable, Tensor)) or isinstance(old, TensorConstant):
            raise TheanoTypeError(f"givens: what is replaced must be a variable, got {old!r}")
        old, new = as_tensor_variable(old), as_tensor_variable(new)
        if old.dtype != new.dtype or old.ndim != new.ndim:
            raise TheanoTypeError(f"Cannot convert Type {new.type} (of Variable {new}) into "
                                  f"Type {old.type}. You can try to manually convert {new} "
                                  f"into a {old.type}.")
        replace[old.tensor] = new.tensor
    return replace


def _common_graph(variables):
    graphs = {v.tensor.graph for v in variables}
    if len(graphs) > 1:
        raise GraphError("theano.function: its inputs, outputs, updates and givens belong to "
                         "different graphs; build them all in one")
    if graphs:
        return graphs.pop()
    from graph.core import get_default_graph

    return get_default_graph()


def _check_inputs(input_vars, fetches, on_unused_input) -> None:
    """Refuse an input the fetches do not need (per on_unused_input) and a placeholder they
    need that is not an input."""
    fed = {v.tensor for v in input_vars}
    used: set = set()

    def parents(op):
        found = []
        for tensor in op.inputs:
            used.add(tensor)
            if tensor not in fed:
                found.append(tensor.op)
        found += list(op.control_inputs) + list(op.attrs.get("captured_ops", ()))
        return found

    roots = [f.op if isinstance(f, Tensor) else f for f in fetches]
    ops = toposort(roots, parents)
    for index, variable in enumerate(input_vars):
        if variable.tensor in used or variable.tensor in fetches:
            continue
        message = (f"theano.function was asked to create a function computing outputs given "
                   f"certain inputs, but the provided input variable at index {index} is not "
                   f"part of the computational graph needed to compute the outputs: "
                   f"{variable}.\nTo make this error into a warning, you can pass the parameter "
                   "on_unused_input='warn' to theano.function. To disable it completely, use "
                   "on_unused_input='ignore'.")
        if on_unused_input == "raise":
            raise UnusedInputError(message)
        if on_unused_input == "warn":
            warnings.warn(message, stacklevel=3)
    for op in ops:
        if isinstance(op.kind, Placeholder) and op.outputs[0] not in fed:
            raise MissingInputError(
                f"the outputs need the input {op.name!r} (created at {site_of(op)}), which is "
                "not among the function's inputs: add it to the inputs, or replace it with "
                "`givens`")


class Function:
    """What `theano.function` returns: call it with the inputs' values.

    `compiled` is the compiled step of the latest call (None before the first call, or where
    the step runs interpreted); `explain()` and `source()` show it; `draw()` draws the graph
    the function runs.
    """

    def __init__(self, graph, inputs, fetches, n_outputs, single, name, allow_input_downcast):
        self.graph = graph
        self.inputs = inputs
        self.fetches = fetches
        self.n_outputs = n_outputs
        self.single = single
        self.name = name
        self.allow_input_downcast = allow_input_downcast
        self.session = hidden_session(graph)
        self.compiled = None
        self.not_compiled = "the function has not been called yet: it is compiled for the " \
                            "dtypes and shapes of its first call"
        self._compiled_for: dict = {}
        self._lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        values = self._arguments(args, kwargs)
        feeds = {}
        for index, (variable, value) in enumerate(zip(self.inputs, values)):
            try:
                feeds[variable.tensor] = variable.type.filter(
                    value, allow_downcast=self.allow_input_downcast)
            except TheanoTypeError as error:
                argument = f' with name "{variable.name}"' if variable.name else ""
                function_name = f' with name "{self.name}"' if self.name else ""
                raise TheanoTypeError(
                    f"Bad input argument{argument} to theano function{function_name} at "
                    f"index {index} (0-based). {error.problem}") from None
        self._compile_for(feeds)
        results = [np.asarray(r) for r in self.session.run(self.fetches, feeds)[:self.n_outputs]]
        return results[0] if self.single else results

    def _arguments(self, args, kwargs) -> list:
        if len(args) > len(self.inputs):
            raise TheanoTypeError(f"Too many parameters passed to theano function: it takes "
                                  f"{len(self.inputs)}, got {len(args)}")
        values = list(args) + [_MISSING] * (len(self.inputs) - len(args))
        names = {v.name: i for i, v in enumerate(self.inputs) if v.name}
        for key, value in kwargs.items():
            if key not in names:
                raise TheanoTypeError(f"Unknown input or state: {key!r}. The function has "
                                      f"{len(self.inputs)} named inputs "
                                      f"({', '.join(sorted(names)) or 'none'}).")
            if values[names[key]] is not _MISSING:
                raise TheanoTypeError(f"input {key!r} is given twice (by position and by name)")
            values[names[key]] = value
        for variable, value in zip(self.inputs, values):
            if value is _MISSING:
                raise TheanoTypeError(f"Missing required input: {variable}")
        return values

    def _compile_for(self, feeds) -> None:
        key = tuple((a.dtype.str, a.shape) for a in feeds.values())
        step = self._compiled_for.get(key, _MISSING)
        if step is _MISSING:
            with self._lock:
                step = self._compiled_for.get(key, _MISSING)
                if step is _MISSING:
                    try:
                        # The Python-call step at once (milliseconds); the Session moves
                        # a function called often to numba functions (Session docs).
                        step = self.session.compile(self.fetches, feeds, whole=False)
                        self.not_compiled = None
                    except NotCompilable as reason:
                        step = None
                        self.not_compiled = f"the step runs on the interpreter: {reason}"
                    self._compiled_for[key] = step
        self.compiled = step

    def explain(self) -> str:
        """The compiler's passes on the latest call's step (see graph.compile)."""
        return self._step().explain()

    def source(self) -> str:
        """The generated Python of the latest call's step."""
        return self._step().source()

    def _step(self):
        if self.compiled is None:
            raise GraphError(f"theano function {self.name or ''}: no compiled step: "
                             f"{self.not_compiled}")
        return self.compiled

    def draw(self, **options):
        """A graphviz drawing of what the function runs (graph.viz.draw's options)."""
        from graph.viz import draw

        return draw(self.fetches, **options)

    def __repr__(self) -> str:
        inputs = ", ".join(str(v) for v in self.inputs)
        return f"<theano function {self.name or ''}({inputs}) on a graph of {len(self.graph)} ops>"


_MISSING = object()
