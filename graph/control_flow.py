"""Control flow in the graph: `cond` and `while_loop`, lazy at run time and differentiable.

TensorFlow 1 semantics. The functions given to `cond` and `while_loop` are called once, when
the graph is built, inside a *context*: every op they create belongs to that context and is not
part of the ordinary plan of a `Session.run`. One control-flow op stands for the whole
construct; its inputs are the predicate (or the initial loop values) plus every outside tensor
the functions use ("captured"), so those outside tensors run whether or not a branch is taken.
At run time the op's executor runs only the ops the taken branch (or each loop iteration)
needs.

Gradients are built with the same machinery:

- through `cond`, a `cond` on the same predicate over the two branches' gradients, so only the
  taken branch's gradient runs; its branches read the forward branch's values, which the
  forward cond left in the run;
- through `while_loop`, a `WhileGrad` op: the loop body is differentiated symbolically once,
  into a gradient context, and the executor applies that gradient once per iteration, in
  reverse, restoring the values the forward loop recorded for that iteration. The forward loop
  records only when a gradient exists, and only the values that gradient reads.

How a value made in one context may be used from another: inside the context that made it
(internal), from a context nested inside that one, through the enclosing control-flow op's
captured inputs (external), or, for gradient contexts only, from the forward context it
differentiates (foreign: the value must already be in the run).
"""

from __future__ import annotations

import contextlib

import numpy as np

from framework.ops import F
from framework.ops.autodiff import toposort
from framework.ops.registry import Spec
from graph.core import GraphError, Operation, Tensor, constant, graph_of, site_of
from graph.gradients import gradients
from graph.ops import GraphOp, register_graph_op

__all__ = ["cond", "while_loop"]

_INTERNAL, _FOREIGN, _EXTERNAL = "internal", "foreign", "external"
_PLAIN_VALUES = (bool, int, float, np.ndarray, np.generic)


# -- contexts ----------------------------------------------------------------------------------


class ControlFlowContext:
    """The ops one traced function created: a cond branch, a loop, or a loop's gradient.

    `Graph.add_operation` records the innermost open context in `op.context` and calls `add`.
    `mirrors` names the forward contexts a gradient context may read values from.
    """

    def __init__(self, graph, role: str, mirrors=()):
        self.graph = graph
        self.role = role
        self.outer = graph._context_stack[-1] if graph._context_stack else None
        self.mirrors = tuple(mirrors)
        self.ops: list[Operation] = []
        self.inner: list[ControlFlowContext] = []
        self.plans: list[_Plan] = []
        self._owned: list[Tensor] | None = None
        if self.outer is not None:
            self.outer.inner.append(self)

    @contextlib.contextmanager
    def entered(self):
        stack = self.graph._context_stack
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    def add(self, op: Operation) -> None:
        if op.kind.is_variable:
            raise GraphError(f"variable {op.name!r} is created inside the {self.role}; create "
                             "variables outside cond and while_loop and use them inside (as in "
                             "TensorFlow 1, a variable's initializer cannot live in a branch or "
                             "a loop)", op.site)
        for used in (*_value_inputs(op), *op.control_inputs):
            self.relation_or_raise(used, op)
        self.ops.append(op)

    def relation(self, producer) -> str | None:
        """How an op of this context may read a value made in `producer` (None: it may not)."""
        if producer is self:
            return _INTERNAL
        if producer in self.mirrors:
            return _FOREIGN
        if producer is None:
            return _EXTERNAL
        outer = self.outer
        while outer is not None:
            if producer is outer or producer in outer.mirrors:
                return _EXTERNAL
            outer = outer.outer
        return None

    def relation_or_raise(self, used, user=None) -> str:
        """The relation of a Tensor or Operation `used` by `user` (an op of this context, or
        None for the traced function's return value); a clear error where it is invisible."""
        made_by = used.op if isinstance(used, Tensor) else used
        relation = self.relation(made_by.context)
        if relation is None:
            who = f"{user.name!r} (in the {self.role})" if user is not None else \
                f"the {self.role}"
            raise _invisible(used, who, user.site if user is not None else None)
        return relation

    def refuse_outside_use(self, used, user=None):
        """Raise: `used`, made in this context, is used by `user`, an op outside every
        control-flow context (or, with no `user`, fetched by Session.run)."""
        who = f"{user.name!r}" if user is not None else "Session.run"
        raise _invisible(used, who, user.site if user is not None else None)

    def owned_tensors(self) -> list[Tensor]:
        """Every output of this context's ops and of its nested contexts' ops."""
        if self._owned is None:
            owned = [t for op in self.ops for t in op.outputs]
            for context in self.inner:
                owned += context.owned_tensors()
            self._owned = owned
        return self._owned

    def reset(self, run) -> None:
        """Forget the values a previous execution left, so that each execution recomputes."""
        values, feeds = run.values, run.feeds
        for tensor in self.owned_tensors():
            if tensor not in feeds:
                values.pop(tensor, None)

    def run_plan(self, run, plan) -> None:
        missing = [t for t in plan.foreign if t not in run.values]
        if missing:
            tensor = missing[0]
            raise GraphError(
                f"the {self.role} needs {tensor.name!r}, the value the "
                f"{tensor.op.context.role} computed in this Session.run, but it did not run "
                "(were the forward op's outputs fed?)", tensor.op.site)
        run.execute(plan.ops)

    def subtree(self):
        yield self
        for context in self.inner:
            yield from context.subtree()


