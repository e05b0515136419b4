"""The ops that exist only in the graph: constants, placeholders, variables, assigns, no-op,
identity and stop-gradient here; cond and while in `graph.control_flow`, check_numerics in
`graph.debugging`.

Each is a class declared once with all of its rules, as the primitives of `framework.ops` are:

- `name`: the op type (`Operation.type`, TensorFlow's names);
- `infer(inputs, attrs)`: the shape-and-dtype rule, run when the node is built;
- `run(run, op, inputs)`: how a Session computes its outputs (a tuple), given the run's state;
- `gradient(op, cotangents, needs)`: its gradient rule, or `no_gradient = "why"`;
- `viz_kind`: how a drawing shows it ("input", "parameter", "constant" or "op");
- what the Session, the gradient sweep and the drawings must know of it: whether it assigns
  a variable, reads one, or runs subgraphs of its own (`contexts`).

Every graph Operation has one of these as its `kind`; a primitive's is `PRIMITIVE`, which runs
the registry op the Operation holds. So the Session, the gradients and the drawings look each
op up one way, and `check_graph_ops` checks the classes as `check_registry` checks the
primitives.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from framework.ops.autodiff import apply_vjp, fit_gradient
from framework.ops.registry import Spec, check_registry, run_op
from framework.viz import register_op_family

__all__ = ["GRAPH_OPS", "GraphOp", "PRIMITIVE", "check_graph_ops", "register_graph_op"]

GRAPH_OPS: dict[str, type] = {}


class GraphOp:
    """Base class of the graph's op kinds (see the module docstring). Instances are stateless:
    what varies between nodes lives in each Operation's `attrs`."""

    name: ClassVar[str] = ""
    no_gradient: ClassVar[str | None] = None
    viz_kind: ClassVar[str] = "op"
    viz_family: ClassVar[str] = "other"  # its colour in drawings (framework.viz's families)
    # An assign: input 0 is the target variable (a reference, not a value the op reads).
    assigns: ClassVar[bool] = False
    # A variable: its value is the run's current value of the variable, read when used.
    is_variable: ClassVar[bool] = False
    # Its run errors name the op and where it was created already (no wrapping needed).
    names_itself: ClassVar[bool] = False

    def infer(self, inputs, attrs) -> list[Spec]:
        raise NotImplementedError

    def run(self, run, op, inputs) -> tuple:
        raise NotImplementedError

    gradient = None  # gradient(self, op, cotangents, needs) -> one gradient (or None) per input

    def contexts(self, op) -> list:
        """The control-flow contexts (subgraphs) this node runs: none for most ops."""
        return []

    def context_results(self, op) -> list:
        """The values computed inside `contexts(op)` that become the node's outputs."""
        return []

    def may_assign(self, op) -> bool:
        """Whether running the node may assign a variable, itself or inside its contexts."""
        return self.assigns or any(inner.kind.assigns for context in self.contexts(op)
                                   for sub in context.subtree() for inner in sub.ops)

    def __repr__(self) -> str:
        return self.name


