"""The compiled graph against everyone: `python -m compare bench graph`.

Five groups, each printed as a table:

- the MLP training step (digits-shaped 64 -> H -> H -> 10, SGD, sparse cross-entropy) at
  three (batch, hidden) sizes: the compiled graph, the interpreted graph (`Session(compile=
  False)`), eager, and PyTorch, PyTensor (its numba backend) and TensorFlow 1 (`tf.compat.v1`
  Session) where they are installed;
- two 8-op elementwise chains on float32 vectors, one of arithmetic alone and one with tanh
  and exp: the compiled graph, eager, NumPy and PyTorch, and the floor every elementwise chain
  pays at least, a parallel copy of the same bytes (one read, one write), measured in the same
  run both into a buffer made once and into a new array each call;
- the digits CNN training step: compiled, interpreted, eager, PyTorch;
- compile time of the MLP training graph: cold (the first `Session.compile` in a fresh
  process) and warm (compiling the same graph again in that process);
- peak working memory of one training step: the compiled step's (as planned,
  `Compiled.peak_bytes`, and as the allocator measured it) against eager's and the
  interpreter's.

Each system runs in its own process: PyTorch's and numba's OpenMP threads slow each other down
inside one process. The processes build and warm up their cases, then wait; the timing runs in
rounds, each round asking every process in turn to time each case (`compare.timing.time_call`),
so a burst of load from a neighbour hits every system alike. A row's time is the median of its
rounds; its ratios divide it by the reference systems' medians (above 1: slower).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import numba
import numpy as np

from compare.timing import format_seconds, format_table, time_call
from framework.errors import ArgumentError, user_frame

__all__ = ["CASES_FULL", "CASES_QUICK", "GROUPS", "SYSTEMS", "Case", "Results", "Sizes",
           "chain", "initial_state", "layer_shapes", "main", "report", "run"]

ROOT = Path(__file__).resolve().parents[1]
LEARNING_RATE = 0.01
WARM_UP_CALLS = 3
CNN_CHANNELS, CNN_HIDDEN = (16, 32), 64  # models_eager.CNN's defaults
IMAGE_FEATURES, CLASSES = 64, 10

COMPILED, INTERPRETED, EAGER = "compiled graph", "interpreted graph", "eager"
TORCH, PYTENSOR, TF1 = "PyTorch", "PyTensor (numba)", "TF1 (compat.v1 Session)"
NUMPY, FLOOR, FLOOR_NEW = "NumPy", "copy floor", "copy floor, new array"
SYSTEMS = (COMPILED, INTERPRETED, EAGER, TORCH, PYTENSOR, TF1, NUMPY, FLOOR, FLOOR_NEW)
PEERS = {TORCH: "torch", PYTENSOR: "pytensor", TF1: "tensorflow"}  # system -> its module
NOT_INSTALLED = "not installed"

GROUPS = OrderedDict([
    ("mlp", "MLP training step (digits 64 -> H -> H -> 10, SGD, sparse cross-entropy)"),
    ("chains", "8-op elementwise chains on float32 vectors (forward only)"),
    ("cnn", "digits CNN training step (two 3x3 convolutions, max-pool, two dense layers; SGD)"),
    ("compile", "compile time of the MLP training graph"),
    ("memory", "peak working memory of one training step (bytes above what was live before)"),
])


@dataclass(frozen=True)
class Sizes:
    """The sizes one run measures: the MLP's (batch, hidden), the chains' lengths, the CNN's
    batch."""

    mlp: tuple
    chain_elements: tuple
    cnn_batch: int


CASES_FULL = Sizes(mlp=((32, 64), (128, 256), (512, 1024)), chain_elements=(10**6, 10**7),
                   cnn_batch=32)
CASES_QUICK = Sizes(mlp=((16, 32),), chain_elements=(10**4,), cnn_batch=4)


@dataclass(frozen=True)
class Case:
    """One timed row group: what every system builds (`spec`), who runs it, and the systems
    the ratios divide by."""

    group: str
    label: str
    spec: tuple  # ("mlp", batch, hidden), ("cnn", batch) or ("chain", kind, elements)
    systems: tuple
    references: tuple


def cases(sizes: Sizes) -> list[Case]:
    """The timed cases of a run at `sizes`, in the order of the tables.

    >>> [case.label for case in cases(CASES_FULL) if case.group == "mlp"]
    ['batch 32, hidden 64', 'batch 128, hidden 256', 'batch 512, hidden 1024']
    """
    found = [Case("mlp", f"batch {batch}, hidden {hidden}", ("mlp", batch, hidden),
                  (COMPILED, INTERPRETED, EAGER, TORCH, PYTENSOR, TF1), (COMPILED,))
             for batch, hidden in sizes.mlp]
    for kind in ("arithmetic", "tanh and exp"):
        found += [Case("chains", f"{kind}, {_count(elements)} elements",
                       ("chain", kind, elements),
                       (COMPILED, EAGER, NUMPY, TORCH, FLOOR, FLOOR_NEW), (COMPILED, FLOOR))
                  for elements in sizes.chain_elements]
    found.append(Case("cnn", f"batch {sizes.cnn_batch}", ("cnn", sizes.cnn_batch),
                      (COMPILED, INTERPRETED, EAGER, TORCH), (COMPILED,)))
    return found


def memory_specs(sizes: Sizes) -> list[tuple]:
    """The training steps whose memory the memory table reports."""
    return [("mlp", batch, hidden) for batch, hidden in sizes.mlp] + [("cnn", sizes.cnn_batch)]


def _count(elements: int) -> str:
    exponent = round(math.log10(elements))
    return f"1e{exponent}" if 10**exponent == elements else f"{elements:,}"


# -- what every system runs: the same data, the same initial weights, the same expressions --


def layer_shapes(model_name: str, hidden: int | None = None) -> list[tuple[str, tuple]]:
    """(eager module name, weight shape in eager's layout) of each layer with weights.

    >>> layer_shapes("mlp", 32)
    [('layers.0', (32, 64)), ('layers.2', (32, 32)), ('layers.4', (10, 32))]
    """
    if model_name == "mlp":
        return [("layers.0", (hidden, IMAGE_FEATURES)), ("layers.2", (hidden, hidden)),
                ("layers.4", (CLASSES, hidden))]
    first, second = CNN_CHANNELS
    return [("features.0", (first, 1, 3, 3)), ("features.2", (second, first, 3, 3)),
            ("classifier.1", (CNN_HIDDEN, second * 4 * 4)),
            ("classifier.3", (CLASSES, CNN_HIDDEN))]


def initial_state(model_name: str, hidden: int | None = None, seed: int = 0) -> OrderedDict:
    """The model's initial weights as an eager state_dict of float32 arrays, drawn with NumPy
    from PyTorch's default bounds (U(-1/sqrt(fan_in), 1/sqrt(fan_in))): every system loads
    these, so all of them train the same numbers, and a peer's process needs none of ours.

    >>> {name: value.shape for name, value in initial_state("mlp", 8).items()}["layers.2.bias"]
    (8,)
    """
    rng = np.random.default_rng(seed)
    state = OrderedDict()
    for name, shape in layer_shapes(model_name, hidden):
        bound = 1.0 / math.sqrt(int(np.prod(shape[1:])))
        state[f"{name}.weight"] = rng.uniform(-bound, bound, shape).astype(np.float32)
        state[f"{name}.bias"] = rng.uniform(-bound, bound, shape[0]).astype(np.float32)
    return state


def _digits(model_name: str, batch: int):
    """The first `batch` training digits (repeated where the split has fewer): flat rows for
    the MLP, NCHW images for the CNN."""
    from framework.datasets import load_digits

    x, y = load_digits(flat=model_name == "mlp", split="train")
    take = np.arange(batch) % len(x)
    return np.ascontiguousarray(x[take]), np.ascontiguousarray(y[take])


def chain(kind: str, x, tanh, exp):
    """An 8-op elementwise chain of `x`: "arithmetic" (four multiplies, three adds, one
    subtract) or "tanh and exp" (two of each, two multiplies, an add and a subtract), written
    once for every system (`tanh` and `exp` are the system's own).

    >>> chain("arithmetic", 1.0, np.tanh, np.exp)
    2.0
    """
    if kind == "arithmetic":
        y = x * 1.5 + 0.5
        y = y * x - 2.0
        y = y * 0.25 + x
        return y * y + 1.0
    y = tanh(x * 0.5) + x
    y = exp(y * 0.25)
    return exp(tanh(y) - x)


def _chain_input(elements: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1.0, 1.0, elements).astype(np.float32)


@numba.njit(parallel=True, cache=True)
def _parallel_copy(source, target):
    for i in numba.prange(source.size):
        target[i] = source[i]


# -- the builders, run inside each system's process ------------------------------------------


class _Missing(Exception):
    """The peer's module cannot be imported here."""


@dataclass
class _Built:
    step: Callable
    memory: Callable | None = None  # () -> {"measured": bytes, ...}, after warm-up


def _peer(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise _Missing(f"not importable ({error})") from None


def _step_peak(step) -> int:
    from compare.demo_cost import step_peak_bytes

    return step_peak_bytes(step)


def _graph_training_run(model_name: str, batch: int, hidden: int | None, compiles: bool,
                        device: str | None = None):
    """(session, fetches, feed) of one SGD step of the graph model, its variables set; built
    under `tf.device(device)` where one is named (compare.gpu_check: "/gpu:0")."""
    import graph as tf
    from compare import models_graph, weights_bridge
    from compare.train_graph import cross_entropy

    options = {"hidden": hidden} if model_name == "mlp" else {}
    start = weights_bridge.to_graph(initial_state(model_name, hidden))
    built = tf.Graph()
    with built.as_default(), tf.device(device):
        model = models_graph.build_model(model_name, initial_values=start, graph=built,
                                         **options)
        labels = tf.placeholder(tf.int64, (None,), name="labels")
        loss = cross_entropy(model.logits, labels)
        train_op = tf.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
        initialize = tf.global_variables_initializer()
    session = tf.Session(graph=built, compile=compiles)
    session.run(initialize)
    images, targets = _digits(model_name, batch)
    return session, [train_op, loss], {model.images: images, labels: targets}


def _graph_training(model_name: str, compiles: bool):
    def build(batch: int, hidden: int | None = None) -> _Built:
        session, fetches, feed = _graph_training_run(model_name, batch, hidden, compiles)
        compiled = session.compile(fetches, feed) if compiles else None  # runs use it
        step = lambda: session.run(fetches, feed)

        def memory():
            measured = {"measured": _step_peak(step)}
            if compiled is None:
                return measured
            # Buffers made inside the numba functions come from numba's allocator, which the
            # framework's counters do not see: only the plan accounts for them.
            return {**measured, "planned": compiled.peak_bytes,
                    "inside_numba": bool(compiled.numba_functions)}

        return _Built(step, memory)

    return build


def _graph_chain(kind: str, elements: int) -> _Built:
    import graph as tf

    with tf.Graph().as_default() as built:
        x = tf.placeholder(tf.float32, (elements,), name="x")
        y = chain(kind, x, tf.tanh, tf.exp)
    session = tf.Session(graph=built)
    feed = {x: _chain_input(elements)}
    session.compile(y, feed)
    return _Built(lambda: session.run(y, feed))


def eager_training_step(model_name: str, batch: int, hidden: int | None = None,
                        device: str = "cpu"):
    """(one SGD step of the eager model on `device`, from the same weights and batch as the
    graph's, its optimizer)."""
    import eager
    from compare import models_eager
    from eager import nn, optim

    options = {"hidden": hidden} if model_name == "mlp" else {}
    model = models_eager.build_model(model_name, seed=0, **options)
    model.load_state_dict(initial_state(model_name, hidden))
    model.to(device)
    images, labels = (eager.from_numpy(a).to(device) for a in _digits(model_name, batch))
    loss_function = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def step():
        optimizer.zero_grad()
        loss_function(model(images), labels).backward()
        optimizer.step()

    return step, optimizer


def _eager_training(model_name: str):
    def build(batch: int, hidden: int | None = None) -> _Built:
        step, optimizer = eager_training_step(model_name, batch, hidden)

        def memory():
            optimizer.zero_grad()  # the last step's gradients are not part of this one's peak
            return {"measured": _step_peak(step)}

        return _Built(step, memory)

    return build


def _eager_chain(kind: str, elements: int) -> _Built:
    import eager

    x = eager.from_numpy(_chain_input(elements))
    return _Built(lambda: chain(kind, x, eager.tanh, eager.exp))


def _torch_training(model_name: str):
    def build(batch: int, hidden: int | None = None) -> _Built:
        torch = _torch()
        nn = torch.nn
        if model_name == "mlp":
            model = nn.ModuleDict({"layers": nn.Sequential(
                nn.Linear(IMAGE_FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                nn.ReLU(), nn.Linear(hidden, CLASSES))})
            forward = model["layers"]
        else:
            (first, second), flat = CNN_CHANNELS, CNN_CHANNELS[1] * 4 * 4
            model = nn.ModuleDict({
                "features": nn.Sequential(
                    nn.Conv2d(1, first, 3, padding=1), nn.ReLU(),
                    nn.Conv2d(first, second, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
                "classifier": nn.Sequential(
                    nn.Flatten(), nn.Linear(flat, CNN_HIDDEN), nn.ReLU(),
                    nn.Linear(CNN_HIDDEN, CLASSES))})
            forward = lambda x: model["classifier"](model["features"](x))
        model.load_state_dict({name: torch.from_numpy(value)
                               for name, value in initial_state(model_name, hidden).items()})
        images, labels = (torch.from_numpy(a) for a in _digits(model_name, batch))
        loss_function = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

        def step():
            optimizer.zero_grad()
            loss_function(forward(images), labels).backward()
            optimizer.step()

        return _Built(step)

    return build


def threads() -> int:
    """The threads each system may use: numba's count (NUMBA_NUM_THREADS, or every core);
    PyTorch and TensorFlow are set to the same.

    >>> threads() >= 1
    True
    """
    return numba.config.NUMBA_NUM_THREADS


def _torch():
    torch = _peer("torch")
    torch.set_num_threads(threads())
    return torch


def _torch_chain(kind: str, elements: int) -> _Built:
    torch = _torch()
    x = torch.from_numpy(_chain_input(elements))

    def step():
        with torch.no_grad():
            return chain(kind, x, torch.tanh, torch.exp)

    return _Built(step)


def _dense_layers(state: dict, model_name: str, hidden: int) -> list[tuple]:
    """(kernel in (in, out) layout, bias) of each dense layer, the last one without ReLU."""
    return [(np.ascontiguousarray(state[f"{name}.weight"].T), state[f"{name}.bias"])
            for name, _ in layer_shapes(model_name, hidden)]


def _pytensor_mlp(batch: int, hidden: int) -> _Built:
    pytensor = _peer("pytensor")
    import pytensor.tensor as pt
    from pytensor.tensor.special import log_softmax

    images = pt.matrix("images", dtype="float32")
    labels = pt.vector("labels", dtype="int64")
    parameters, x = [], images
    layers = _dense_layers(initial_state("mlp", hidden), "mlp", hidden)
    for position, (kernel, bias) in enumerate(layers):
        kernel, bias = pytensor.shared(kernel), pytensor.shared(bias)
        parameters += [kernel, bias]
        x = pt.dot(x, kernel) + bias
        if position < len(layers) - 1:
            x = pt.maximum(x, 0)
    log_probabilities = log_softmax(x, axis=1)
    loss = -log_probabilities[pt.arange(labels.shape[0]), labels].mean()
    rate = np.float32(LEARNING_RATE)
    updates = [(p, p - rate * g) for p, g in zip(parameters, pytensor.grad(loss, parameters))]
    train = pytensor.function([images, labels], loss, updates=updates, mode="NUMBA")
    x_batch, y_batch = _digits("mlp", batch)
    return _Built(lambda: train(x_batch, y_batch))


def _tf1_mlp(batch: int, hidden: int) -> _Built:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tf = _peer("tensorflow")
    v1 = tf.compat.v1
    layers = _dense_layers(initial_state("mlp", hidden), "mlp", hidden)
    with v1.Graph().as_default() as built:
        images = v1.placeholder(tf.float32, (None, IMAGE_FEATURES), name="images")
        labels = v1.placeholder(tf.int64, (None,), name="labels")
        x = images
        for position, (kernel, bias) in enumerate(layers):
            x = tf.matmul(x, v1.Variable(kernel)) + v1.Variable(bias)
            if position < len(layers) - 1:
                x = tf.nn.relu(x)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=x))
        train_op = v1.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
        initialize = v1.global_variables_initializer()
    config = v1.ConfigProto(intra_op_parallelism_threads=threads(),
                            inter_op_parallelism_threads=threads())
    session = v1.Session(graph=built, config=config)
    session.run(initialize)
    x_batch, y_batch = _digits("mlp", batch)
    feed = {images: x_batch, labels: y_batch}
    return _Built(lambda: session.run([train_op, loss], feed))


def _numpy_chain(kind: str, elements: int) -> _Built:
    x = _chain_input(elements)
    return _Built(lambda: chain(kind, x, np.tanh, np.exp))


def _floor(new_array: bool):
    def build(kind: str, elements: int) -> _Built:
        source = _chain_input(elements)
        target = np.empty_like(source)

        def copy():
            out = np.empty_like(source) if new_array else target
            _parallel_copy(source, out)
            return out

        return _Built(copy)

    return build


BUILDERS = {
    COMPILED: {"mlp": _graph_training("mlp", True), "cnn": _graph_training("cnn", True),
               "chain": _graph_chain},
    INTERPRETED: {"mlp": _graph_training("mlp", False), "cnn": _graph_training("cnn", False)},
    EAGER: {"mlp": _eager_training("mlp"), "cnn": _eager_training("cnn"),
            "chain": _eager_chain},
    TORCH: {"mlp": _torch_training("mlp"), "cnn": _torch_training("cnn"),
            "chain": _torch_chain},
    PYTENSOR: {"mlp": _pytensor_mlp},
    TF1: {"mlp": _tf1_mlp},
    NUMPY: {"chain": _numpy_chain},
    FLOOR: {"chain": _floor(new_array=False)},
    FLOOR_NEW: {"chain": _floor(new_array=True)},
}


def _versions(system: str) -> str:
    module = PEERS.get(system)
    return "" if module is None else getattr(sys.modules.get(module), "__version__", "")


def _compile_times(batch: int, hidden: int, warm_compiles: int, salt: str = "") -> dict:
    """In this (fresh) process: the first Session.compile of the MLP training step, its first
    run, then `warm_compiles` more compiles of the same step. `salt` names the step's file of
    numba functions (graph.compile.nopython): a new salt finds nothing of it on disk."""
    os.environ["DUALGRAPH_COMPILE_SALT"] = salt
    session, fetches, feed = _graph_training_run("mlp", batch, hidden, compiles=True)
    start = time.perf_counter()
    compiled = session.compile(fetches, feed)
    cold_wall = time.perf_counter() - start
    start = time.perf_counter()
    session.run(fetches, feed)
    first_run = time.perf_counter() - start
    warm_wall, warm_compiled = [], []
    for _ in range(warm_compiles):
        start = time.perf_counter()
        again = session.compile(fetches, feed)
        warm_wall.append(time.perf_counter() - start)
        warm_compiled.append(again.seconds)
    return {"cold_wall": cold_wall, "cold_compiled": compiled.seconds, "first_run": first_run,
            "warm_wall": warm_wall, "warm_compiled": warm_compiled}


def _worker(request: dict) -> int:
    """A system's process: build and warm up its cases, say so, then time what it is asked.
    Messages are JSON lines on the original stdout; anything else printed goes to stderr."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def send(message):
        channel.write(json.dumps(message) + "\n")

    try:
        if request.get("compile"):
            send({"compile": _compile_times(*request["compile"])})
            return 0
        system = request["system"]
        built = []
        for spec in request["specs"]:
            built.append(BUILDERS[system][spec[0]](*spec[1:]))
        for item in built:
            for _ in range(WARM_UP_CALLS):
                item.step()
        memory = [item.memory() if item.memory is not None else None for item in built]
        send({"ready": True, "memory": memory, "version": _versions(system)})
    except _Missing as missing:
        send({"missing": str(missing)})
        return 0
    except Exception:
        send({"error": traceback.format_exc()})
        return 1
    for line in sys.stdin:
        message = json.loads(line)
        if "time" not in message:
            break
        seconds = time_call(built[message["time"]].step, message["min_time"])
        send({"seconds": seconds})
    return 0


# -- the coordinating process ----------------------------------------------------------------


class WorkerError(RuntimeError):
    """A system's process failed: the message holds the end of what it wrote to stderr."""


class _Process:
    """One worker process, spoken to in JSON lines."""

    def __init__(self, name: str, request: dict):
        self.name = name
        self.memory = None  # what its ready message said of its steps' memory
        self.log = tempfile.TemporaryFile("w+")
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), *filter(None, [environment.get("PYTHONPATH")])])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "compare.bench_graph", "--worker", json.dumps(request)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
            cwd=ROOT, env=environment)

    def receive(self) -> dict:
        line = self.process.stdout.readline()
        message = json.loads(line) if line else {"error": "the process ended without a word"}
        if "error" in message:
            raise WorkerError(f"the {self.name} process failed: {message['error'].strip()}\n"
                              f"its stderr ends with:\n{self._stderr_tail()}")
        return message

    def ask(self, message: dict) -> dict:
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # receive() reports the end
        return self.receive()

    def _stderr_tail(self, characters: int = 2000) -> str:
        self.log.seek(0)
        return self.log.read()[-characters:]

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # the worker's loop ends with its input
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.log.close()


