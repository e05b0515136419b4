"""`graph.summary`: TensorFlow 1's `tf.summary`, summary ops and the `FileWriter` that puts
them in TensorBoard's event files.

A summary op evaluates, in `sess.run`, to a serialized `Summary` protocol buffer (Python
`bytes`), as in TensorFlow 1; `FileWriter.add_summary(those_bytes, step)` writes it. The
protocol buffers and the event-file format are tensorboardX's (the library
`eager.utils.tensorboard` writes with too), so TensorBoard reads the files as its own.

Tags follow TensorFlow: `scalar("loss", x)` inside `name_scope("train")` is tagged
"train/loss", a second `scalar("loss", ...)` "loss_1"; characters a tag may not hold become
"_". Every summary op joins the graph's `tf.GraphKeys.SUMMARIES` collection (or the
`collections` given), which `merge_all()` merges into one op.

>>> import os, tempfile
>>> import graph as tf
>>> logdir = tempfile.mkdtemp()
>>> with tf.Graph().as_default() as g:
...     x = tf.placeholder(tf.float32, ())
...     tf.summary.scalar("loss", x * 2.0).name
...     merged = tf.summary.merge_all()
...     writer = tf.summary.FileWriter(logdir, g)
...     with tf.Session() as sess:
...         for step in range(3):
...             writer.add_summary(sess.run(merged, {x: step}), step)
...     writer.close()
'loss:0'
>>> [name.startswith("events.out.tfevents.") for name in os.listdir(logdir)]
[True]
"""

from __future__ import annotations

import atexit
import itertools
import numbers
import os
import re
import threading
import time
import weakref

import numpy as np

from framework.ops.registry import Spec
from graph.core import GraphError, Operation, Tensor, constant, get_default_graph, site_of
from graph.ops import Const, GraphOp, Placeholder, register_graph_op

try:
    from google.protobuf.message import DecodeError
    from tensorboardX import summary as _tbx_summary
    from tensorboardX.event_file_writer import EventsWriter
    from tensorboardX.proto.attr_value_pb2 import AttrValue
    from tensorboardX.proto.event_pb2 import Event, SessionLog
    from tensorboardX.proto.graph_pb2 import GraphDef
    from tensorboardX.proto.node_def_pb2 import NodeDef
    from tensorboardX.proto.summary_pb2 import HistogramProto, Summary
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboardX.proto.types_pb2 import DataType
    from tensorboardX.proto.versions_pb2 import VersionDef
    from tensorboardX.record_writer import directory_check
except ImportError as error:  # pragma: no cover - a dependency of the project
    raise ImportError("graph.summary writes TensorBoard event files with tensorboardX, which is "
                      "not installed: pip install tensorboardX") from error

__all__ = ["Event", "FileWriter", "SessionLog", "Summary", "histogram", "merge", "merge_all",
           "scalar"]

SUMMARIES = "summaries"  # tf.GraphKeys.SUMMARIES
STRING = np.dtype(object)  # the dtype of a summary tensor: one serialized protocol buffer

_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w.]")


def _clean_tag(name) -> str:
    if not isinstance(name, str) or not name:
        raise GraphError(f"a summary name must be a non-empty string, got {name!r}")
    return _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/") or "_"


def _summary_op(kind, name, values, collections, family, attrs=None) -> Tensor:
    """Add a summary node under the scope `name` (tagged like TensorFlow's summary_scope)."""
    graph = values[0].graph if values and isinstance(values[0], Tensor) else \
        get_default_graph()
    name = _clean_tag(name)
    base = name if family is None else f"{_clean_tag(family)}/{name}"
    with graph.as_default(), graph.name_scope(base) as scope:
        tag = scope.rstrip("/") if family is None else f"{_clean_tag(family)}/{scope.rstrip('/')}"
        op = graph.add_operation(kind, list(values), name=scope,
                                 attrs={"tag": tag, **(attrs or {})})
    summary = op.outputs[0]
    for collection in _collections(collections):
        graph.add_to_collection(collection, summary)
    return summary