def register_graph_op(cls: type) -> type:
    """Class decorator: add a graph op kind to `GRAPH_OPS` (names are unique)."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a `name`")
    if GRAPH_OPS.get(cls.name, cls) is not cls:
        raise TypeError(f"graph op {cls.name!r} is declared twice")
    GRAPH_OPS[cls.name] = cls
    register_op_family(cls.name, cls.viz_family)
    return cls


def check_graph_ops() -> None:
    """Refuse a graph op kind without a shape rule, a way to run, or a gradient rule (or a
    stated reason for none): the primitives' check, on the graph's own ops."""
    check_registry(GRAPH_OPS, base=GraphOp, kernel="run", gradient="gradient",
                   kernel_text="way to run it")


def _site(op) -> str:
    from graph.core import site_of

    return site_of(op)


def _graph_error(message: str):
    from graph.core import GraphError

    return GraphError(message)


def _same_spec(inputs) -> list[Spec]:
    return [Spec(inputs[0].shape, inputs[0].dtype)]


# -- primitives ---------------------------------------------------------------------------------


@register_graph_op
class Primitive(GraphOp):
    """A node of a registry primitive (`op.primitive`): the op's own rules, kernels and
    gradient rule, through the one execution seam."""

    name = "primitive"

    def infer(self, inputs, attrs):
        raise TypeError("a primitive node's specs come from its op's rule (GraphFrontend)")

    def run(self, run, op, inputs):
        primitive = op.primitive
        if getattr(primitive, "seed", None) is not None:
            primitive = run.reseeded(primitive)
        result = run_op(primitive, inputs)[1]  # unknown shapes are checked now
        return result if type(result) is tuple else (result,)

    def gradient(self, op, cotangents, needs):
        primitive = op.primitive
        if primitive.vjp is None:  # e.g. argmax: no gradient flows back
            return [None] * len(op.inputs)
        if any(t.shape.ndims is None for t in (*op.inputs, *op.outputs)):
            return _gradient_of_unknown_rank(op, cotangents, needs)
        return apply_vjp(primitive, cotangents, op.inputs, op.outputs,
                         [Spec(t.shape, t.dtype) for t in op.inputs],
                         [Spec(t.shape, t.dtype) for t in op.outputs], needs)


PRIMITIVE = Primitive()


def _gradient_of_unknown_rank(op, cotangents, needs) -> list:
    """`apply_vjp` for a node with an input or output of unknown rank: the rule runs on the
    symbolic values, and each gradient is summed back to its input's shape when the graph runs
    (`SumToShapeOf`), since the broadcast axes are not known before. A rule that needs a rank
    it cannot know gets a clear error naming the node."""
    from framework.errors import DualgraphError
    from framework.ops import F

    primitive = op.primitive
    if len(op.outputs) == 1:
        g, out = cotangents[0], op.outputs[0]
    else:
        g = tuple(c if c is not None else F.zeros_like(o) for c, o in zip(cotangents, op.outputs))
        out = tuple(op.outputs)
    try:
        if primitive.vjp_takes_needs:
            grads = primitive.vjp(g, tuple(op.inputs), out, tuple(needs))
        else:
            grads = primitive.vjp(g, tuple(op.inputs), out)
    except (DualgraphError, ValueError) as error:
        unknown = [t.name for t in (*op.inputs, *op.outputs) if t.shape.ndims is None]
        problem = getattr(error, "problem", str(error))
        raise _graph_error(f"cannot differentiate {op.name!r} (created at {_site(op)}): its "
                           f"gradient needs shapes, and {unknown[0]!r} has an unknown rank "
                           f"({problem}). Give the placeholder it comes from a shape, e.g. "
                           "tf.placeholder(tf.float32, [None, 3]), or call x.set_shape(...)"
                           ) from None
    if type(grads) is not tuple and type(grads) is not list:
        grads = (grads,)
    fitted = []
    for grad, wanted, x in zip(grads, needs, op.inputs):
        if grad is None or not wanted or x.dtype.kind != "f":
            fitted.append(None)
            continue
        if x.shape.ndims is None or grad.shape.ndims is None:
            if grad.shape != x.shape or x.shape.ndims is None:
                grad = sum_to_shape_of(grad, x)
            if grad.dtype != x.dtype:
                grad = F.cast(grad, x.dtype)
        elif grad.shape != x.shape or grad.dtype != x.dtype:
            grad = fit_gradient(grad, Spec(x.shape, x.dtype))
        fitted.append(grad)
    return fitted


@register_graph_op
class SumToShapeOf(GraphOp):
    """`grad` summed over the axes broadcasting stretched to go from `like`'s shape to its own,
    worked out when the graph runs: gradients through shapes unknown until then."""

    name = "SumToShapeOf"
    viz_family = "reduction"

    def infer(self, inputs, attrs):
        grad, like = inputs
        return [Spec.raw(like.shape, grad.dtype)]

    def run(self, run, op, inputs):
        from framework.ops import F
        from framework.shapes import broadcast_reduction_axes

        grad, like = inputs
        grad, shape = np.asarray(grad), np.shape(like)
        try:
            if np.broadcast_shapes(grad.shape, shape) != grad.shape:
                raise ValueError
        except ValueError:
            raise _graph_error(f"a gradient of shape {grad.shape} cannot come from a value of "
                               f"shape {shape} by broadcasting") from None
        dropped, stretched = broadcast_reduction_axes(grad.shape, shape)
        if stretched:
            grad = F.sum(grad, axis=stretched, keepdims=True)
        if dropped:
            grad = F.sum(grad, axis=dropped)
        return (np.asarray(grad, dtype=op.outputs[0].dtype),)

    def gradient(self, op, cotangents, needs):
        from framework.ops import F

        return [F.expand_to(cotangents[0], op.inputs[0]) if needs[0] else None, None]


def sum_to_shape_of(grad, like):
    """A `SumToShapeOf` node: `grad` folded back onto `like`'s shape when the graph runs."""
    return grad.graph.add_operation(SumToShapeOf(), [grad, like], name="SumToShapeOf").outputs[0]


# -- values -------------------------------------------------------------------------------------


@register_graph_op
class Const(GraphOp):
    """A fixed value, held in `attrs["value"]`."""

    name = "Const"
    no_gradient = "a constant"
    viz_kind = "constant"
    names_itself = True

    def infer(self, inputs, attrs):
        value = attrs["value"]
        return [Spec(value.shape, value.dtype)]

    def run(self, run, op, inputs):
        value = op.attrs["value"]
        run.shared_ids.add(id(value))  # a fetch of it returns a copy
        return (value,)


