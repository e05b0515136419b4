"""`SummaryWriter`: PyTorch's TensorBoard logger, writing event files through tensorboardX.

tensorboardX does the file format (summaries and events as protocol buffers, records with
their CRCs, file names, local or cloud storage); this module does what
`torch.utils.tensorboard.SummaryWriter` adds on top: the default run directory, `purge_step`,
one sub-run per tag of `add_scalars`, TensorBoard's default histogram bins, the graph of a
model, and when events reach the disk. Every value is checked and converted before anything is
written, so a refused call leaves the event files as they were.

Events are written as they come, by the caller's thread, and flushed to disk once `max_queue`
of them are pending, `flush_secs` after the first pending one, or at `flush()` / `close()`.
(tensorboardX's own `FileWriter` queues events for a thread of its own, and its `flush()` does
not wait for that queue: after `flush()` returned, an event could still be missing on disk.)

>>> import tempfile
>>> import eager
>>> from eager.utils.tensorboard import SummaryWriter
>>> writer = SummaryWriter(tempfile.mkdtemp(), flush_secs=1)
>>> for step in range(3):
...     writer.add_scalar("loss", eager.tensor(1.0 / (step + 1)), step)
>>> writer.add_histogram("weights", eager.randn(100), global_step=2)
>>> writer.close()
"""

from __future__ import annotations

import atexit
import itertools
import numbers
import os
import threading
import time
import weakref

import numpy as np

from framework.errors import ArgumentError, DTypeError, DualgraphError, ShapeError

try:
    from tensorboardX import summary as _summary
    from tensorboardX.event_file_writer import EventsWriter
    from tensorboardX.proto.event_pb2 import Event, SessionLog
    from tensorboardX.record_writer import directory_check
except ImportError as error:  # pragma: no cover - it is a dependency of the project
    raise ImportError("eager.utils.tensorboard writes event files with tensorboardX, which is "
                      "not installed: pip install tensorboardX") from error

__all__ = ["SummaryWriter"]

# numpy.histogram's names for its bin-width estimators, which `bins` may name.
_NUMPY_BIN_RULES = ("auto", "fd", "doane", "scott", "stone", "rice", "sturges", "sqrt")
_INT64 = (-(2**63), 2**63 - 1)
_FILE_NUMBERS = itertools.count()
_FILE_NUMBERS_LOCK = threading.Lock()
_OPEN_WRITERS: weakref.WeakSet = weakref.WeakSet()  # flushed when Python exits


@atexit.register
def _flush_open_writers() -> None:
    """A script that ends without `close()` still leaves its events on disk."""
    for writer in list(_OPEN_WRITERS):
        writer.flush()


class SummaryTypeError(DualgraphError, TypeError):
    """An argument of the wrong type (a tag that is not a str, a step that is not a number...);
    a `TypeError` that names the user's line."""


class NotAScalarError(ShapeError, AssertionError):
    """A value with more than one element given where one number is logged. A `ShapeError`,
    and an `AssertionError` as PyTorch's `add_scalar` raises it (it asserts the shape)."""


class UnsupportedValueError(DTypeError, NotImplementedError):
    """A value of a type that cannot be logged as numbers (None, a dict, a string...). A
    `DTypeError`, and a `NotImplementedError` as PyTorch's conversion to NumPy raises it."""