def _collections(collections) -> list:
    if collections is None:
        return [SUMMARIES]
    if isinstance(collections, str):
        raise GraphError(f"collections must be a list of collection names, got the string "
                         f"{collections!r}; write [{collections!r}]")
    return list(dict.fromkeys(collections))


def _real_tensor(function: str, value) -> Tensor:
    tensor = value if isinstance(value, Tensor) else constant(value)
    if tensor.dtype.kind not in "biuf":
        raise GraphError(f"{function}: the values must be real numbers, got {tensor.name!r} of "
                         f"dtype {tensor.dtype}")
    return tensor


def _serialized(summary) -> np.ndarray:
    """A Summary as the 0-d array a summary op yields (sess.run returns its bytes)."""
    result = np.empty((), dtype=STRING)
    result[()] = summary.SerializeToString()
    return result


def _where(op: Operation) -> str:
    return f"{op.name!r} created at {site_of(op)}"


# ---------------------------------------------------------------------------------------------
# The summary ops


@register_graph_op
class ScalarSummary(GraphOp):
    """A Summary holding one number under `attrs["tag"]`."""

    name = "ScalarSummary"
    no_gradient = "a summary: bytes for TensorBoard, not a function to differentiate"
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec((), STRING)]

    def run(self, run, op, inputs):
        value = np.asarray(inputs[0])
        if value.size != 1:  # an unknown shape known now
            raise GraphError(f"tf.summary.scalar({op.attrs['tag']!r}) needs one number, got "
                             f"shape {value.shape}, in {_where(op)}")
        number = float(value.reshape(()))
        return (_serialized(Summary(value=[Summary.Value(tag=op.attrs["tag"],
                                                         simple_value=number)])),)


def _tensorflow_buckets() -> list:
    """TensorBoard's default bucket edges: +-1e-12 growing by 10% to +-1e20, and 0 (the
    buckets TensorFlow's histogram summaries use)."""
    edges, edge = [], 1e-12
    while edge < 1e20:
        edges.append(edge)
        edge *= 1.1
    return [-e for e in reversed(edges)] + [0.0] + edges


_BUCKETS = np.array(_tensorflow_buckets())


@register_graph_op
class HistogramSummary(GraphOp):
    """A Summary holding the histogram of its input's values under `attrs["tag"]`."""

    name = "HistogramSummary"
    no_gradient = "a summary: bytes for TensorBoard, not a function to differentiate"
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec((), STRING)]

    def run(self, run, op, inputs):
        values = np.asarray(inputs[0], dtype=np.float64).reshape(-1)
        tag = op.attrs["tag"]
        if not np.isfinite(values).all():
            bad = values[~np.isfinite(values)][0]
            raise GraphError(f"tf.summary.histogram({tag!r}): the values hold {bad}, and a "
                             f"histogram needs finite values, in {_where(op)}")
        if values.size == 0:
            histogram = HistogramProto(min=0.0, max=0.0, num=0, sum=0.0, sum_squares=0.0)
        else:
            histogram = _tbx_summary.make_histogram(values, _BUCKETS)
        return (_serialized(Summary(value=[Summary.Value(tag=tag, histo=histogram)])),)


@register_graph_op
class MergeSummary(GraphOp):
    """One Summary with the values of all its input summaries (their tags must differ)."""

    name = "MergeSummary"
    no_gradient = "a summary: bytes for TensorBoard, not a function to differentiate"
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec((), STRING)]

    def run(self, run, op, inputs):
        merged = Summary()
        tags = set()
        for tensor, value in zip(op.inputs, inputs):
            part = _parse_summary(value[()] if isinstance(value, np.ndarray) else value,
                                  lambda problem, t=tensor: f"tf.summary.merge: input "
                                  f"{t.name!r} {problem}, in {_where(op)}")
            for item in part.value:
                if item.tag in tags:
                    raise GraphError(f"tf.summary.merge: the tag {item.tag!r} comes twice "
                                     f"(again from {tensor.name!r}), in {_where(op)}")
                tags.add(item.tag)
            merged.value.extend(part.value)
        return (_serialized(merged),)