def _invisible(used, who, site) -> GraphError:
    made_by = used.op if isinstance(used, Tensor) else used
    what = f"the value {used.name!r}" if isinstance(used, Tensor) else \
        f"the operation {used.name!r}"
    return GraphError(f"{who} cannot use {what}: it is computed inside the "
                      f"{made_by.context.role} (created at {site_of(made_by)}) and exists only "
                      "while that runs; return it from that branch or loop body and use the "
                      "result instead", site)


class _Plan:
    """The ops one traced function needs, in order, and what it reads from elsewhere."""

    __slots__ = ("ops", "external", "external_ops", "foreign")

    def __init__(self, context: ControlFlowContext, roots):
        external: dict[Tensor, None] = {}
        external_ops: dict[Operation, None] = {}
        foreign: dict[Tensor, None] = {}

        def producer_to_follow(tensor, user):
            relation = context.relation_or_raise(tensor, user)
            if relation == _INTERNAL:
                return tensor.op
            (foreign if relation == _FOREIGN else external)[tensor] = None
            return None

        def parents(op):
            deps = []
            for tensor in _value_inputs(op):
                producer = producer_to_follow(tensor, op)
                if producer is not None:
                    deps.append(producer)
            for dependency in (*op.control_inputs, *op.attrs.get("captured_ops", ())):
                relation = context.relation_or_raise(dependency, op)
                if relation == _INTERNAL:
                    deps.append(dependency)
                elif relation == _EXTERNAL:
                    external_ops[dependency] = None
                # A foreign op already ran: its values are in the run or restored from a record.
            return deps

        root_ops = []
        for root in roots:
            if isinstance(root, Operation):
                relation = context.relation_or_raise(root)
                if relation == _INTERNAL:
                    root_ops.append(root)
                elif relation == _EXTERNAL:
                    external_ops[root] = None  # TensorFlow 1: it runs whichever branch is taken
            else:
                producer = producer_to_follow(root, None)
                if producer is not None:
                    root_ops.append(producer)
        self.ops = toposort(root_ops, parents)
        self.external = list(external)
        self.external_ops = list(external_ops)
        self.foreign = list(foreign)
        context.plans.append(self)


def _value_inputs(op: Operation) -> list[Tensor]:
    """The inputs whose values the op reads (an assign's target is a reference, not a read)."""
    if op.kind.assigns:
        return list(op.inputs[1:])
    return list(op.inputs)


def _unique(tensors, exclude=()) -> list:
    seen = dict.fromkeys(exclude)
    result = []
    for tensor in tensors:
        if tensor not in seen:
            seen[tensor] = None
            result.append(tensor)
    return result


def _nearest_loop(context):
    while context is not None and not isinstance(context, _LoopContext):
        context = context.outer
    return context


# -- nested structures of results --------------------------------------------------------------

_LEAF = "leaf"


def _flatten(value, leaves: list, convert) -> object:
    """The structure of `value` (lists, tuples, namedtuples, dicts); its leaves go to `leaves`."""
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_flatten(item, leaves, convert) for item in value))
    if isinstance(value, dict):
        try:
            keys = tuple(sorted(value))
        except TypeError:
            keys = tuple(value)
        return (type(value), keys, tuple(_flatten(value[k], leaves, convert) for k in keys))
    leaves.append(convert(value))
    return _LEAF


def _unflatten(structure, leaves):
    """The inverse of `_flatten`, taking leaves from the iterator `leaves`."""
    if structure is _LEAF:
        return next(leaves)
    kind = structure[0]
    if issubclass(kind, dict):
        _, keys, items = structure
        return kind((k, _unflatten(item, leaves)) for k, item in zip(keys, items))
    items = [_unflatten(item, leaves) for item in structure[1]]
    if kind is list:
        return items
    if hasattr(kind, "_fields"):  # a namedtuple
        return kind(*items)
    return kind(items)


def _describe(structure, leaves) -> str:
    """A short text of a result, e.g. `(Tensor 'mul:0' float32 (3,), [Operation 'Assign'])`."""
    def leaf_text(leaf):
        if isinstance(leaf, Tensor):
            return f"Tensor {leaf.name!r} {leaf.dtype} {leaf.shape}"
        return f"Operation {leaf.name!r}"

    items = iter(leaves)

    def text(node):
        if node is _LEAF:
            return leaf_text(next(items))
        kind = node[0]
        if issubclass(kind, dict):
            _, keys, subs = node
            return "{" + ", ".join(f"{k!r}: {text(s)}" for k, s in zip(keys, subs)) + "}"
        inner = ", ".join(text(s) for s in node[1])
        if kind is list:
            return f"[{inner}]"
        if kind is tuple:
            return f"({inner},)" if len(node[1]) == 1 else f"({inner})"
        return f"{kind.__name__}({inner})"

    return text(structure)


