"""`graph.train`: TensorFlow 1's optimizers, global step and Saver.

An optimizer adds its update to the graph: `minimize(loss)` = `compute_gradients` (symbolic
gradients, `graph.gradients`) + `apply_gradients` (assign ops, grouped into one op to run).
Each `sess.run(train_op)` then performs one step, atomically: steps run from several threads
each read and write the weights and all the optimizer state at once, never in between another
step's read and write (see graph/session.py). Optimizer state (momentum accumulators,
Adam's moments and beta powers) lives in non-trainable Variables, created with zeros (or the
betas) as initial values and listed in `global_variables()`, so
`global_variables_initializer()` initializes them and `Saver` saves them. Slots are named as in
TensorFlow: `<variable>/Momentum`, `<variable>/Adam` (m) and `<variable>/Adam_1` (v),
`<variable>/RMSProp` (rms, starting at ones), `<variable>/RMSProp_1` (momentum; with
centered=True, mg and then momentum, `_2`), `<variable>/Adagrad` (the accumulator).

The update formulas are TensorFlow 1's kernels (see each class). The eager front-end follows
PyTorch's, which differ for Adam: TensorFlow folds the bias corrections into the learning rate,
lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t), and adds epsilon to sqrt(v), while PyTorch adds
epsilon to sqrt(v) / sqrt(1 - beta2^t). The two agree except where sqrt(v) is comparable to
epsilon (the first steps, tiny gradients). Plain gradient descent is the same in both.

>>> import graph as tf
>>> with tf.Graph().as_default():
...     w = tf.Variable(3.0, name="w")
...     train_op = tf.train.GradientDescentOptimizer(0.25).minimize(w * w)
...     with tf.Session() as sess:
...         sess.run(tf.global_variables_initializer())
...         for _ in range(3):
...             _ = sess.run(train_op)
...         print(sess.run(w))
0.375
"""

from __future__ import annotations

import os

import numpy as np

from framework import dtypes
from framework.checkpoint import CheckpointError, load_state, save_state
from framework.ops import F
from graph.core import GraphError, Tensor, get_default_graph, site_of
from graph.gradients import gradients
from graph.learning_rate_decay import (
    cosine_decay,
    exponential_decay,
    inverse_time_decay,
    natural_exp_decay,
    piecewise_constant,
    polynomial_decay,
)
from graph.variables import (
    Variable,
    assign,
    assign_add,
    assign_sub,
    global_variables,
    group,
    trainable_variables,
)

__all__ = [
    "AdagradOptimizer", "AdamOptimizer", "GradientDescentOptimizer", "MomentumOptimizer",
    "Optimizer", "RMSPropOptimizer", "Saver", "cosine_decay", "create_global_step",
    "exponential_decay", "get_global_step", "get_or_create_global_step", "inverse_time_decay",
    "natural_exp_decay", "piecewise_constant", "polynomial_decay",
]

GLOBAL_STEP = "global_step"


# ---------------------------------------------------------------------------------------------
# Global step


def get_global_step(graph=None):
    """The graph's global step Variable, or None if it has none.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     print(tf.train.get_global_step())
    None
    """
    steps = (graph or get_default_graph()).get_collection(GLOBAL_STEP)
    return steps[0] if steps else None


def create_global_step(graph=None):
    """A non-trainable int64 Variable named 'global_step', starting at 0.

    Pass it to `minimize(loss, global_step=...)` to count the steps taken.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     step = tf.train.create_global_step()
    ...     step.op.name, step.dtype, step.trainable
    ('global_step', dtype('int64'), False)
    """
    graph = graph or get_default_graph()
    existing = get_global_step(graph)
    if existing is not None:
        raise GraphError(f"the graph already has a global step ({existing.op.name!r}, created "
                         f"at {site_of(existing.op)})")
    with graph.as_default(), graph.name_scope("/"):
        step = Variable(np.int64(0), name="global_step", trainable=False)
    graph.add_to_collection(GLOBAL_STEP, step)
    return step