@dataclass
class Row:
    """One system's median on one case; `ratios` divide it by each reference's median (None
    where that reference has no time); `note` says why there is no time ('not installed')."""

    group: str
    case: str
    system: str
    seconds: float | None
    ratios: dict
    note: str = ""


@dataclass
class Results:
    """What one run measured, for `report` to print."""

    sizes: Sizes
    rounds: int
    rows: list = field(default_factory=list)
    memory: list = field(default_factory=list)  # (case label, {system: memory dict})
    compile: dict | None = None  # cold and warm compile times
    peers: dict = field(default_factory=dict)  # system -> version, or why it did not run
    groups: tuple = ()
    load: list = field(default_factory=list)  # the 1-minute load average, at start and end


def _missing_peers(systems) -> dict:
    return {system: NOT_INSTALLED for system in systems
            if system in PEERS and importlib.util.find_spec(PEERS[system]) is None}


def run(repeats: int = 15, quick: bool = False, names: list[str] | None = None) -> Results:
    """Measure the groups named (all by default) at full size, or at small sizes with two
    rounds (`quick`: a smoke run, rough numbers).

    >>> try:
    ...     run(quick=True, names=["fusion"])
    ... except ArgumentError as error:
    ...     print(error.problem)
    unknown benchmark groups ['fusion']; choose from ['mlp', 'chains', 'cnn', 'compile', 'memory']
    """
    unknown = sorted(set(names or ()) - set(GROUPS))
    if unknown:
        ours = tuple(str(ROOT / name) + os.sep for name in ("framework", "eager", "graph",
                                                            "compare"))
        raise ArgumentError(f"unknown benchmark groups {unknown}; choose from {list(GROUPS)}",
                            user_frame(ours))
    groups = tuple(group for group in GROUPS if not names or group in names)
    sizes = CASES_QUICK if quick else CASES_FULL
    rounds = 2 if quick else repeats
    min_time = 2e-3 if quick else 2e-2
    timed = [case for case in cases(sizes) if case.group in groups]
    results = Results(sizes, rounds, groups=groups, load=[_load()])
    # Every process builds its cases: the timed ones, and ours the steps whose memory is read.
    specs: dict = {}
    for case in timed:
        for system in case.systems:
            specs.setdefault(system, []).append(case.spec)
    if "memory" in groups:
        for system in (EAGER, INTERPRETED, COMPILED):
            specs.setdefault(system, []).extend(
                spec for spec in memory_specs(sizes) if spec not in specs.get(system, []))
    results.peers = _missing_peers(specs)
    processes: dict = {}
    try:
        for system, wanted in specs.items():
            if system not in results.peers:
                processes[system] = _Process(system, {"system": system, "specs": wanted})
        for system, process in list(processes.items()):
            message = process.receive()
            if "missing" in message:
                results.peers[system] = message["missing"]
                process.close()
                del processes[system]
            elif system in PEERS:
                results.peers[system] = message["version"]
            process.memory = message["memory"]
        seconds = _timed_rounds(timed, specs, processes, rounds, min_time)
    finally:
        for process in processes.values():
            process.close()
    results.rows = _rows(timed, seconds, results.peers)
    if "memory" in groups:
        for spec in memory_specs(sizes):
            by_system = {system: processes[system].memory[specs[system].index(spec)]
                         for system in (EAGER, INTERPRETED, COMPILED)}
            results.memory.append((_spec_label(spec), by_system))
    if "compile" in groups:
        results.compile = _measure_compile(sizes.mlp[0], 1 if quick else 3, 2 if quick else 5)
    results.load.append(_load())
    return results