def _function_site(fn) -> str:
    code = getattr(fn, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code else repr(fn)


def _require_callable(fn, label: str, api: str) -> None:
    if not callable(fn):
        raise GraphError(f"{api}: {label} must be a callable (e.g. a lambda), got "
                         f"{type(fn).__name__} {fn!r}")


# -- cond --------------------------------------------------------------------------------------


class _Branch(ControlFlowContext):
    """One branch of a cond: its ops, its flat tensor outputs and its plan."""

    def __init__(self, graph, role, mirrors=()):
        super().__init__(graph, role, mirrors)
        self.outputs: list[Tensor] = []
        self.plan: _Plan | None = None

    def execute(self, run) -> tuple:
        self.reset(run)
        self.run_plan(run, self.plan)
        return tuple(run.value_of(t) for t in self.outputs)  # a variable reads its value now


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None):
    """`true_fn()` if `pred` is true at run time, else `false_fn()`; only that branch runs.

    `pred` is a scalar bool Tensor. Each function is called once, now, and the ops it creates
    run only when its branch is taken. Both must return the same structure (a Tensor, an
    Operation, or nested lists/tuples/dicts of them) with the same dtypes; unless `strict`, a
    one-element list or tuple is unpacked first, as in TensorFlow 1. A tensor created outside
    the functions and used inside (TensorFlow 1's classic pitfall: an assign made before the
    cond) is an input of the cond, so it runs whichever branch is taken.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, ())
    ...     y = tf.cond(x > 0.0, lambda: x * 2.0, lambda: -x)
    ...     with tf.Session() as sess:
    ...         print(sess.run(y, {x: 3.0}), sess.run(y, {x: -4.0}))
    6.0 4.0
    """
    return _build_cond(pred, true_fn, false_fn, name or "cond", strict=strict)


def _build_cond(pred, true_fn, false_fn, name, strict=True, mirrors=((), ()), after=()):
    if isinstance(pred, (bool, np.bool_)):
        raise GraphError(f"cond: pred must be a scalar bool Tensor, not the Python bool {pred}; "
                         "for a choice known when the graph is built, use a Python `if`")
    if not isinstance(pred, Tensor):
        raise GraphError(f"cond: pred must be a scalar bool Tensor, got {type(pred).__name__} "
                         f"{pred!r}")
    # A pred of unknown rank (tf.placeholder(tf.bool)) is checked when the cond runs.
    if pred.dtype != np.bool_ or not pred.shape.is_compatible_with(()):
        raise GraphError(f"cond: pred must be a scalar bool Tensor, got {pred.name!r} of dtype "
                         f"{pred.dtype} and shape {pred.shape}")
    _require_callable(true_fn, "true_fn", "cond")
    _require_callable(false_fn, "false_fn", "cond")
    graph = pred.graph
    with graph.as_default(), graph.name_scope(name) as scope:
        cond_name = scope[:-1]
        traced = []
        for label, fn, mirror in (("true", true_fn, mirrors[0]), ("false", false_fn, mirrors[1])):
            branch = _Branch(graph, f"{label} branch of cond {cond_name!r}", mirror)
            with branch.entered():
                result = fn()
                if not strict and isinstance(result, (list, tuple)) and len(result) == 1:
                    result = result[0]
                leaves: list = []
                structure = _flatten(result, leaves, _branch_leaf(f"{label}_fn", fn, cond_name))
            traced.append((branch, structure, leaves))
        _check_branch_results(cond_name, true_fn, false_fn, traced)
        for branch, _, leaves in traced:
            branch.outputs = [leaf for leaf in leaves if isinstance(leaf, Tensor)]
            branch.plan = _Plan(branch, leaves)
        (true_branch, structure, _), (false_branch, _, _) = traced
        captured = _unique(true_branch.plan.external + false_branch.plan.external, [pred])
        captured_ops = _unique(true_branch.plan.external_ops + false_branch.plan.external_ops +
                               list(after))
        op = graph.add_operation(_COND, [pred, *captured], name="Cond",
                                 attrs={"branches": (true_branch, false_branch),
                                        "captured_ops": captured_ops})
    outputs = iter(op.outputs)
    return _unflatten(structure, (next(outputs) if isinstance(leaf, Tensor) else op
                                  for leaf in traced[0][2]))


def _branch_leaf(label, fn, cond_name):
    def convert(value):
        if isinstance(value, (Tensor, Operation)):
            return value
        if value is None:
            raise GraphError(f"cond {cond_name!r}: {label} (defined at {_function_site(fn)}) "
                             "returned None; a branch must return a Tensor, an Operation, or a "
                             "nested list/tuple/dict of them")
        if isinstance(value, _PLAIN_VALUES):
            return constant(value)
        raise GraphError(f"cond {cond_name!r}: {label} (defined at {_function_site(fn)}) "
                         f"returned a {type(value).__name__}, which is not a Tensor, an "
                         "Operation or a nested list/tuple/dict of them")
    return convert