def get_or_create_global_step(graph=None):
    """The global step, created if the graph has none yet."""
    step = get_global_step(graph)
    return step if step is not None else create_global_step(graph)


# ---------------------------------------------------------------------------------------------
# Optimizers


def _check_hyperparameter(optimizer: str, what: str, value, low=0.0, low_open=False,
                          high=None, high_open=False):
    """A Python number in range, or a scalar float Tensor (checked at run time by the user)."""
    if isinstance(value, Tensor):
        # A placeholder made without a shape (a fed learning rate) is checked when run.
        if not value.shape.is_compatible_with(()) or not dtypes.is_float(value.dtype):
            raise GraphError(f"{optimizer}: {what} must be a scalar float tensor, got "
                             f"{value.name!r} of shape {value.shape} and dtype {value.dtype}")
        return value
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise GraphError(f"{optimizer}: {what} must be a number or a scalar tensor, got "
                         f"{value!r}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = high is not None and (value >= high if high_open else value > high)
    if not np.isfinite(value) or too_low or too_high:
        interval = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}" \
                   f"{')' if high_open or high is None else ']'}"
        raise GraphError(f"{optimizer}: {what} must be in {interval}, got {value!r}")
    return value


def _as_dtype_of(value, variable):
    """A hyper-parameter in the variable's dtype: numbers stay weak scalars; tensors are cast."""
    if callable(value) and not isinstance(value, Tensor):
        value = value()
    if isinstance(value, Tensor) and value.dtype != variable.dtype:
        return F.cast(value, variable.dtype)
    return value


def _one_minus(value):
    # On two Python numbers F.sub would run now and return a float64 array, which would then
    # promote float32 updates to float64.
    return 1.0 - value if isinstance(value, float) else F.sub(1, value)