def _load() -> float | None:
    """The 1-minute load average, where the system reports one: on a shared machine it tells
    how much the other processes may have disturbed the timings."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _timed_rounds(timed, specs, processes, rounds: int, min_time: float) -> dict:
    """{(case label, system): [seconds per call, one per round]}; each round visits every case
    and, in an order that rotates from round to round, every system that runs it."""
    seconds: dict = {}
    for round_index in range(rounds):
        for case in timed:
            systems = [s for s in case.systems if s in processes]
            shift = round_index % max(len(systems), 1)
            for system in systems[shift:] + systems[:shift]:
                position = specs[system].index(case.spec)
                answer = processes[system].ask({"time": position, "min_time": min_time})
                seconds.setdefault((case.label, system), []).append(answer["seconds"])
    return seconds


def _rows(timed, seconds: dict, peers: dict) -> list[Row]:
    rows = []
    for case in timed:
        medians = {system: median(seconds[(case.label, system)]) for system in case.systems
                   if (case.label, system) in seconds}
        for system in case.systems:
            value = medians.get(system)
            ratios = {reference: (value / medians[reference]
                                  if value is not None and medians.get(reference) else None)
                      for reference in case.references}
            rows.append(Row(case.group, case.label, system, value, ratios,
                            "" if value is not None else peers.get(system, NOT_INSTALLED)))
    return rows


def _spec_label(spec: tuple) -> str:
    if spec[0] == "mlp":
        return f"MLP, batch {spec[1]}, hidden {spec[2]}"
    return f"CNN, batch {spec[1]}"


def _measure_compile(size: tuple, processes: int, warm_compiles: int) -> dict:
    """Per round, two fresh processes one after the other (nothing else running): the first
    compiles the step with nothing of it on disk (cold; the op kernels' own caches are warm,
    as after any earlier run), the second finds its numba functions on disk (warm); then the
    same-process recompiles of the first. Medians."""
    batch, hidden = size
    cold, warm = [], []
    for _ in range(processes):
        salt = f"bench-{os.getpid()}-{time.time_ns()}"
        for measured in (cold, warm):
            process = _Process("compile", {"compile": [batch, hidden, warm_compiles, salt]})
            try:
                measured.append(process.receive()["compile"])
            finally:
                process.close()
    return {"size": size, "processes": processes,
            "cold_wall": median(m["cold_wall"] for m in cold),
            "cold_compiled": median(m["cold_compiled"] for m in cold),
            "first_run": median(m["first_run"] for m in cold),
            "disk_wall": median(m["cold_wall"] for m in warm),
            "disk_compiled": median(m["cold_compiled"] for m in warm),
            "warm_wall": median(s for m in cold for s in m["warm_wall"]),
            "warm_compiled": median(s for m in cold for s in m["warm_compiled"])}


# -- the text -------------------------------------------------------------------------------


def _ratio(value: float | None, note: str) -> str:
    """A ratio with two decimals, or two significant digits below 0.1; else why there is none.

    >>> _ratio(1.0, ""), _ratio(0.00412, ""), _ratio(None, "not installed")
    ('1.00', '0.0041', 'not installed')
    """
    if value is not None:
        return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"
    return note or "-"


def _group_table(rows: list[Row]) -> str:
    references = list(rows[0].ratios)
    body = [[row.case, row.system,
             format_seconds(row.seconds) if row.seconds is not None else "-",
             *(_ratio(row.ratios[reference], row.note) for reference in references)]
            for row in rows]
    return format_table(["case", "system", "median", *(f"/ {r}" for r in references)], body)


def _memory_table(memory: list) -> str:
    from compare.demo_cost import memory_cells

    body = []
    for label, by_system in memory:
        eager_bytes = by_system[EAGER]["measured"]
        compiled = by_system[COMPILED]
        inside_numba = compiled.get("inside_numba", False)
        counts = [eager_bytes, by_system[INTERPRETED]["measured"], compiled["measured"],
                  compiled["planned"]]
        cells = memory_cells(counts)
        if inside_numba:
            cells[2] = "not seen"
        compared = compiled["planned"] if inside_numba else compiled["measured"]
        body.append([label, *cells, f"{compared / eager_bytes:.2f}" if eager_bytes else "-"])
    return format_table(["step", "eager", "interpreted graph", "compiled graph",
                         "compiled, as planned", "compiled / eager"], body)


def _fusion_pass() -> str | None:
    from graph.compile import PIPELINE

    return next((name for name, _ in PIPELINE if "fusion" in name), None)


def report(results: Results) -> str:
    """The benchmark's text: a header naming the machine and the peers, then a table (and a
    word of reading) per group."""
    from compare.bench_eager import machine

    peers = ", ".join(f"{system} {results.peers.get(system, 'not needed')}"
                      for system in PEERS)
    load = " and ".join("?" if value is None else f"{value:.1f}" for value in results.load)
    parts = [
        f"Graph compiler benchmark on {machine()}: each system in its own process, "
        f"{results.rounds} rounds interleaved across the processes, medians; a ratio divides "
        f"a row's median by the named system's (above 1: slower). Peers: {peers}. Threads: "
        f"{threads()} per system (numba's; PyTorch and TF1 set to the same), OpenBLAS "
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, OpenMP spin count "
        f"(GOMP_SPINCOUNT) {os.environ.get('GOMP_SPINCOUNT', 'libgomp default')}. Load "
        f"average at start and end: {load} (other processes on the machine share its cores: "
        "a load above the core count slows threaded kernels most).",
    ]
    for group in results.groups:
        rows = [row for row in results.rows if row.group == group]
        if group in ("mlp", "cnn", "chains"):
            parts.append(f"{GROUPS[group]}:\n{_group_table(rows)}")
        if group == "chains":
            fusion = _fusion_pass()
            parts.append(
                "Not fused yet: the compiled graph runs each of the 8 ops as its own kernel, "
                "writing every intermediate to memory, so a chain costs about eight passes "
                "over the data; the floor is one read and one write (a numba prange copy, "
                "into a buffer made once, and into a new array as any step returning a new "
                "result must)." if fusion is None else
                f"The compiled graph fuses elementwise chains (the '{fusion}' pass); the "
                "floor is one read and one write (a numba prange copy, into a buffer made "
                "once, and into a new array as any step returning a new result must).")
        if group == "compile" and results.compile is not None:
            parts.append(_compile_text(results.compile))
        if group == "memory" and results.memory:
            parts.append(f"{GROUPS['memory']}:\n{_memory_table(results.memory)}")
            parts.append("Measured with the allocator's live and peak counters around one "
                         "step after warm-up; 'as planned' is the compiled step's own "
                         "account of its values (Compiled.peak_bytes), without the kernels' "
                         "scratch buffers. A step run inside numba functions makes its "
                         "buffers with numba's allocator, which the counters do not see "
                         "('not seen'): its ratio to eager is the plan's.")
    return "\n\n".join(parts)


def _compile_text(times: dict) -> str:
    batch, hidden = times["size"]
    rows = [["cold: a fresh process, nothing of this graph on disk",
             format_seconds(times["cold_wall"]), format_seconds(times["cold_compiled"])],
            ["warm: a fresh process, its numba functions on disk",
             format_seconds(times["disk_wall"]), format_seconds(times["disk_compiled"])],
            ["again in the same process", format_seconds(times["warm_wall"]),
             format_seconds(times["warm_compiled"])]]
    table = format_table(["", "Session.compile", "Compiled.seconds (passes + codegen)"], rows)
    return (f"{GROUPS['compile']} (batch {batch}, hidden {hidden}), medians over "
            f"{times['processes']} fresh process(es):\n{table}\n\n"
            "Cold is measured after building the graph and running its initializer; the "
            "first run of the compiled step then took "
            f"{format_seconds(times['first_run'])} (it loads the kernels the initializer did "
            "not use). Cold is almost all numba compiling the step's generated functions "
            "(about 0.1 s per statement); warm reads their machine code from numba's disk "
            "cache, keyed by the hash of their source.")


def main(repeats: int = 15, quick: bool = False, names: list[str] | None = None) -> str:
    """Run the benchmark (see `run`) and return its text."""
    return report(run(repeats, quick, names))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(_worker(json.loads(sys.argv[2])))
    print(main(quick="--quick" in sys.argv))