def _check_branch_results(cond_name, true_fn, false_fn, traced) -> None:
    """A clear error where the branches' results disagree (`Cond.infer` then merges them)."""
    (_, true_structure, true_leaves), (_, false_structure, false_leaves) = traced

    def mismatch(problem):
        return GraphError(
            f"cond {cond_name!r}: true_fn and false_fn must return the same structure, dtypes "
            f"and compatible shapes, but {problem}.\n  true_fn (defined at "
            f"{_function_site(true_fn)}) returned {_describe(true_structure, true_leaves)}\n"
            f"  false_fn (defined at {_function_site(false_fn)}) returned "
            f"{_describe(false_structure, false_leaves)}")

    if true_structure != false_structure:
        raise mismatch("their structures differ")
    for index, (a, b) in enumerate(zip(true_leaves, false_leaves)):
        if isinstance(a, Tensor) != isinstance(b, Tensor):
            raise mismatch(f"result {index} is a Tensor in one branch and an Operation in "
                           "the other")
        if not isinstance(a, Tensor):
            continue
        if a.dtype != b.dtype:
            raise mismatch(f"result {index} has dtype {a.dtype} in true_fn and {b.dtype} in "
                           "false_fn")
        if a.shape.ndims is not None and b.shape.ndims is not None and \
                len(a.shape) != len(b.shape):
            raise mismatch(f"result {index} has shape {a.shape} in true_fn and {b.shape} in "
                           "false_fn (different ranks)")


@register_graph_op
class Cond(GraphOp):
    """tf.cond: runs the branch its predicate (input 0) chooses; the other does not run. The
    branches (`attrs["branches"]`) read the op's other inputs, the values they capture."""

    name = "Cond"
    viz_family = "control flow"

    def infer(self, inputs, attrs):
        true_branch, false_branch = attrs["branches"]  # checked by _check_branch_results
        return [Spec.raw(None, a.dtype) if None in (a.shape.ndims, b.shape.ndims) else
                Spec(tuple(x if x == y else None for x, y in zip(a.shape, b.shape)), a.dtype)
                for a, b in zip(true_branch.outputs, false_branch.outputs)]

    def run(self, run, op, inputs):
        true_branch, false_branch = op.attrs["branches"]
        if np.ndim(inputs[0]) != 0:  # a pred of unknown rank was fed something else
            raise GraphError(f"cond: pred must be a scalar bool, but {op.inputs[0].name!r} has "
                             f"shape {np.shape(inputs[0])} in this run")
        return (true_branch if bool(inputs[0]) else false_branch).execute(run)

    def gradient(self, op, cotangents, needs):
        return _cond_gradient(op, cotangents, needs)

    def contexts(self, op):
        return list(op.attrs["branches"])

    def context_results(self, op):
        return [t for branch in op.attrs["branches"] for t in branch.outputs]


_COND = Cond()


def _cond_gradient(op, cotangents, needs):
    """A cond on the same predicate over the branches' gradients: only the taken one runs.

    Only the captured inputs `needs` asks for are differentiated."""
    true_branch, false_branch = op.attrs["branches"]
    if true_branch.mirrors or false_branch.mirrors:
        raise GraphError(f"second-order gradients through cond are not supported ({op.name!r} "
                         "is itself the gradient of a cond)")
    pred, captured = op.inputs[0], op.inputs[1:]
    wanted = [i for i, (out, g) in enumerate(zip(op.outputs, cotangents))
              if g is not None and out.dtype.kind == "f"]
    targets = [k for k, t in enumerate(captured) if t.dtype.kind == "f" and needs[1 + k]]
    result = [None] * len(op.inputs)
    if not wanted or not targets:
        return result
    xs = [captured[k] for k in targets]
    grad_ys = [cotangents[i] for i in wanted]

    def branch_gradient(branch, label):
        def build():
            ys = [branch.outputs[i] for i in wanted]
            grads = gradients(ys, xs, grad_ys=grad_ys, stop_gradients=xs, name=label)
            return [g if g is not None else F.zeros_like(x) for g, x in zip(grads, xs)]
        return build

    grads = _build_cond(pred, branch_gradient(true_branch, "true_branch"),
                        branch_gradient(false_branch, "false_branch"), "cond_grad",
                        mirrors=((true_branch,), (false_branch,)), after=(op,))
    for k, grad in zip(targets, grads):
        result[1 + k] = grad
    return result



# -- while_loop --------------------------------------------------------------------------------


class _LoopContext(ControlFlowContext):
    """A while loop's cond and body: stand-ins for the loop variables and the traced ops."""

    def __init__(self, graph, name):
        super().__init__(graph, f"while_loop {name!r}")
        self.name = name
        self.standins: list[Tensor] = []
        self.paths: list[str] = []
        self.shape_changes: list[bool] = []
        self.pred: Tensor | None = None
        self.body_outputs: list[Tensor] = []
        self.cond_plan: _Plan | None = None
        self.body_plan: _Plan | None = None
        self.keep_record = False  # set once a gradient of the loop exists
        self.recorded: set[Tensor] = set()