class Optimizer:
    """Base class: subclasses define `_create_slots`, `_apply_dense` and maybe `_finish`.

    Use a subclass: `GradientDescentOptimizer`, `MomentumOptimizer`, `AdamOptimizer`.
    """

    def __init__(self, use_locking=False, name="Optimizer"):
        if not isinstance(name, str) or not name:
            raise GraphError(f"an optimizer name must be a non-empty string, got {name!r}")
        self._name = name
        self._use_locking = use_locking  # accepted for TensorFlow compatibility; runs are atomic
        self._slots: dict[str, dict[Variable, Variable]] = {}

    def get_name(self) -> str:
        return self._name

    # -- the public steps -----------------------------------------------------------------------

    def compute_gradients(self, loss, var_list=None):
        """[(gradient, variable)] for each trainable variable (or each of `var_list`); the
        gradient is None where the loss does not depend on the variable.

        >>> import graph as tf
        >>> with tf.Graph().as_default():
        ...     w = tf.Variable(2.0, name="w")
        ...     pairs = tf.train.GradientDescentOptimizer(0.1).compute_gradients(w * w)
        ...     with tf.Session() as sess:
        ...         sess.run(tf.global_variables_initializer())
        ...         print(sess.run(pairs[0][0]))
        4.0
        """
        if not isinstance(loss, Tensor):
            raise GraphError(f"{self._name}: the loss must be a graph Tensor, got {loss!r}")
        if not dtypes.is_float(loss.dtype):
            raise GraphError(f"{self._name}: the loss {loss.name!r} must be floating point, got "
                             f"dtype {loss.dtype}")
        variables = self._variables(loss.graph, var_list)
        grads = gradients(loss, variables)
        return list(zip(grads, variables))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """One op that applies each gradient to its variable (and adds 1 to `global_step`).

        Pairs whose gradient is None are skipped; if every gradient is None, raises.
        """
        pairs = self._check_pairs(grads_and_vars)
        if global_step is not None and not (isinstance(global_step, Variable)
                                            and global_step.dtype.kind in "iu"):
            raise GraphError(f"{self._name}: global_step must be an integer Variable, got "
                             f"{global_step!r}")
        graph = pairs[0][1].graph
        name = name or self._name
        with graph.as_default():
            with graph.name_scope("/"):
                self._create_slots([v for _, v in pairs])
            outer = graph.get_name_scope()
            scope = f"{outer}/{name}" if outer else name
            with graph.name_scope(scope + "/"):  # the ops of this step, under one scope
                self._prepare()
                # The session reads a variable when the op using it runs: every gradient must
                # be computed before any update, whatever the order of var_list.
                with graph.control_dependencies([g for g, _ in pairs]):
                    updates = [self._apply_dense(g, v) for g, v in pairs]
                finish = self._finish(updates)
            if global_step is None:
                return group(*finish, name=name)
            with graph.control_dependencies(finish):
                return assign_add(global_step, np.ones((), global_step.dtype), name=name).op

    def minimize(self, loss, global_step=None, var_list=None, name=None):
        """`compute_gradients` then `apply_gradients`: the op that takes one training step.

        >>> import graph as tf
        >>> with tf.Graph().as_default():
        ...     w = tf.Variable(1.0, name="w")
        ...     step = tf.train.create_global_step()
        ...     train_op = tf.train.GradientDescentOptimizer(0.5).minimize(w * w, step)
        ...     with tf.Session() as sess:
        ...         sess.run(tf.global_variables_initializer())
        ...         sess.run(train_op)
        ...         w_value, step_value = sess.run([w, step])
        ...         print(float(w_value), int(step_value))
        0.0 1
        """
        pairs = self.compute_gradients(loss, var_list)
        if all(g is None for g, _ in pairs):
            names = [v.op.name for _, v in pairs]
            raise GraphError(f"{self._name}: no gradients provided for any variable: the loss "
                             f"{loss.name!r} does not depend on any of {names} through "
                             f"differentiable ops")
        return self.apply_gradients(pairs, global_step, name)

    # -- slots ----------------------------------------------------------------------------------

    def get_slot_names(self) -> list:
        return sorted(self._slots)

    def get_slot(self, var, name):
        """The slot Variable `name` (e.g. 'm', 'momentum') kept for `var`, or None."""
        return self._slots.get(name, {}).get(var)

    def variables(self) -> list:
        """The optimizer's own Variables (slots and extra state), in creation order."""
        return [slot for slots in self._slots.values() for slot in slots.values()] + \
            self._extra_variables()

    def _zeros_slot(self, var, slot_name, op_name) -> Variable:
        return self._filled_slot(var, slot_name, op_name, 0.0)

    def _filled_slot(self, var, slot_name, op_name, value) -> Variable:
        """The slot `slot_name` of `var`, made (named `<var>/<op_name>`) filled with `value`."""
        slots = self._slots.setdefault(slot_name, {})
        if var not in slots:
            # On its variable's device, whatever scope minimize() runs under, as TF1 puts it.
            graph = var.graph
            with graph.device(None), graph.device(var.op.device or None):
                slots[var] = Variable(np.full(var.shape, value, var.dtype),
                                      name=f"{var.op.name}/{op_name}", trainable=False)
        return slots[var]

    # -- for subclasses -------------------------------------------------------------------------

    def _create_slots(self, var_list) -> None:
        pass

    def _prepare(self) -> None:
        pass

    def _apply_dense(self, grad, var):
        raise NotImplementedError

    def _finish(self, update_ops) -> list:
        return update_ops

    def _extra_variables(self) -> list:
        return []

    # -- checks ---------------------------------------------------------------------------------

    def _variables(self, graph, var_list) -> list:
        variables = trainable_variables(graph) if var_list is None else list(var_list)
        if not variables:
            raise GraphError(f"{self._name}: no variables to optimize (the graph has no "
                             f"trainable variables and var_list is empty)")
        for v in variables:
            if not isinstance(v, Variable):
                raise GraphError(f"{self._name}: var_list must hold Variables, got {v!r}")
            if not dtypes.is_float(v.dtype):
                raise GraphError(f"{self._name}: variable {v.op.name!r} has dtype {v.dtype}; "
                                 f"only floating-point variables can be trained")
        return variables

    def _check_pairs(self, grads_and_vars) -> list:
        pairs = list(grads_and_vars)
        for pair in pairs:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise GraphError(f"{self._name}: grads_and_vars must hold (gradient, variable) "
                                 f"pairs, got {pair!r}")
            grad, var = pair
            if not isinstance(var, Variable):
                raise GraphError(f"{self._name}: {var!r} is not a Variable")
            if grad is not None and (not isinstance(grad, Tensor) or grad.dtype != var.dtype
                                     or grad.shape != var.shape):
                raise GraphError(f"{self._name}: the gradient {grad!r} does not match variable "
                                 f"{var.op.name!r} (shape {var.shape}, dtype {var.dtype})")
        present = [(g, v) for g, v in pairs if g is not None]
        if not present:
            names = [v.op.name for _, v in pairs]
            raise GraphError(f"{self._name}: no gradients provided for any variable {names}")
        return present


