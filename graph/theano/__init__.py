"""A Theano-style face of the graph front-end: `import graph.theano as theano` and
`import graph.theano.tensor as T`, with Theano's names, arguments, dtypes and errors (as PyTensor
keeps them today), on the same Graph, Session, gradients and compiler as the TensorFlow 1 API.

What it has: symbolic inputs (`T.matrix`, `T.lvector`, ...), `theano.shared` variables with
`get_value` / `set_value`, `theano.function` (inputs, outputs, updates, givens,
allow_input_downcast, on_unused_input), compiled by the graph compiler (`f.compiled`,
`f.explain()`, `f.source()`, `f.draw()`), `theano.grad`, `theano.scan` (with `map`, `reduce`,
`foldl`, `foldr`), the lazy `theano.ifelse.ifelse` and the elementwise `T.switch`, `T.nnet`'s
activations and losses, and `theano.config.floatX` ('float64' by default, as Theano).

Theano builds a graph implicitly; here it is the default graph (`graph.get_default_graph()`), so
`with graph.Graph().as_default():` gives a fresh one. The shared values and every function of a
graph live in one hidden Session of that graph.

>>> import numpy as np
>>> import graph as tf
>>> import graph.theano as theano
>>> import graph.theano.tensor as T
>>> with tf.Graph().as_default():
...     x, y = T.dmatrix("x"), T.lvector("y")
...     W = theano.shared(np.zeros((2, 2)), name="W")
...     p = T.nnet.softmax(T.dot(x, W))
...     cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
...     train = theano.function([x, y], cost, updates=[(W, W - 0.5 * T.grad(cost, W))])
...     losses = [float(train([[1.0, 0.0], [0.0, 1.0]], [0, 1])) for _ in range(3)]
>>> [round(loss, 3) for loss in losses]
[0.693, 0.576, 0.486]
"""

from graph.not_built import missing_names
from graph.ops import check_graph_ops as _check_graph_ops
from graph.theano import ifelse, tensor
from graph.theano.clone import clone_replace as _clone_replace
from graph.theano.configdefaults import config
from graph.theano.function_module import (
    Function,
    MissingInputError,
    UnusedInputError,
    function,
)
from graph.theano.gradient import DisconnectedInputError, grad
from graph.theano.scan_module import foldl, foldr, map, reduce, scan  # noqa: A004
from graph.theano.var import SharedVariable, TensorVariable, as_tensor_variable, shared

_check_graph_ops()  # the Theano API's own graph ops have all of their rules too
dot = tensor.dot

__all__ = ["DisconnectedInputError", "Function", "MissingInputError", "SharedVariable",
           "TensorVariable", "UnusedInputError", "clone", "config", "dot", "foldl", "foldr",
           "function", "grad", "ifelse", "map", "reduce", "scan", "shared", "tensor"]


def clone(output, replace=None, strict=True, share_inputs=True):
    """`output` (a variable or a list) rebuilt with the variables of `replace` ({variable:
    replacement}) replaced; what does not depend on them is shared, not copied.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x, y = tensor.dscalars("x", "y")
    ...     print(clone(x * 2, replace={x: y}).eval({y: 4.0}))
    8.0
    """
    del strict, share_inputs
    many = isinstance(output, (list, tuple))
    outputs = [as_tensor_variable(o) for o in (output if many else [output])]
    mapping = {as_tensor_variable(k).tensor: as_tensor_variable(v).tensor
               for k, v in dict(replace or {}).items()}
    graph = outputs[0].tensor.graph if outputs else None
    if graph is None:
        return []
    with graph.as_default():
        results = [TensorVariable(t) for t in _clone_replace([o.tensor for o in outputs],
                                                              mapping)]
    return results if many else results[0]


__getattr__ = missing_names(__name__, "theano", "Theano", "Theano API", "Theano's")