def _numeric_array(value, what: str) -> np.ndarray:
    """`value` (Tensor, ndarray, NumPy or Python number, list) as a real-valued ndarray."""
    from eager.tensor import Tensor

    if isinstance(value, (str, bytes)) or value is None or isinstance(value, (dict, set)):
        raise UnsupportedValueError(
            f"{what} is a {type(value).__name__}; log a number, a Tensor or a NumPy array")
    if isinstance(value, Tensor):
        array = np.asarray(value)  # also for a tensor that requires grad: its values only
    elif isinstance(value, (np.ndarray, np.generic, numbers.Number, list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError as error:  # ragged nested lists
            raise ShapeError(f"{what} is not a rectangular array of numbers: {error}") from None
    else:
        raise UnsupportedValueError(f"{what} is a {type(value).__name__}; log a number, a "
                                    "Tensor or a NumPy array")
    if array.dtype.kind not in "biuf":
        raise DTypeError(f"{what} has dtype {array.dtype}; TensorBoard logs real numbers "
                         "(bool, integer or floating point)")
    return array


def _scalar(value, what: str) -> float:
    """One real number from a Python number, a NumPy scalar or a 1-element Tensor / array."""
    if isinstance(value, numbers.Real) and not isinstance(value, np.generic):
        try:
            return float(value)
        except OverflowError:
            raise ArgumentError(f"{what} {value!r} is too large for a float") from None
    array = _numeric_array(value, what)
    if array.size != 1:
        raise NotAScalarError(f"{what} should hold one number; it has {array.size} "
                              f"(shape {tuple(array.shape)}). Log one element, or a reduction "
                              "such as .mean(), or use add_histogram for many values")
    return float(array.reshape(()))


def _check_tag(tag, what: str = "tag") -> str:
    if not isinstance(tag, str):
        raise SummaryTypeError(f"{what} should be a str, got a {type(tag).__name__}: {tag!r}")
    return tag


def _check_step(global_step):
    """None or the step as an int: whole numbers only (1.0 is 1, 1.5 is refused)."""
    if global_step is None:
        return None
    if isinstance(global_step, (numbers.Integral, np.integer)):
        step = int(global_step)
    else:
        try:
            number = _scalar(global_step, "global_step")
        except (NotAScalarError, UnsupportedValueError):
            raise SummaryTypeError(f"global_step should be an int, got a "
                                   f"{type(global_step).__name__}: {global_step!r}") from None
        if not float(number).is_integer():
            raise ArgumentError(f"global_step should be a whole number, got {number!r}")
        step = int(number)
    if not _INT64[0] <= step <= _INT64[1]:
        raise ArgumentError(f"global_step {step} does not fit in 64 bits")
    return step


def _check_walltime(walltime):
    if walltime is None:
        return None
    if isinstance(walltime, bool) or not isinstance(walltime, (numbers.Real, np.number)):
        raise SummaryTypeError(f"walltime should be seconds since the epoch as a float, got a "
                               f"{type(walltime).__name__}: {walltime!r}")
    if not np.isfinite(walltime):
        raise ArgumentError(f"walltime should be finite, got {walltime!r}")
    return float(walltime)


def _check_positive(value, name: str, kinds=(numbers.Integral,)):
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise SummaryTypeError(f"{name} should be a positive number, got a "
                               f"{type(value).__name__}: {value!r}")
    if not value > 0:
        raise ArgumentError(f"{name} should be positive, got {value!r}")


class SummaryWriter:
    """Writes scalars, histograms, text and a model's graph to event files for TensorBoard.

    `log_dir` defaults to runs/<month><day>_<hh>-<mm>-<ss>_<host><comment>, a new directory
    per run, as in PyTorch (`comment` is ignored when `log_dir` is given). `purge_step`: after a
    crash at step T + X and a restart at step T, pass T, and TensorBoard hides the events at
    steps >= T that the crashed run wrote. At most `max_queue` events, for at most `flush_secs`
    seconds, wait before they are flushed to disk; `filename_suffix` ends every event file's
    name. Use it as a context manager, or call `close()`.

    >>> import tempfile
    >>> import eager
    >>> from eager.utils.tensorboard import SummaryWriter
    >>> with SummaryWriter(tempfile.mkdtemp(), comment="ignored") as writer:
    ...     writer.add_scalars("loss", {"train": 0.25, "test": 0.5}, global_step=0)
    ...     writer.add_text("notes", "first run")
    ...     writer.add_graph(eager.nn.Linear(3, 2), eager.ones(4, 3))
    """

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        if log_dir is not None and not isinstance(log_dir, (str, os.PathLike)):
            raise SummaryTypeError(f"log_dir should be a path (str or os.PathLike) or None, got a "
                                   f"{type(log_dir).__name__}: {log_dir!r}")
        for name, text in (("comment", comment), ("filename_suffix", filename_suffix)):
            if not isinstance(text, str):
                raise SummaryTypeError(f"{name} should be a str, got a {type(text).__name__}: "
                                       f"{text!r}")
        if purge_step is not None:
            purge_step = _check_step(purge_step)
            if purge_step < 0:
                raise ArgumentError(f"purge_step should be a step >= 0, got {purge_step}")
        _check_positive(max_queue, "max_queue")
        _check_positive(flush_secs, "flush_secs", (numbers.Real,))
        if not log_dir:
            import socket
            from datetime import datetime

            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = os.fspath(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self._lock = threading.RLock()  # writers are made, used and closed under it
        self._pending, self._timer = 0, None
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        _OPEN_WRITERS.add(self)
        # TensorBoard's own default buckets: +-1e-12 growing by 10% up to +-1e20, and 0.
        buckets, edge = [], 1e-12
        while edge < 1e20:
            buckets.append(edge)
            edge *= 1.1
        self.default_bins = [-b for b in reversed(buckets)] + [0] + buckets

    # -- writers -------------------------------------------------------------------------------
    # All of this runs under self._lock: a writer may be used from several threads, and from
    # the timer that flushes it.

    def _new_file(self, log_dir: str) -> EventsWriter:
        """A new event file in `log_dir` (created if need be), its first record written."""
        directory_check(log_dir)
        # tensorboardX names a file by the second and the host only, so a second file of the
        # same second would truncate the first: the process id and a counter make each name
        # unique, as in the names PyTorch's writer gives its files. TensorBoard reads a run's
        # files in the order of their names, so the counter has a fixed width: file 10 of a
        # second comes after file 9 (a purge_step must come after the events it purges).
        with _FILE_NUMBERS_LOCK:
            number = next(_FILE_NUMBERS)
        suffix = f".{os.getpid()}.{number:06d}{self.filename_suffix}"
        return EventsWriter(os.path.join(log_dir, "events"), suffix)

    def _get_file_writer(self) -> EventsWriter:
        """The event file of the main run; after `close()`, a new one."""
        with self._lock:
            if self.all_writers is None or self.file_writer is None:
                self.file_writer = self._new_file(self.log_dir)
                self.all_writers = {self.log_dir: self.file_writer}
                if self.purge_step is not None:  # once: a reopened writer purges nothing
                    step, self.purge_step = self.purge_step, None
                    self._write(self.file_writer, Event(file_version="brain.Event:2"), step)
                    self._write(self.file_writer,
                                Event(session_log=SessionLog(status=SessionLog.START)), step)
            return self.file_writer

    def _write(self, file, event, step=None, walltime=None) -> None:
        """Append `event` to `file`; flush every file when `max_queue` events are pending."""
        with self._lock:
            event.wall_time = time.time() if walltime is None else walltime
            if step is not None:
                event.step = step
            file.write_event(event)
            self._pending += 1
            if self._pending >= self.max_queue:
                self._flush_files()
            elif self._timer is None:
                self._timer = threading.Timer(self.flush_secs, self._flush_when_due)
                self._timer.daemon = True
                self._timer.start()

    def _flush_when_due(self) -> None:
        with self._lock:
            self._timer = None
            if self._pending:
                self._flush_files()

    def _flush_files(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for file in (self.all_writers or {}).values():
            file.flush()
        self._pending = 0

    def get_logdir(self) -> str:
        """The directory the event files are written to."""
        return self.log_dir

    def _add_summary(self, summary, global_step, walltime) -> None:
        with self._lock:
            self._write(self._get_file_writer(), Event(summary=summary), global_step, walltime)

    # -- what can be logged --------------------------------------------------------------------

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None) -> None:
        """Log one number: a Python number, a NumPy scalar, or a Tensor / array of one element
        (also one that requires grad; only its value is read).

        >>> import tempfile, eager
        >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
        ...     writer.add_scalar("accuracy", eager.tensor([0.97]), global_step=10)
        """
        tag = _check_tag(tag)
        value = _scalar(scalar_value, f"scalar_value of {tag!r}")
        summary = _summary.scalar(tag, value)
        self._add_summary(summary, _check_step(global_step), _check_walltime(walltime))

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None) -> None:
        """Log several numbers in one chart `main_tag`, one line per key of `tag_scalar_dict`.

        As in PyTorch, each key becomes a run of its own, in the directory
        <log_dir>/<main_tag>_<key> (with "/" in `main_tag` as "_"), and its values are logged
        under the tag `main_tag`.

        >>> import tempfile
        >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
        ...     writer.add_scalars("loss", {"train": 0.3, "test": 0.4}, global_step=1)
        """
        main_tag = _check_tag(main_tag, "main_tag")
        if not isinstance(tag_scalar_dict, dict):
            raise SummaryTypeError(f"tag_scalar_dict should be a dict of tag -> number, got a "
                                   f"{type(tag_scalar_dict).__name__}")
        values = {_check_tag(tag, "each key of tag_scalar_dict"):
                  _scalar(value, f"tag_scalar_dict[{tag!r}]")
                  for tag, value in tag_scalar_dict.items()}
        step = _check_step(global_step)
        walltime = time.time() if walltime is None else _check_walltime(walltime)
        with self._lock:
            self._get_file_writer()
            for tag, value in values.items():
                run_dir = f"{self.log_dir}/{main_tag.replace('/', '_')}_{tag}"
                file = self.all_writers.get(run_dir)
                if file is None:
                    file = self.all_writers[run_dir] = self._new_file(run_dir)
                summary = _summary.scalar(main_tag, value)
                self._write(file, Event(summary=summary), step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None) -> None:
        """Log the distribution of `values` (a Tensor, array or list of any shape).

        `bins="tensorflow"` uses TensorBoard's own buckets; otherwise anything
        `numpy.histogram` takes: a number of bins, increasing bin edges, or the name of one of
        its rules ("auto", "fd", ...). `max_bins` merges neighbouring bins down to at most that
        many. Values must be finite and there must be at least one.

        >>> import tempfile, eager
        >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
        ...     writer.add_histogram("weights", eager.randn(1000), global_step=0, bins=30)
        """
        tag = _check_tag(tag)
        array = _numeric_array(values, f"values of {tag!r}").astype(np.float64).reshape(-1)
        if array.size == 0:
            raise ArgumentError(f"add_histogram({tag!r}): the input has no element")
        if not np.isfinite(array).all():
            bad = array[~np.isfinite(array)][0]
            raise ArgumentError(f"add_histogram({tag!r}): values must be finite; found {bad} "
                                f"among {array.size}")
        bins = self._check_bins(bins, tag)
        if max_bins is not None:
            _check_positive(max_bins, "max_bins")
        summary = _summary.histogram(tag, array, bins, max_bins=max_bins)
        self._add_summary(summary, _check_step(global_step), _check_walltime(walltime))

    def _check_bins(self, bins, tag: str):
        if isinstance(bins, str):
            if bins == "tensorflow":
                return self.default_bins
            if bins not in _NUMPY_BIN_RULES:
                raise ArgumentError(f"add_histogram({tag!r}): unknown bins {bins!r}; use "
                                    f"'tensorflow' or one of numpy's {_NUMPY_BIN_RULES}")
            return bins
        if isinstance(bins, (numbers.Integral, np.integer)) and not isinstance(bins, bool):
            if bins < 1:
                raise ArgumentError(f"add_histogram({tag!r}): bins should be >= 1, got {bins}")
            return int(bins)
        edges = _numeric_array(bins, f"bins of {tag!r}").astype(np.float64)
        if edges.ndim != 1 or edges.size < 2:
            raise ShapeError(f"add_histogram({tag!r}): bin edges should be a 1-D sequence of at "
                             f"least 2 numbers, got shape {tuple(edges.shape)}")
        if not np.isfinite(edges).all() or (np.diff(edges) <= 0).any():
            raise ArgumentError(f"add_histogram({tag!r}): bin edges should be finite and "
                                "strictly increasing")
        return edges

    def add_text(self, tag, text_string, global_step=None, walltime=None) -> None:
        """Log a string (TensorBoard renders it as Markdown) under "<tag>/text_summary".

        >>> import tempfile
        >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
        ...     writer.add_text("config", "lr = 0.1, batch 64")
        """
        tag = _check_tag(tag)
        if not isinstance(text_string, str):
            raise SummaryTypeError(f"add_text({tag!r}): text_string should be a str, got a "
                                   f"{type(text_string).__name__}")
        summary = _summary.text(tag, text_string)
        self._add_summary(summary, _check_step(global_step), _check_walltime(walltime))

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Log the graph of `model`: it runs once on `input_to_model` (a Tensor, or a tuple or
        list of its positional arguments), and the tape that pass records is written with
        nodes named by module path and op, and edges labelled with shapes (see
        `eager.utils.tensorboard.graph`).

        Eager records the ops that ran, so, unlike PyTorch's tracer, nothing is traced and
        `use_strict_trace` changes nothing; a Python `if` shows the branch that this input took.
        `verbose` prints each node. The model's parameters, or an input, must require grad:
        otherwise the pass records no tape.

        >>> import tempfile, eager
        >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
        ...     writer.add_graph(eager.nn.Sequential(eager.nn.Linear(3, 2)), eager.ones(1, 3))
        """
        from eager.nn import Module
        from eager.utils.tensorboard.graph import graph_def

        if not isinstance(model, Module):
            raise SummaryTypeError(f"add_graph takes an eager.nn.Module, got a "
                                   f"{type(model).__name__}")
        graph = graph_def(model, input_to_model)
        if verbose:
            for node in graph.node:
                print(f"{node.name} = {node.op}({', '.join(node.input)})")
        with self._lock:
            self._write(self._get_file_writer(), Event(graph_def=graph.SerializeToString()))

    # -- lifetime ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every pending event to disk now: when it returns, a reader sees them all."""
        with self._lock:
            self._flush_files()

    def close(self) -> None:
        """Flush and close the event files; a later add_* starts a new event file. Closing
        twice is harmless."""
        with self._lock:
            if self.all_writers is None:
                return
            self._flush_files()
            for file in self.all_writers.values():
                file.close()
            self.file_writer = self.all_writers = None

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.close()