def _parse_summary(data, problem):
    if not isinstance(data, (bytes, bytearray)):
        raise GraphError(problem(f"is a {type(data).__name__}, not a serialized Summary"))
    try:
        return Summary.FromString(bytes(data))
    except DecodeError:
        raise GraphError(problem("is not a serialized Summary protocol buffer")) from None


def _summary_inputs(function: str, inputs) -> list:
    tensors = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for tensor in tensors:
        if not isinstance(tensor, Tensor) or tensor.dtype != STRING or tensor.ndim != 0:
            raise GraphError(f"{function}: inputs must be summary tensors (what tf.summary.* "
                             f"return), got {tensor!r}")
    if tensors and any(t.graph is not tensors[0].graph for t in tensors):
        raise GraphError(f"{function}: the summaries belong to different graphs")
    return tensors


def scalar(name, tensor, collections=None, family=None):
    """A summary of one number (a scalar tensor of any real dtype), tagged `name`.

    >>> import graph as tf
    >>> from tensorboardX.proto.summary_pb2 import Summary
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     data = sess.run(tf.summary.scalar("accuracy", tf.constant(0.75)))
    >>> Summary.FromString(data).value[0].simple_value
    0.75
    """
    value = _real_tensor("tf.summary.scalar", tensor)
    if value.ndim not in (0, None) and value.shape.num_elements() != 1:
        raise GraphError(f"tf.summary.scalar({name!r}) needs a scalar tensor, got "
                         f"{value.name!r} of shape {value.shape}")
    return _summary_op(ScalarSummary(), name, [value], collections, family)


def histogram(name, values, collections=None, family=None):
    """A summary of the distribution of `values` (any shape, real numbers, finite when run),
    in TensorBoard's default buckets.

    >>> import graph as tf
    >>> from tensorboardX.proto.summary_pb2 import Summary
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     data = sess.run(tf.summary.histogram("weights", tf.constant([1.0, 2.0, 2.0])))
    >>> histogram = Summary.FromString(data).value[0].histo
    >>> histogram.num, histogram.min, histogram.max, histogram.sum
    (3.0, 1.0, 2.0, 5.0)
    """
    value = _real_tensor("tf.summary.histogram", values)
    return _summary_op(HistogramSummary(), name, [value], collections, family)


def merge(inputs, collections=None, name=None):
    """One summary holding the values of all `inputs` (summary tensors with distinct tags).

    Added to `collections` if given (not to SUMMARIES by default, as in TensorFlow).
    """
    tensors = _summary_inputs("tf.summary.merge", inputs)
    graph = tensors[0].graph if tensors else get_default_graph()
    op = graph.add_operation(MergeSummary(), tensors, name=name or "Merge/MergeSummary")
    for collection in [] if collections is None else _collections(collections):
        graph.add_to_collection(collection, op.outputs[0])
    return op.outputs[0]


def merge_all(key=SUMMARIES, scope=None, name=None):
    """All summaries of the collection `key` (those whose name matches `scope`, if given)
    merged into one summary op; None if there are none, as in TensorFlow."""
    summaries = get_default_graph().get_collection(key)
    if scope is not None:
        summaries = [s for s in summaries if re.match(scope, s.name)]
    if not summaries:
        return None
    return merge(summaries, name=name)


# ---------------------------------------------------------------------------------------------
# The graph as a GraphDef

# TensorFlow's names for our dtypes; a dtype not listed simply gets no dtype attribute.
_TF_DTYPES = {
    "float16": "DT_HALF", "float32": "DT_FLOAT", "float64": "DT_DOUBLE", "bool": "DT_BOOL",
    "int8": "DT_INT8", "int16": "DT_INT16", "int32": "DT_INT32", "int64": "DT_INT64",
    "uint8": "DT_UINT8", "object": "DT_STRING",
}


def _shape_proto(shape) -> TensorShapeProto:
    if shape.ndims is None:
        return TensorShapeProto(unknown_rank=True)
    return TensorShapeProto(dim=[TensorShapeProto.Dim(size=-1 if d is None else int(d))
                                 for d in shape])