class GradientDescentOptimizer(Optimizer):
    """var -= learning_rate * grad.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable([1.0, -1.0], name="w")
    ...     train_op = tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(w * w))
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         sess.run(train_op)
    ...         print(sess.run(w))
    [ 0.8 -0.8]
    """

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = _check_hyperparameter(name, "learning_rate", learning_rate)

    def _apply_dense(self, grad, var):
        lr = _as_dtype_of(self._learning_rate, var)
        return assign_sub(var, F.mul(grad, lr)).op


class MomentumOptimizer(Optimizer):
    """TensorFlow 1's momentum (ApplyMomentum), with an accumulator slot per variable::

        accumulation = momentum * accumulation + grad
        var -= learning_rate * accumulation                              (use_nesterov=False)
        var -= learning_rate * (grad + momentum * accumulation)          (use_nesterov=True)

    The accumulator is not scaled by the learning rate, so changing the learning rate mid-run
    changes the size of the steps at once (PyTorch's SGD with momentum does the same).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable(1.0, name="w")
    ...     train_op = tf.train.MomentumOptimizer(0.1, 0.9).minimize(w * w)
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         for _ in range(2):
    ...             _ = sess.run(train_op)
    ...         print(round(float(sess.run(w)), 4))
    0.46
    """

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum",
                 use_nesterov=False):
        super().__init__(use_locking, name)
        self._learning_rate = _check_hyperparameter(name, "learning_rate", learning_rate)
        self._momentum = _check_hyperparameter(name, "momentum", momentum)
        self._use_nesterov = bool(use_nesterov)

    def _create_slots(self, var_list) -> None:
        for var in var_list:
            self._zeros_slot(var, "momentum", self._name)

    def _apply_dense(self, grad, var):
        lr = _as_dtype_of(self._learning_rate, var)
        momentum = _as_dtype_of(self._momentum, var)
        accumulation = self.get_slot(var, "momentum")
        new_accumulation = assign(accumulation, F.add(F.mul(accumulation, momentum), grad))
        if self._use_nesterov:
            step = F.mul(F.add(grad, F.mul(new_accumulation, momentum)), lr)
        else:
            step = F.mul(new_accumulation, lr)
        return assign_sub(var, step).op


