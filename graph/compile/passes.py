"""The compiler's passes, in the order they run: `PIPELINE` is the whole list.

Each pass is a function from Program to (Program, what it changed): a dict of counts that
`explain()` shows. A pass never changes what a run computes: every rewrite here gives the same
bits as the interpreter (x * 1 is x, but x + 0 is not always x: -0.0 + 0.0 is +0.0, so that
one is left alone), and nodes with effects (assigns, random draws, checks, control flow) are
never merged, folded or dropped. One pass changes values on purpose: numerical stabilization
replaces expressions that lose precision or overflow (log(softmax(x)), log(1 + x), the
hand-written softmax cross-entropy of TF1's first tutorial) with the stable op computing the
same function, where the interpreter keeps the expression as written.
"""

from __future__ import annotations

import numpy as np

from framework.ops.registry import primitive, run_op
from graph.compile.fusion import elementwise_fusion
from graph.compile.program import Node, Program, spec_bytes
from graph.ops import PRIMITIVE, Assign, AssignAdd, AssignSub, Const

__all__ = ["PIPELINE", "algebraic_simplification", "common_subexpressions", "constant_folding",
           "dead_code", "elementwise_fusion", "memory_plan", "numerical_stabilization",
           "variable_updates"]

# A folded constant larger than this stays an op: folding would trade a fast kernel for bytes
# kept alive for the program's lifetime.
FOLD_MAX_ELEMENTS = 1 << 16


def dead_code(program: Program):
    """Drop nodes whose values nobody needs: not fetched, not read by a kept node, no
    effect."""
    keep = set(program.roots)
    keep.update(value[0] for value in program.fetches if value is not None)
    for node in reversed(program.nodes):
        if node in keep or node.feed is not None:
            keep.update(value[0] for value in node.inputs if value is not None)
    kept = [node for node in program.nodes if node in keep or node.feed is not None]
    removed = len(program.nodes) - len(kept)
    program = program.copy()
    program.nodes = kept
    return program, {"nodes removed": removed}


def constant_folding(program: Program):
    """Compute, once and now, every pure node whose inputs are all constants, or whose result
    depends only on its inputs' shapes (full_like, shape: every shape is known here). The
    same kernel the run would call, so the same bits."""
    replaced: dict = {}
    nodes, folded = [], 0
    for node in program.nodes:
        node = _rewired(node, replaced)
        if _foldable(node):
            shape_only = not node.primitive.reads_input_values
            arguments = [np.zeros(v[0].specs[v[1]].shape, v[0].specs[v[1]].dtype) if shape_only
                         else v[0].attrs["value"] for v in node.inputs]
            result = run_op(node.primitive, arguments)[1]
            results = result if type(result) is tuple else (result,)
            for index, value in enumerate(results):
                constant = Node(kind=Const(), inputs=[], specs=[node.specs[index]],
                                attrs={"value": np.asarray(value)})
                nodes.append(constant)
                replaced[(node, index)] = (constant, 0)
            folded += 1
            continue
        nodes.append(node)
    return _finish(program, nodes, replaced), {"nodes folded": folded}


def _foldable(node: Node) -> bool:
    if not (node.is_primitive and node.pure):
        return False
    if any(None in spec.shape or np.prod(spec.shape, dtype=np.int64) > FOLD_MAX_ELEMENTS
           for spec in node.specs):
        return False
    if not node.primitive.reads_input_values:
        return all(v is not None and None not in v[0].specs[v[1]].shape for v in node.inputs)
    return all(v is not None and isinstance(v[0].kind, Const) for v in node.inputs)


def common_subexpressions(program: Program):
    """Merge nodes that apply the same op (equal name and attributes) to the same values, and
    equal small constants. Nodes that read a variable are left alone: a read after an assign
    sees another value."""
    seen: dict = {}
    replaced: dict = {}
    nodes, merged = [], 0
    for node in program.nodes:
        node = _rewired(node, replaced)
        key = _cse_key(node)
        if key is not None:
            earlier = seen.get(key)
            if earlier is not None:
                for index in range(len(node.specs)):
                    replaced[(node, index)] = (earlier, index)
                merged += 1
                continue
            seen[key] = node
        nodes.append(node)
    return _finish(program, nodes, replaced), {"nodes merged": merged}


def _cse_key(node: Node):
    if node.feed is not None:
        return None
    if isinstance(node.kind, Const):
        value = node.attrs["value"]
        if value.size > 64:
            return None
        return ("const", value.dtype.str, value.shape, value.tobytes())
    if not (node.is_primitive and node.pure):
        return None
    if any(v is None or _is_variable(v) for v in node.inputs):
        return None
    return (node.primitive, tuple((id(v[0]), v[1]) for v in node.inputs))