class IterationRecord:
    """What a forward while_loop kept for its gradient: per iteration, the values it read.

    It is the value of the While op's last output, an input of the WhileGrad op, so the
    gradient always sees the loop that ran in the same `Session.run`.
    """

    __slots__ = ("iterations",)

    def __init__(self):
        self.iterations: list[dict] = []

    def __len__(self) -> int:
        return len(self.iterations)

    def __repr__(self) -> str:
        return f"<while_loop record of {len(self.iterations)} iterations>"


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10,
               back_prop=True, swap_memory=False, name=None, maximum_iterations=None,
               return_same_structure=False):
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` is true, at run time.

    `cond` and `body` are called once, now, with stand-ins for the loop variables; `cond`
    returns a scalar bool Tensor and `body` new values of the same structure, dtypes and
    shapes (a dimension may change only where `shape_invariants` gives None). Outside tensors
    used inside are captured. With `maximum_iterations`, the loop stops after that many runs
    of the body. As in TensorFlow 1, a single loop variable comes back as a Tensor unless
    `return_same_structure=True`. `parallel_iterations` and `swap_memory` are accepted for
    compatibility: iterations run one after another in host memory.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     i, total = tf.while_loop(lambda i, t: i < 5, lambda i, t: (i + 1, t + i), [0, 0])
    ...     with tf.Session() as sess:
    ...         print(sess.run(i), sess.run(total))
    5 10
    """
    del parallel_iterations, swap_memory  # one iteration after another, in host memory
    _require_callable(cond, "cond", "while_loop")
    _require_callable(body, "body", "while_loop")
    in_sequence = isinstance(loop_vars, (list, tuple))
    positional = list(loop_vars) if in_sequence else [loop_vars]
    if not positional:
        raise GraphError("while_loop: loop_vars is empty; give at least one loop variable")
    probe: list = []
    _flatten(positional, probe, lambda leaf: leaf)
    graph = graph_of(probe)

    with graph.as_default(), graph.name_scope(name or "while") as scope:
        loop_name = scope[:-1]
        initial, structures, paths, bases = _initial_loop_values(loop_name, positional, in_sequence)
        invariants = _shape_invariants(loop_name, shape_invariants, positional, structures,
                                       initial, paths, in_sequence)
        limit, limit_input = _iteration_limit(loop_name, maximum_iterations)

        loop = _LoopContext(graph, loop_name)
        loop.paths = paths
        loop.shape_changes = [tuple(inv) != tuple(t.shape) for inv, t in zip(invariants, initial)]
        with loop.entered():
            loop.standins = [
                graph.add_operation(_LOOP_VAR, [], name="loop_var",
                                    attrs={"loop": loop, "shape": shape,
                                           "dtype": t.dtype}).outputs[0]
                for shape, t in zip(invariants, initial)]
            arguments = _pack_arguments(structures, loop.standins)
            loop.pred = _loop_predicate(loop_name, cond, cond(*arguments))
            loop.body_outputs = _body_results(loop_name, body, body(*arguments), structures,
                                              loop.standins, bases)
        _check_body_shapes(loop_name, loop, initial, invariants)
        loop.cond_plan = _Plan(loop, [loop.pred])
        loop.body_plan = _Plan(loop, loop.body_outputs)
        captured = _unique(loop.cond_plan.external + loop.body_plan.external)
        captured_ops = _unique(loop.cond_plan.external_ops + loop.body_plan.external_ops)
        inputs = [*initial, *captured] + ([limit_input] if limit_input is not None else [])
        op = graph.add_operation(
            _WHILE, inputs, name="While",
            attrs={"loop": loop, "num_captured": len(captured), "maximum_iterations": limit,
                   "back_prop": bool(back_prop), "captured_ops": captured_ops})

    finals = op.outputs[:len(initial)]
    packed = _pack_arguments(structures, finals)
    if not in_sequence or (len(finals) == 1 and not return_same_structure):
        return packed[0]  # TensorFlow 1 unpacks a single loop variable
    kind = type(loop_vars)
    return packed if kind is list else kind(*packed) if hasattr(kind, "_fields") else \
        kind(packed)


def _initial_loop_values(loop_name, positional, in_sequence):
    initial, structures, paths, bases = [], [], [], []
    for index, value in enumerate(positional):
        base = f"loop_vars[{index}]" if in_sequence else "loop_vars"
        bases.append(base)
        leaves: list = []

        def convert(leaf, base=base):
            if isinstance(leaf, Tensor):
                return leaf
            if isinstance(leaf, _PLAIN_VALUES):
                return constant(leaf)
            raise GraphError(f"while_loop {loop_name!r}: loop variables must be Tensors or "
                             f"values, got {type(leaf).__name__} {leaf!r} in {base}")

        structure = _flatten(value, leaves, convert)
        structures.append(structure)
        initial += leaves
        paths += _leaf_paths(structure, base)
    return initial, structures, paths, bases


def _leaf_paths(structure, base) -> list[str]:
    if structure is _LEAF:
        return [base]
    if issubclass(structure[0], dict):
        _, keys, subs = structure
        return [p for k, s in zip(keys, subs) for p in _leaf_paths(s, f"{base}[{k!r}]")]
    return [p for i, s in enumerate(structure[1]) for p in _leaf_paths(s, f"{base}[{i}]")]


def _pack_arguments(structures, flat) -> list:
    leaves = iter(flat)
    return [_unflatten(structure, leaves) for structure in structures]


def _shape_invariants(loop_name, shape_invariants, positional, structures, initial, paths,
                      in_sequence) -> list[tuple]:
    for tensor, path in zip(initial, paths):
        if tensor.shape.ndims is None:
            raise GraphError(f"while_loop {loop_name!r}: loop variable {path} "
                             f"({tensor.name!r}, created at {site_of(tensor.op)}) has an "
                             "unknown rank; a loop needs the rank of its variables: give the "
                             "value a shape (tensor.set_shape([...]))")
    if shape_invariants is None:
        return [tuple(t.shape) for t in initial]
    given = list(shape_invariants) if in_sequence else [shape_invariants]
    if len(given) != len(positional):
        raise GraphError(f"while_loop {loop_name!r}: shape_invariants has {len(given)} entries "
                         f"for {len(positional)} loop variables")
    flat: list = []
    for structure, invariant in zip(structures, given):
        _shapes_like(structure, invariant, flat)
    invariants = []
    for shape, tensor, path in zip(flat, initial, paths):
        if isinstance(shape, Tensor):
            shape = shape.shape
        if shape is None or not isinstance(shape, (tuple, list)) or not all(
                d is None or isinstance(d, (int, np.integer)) for d in shape):
            raise GraphError(f"while_loop {loop_name!r}: the shape invariant of loop variable "
                             f"{path} must be a tuple of ints and None (rank known), got "
                             f"{shape!r}")
        shape = tuple(None if d is None else int(d) for d in shape)
        if not _shape_at_most(tensor.shape, shape):
            raise GraphError(f"while_loop {loop_name!r}: the shape invariant {shape} of loop "
                             f"variable {path} ({tensor.name!r}) is not compatible with its "
                             f"initial shape {tensor.shape}; each known dimension of the "
                             "invariant must equal the initial one")
        invariants.append(shape)
    return invariants


def _shapes_like(structure, invariant, flat) -> None:
    """The shapes of a shape-invariant structure, at the leaves of a loop-variable structure."""
    if structure is _LEAF:
        flat.append(invariant)
        return
    if issubclass(structure[0], dict):
        _, keys, subs = structure
        for key, sub in zip(keys, subs):
            _shapes_like(sub, invariant[key], flat)
        return
    for sub, item in zip(structure[1], invariant):
        _shapes_like(sub, item, flat)


def _shape_at_most(shape, bound) -> bool:
    """Whether every value of `shape` fits `bound` (None in `bound` accepts any size)."""
    return len(shape) == len(bound) and all(b is None or a == b for a, b in zip(shape, bound))


def _iteration_limit(loop_name, maximum_iterations):
    if maximum_iterations is None:
        return None, None
    if isinstance(maximum_iterations, Tensor):
        if maximum_iterations.dtype.kind not in "iu" or maximum_iterations.shape != ():
            raise GraphError(f"while_loop {loop_name!r}: maximum_iterations must be a scalar "
                             f"integer, got {maximum_iterations!r}")
        return None, maximum_iterations
    if isinstance(maximum_iterations, bool) or not isinstance(maximum_iterations,
                                                               (int, np.integer)):
        raise GraphError(f"while_loop {loop_name!r}: maximum_iterations must be a scalar "
                         f"integer, got {maximum_iterations!r}")
    return int(maximum_iterations), None


def _loop_predicate(loop_name, cond, pred) -> Tensor:
    if isinstance(pred, (bool, np.bool_)):
        pred = constant(bool(pred))
    if not isinstance(pred, Tensor) or pred.dtype != np.bool_ or \
            not pred.shape.is_compatible_with(()):  # an unknown rank is checked when run
        raise GraphError(f"while_loop {loop_name!r}: cond (defined at {_function_site(cond)}) "
                         f"must return a scalar bool Tensor, got {pred!r}")
    return pred


def _body_results(loop_name, body, result, structures, standins, bases) -> list[Tensor]:
    if not isinstance(result, (list, tuple)) or (
            len(structures) == 1 and _flatten(result, [], lambda leaf: leaf) == structures[0]):
        result = [result]  # the new value of a single loop variable, not a list of values
    where = f"while_loop {loop_name!r}: body (defined at {_function_site(body)})"
    if len(result) != len(structures):
        raise GraphError(f"{where} returned {_count(len(result), 'value')} for "
                         f"{_count(len(structures), 'loop variable')}; it must return one new "
                         "value per loop variable")
    flat: list = []

    def convert(leaf):
        if isinstance(leaf, Tensor):
            return leaf
        if isinstance(leaf, _PLAIN_VALUES):  # a plain value takes its loop variable's dtype
            position = min(len(flat), len(standins) - 1)
            return constant(np.asarray(leaf, standins[position].dtype))
        raise GraphError(f"{where} returned {type(leaf).__name__} {leaf!r}, not a Tensor")

    for value, structure, base in zip(result, structures, bases):
        start = len(flat)
        got = _flatten(value, flat, convert)
        if got != structure:
            expected = standins[start:start + len(_leaf_paths(structure, base))]
            raise GraphError(f"{where} returned a value of another structure for loop variable "
                             f"{base}: the loop variable is {_describe(structure, expected)}, "
                             f"the body returned {_describe(got, flat[start:])}")
    return flat


def _count(number, noun) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _check_body_shapes(loop_name, loop, initial, invariants) -> None:
    for path, before, out, invariant in zip(loop.paths, initial, loop.body_outputs, invariants):
        where = (f"while_loop {loop_name!r}: loop variable {path} ({before.name!r}) enters the "
                 "loop with")
        created = f"(the body's value {out.name!r} was created at {site_of(out.op)})"
        if out.dtype != before.dtype:
            raise GraphError(f"{where} dtype {before.dtype} but has dtype {out.dtype} after one "
                             f"iteration {created}; the body must keep each loop variable's dtype")
        if out.shape.ndims is None:
            raise GraphError(f"{where} shape {invariant} but has an unknown rank after one "
                             f"iteration {created}; give that value a shape "
                             "(tensor.set_shape([...]))")
        if not _shape_at_most(out.shape, invariant):
            if len(out.shape) != len(invariant):
                hint = "a loop variable's rank cannot change"
            else:
                relaxed = tuple(a if a == b else None for a, b in zip(invariant, out.shape))
                hint = ("to let its shape change across iterations, pass shape_invariants "
                        f"with None for the dimensions that vary, e.g. {relaxed}")
            raise GraphError(f"{where} shape {invariant} but has shape {out.shape} after one "
                             f"iteration {created}; {hint}")


def _run_while(run, op, inputs):
    loop: _LoopContext = op.attrs["loop"]
    count = len(loop.standins)
    current = list(inputs[:count])
    limit = op.attrs["maximum_iterations"]
    if len(inputs) > count + op.attrs["num_captured"]:
        limit = int(inputs[-1])
    record = IterationRecord() if loop.keep_record else None
    values = run.values
    iteration = 0
    while limit is None or iteration < limit:
        loop.reset(run)
        for standin, value in zip(loop.standins, current):
            values[standin] = value
        loop.run_plan(run, loop.cond_plan)
        keep_going = run.value_of(loop.pred)
        if np.ndim(keep_going) != 0:  # a cond of unknown rank gave something else
            raise GraphError(f"while_loop: cond must return a scalar bool, but "
                             f"{loop.pred.name!r} has shape {np.shape(keep_going)} in this run")
        if not bool(keep_going):
            break
        loop.run_plan(run, loop.body_plan)
        if record is not None:
            record.iterations.append({t: values[t] for t in loop.recorded if t in values})
        current = [run.value_of(t) for t in loop.body_outputs]
        iteration += 1
    return (*current, record)


@register_graph_op
class While(GraphOp):
    """tf.while_loop: runs its loop (`attrs["loop"]`: cond and body) until the cond is false.
    Inputs: the loop variables' initial values, the captured values, and the iteration limit
    when it is a tensor. Outputs: the final values, and a record of the iterations that the
    loop's gradient (WhileGrad) reads."""

    name = "While"
    viz_family = "control flow"

    def infer(self, inputs, attrs):
        return ([Spec(s.shape, s.dtype) for s in attrs["loop"].standins]
                + [Spec((), np.dtype(object))])

    def run(self, run, op, inputs):
        return _run_while(run, op, inputs)

    def gradient(self, op, cotangents, needs):
        return _while_gradient(op, cotangents, needs)

    def contexts(self, op):
        return [op.attrs["loop"]]

    def context_results(self, op):
        loop = op.attrs["loop"]
        return [loop.pred, *loop.body_outputs]


@register_graph_op
class LoopVar(GraphOp):
    """Stands for a loop variable (or a cotangent of one) inside a loop's cond and body; the
    loop sets its value at each iteration."""

    name = "LoopVar"
    viz_family = "control flow"
    viz_kind = "input"

    def infer(self, inputs, attrs):
        return [Spec(attrs["shape"], attrs["dtype"])]

    def run(self, run, op, inputs):
        raise GraphError(f"{op.name!r} stands for a loop variable of the "
                         f"{op.attrs['loop'].role} and has a value only inside its cond and "
                         "body; a value computed inside the loop was used outside it (use the "
                         "loop's results instead)", op.site)

    def gradient(self, op, cotangents, needs):
        return []  # no inputs: the loop carries the gradient on to its initial value


_WHILE, _LOOP_VAR = While(), LoopVar()


# -- while_loop gradient -----------------------------------------------------------------------


def _while_gradient(op, cotangents, needs):
    """A WhileGrad op: the body's vector-Jacobian product, applied per iteration in reverse.

    Every float loop variable carries its cotangent from one iteration back to the previous
    one, but only the captured inputs `needs` asks for are differentiated (a captured
    placeholder of unknown shape that no x depends on gets no gradient subgraph)."""
    loop: _LoopContext = op.attrs["loop"]
    count = len(loop.standins)
    result = [None] * len(op.inputs)
    if not op.attrs["back_prop"]:
        return result
    captured = op.inputs[count:count + op.attrs["num_captured"]]
    variables = [i for i, s in enumerate(loop.standins) if s.dtype.kind == "f"]
    targets = [k for k, t in enumerate(captured) if t.dtype.kind == "f" and needs[count + k]]
    if not targets and not any(needs[i] for i in variables):
        return result
    # A loop variable whose shape changes cannot carry a gradient: refuse where one would flow.
    changing = [i for i in variables if loop.shape_changes[i]]
    for i in changing:
        if cotangents[i] is not None:
            _refuse_changing_shape(op, loop, i)
    variables = [i for i in variables if not loop.shape_changes[i]]
    graph = op.graph
    xs_captured = [captured[k] for k in targets]
    with graph.as_default(), graph.name_scope(f"{loop.name.split('/')[-1]}_grad"):
        context = ControlFlowContext(graph, f"gradient of {loop.role}", mirrors=(loop,))
        with context.entered():
            seeds = [graph.add_operation(_LOOP_VAR, [], name="cotangent",
                                         attrs={"loop": context,
                                                "shape": loop.standins[i].shape,
                                                "dtype": loop.standins[i].dtype}).outputs[0]
                     for i in variables]
            grads = gradients([loop.body_outputs[i] for i in variables],
                              [loop.standins[i] for i in variables] + xs_captured +
                              [loop.standins[i] for i in changing],
                              grad_ys=seeds, stop_gradients=xs_captured)
        for i, grad in zip(changing, grads[len(variables) + len(xs_captured):]):
            if grad is not None:
                _refuse_changing_shape(op, loop, i)
        variable_grads = grads[:len(variables)]
        captured_grads = grads[len(variables):len(variables) + len(xs_captured)]
        grads = variable_grads + captured_grads
        plan = _Plan(context, [g for g in grads if g is not None])
        loop.keep_record = True
        loop.recorded.update(t for inner in context.subtree() for p in inner.plans
                             for t in p.foreign if _nearest_loop(t.op.context) is loop)
        given = [i for i in variables if cotangents[i] is not None]
        inputs = [op.outputs[count], *(op.outputs[i] for i in variables),
                  *(cotangents[i] for i in given), *plan.external]
        grad_op = graph.add_operation(
            _WHILE_GRAD, inputs, name="WhileGrad",
            attrs={"loop": loop, "context": context, "plan": plan, "seeds": seeds,
                   "variables": variables, "given": given, "captured": xs_captured,
                   "variable_grads": variable_grads, "captured_grads": captured_grads,
                   "captured_ops": plan.external_ops})
    for j, i in enumerate(variables):
        if needs[i]:
            result[i] = grad_op.outputs[j]
    for j, k in enumerate(targets):
        result[count + k] = grad_op.outputs[len(variables) + j]
    return result


def _refuse_changing_shape(op, loop, i):
    raise GraphError(f"gradients through {loop.role}: loop variable {loop.paths[i]} "
                     f"({op.inputs[i].name!r}) changes shape across iterations (shape invariant "
                     f"{loop.standins[i].shape}, initial shape {op.inputs[i].shape}); "
                     "reverse-mode gradients cannot flow through a loop variable whose shape "
                     "changes")


def _run_while_grad(run, op, inputs):
    attrs = op.attrs
    loop, context, plan = attrs["loop"], attrs["context"], attrs["plan"]
    variables, given = attrs["variables"], attrs["given"]
    record = inputs[0]
    if not isinstance(record, IterationRecord):
        raise GraphError(f"{op.name!r}: the {loop.role} did not keep a record of its iterations "
                         "in this Session.run, so its gradient cannot be computed", op.site)
    finals = inputs[1:1 + len(variables)]
    provided = dict(zip(given, inputs[1 + len(variables):1 + len(variables) + len(given)]))
    seeds = [np.asarray(provided[i], final.dtype) if i in provided else np.zeros_like(final)
             for i, final in zip(variables, finals)]
    values = run.values
    totals = [np.zeros_like(run.value_of(t)) for t in attrs["captured"]]
    for snapshot in reversed(record.iterations):
        loop.reset(run)
        context.reset(run)
        values.update(snapshot)
        for standin, seed in zip(attrs["seeds"], seeds):
            values[standin] = seed
        context.run_plan(run, plan)
        seeds = [values[g] if g is not None else np.zeros_like(seed)
                 for g, seed in zip(attrs["variable_grads"], seeds)]
        totals = [total + values[g] if g is not None else total
                  for total, g in zip(totals, attrs["captured_grads"])]
    return tuple(np.asarray(value) for value in (*seeds, *totals))


@register_graph_op
class WhileGrad(GraphOp):
    """The gradient of a While: the body's vector-Jacobian product (`attrs["context"]`), run
    once per recorded iteration in reverse. Outputs: the gradients of the float loop
    variables' initial values, then of the captured values asked for."""

    name = "WhileGrad"
    viz_family = "control flow"

    def infer(self, inputs, attrs):
        standins = attrs["loop"].standins
        return ([Spec(standins[i].shape, standins[i].dtype) for i in attrs["variables"]]
                + [Spec(t.shape, t.dtype) for t in attrs["captured"]])

    def run(self, run, op, inputs):
        return _run_while_grad(run, op, inputs)

    def gradient(self, op, cotangents, needs):
        raise GraphError(f"second-order gradients through while_loop are not supported "
                         f"({op.name!r} is the gradient of a while_loop)")

    def contexts(self, op):
        return [op.attrs["context"]]

    def context_results(self, op):
        return [t for t in (*op.attrs["variable_grads"], *op.attrs["captured_grads"])
                if t is not None]


_WHILE_GRAD = WhileGrad()