@register_graph_op
class Placeholder(GraphOp):
    """A value the run must feed; unknown dimensions are None in `attrs["shape"]`."""

    name = "Placeholder"
    no_gradient = "a fed value, an input of the graph"
    viz_kind = "input"
    names_itself = True

    def infer(self, inputs, attrs):
        if attrs["shape"] is None:  # not even the rank is known: TensorShape(None)
            return [Spec.raw(None, attrs["dtype"])]
        return [Spec(attrs["shape"], attrs["dtype"])]

    def run(self, run, op, inputs):
        raise _graph_error(f"you must feed a value for placeholder {op.name!r} (dtype "
                           f"{op.outputs[0].dtype}, shape {op.outputs[0].shape}), created at "
                           f"{_site(op)}")


@register_graph_op
class VariableV2(GraphOp):
    """A variable: its value lives in the Session, set by assigns, read when used."""

    name = "VariableV2"
    no_gradient = "a variable: gradients stop at it, the optimizer reads them there"
    viz_kind = "parameter"
    viz_family = "state"
    is_variable = True
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec(attrs["shape"], attrs["dtype"])]

    def run(self, run, op, inputs):
        return (run.variable_value(op),)


# -- assigns ------------------------------------------------------------------------------------


@register_graph_op
class Assign(GraphOp):
    """`variable = value`, staged in the run and committed when the whole run succeeds."""

    name = "Assign"
    no_gradient = "an update of a variable's state, not a function of its inputs"
    viz_family = "state"
    assigns = True
    names_itself = True

    def infer(self, inputs, attrs):
        variable, value = inputs
        if value.dtype != variable.dtype:
            raise _graph_error(f"{self.name} to {variable.op.name!r}: value has dtype "
                               f"{value.dtype}, the variable has {variable.dtype}")
        # A value of unknown rank (scaled by a fed learning rate, say) is checked in `run`.
        if not variable.shape.is_compatible_with(value.shape):
            raise _graph_error(f"{self.name} to {variable.op.name!r}: value shape {value.shape} "
                               f"does not match the variable's shape {variable.shape}")
        return [Spec(variable.shape, variable.dtype)]

    def run(self, run, op, inputs):
        variable, value = op.inputs[0].op, inputs[1]
        expected = variable.outputs[0].shape
        if np.shape(value) != expected:  # checked before any arithmetic could broadcast it
            raise _graph_error(f"{self.name} to {variable.name!r}: value of shape "
                               f"{np.shape(value)} for a variable of shape {expected} (created "
                               f"at {_site(op)})")
        value = self.new_value(run, variable, value)
        return (run.stage(variable, np.array(value, dtype=op.outputs[0].dtype)),)

    def new_value(self, run, variable, value):
        return value


@register_graph_op
class AssignAdd(Assign):
    """`variable += value`: reads the latest committed value, under the update lock."""

    name = "AssignAdd"

    def new_value(self, run, variable, value):
        run.lock_for_update()  # held since the run started, unless an executor hid the op
        return run.variable_value(variable) + value


@register_graph_op
class AssignSub(Assign):
    """`variable -= value`, as AssignAdd."""

    name = "AssignSub"

    def new_value(self, run, variable, value):
        run.lock_for_update()
        return run.variable_value(variable) - value


# -- structure ----------------------------------------------------------------------------------


@register_graph_op
class NoOp(GraphOp):
    """Does nothing: a handle that groups control dependencies (a train op, an initializer)."""

    name = "NoOp"
    no_gradient = "no outputs"
    viz_family = "control flow"
    names_itself = True

    def infer(self, inputs, attrs):
        return []

    def run(self, run, op, inputs):
        return ()


@register_graph_op
class Identity(GraphOp):
    """The same value as a new node: a name, or a handle for control dependencies."""

    name = "Identity"
    viz_family = "movement"
    names_itself = True

    def infer(self, inputs, attrs):
        return _same_spec(inputs)

    def run(self, run, op, inputs):
        return (inputs[0],)

    def gradient(self, op, cotangents, needs):
        return [cotangents[0] if needs[0] else None]


@register_graph_op
class StopGradient(Identity):
    """The same value, but gradients do not flow through it (it counts as a constant)."""

    name = "StopGradient"
    no_gradient = "stop_gradient: its input counts as a constant"
    gradient = None


@register_graph_op
class PlaceholderWithDefault(Identity):
    """Its input's value unless the run feeds one: a placeholder with a default. Its static
    shape is `attrs["shape"]` (None: unknown rank), which a fed value must fit."""

    name = "PlaceholderWithDefault"
    viz_kind = "input"

    def infer(self, inputs, attrs):
        shape, dtype = attrs["shape"], inputs[0].dtype
        return [Spec.raw(None, dtype) if shape is None else Spec(shape, dtype)]