def _input_name(tensor: Tensor) -> str:
    return tensor.op.name if tensor.value_index == 0 else \
        f"{tensor.op.name}:{tensor.value_index}"


def graph_def(graph) -> GraphDef:
    """`graph` as TensorBoard's GraphDef: a node per operation with its name, type, inputs
    ("name", "name:1", "^name" for a control input), output shapes and dtype, and the user's
    line that created it (`site`)."""
    nodes = []
    for op in graph.get_operations():
        attr = {}
        if op.outputs:
            shapes = [_shape_proto(t.shape) for t in op.outputs]
            attr["_output_shapes"] = AttrValue(list=AttrValue.ListValue(shape=shapes))
            tf_dtype = _TF_DTYPES.get(op.outputs[0].dtype.name)
            if tf_dtype is not None:
                # TF's GraphDef: ops that make a value hold its type as 'dtype', others as 'T'
                makes_value = op.kind.is_variable or isinstance(op.kind, (Placeholder, Const))
                attr["dtype" if makes_value else "T"] = AttrValue(type=DataType.Value(tf_dtype))
        if isinstance(op.kind, Placeholder):
            attr["shape"] = AttrValue(shape=_shape_proto(op.outputs[0].shape))
        if op.site is not None:
            attr["site"] = AttrValue(s=site_of(op).encode("utf-8"))
        inputs = [_input_name(t) for t in op.inputs] + [f"^{c.name}" for c in op.control_inputs]
        nodes.append(NodeDef(name=op.name, op=op.type, input=inputs, attr=attr))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))


# ---------------------------------------------------------------------------------------------
# FileWriter

_FILE_NUMBERS = itertools.count()
_FILE_NUMBERS_LOCK = threading.Lock()
_OPEN_WRITERS: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _flush_open_writers() -> None:
    """A script that ends without close() still leaves its events on disk."""
    for writer in list(_OPEN_WRITERS):
        writer.flush()


def _check_step(global_step):
    if global_step is None:
        return None
    if isinstance(global_step, Tensor):
        raise GraphError(f"global_step must be a number, not the tensor {global_step.name!r}; "
                         f"pass sess.run(global_step) (or tf.train.global_step(sess, step))")
    if isinstance(global_step, bool) or not isinstance(global_step, (numbers.Integral,
                                                                     np.integer)):
        if isinstance(global_step, (float, np.floating)) and float(global_step).is_integer():
            return int(global_step)
        raise GraphError(f"global_step must be an int, got {global_step!r}")
    return int(global_step)