class AdamOptimizer(Optimizer):
    """Adam with TensorFlow 1's update (ApplyAdam). At step t = 1, 2, ...::

        lr_t = learning_rate * sqrt(1 - beta2^t) / (1 - beta1^t)
        m = m + (grad - m) * (1 - beta1)              (= beta1 * m + (1 - beta1) * grad)
        v = v + (grad^2 - v) * (1 - beta2)
        var -= lr_t * m / (sqrt(v) + epsilon)

    m and v are slots per variable (`<var>/Adam`, `<var>/Adam_1`); beta1^t and beta2^t are two
    non-trainable Variables, `beta1_power` and `beta2_power`, which start at beta1 and beta2
    and are multiplied by them after each step. See the module docstring for how this differs
    from the eager (PyTorch) Adam.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable([1.0, -2.0], name="w", dtype=tf.float32)
    ...     train_op = tf.train.AdamOptimizer(0.1).minimize(tf.reduce_sum(w * w))
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         sess.run(train_op)
    ...         print(sess.run(w).round(4))  # the first step moves each weight by about lr
    [ 0.9 -1.9]
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 use_locking=False, name="Adam"):
        super().__init__(use_locking, name)
        self._learning_rate = _check_hyperparameter(name, "learning_rate", learning_rate)
        self._beta1 = _check_hyperparameter(name, "beta1", beta1, high=1.0, high_open=True)
        self._beta2 = _check_hyperparameter(name, "beta2", beta2, high=1.0, high_open=True)
        self._epsilon = _check_hyperparameter(name, "epsilon", epsilon)
        self._beta_powers = None

    def _create_slots(self, var_list) -> None:
        if self._beta_powers is None:
            first = min(var_list, key=lambda v: v.op.name)  # a stable choice of dtype
            self._beta_powers = tuple(
                Variable(np.asarray(beta, first.dtype) if not isinstance(beta, Tensor) else beta,
                         name=name, trainable=False, dtype=first.dtype)
                for beta, name in ((self._beta1, "beta1_power"), (self._beta2, "beta2_power")))
        for var in var_list:
            self._zeros_slot(var, "m", self._name)
            self._zeros_slot(var, "v", f"{self._name}_1")

    def _get_beta_accumulators(self):
        """(beta1_power, beta2_power), TensorFlow's name for them."""
        return self._beta_powers

    def _extra_variables(self) -> list:
        return list(self._beta_powers or ())

    def _apply_dense(self, grad, var):
        beta1_power, beta2_power = (_as_dtype_of(p, var) for p in self._beta_powers)
        lr = _as_dtype_of(self._learning_rate, var)
        beta1 = _as_dtype_of(self._beta1, var)
        beta2 = _as_dtype_of(self._beta2, var)
        epsilon = _as_dtype_of(self._epsilon, var)
        lr_t = F.div(F.mul(lr, F.sqrt(F.sub(1, beta2_power))), F.sub(1, beta1_power))
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        m_t = assign(m, F.add(m, F.mul(F.sub(grad, m), _one_minus(beta1))))
        v_t = assign(v, F.add(v, F.mul(F.sub(F.square(grad), v), _one_minus(beta2))))
        step = F.div(F.mul(m_t, lr_t), F.add(F.sqrt(v_t), epsilon))
        return assign_sub(var, step).op

    def _finish(self, update_ops) -> list:
        beta1_power, beta2_power = self._beta_powers
        # After every variable has read the old powers (they are read once per run).
        with get_default_graph().control_dependencies(update_ops):
            advance = [assign(power, F.mul(power, _as_dtype_of(beta, power))).op
                       for power, beta in ((beta1_power, self._beta1),
                                           (beta2_power, self._beta2))]
        return list(update_ops) + advance