def algebraic_simplification(program: Program):
    """Rewrites that give the same bits: x * 1, 1 * x, x / 1, x - 0 -> x; identity and
    stop_gradient -> their input; neg(neg(x)) -> x; a transpose of a transpose that restores
    the order -> x; a reshape of a reshape -> one reshape."""
    replaced: dict = {}
    nodes, rewrites = [], 0
    for node in program.nodes:
        node = _rewired(node, replaced)
        simpler = _simpler(node)
        if isinstance(simpler, tuple) and _is_variable(simpler):
            # A variable is read where its consumer runs: tf.identity(v) holds v's value at
            # that point, which a later assign in the same run must not change.
            simpler = None
        if simpler is not None and simpler is not node:
            if isinstance(simpler, Node):
                nodes.append(simpler)
                simpler = (simpler, 0)
            replaced[(node, 0)] = simpler
            rewrites += 1
            continue
        nodes.append(node)
    return _finish(program, nodes, replaced), {"rewrites": rewrites}


def _is_variable(value) -> bool:
    return value[0].kind is not None and value[0].kind.is_variable


def _constant_equal(value, number) -> bool:
    if value is None or value[0].kind is None or not isinstance(value[0].kind, Const):
        return False
    array = value[0].attrs["value"]
    return array.size > 0 and bool(np.all(array == number)) and (
        number != 0 or not np.any(np.signbit(array)))


def _same_spec(node, value) -> bool:
    spec = value[0].specs[value[1]]
    return spec.shape == node.specs[0].shape and spec.dtype == node.specs[0].dtype


def _simpler(node: Node):
    """A value or node that computes what `node` does more simply, else None."""
    if node.kind is not None and not node.is_primitive:
        if node.kind.name in ("Identity", "StopGradient"):
            return node.inputs[0]
        return None
    if not node.is_primitive or not node.pure:
        return None
    name, inputs = node.primitive.name, node.inputs
    if name == "mul":
        for x, one in ((inputs[0], inputs[1]), (inputs[1], inputs[0])):
            if _constant_equal(one, 1) and _same_spec(node, x):
                return x
    if name == "div" and _constant_equal(inputs[1], 1) and _same_spec(node, inputs[0]):
        return inputs[0]
    if name == "sub" and _constant_equal(inputs[1], 0) and _same_spec(node, inputs[0]):
        return inputs[0]  # x - (+0) is x for every x, -0 included
    producer = inputs[0][0] if inputs and inputs[0] is not None else None
    if producer is None or not producer.is_primitive or not producer.pure:
        return None
    if name == "neg" and producer.primitive.name == "neg":
        return producer.inputs[0]
    if name == "transpose" and producer.primitive.name == "transpose":
        order = tuple(producer.primitive.axes[a] for a in node.primitive.axes)
        if order == tuple(range(len(order))):
            return producer.inputs[0]
    if name == "reshape" and producer.primitive.name == "reshape":
        return Node(kind=node.kind, inputs=[producer.inputs[0]], specs=node.specs, op=node.op,
                    primitive=node.primitive, attrs=node.attrs)
    return None


def numerical_stabilization(program: Program):
    """log(softmax(x)) -> log_softmax(x) (finite where softmax underflows to 0);
    log(1 + x) -> log1p(x) (exact for tiny x); -sum(labels * log_softmax(logits), axis=1) of
    (N, classes) matrices (TF1's `-tf.reduce_sum(y_ * tf.log(y), 1)` once the first rewrite
    made its log stable) -> the fused cross_entropy_probs op. The values change: these are the
    stable forms of what was written. Gradient nodes built from the original expression are
    not touched (they read the softmax, which stays while they need it)."""
    replaced: dict = {}
    nodes = []
    counts = {"log_softmax": 0, "log1p": 0, "cross_entropy_probs": 0}
    for node in program.nodes:
        node = _rewired(node, replaced)
        stable = _stable_form(node)
        if stable is None:
            nodes.append(node)
            continue
        nodes.append(stable)
        replaced[(node, 0)] = (stable, 0)
        counts[stable.primitive.name] += 1
    return _finish(program, nodes, replaced), {f"{name} made": count
                                                for name, count in counts.items()}


def _producer(value, name: str):
    """The pure primitive node making `value` if it is the op `name`, else None."""
    if value is None:
        return None
    node = value[0]
    if node.is_primitive and node.pure and node.primitive.name == name and value[1] == 0:
        return node
    return None


def _stable_form(node: Node):
    if not (node.is_primitive and node.pure and len(node.specs) == 1):
        return None
    name = node.primitive.name
    if name == "log":
        softmax = _producer(node.inputs[0], "softmax")
        if softmax is not None:
            return Node(kind=PRIMITIVE, inputs=list(softmax.inputs), specs=node.specs,
                        op=node.op, primitive=primitive("log_softmax", softmax.primitive.axis))
        added = _producer(node.inputs[0], "add")
        if added is not None and node.specs[0].dtype.kind == "f":
            for one, x in (added.inputs, reversed(added.inputs)):
                if _constant_equal(one, 1) and _same_spec(node, x):
                    return Node(kind=PRIMITIVE, inputs=[x], specs=node.specs, op=node.op,
                                primitive=primitive("log1p"))
        return None
    if name == "neg":
        total = _producer(node.inputs[0], "sum")
        if total is None or total.primitive.keepdims or total.primitive.axis not in (
                1, -1, (1,), (-1,)):
            return None
        product = _producer(total.inputs[0], "mul")
        if product is None:
            return None
        for labels, log_probs in (product.inputs, reversed(product.inputs)):
            stable_log = _producer(log_probs, "log_softmax")
            if stable_log is None or stable_log.primitive.axis not in (1, -1):
                continue
            logits = stable_log.inputs[0]
            spec, label_spec = logits[0].specs[logits[1]], labels[0].specs[labels[1]]
            if (len(spec.shape) == 2 and spec.dtype.kind == "f"
                    and tuple(label_spec.shape) == tuple(spec.shape)
                    and label_spec.dtype == spec.dtype):
                return Node(kind=PRIMITIVE, inputs=[logits, labels], specs=node.specs,
                            op=node.op, primitive=primitive("cross_entropy_probs"))
    return None