class FileWriter:
    """Writes summaries, the graph and session logs to an event file in `logdir`, for
    TensorBoard (TensorFlow 1's `tf.summary.FileWriter`).

    `graph` (or `session`'s graph) is written first, as `add_graph` writes it. Events wait in
    memory until `max_queue` of them are pending, `flush_secs` seconds have passed, or
    `flush()` / `close()`; after close, an add_* reopens a new file (as does `reopen()`).
    `filename_suffix` ends the event file's name.
    """

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, filename_suffix=None,
                 session=None):
        if not isinstance(logdir, (str, os.PathLike)) or not os.fspath(logdir):
            raise GraphError(f"FileWriter: logdir must be a directory path, got {logdir!r}")
        for what, value, kinds in (("max_queue", max_queue, numbers.Integral),
                                   ("flush_secs", flush_secs, numbers.Real)):
            if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
                raise GraphError(f"FileWriter: {what} must be a positive number, got {value!r}")
        if filename_suffix is not None and not isinstance(filename_suffix, str):
            raise GraphError(f"FileWriter: filename_suffix must be a string, got "
                             f"{filename_suffix!r}")
        if session is not None:
            if graph is not None:
                raise GraphError("FileWriter: give graph or session, not both")
            graph = session.graph
        self._logdir = os.fspath(logdir)
        self._max_queue = int(max_queue)
        self._flush_secs = float(flush_secs)
        self._suffix = filename_suffix or ""
        self._lock = threading.RLock()
        self._file = None
        self._pending = 0
        self._timer = None
        self._open()
        _OPEN_WRITERS.add(self)
        if graph is not None:
            self.add_graph(graph)

    def _open(self) -> None:
        directory_check(self._logdir)
        # Several writers of one second would share tensorboardX's file name (seconds and
        # host): the process and a counter keep each file its own.
        with _FILE_NUMBERS_LOCK:
            number = next(_FILE_NUMBERS)
        suffix = f".{os.getpid()}.{number:06d}{self._suffix}"
        self._file = EventsWriter(os.path.join(self._logdir, "events"), suffix)

    def get_logdir(self) -> str:
        return self._logdir

    def _write(self, event, global_step=None) -> None:
        with self._lock:
            if self._file is None:
                self._open()
            event.wall_time = time.time()
            if global_step is not None:
                event.step = global_step
            self._file.write_event(event)
            self._pending += 1
            if self._pending >= self._max_queue:
                self._flush_file()
            elif self._timer is None:
                self._timer = threading.Timer(self._flush_secs, self._flush_when_due)
                self._timer.daemon = True
                self._timer.start()

    def _flush_when_due(self) -> None:
        with self._lock:
            self._timer = None
            if self._pending:
                self._flush_file()

    def _flush_file(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._file is not None:
            self._file.flush()
        self._pending = 0

    def add_summary(self, summary, global_step=None) -> None:
        """Write a summary: the bytes a summary op gave in sess.run, or a Summary proto."""
        step = _check_step(global_step)
        if isinstance(summary, np.ndarray) and summary.dtype == STRING and summary.ndim == 0:
            summary = summary[()]
        if isinstance(summary, Tensor):
            raise GraphError(f"add_summary takes the value of a summary, not the tensor "
                             f"{summary.name!r}: pass sess.run({summary.name!r})")
        if not isinstance(summary, Summary):
            summary = _parse_summary(summary, lambda problem: f"add_summary: the summary "
                                     f"{problem}")
        self._write(Event(summary=summary), step)

    def add_graph(self, graph, global_step=None, graph_def=None) -> None:
        """Write `graph` (a graph.Graph) for TensorBoard's graph tab, or a ready GraphDef."""
        step = _check_step(global_step)
        if graph_def is None:
            from graph.core import Graph

            if not isinstance(graph, Graph):
                raise GraphError(f"add_graph takes a graph.Graph, got {graph!r}")
            graph_def = _graph_def(graph)
        elif not isinstance(graph_def, GraphDef):
            raise GraphError(f"add_graph: graph_def must be a GraphDef, got {graph_def!r}")
        self._write(Event(graph_def=graph_def.SerializeToString()), step)

    def add_session_log(self, session_log, global_step=None) -> None:
        """Write a SessionLog (e.g. SessionLog(status=SessionLog.START) after a restart)."""
        if not isinstance(session_log, SessionLog):
            raise GraphError(f"add_session_log takes a SessionLog, got {session_log!r}")
        self._write(Event(session_log=session_log), _check_step(global_step))

    def add_event(self, event) -> None:
        """Write an Event as it is."""
        if not isinstance(event, Event):
            raise GraphError(f"add_event takes an Event, got {event!r}")
        with self._lock:
            if self._file is None:
                self._open()
            self._file.write_event(event)
            self._pending += 1

    def flush(self) -> None:
        """Put every pending event on disk now."""
        with self._lock:
            self._flush_file()

    def close(self) -> None:
        """Flush and close the event file; closing twice is harmless."""
        with self._lock:
            if self._file is None:
                return
            self._flush_file()
            self._file.close()
            self._file = None

    def reopen(self) -> None:
        """After close(), start a new event file (add_* also does)."""
        with self._lock:
            if self._file is None:
                self._open()

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_graph_def = graph_def

_NOT_BUILT = {"image", "audio", "text", "tensor_summary", "FileWriterCache",
              "get_summary_description", "SummaryDescription", "TaggedRunMetadata"}


def __getattr__(name):
    if name in _NOT_BUILT:
        raise AttributeError(f"tf.summary.{name} is not built in dualgraph's graph front-end; "
                             f"it has scalar, histogram, merge, merge_all and FileWriter")
    raise AttributeError(f"module 'graph.summary' has no attribute {name!r}")