class RMSPropOptimizer(Optimizer):
    """RMSProp with TensorFlow 1's update (ApplyRMSProp, ApplyCenteredRMSProp)::

        rms = rms + (grad^2 - rms) * (1 - decay)
        mg = mg + (grad - mg) * (1 - decay)                          (centered=True only)
        momentum = momentum * momentum_coefficient + learning_rate * grad / sqrt(denominator)
        var -= momentum

    where denominator = rms + epsilon, or rms - mg^2 + epsilon when centered. Epsilon sits
    inside the square root (PyTorch's RMSprop adds it outside), and rms starts at ones, not
    zeros, as in TensorFlow. Slots: `rms`, `mg` (centered), `momentum`.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable(1.0, name="w")
    ...     train_op = tf.train.RMSPropOptimizer(0.1).minimize(w * w)
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         sess.run(train_op)
    ...         print(round(float(sess.run(w)), 4))  # 1 - 0.1 * 2 / sqrt(1 + 0.1 * 3)
    0.8246
    """

    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10,
                 use_locking=False, centered=False, name="RMSProp"):
        super().__init__(use_locking, name)
        self._learning_rate = _check_hyperparameter(name, "learning_rate", learning_rate)
        self._decay = _check_hyperparameter(name, "decay", decay, high=1.0)
        self._momentum = _check_hyperparameter(name, "momentum", momentum)
        self._epsilon = _check_hyperparameter(name, "epsilon", epsilon)
        self._centered = bool(centered)

    def _create_slots(self, var_list) -> None:
        for var in var_list:
            self._filled_slot(var, "rms", self._name, 1.0)
            if self._centered:
                self._zeros_slot(var, "mg", f"{self._name}_1")
            self._zeros_slot(var, "momentum", f"{self._name}_{2 if self._centered else 1}")

    def _apply_dense(self, grad, var):
        lr = _as_dtype_of(self._learning_rate, var)
        decay = _as_dtype_of(self._decay, var)
        momentum = _as_dtype_of(self._momentum, var)
        epsilon = _as_dtype_of(self._epsilon, var)
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        rms_t = assign(rms, F.add(rms, F.mul(F.sub(F.square(grad), rms), _one_minus(decay))))
        denominator = rms_t
        if self._centered:
            mg = self.get_slot(var, "mg")
            mg_t = assign(mg, F.add(mg, F.mul(F.sub(grad, mg), _one_minus(decay))))
            denominator = F.sub(rms_t, F.square(mg_t))
        step = F.div(F.mul(grad, lr), F.sqrt(F.add(denominator, epsilon)))
        mom_t = assign(mom, F.add(F.mul(mom, momentum), step))
        return assign_sub(var, mom_t).op


class AdagradOptimizer(Optimizer):
    """Adagrad with TensorFlow 1's update (ApplyAdagrad)::

        accumulator = accumulator + grad^2
        var -= learning_rate * grad / sqrt(accumulator)

    The accumulator slot (`<var>/Adagrad`) starts at `initial_accumulator_value`, which must
    be positive (it keeps the first division finite).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable(1.0, name="w")
    ...     train_op = tf.train.AdagradOptimizer(0.5, initial_accumulator_value=12.0).minimize(
    ...         w * w)
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         sess.run(train_op)
    ...         print(sess.run(w))  # 1 - 0.5 * 2 / sqrt(12 + 4)
    0.75
    """

    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False,
                 name="Adagrad"):
        super().__init__(use_locking, name)
        self._learning_rate = _check_hyperparameter(name, "learning_rate", learning_rate)
        self._initial_accumulator_value = _check_hyperparameter(
            name, "initial_accumulator_value", initial_accumulator_value, low_open=True)
        if isinstance(self._initial_accumulator_value, Tensor) or \
                callable(self._initial_accumulator_value):
            raise GraphError(f"{name}: initial_accumulator_value must be a positive number, "
                             f"got {initial_accumulator_value!r}")

    def _create_slots(self, var_list) -> None:
        for var in var_list:
            self._filled_slot(var, "accumulator", self._name, self._initial_accumulator_value)

    def _apply_dense(self, grad, var):
        lr = _as_dtype_of(self._learning_rate, var)
        accumulator = self.get_slot(var, "accumulator")
        accumulator_t = assign(accumulator, F.add(accumulator, F.square(grad)))
        return assign_sub(var, F.mul(F.mul(grad, lr), F.rsqrt(accumulator_t))).op


# ---------------------------------------------------------------------------------------------
# Saver