# An update's op and the elementwise primitive computing the new value from (current, value).
_UPDATES = {AssignAdd: "add", AssignSub: "sub"}
_ASSIGN = Assign()


def variable_updates(program: Program):
    """`v -= x` (AssignSub) and `v += x` (AssignAdd) of a float value of the variable's own
    static shape become `v = sub(v, x)` / `v = add(v, x)`: an Assign of an elementwise node that
    reads the variable where the update stood, so where the interpreter's update reads it. The
    same IEEE operation on the same values, so the same bits; but now the fusion pass can merge
    it with the ops computing x (SGD's lr * grad), and the update is one kernel writing the new
    value, with no intermediate buffer (and one GPU launch instead of two)."""
    variables = {node.op: node for node in program.nodes
                 if node.kind is not None and node.kind.is_variable and node.op is not None}
    nodes, rewritten = [], 0
    for node in program.nodes:
        operation = _UPDATES.get(type(node.kind))
        target = node.op.inputs[0].op if operation and node.op is not None else None
        variable = variables.get(target)
        value = node.inputs[1] if operation else None
        if variable is None or value is None or not _updates_in_place(variable, value):
            nodes.append(node)
            continue
        update = Node(kind=PRIMITIVE, inputs=[(variable, 0), value], specs=list(variable.specs),
                      op=node.op, primitive=primitive(operation))
        nodes.append(update)
        node.kind = _ASSIGN  # the node stays (fetches, roots and readers keep it)
        node.inputs = [None, (update, 0)]
        nodes.append(node)
        rewritten += 1
    program = program.copy()
    program.nodes = nodes
    return program, {"updates rewritten": rewritten}


def _updates_in_place(variable: Node, value) -> bool:
    spec, target = value[0].specs[value[1]], variable.specs[0]
    return (spec.dtype == target.dtype and spec.dtype.kind == "f" and None not in spec.shape
            and tuple(spec.shape) == tuple(target.shape) and len(spec.shape) > 0)


def memory_plan(program: Program):
    """Where each value is last read, so the generated step frees it right after (the
    interpreter keeps every value until the run ends), and the peak bytes that leaves live.
    Stored on the program as `release_after`: node -> the nodes whose values die there."""
    last_use: dict = {}
    for node in program.nodes:
        for value in node.inputs:
            if value is not None:
                last_use[value[0]] = node
    fetched = {value[0] for value in program.fetches if value is not None}
    release_after: dict = {}
    for producer, user in last_use.items():
        if producer not in fetched and producer.feed is None and producer.kind is not None \
                and not producer.kind.is_variable and not isinstance(producer.kind, Const):
            release_after.setdefault(user, []).append(producer)
    live, peak, without_plan = 0, 0, 0
    for node in program.nodes:
        if node.feed is None and node.kind is not None and not node.kind.is_variable \
                and not isinstance(node.kind, Const):
            size = sum(spec_bytes(spec) for spec in node.specs)
            live += size
            without_plan += size
            peak = max(peak, live)
        for dead in release_after.get(node, ()):
            live -= sum(spec_bytes(spec) for spec in dead.specs)
    program = program.copy()
    program.release_after = release_after
    program.peak_bytes = peak
    return program, {"peak bytes": peak, "bytes without the plan": without_plan,
                     "values freed early": sum(len(v) for v in release_after.values())}


def _rewired(node: Node, replaced: dict) -> Node:
    """`node`, made to read the values that replaced the ones a pass removed. (A Program
    belongs to one compilation, so its nodes are changed in place.)"""
    if replaced:
        node.inputs = [replaced.get(v, v) if v is not None else None for v in node.inputs]
    return node


def _finish(program: Program, nodes: list, replaced: dict) -> Program:
    """The program with `nodes`, its fetches moved to the values that replaced theirs. Roots
    are never replaced: passes only replace pure nodes."""
    result = program.copy()
    result.nodes = nodes
    result.fetches = [None if v is None else replaced.get(v, v) for v in program.fetches]
    return result


# The pipeline, in order: (name, pass). explain() reports each one's changes and time.
PIPELINE = [
    ("dead code", dead_code),
    ("algebraic simplification", algebraic_simplification),
    ("numerical stabilization", numerical_stabilization),
    ("constant folding", constant_folding),
    ("common subexpressions", common_subexpressions),
    ("dead code", dead_code),
    ("variable updates", variable_updates),
    ("elementwise fusion", elementwise_fusion),
    ("memory plan", memory_plan),
]