class Saver:
    """Saves and restores Variables by name, in the shared checkpoint format.

    var_list: None (every global variable existing now, optimizer slots included), a list of
    Variables, or a dict {checkpoint name: Variable} to store them under other names. A
    checkpoint holds one array per variable, keyed by its name ("dense/kernel"), written with
    `framework.checkpoint.save_state`, so any front-end can read it with `load_state`.

    >>> import os, tempfile
    >>> import graph as tf
    >>> path = os.path.join(tempfile.mkdtemp(), "model.ckpt")
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable([1.0, 2.0], name="w")
    ...     saver = tf.train.Saver()
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         saved_to = saver.save(sess, path)
    ...     with tf.Session() as sess:
    ...         saver.restore(sess, path)
    ...         print(sess.run(w))
    [1. 2.]
    """

    def __init__(self, var_list=None):
        if var_list is None:
            var_list = global_variables()
            if not var_list:
                raise GraphError("Saver: there are no variables to save")
        if isinstance(var_list, dict):
            items = list(var_list.items())
        else:
            items = [(v.op.name if isinstance(v, Variable) else None, v) for v in var_list]
        self._variables: dict[str, Variable] = {}
        for name, var in items:
            if not isinstance(var, Variable):
                raise GraphError(f"Saver: var_list must hold Variables, got {var!r}")
            if not isinstance(name, str) or not name:
                raise GraphError(f"Saver: checkpoint names must be non-empty strings, got "
                                 f"{name!r}")
            if name in self._variables:
                raise GraphError(f"Saver: two variables would be saved under the name {name!r}")
            self._variables[name] = var

    @property
    def var_names(self) -> list:
        return list(self._variables)

    def save(self, sess, save_path, global_step=None) -> str:
        """Write the variables' current values in `sess` to `save_path` (with "-<step>" added
        if `global_step` is given); returns the path written."""
        path = os.fspath(save_path)
        if global_step is not None:
            step = sess.run(global_step) if isinstance(global_step, Tensor) else global_step
            path = f"{path}-{int(step)}"
        values = sess.variable_values()
        state = {}
        for name, var in self._variables.items():
            if var.graph is not sess.graph:
                raise GraphError(f"Saver.save: variable {var.op.name!r} is not in the session's "
                                 f"graph")
            if var.op.name not in values:
                raise GraphError(f"Saver.save: variable {var.op.name!r} (created at "
                                 f"{site_of(var.op)}) is not initialized in this session")
            state[name] = values[var.op.name]
        save_state(state, path)
        return path

    def restore(self, sess, save_path) -> None:
        """Set the variables in `sess` from the checkpoint at `save_path`.

        Every name, shape and dtype is checked before any variable changes: a checkpoint that
        does not fit leaves the session as it was.
        """
        path = os.fspath(save_path)
        if not os.path.exists(path):
            raise CheckpointError(f"Saver.restore: checkpoint {path!r} does not exist")
        state = load_state(path)
        missing = [name for name in self._variables if name not in state]
        if missing:
            raise CheckpointError(f"Saver.restore: checkpoint {path!r} has no value for "
                                  f"{', '.join(map(repr, missing))}; it holds "
                                  f"{sorted(map(str, state))}")
        for name, var in self._variables.items():
            value = state[name]
            if not isinstance(value, (np.ndarray, np.generic)):
                raise CheckpointError(f"Saver.restore: checkpoint {path!r} entry {name!r} is a "
                                      f"{type(value).__name__}, not an array")
            value = np.asarray(value)
            if value.shape != var.shape or value.dtype != var.dtype:
                raise CheckpointError(
                    f"Saver.restore: checkpoint {path!r} has {name!r} with shape {value.shape} "
                    f"and dtype {value.dtype}, but variable {var.op.name!r} (created at "
                    f"{site_of(var.op)}) has shape {var.shape} and dtype {var.dtype}")
        for name, var in self._variables.items():
            sess.set_variable(var, state[name])


# TensorFlow 1's tf.train names that this front-end does not build: each says so when used.
_NOT_BUILT = {
    "AdadeltaOptimizer", "AdagradDAOptimizer", "FtrlOptimizer", "ProximalAdagradOptimizer",
    "ProximalGradientDescentOptimizer", "SyncReplicasOptimizer", "cosine_decay_restarts",
    "linear_cosine_decay", "noisy_linear_cosine_decay", "MonitoredTrainingSession",
    "MonitoredSession", "Supervisor",
    "ExponentialMovingAverage", "Coordinator", "QueueRunner", "start_queue_runners",
    "shuffle_batch", "batch", "string_input_producer", "Checkpoint", "CheckpointManager",
}


def __getattr__(name):
    if name in _NOT_BUILT:
        raise AttributeError(f"tf.train.{name} is not built in dualgraph's graph front-end; it "
                             f"has {', '.join(__all__)}")
    raise AttributeError(f"module 'graph.train' has no attribute {name!r}")
