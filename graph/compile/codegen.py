"""Code generation: a Program becomes the Python source of one function, `step(run, feeds)`,
with one line per node in execution order, or per run of nodes compiled together into one
numba function (graph.compile.nopython: a training step is one call; a cond is a real `if`
and a while_loop a real loop inside it, graph.compile.control).

Every shape is known when the step is generated, so the shape rules ran then and the step
calls each op's kernel for its device directly (`Op.kernel`, chosen here once). Values are
local variables, freed after their last use (the memory plan). Variables are read where each
consumer runs, as the interpreter reads them; assigns, random ops and control flow left to
Python run through their op kind (`kind.run`), with the run's state, as the interpreter
runs them.
"""

from __future__ import annotations

import linecache
import sys

import numba
import numpy as np

from framework.device import cpu, to_device, to_host
from framework.kernels import cpu as cpu_kernels
from framework.ops.registry import run_op
from graph.compile import control, nopython
from graph.compile.program import Program, spec_bytes
from graph.ops import Const
from graph.placement import move, program_devices, run_on

__all__ = ["generate"]

# Whether the numba functions advise huge pages for their large outputs (cpu.advise_huge_pages):
# where madvise's MADV_HUGEPAGE means that, on Linux.
_HUGE_PAGES = sys.platform.startswith("linux")


def generate(program: Program, name: str = "step", whole: bool = True, placement=None):
    """(source, the compiled function, the compiled numba functions' source or None, the
    nodes run from Python between them) for `program`. With `whole` (and no control flow
    left to Python), runs of lowerable nodes become numba functions; else every node is a
    Python line.

    With a `placement` (graph.placement: some ops run on a GPU), each node on a GPU calls its
    op's CUDA kernel from Python (never inside the numba functions), its inputs moved to the
    device first; the other nodes read host copies."""
    namespace: dict = {"_c": _c_order, "_run_primitive": _run_primitive}
    on_gpu = None
    if placement is not None:
        on_gpu = program_devices(program, placement)
        namespace.update(_c=_host_contiguous, _h=to_host, _move=move, _run_on=run_on,
                         _cpu=cpu)
        namespace.update({_device_name(device): device for device in on_gpu.values()})
    lines = [f"def {name}(run, feeds):", "    read = run.variable_value"]
    names: dict = {}  # (node, index) -> the local (or global) name of that value
    tracks_values = program.has_control_flow
    segments, segment_of, in_python = ([], {}, []) if tracks_values or not whole else \
        nopython.lower_program(program, on_gpu or ())
    compiled = _SegmentWriter(program, segments, segment_of) if segments else None
    if compiled is not None:
        compiled.placed = on_gpu is not None
    if tracks_values:
        # Control flow runs subgraphs that read the values computed before it from the run.
        lines.append("    values = run.values")
    release_after = getattr(program, "release_after", {})

    def value_of(value) -> str:
        producer, index = value
        if producer.kind is not None and producer.kind.is_variable:
            return f"read({global_name(producer.op, 'var')})"
        return names[value]

    def global_name(obj, prefix: str) -> str:
        key = f"{prefix}{len(namespace)}"
        namespace[key] = obj
        return key

    if compiled is not None:  # a segment may read a constant placed after its first node
        for node in program.nodes:
            if isinstance(node.kind, Const):
                names[(node, 0)] = global_name(node.attrs["value"], "const")
    for number, node in enumerate(program.nodes):
        outputs = [f"v{number}_{index}" for index in range(len(node.specs))]
        where = _where(node)
        segment = segment_of.get(node)
        if segment is not None:
            if node is segment.nodes[0]:
                lines.extend(compiled.call(segment, value_of, global_name, names))
            continue
        if node.feed is not None:
            lines.append(f"    {outputs[0]} = feeds[{node.feed}]  # {where}")
        elif isinstance(node.kind, Const):
            if (node, 0) in names:
                continue
            constant = global_name(node.attrs["value"], "const")
            names[(node, 0)] = constant
            if tracks_values and node.op is not None:
                tensor = global_name(node.op.outputs[0], "tensor")
                lines.append(f"    values[{tensor}] = {constant}")
            continue
        elif node.kind.is_variable:
            continue  # read where used
        elif on_gpu is not None and getattr(node, "control", None) is None:
            lines.append(_placed_line(program, node, on_gpu.get(node, cpu), outputs, value_of,
                                      global_name))
        elif node.is_primitive and node.pure and _static(program, node):
            kernel = global_name(node.primitive.kernel(cpu), "kernel")
            arguments = ", ".join(value_of(v) for v in node.inputs)
            targets = ", ".join(outputs) + ("," if len(outputs) == 1 and _many(node) else "")
            lines.append(f"    {targets} = {kernel}({arguments})  # {where}")
        elif _rewritten(node):
            lines.append(_rewritten_line(node, outputs, value_of, global_name, where))
        else:
            kind = global_name(node.kind, "kind")
            op = global_name(node.op, "op")
            if node.control is not None and not tracks_values:
                # A lowered cond or loop run by its op kind (the step without numba
                # functions): its plans read its inputs from the run, by tensor.
                for tensor, value in zip(node.op.inputs, node.inputs):
                    lines.append(f"    run.values[{global_name(tensor, 'tensor')}] = "
                                 f"{value_of(value)}")
            arguments = ", ".join("None" if v is None else value_of(v)
                                  for v in node.inputs[:len(node.op.inputs)])
            call = f"{kind}.run(run, {op}, [{arguments}])"
            exports = len(outputs) - len(node.op.outputs)
            if exports > 0:  # a lowered cond's values for its gradient's (graph.compile.control),
                call = f"(*{call}{', None' * exports})"  # which reads them from the run here
            if outputs:
                lines.append(f"    {', '.join(outputs)}, = {call}  # {where}")
            else:
                lines.append(f"    {call}  # {where}")
        for index, local in enumerate(outputs):
            names[(node, index)] = local
            if tracks_values and node.op is not None and index < len(node.op.outputs):
                lines.append(f"    values[{global_name(node.op.outputs[index], 'tensor')}] "
                             f"= {local}")
        if not tracks_values:
            dead = [names[(producer, index)] for producer in release_after.get(node, ())
                    for index in range(len(producer.specs))
                    if (producer, index) in names]
            if dead:
                lines.append(f"    del {', '.join(dead)}")
    shared = []
    results = []
    for value in program.fetches:
        if value is None:
            results.append("None")
            continue
        text = value_of(value)
        results.append(text)
        if isinstance(value[0].kind, Const):
            shared.append(text)  # a fetched constant is returned as a copy
    for text in shared:
        lines.append(f"    run.shared_ids.add(id({text}))")
    lines.append(f"    return ({', '.join(results)}{',' if len(results) == 1 else ''})")
    source = "\n".join(lines) + "\n"
    filename = f"<dualgraph compiled {name} {id(program):x}>"
    # Registered with linecache, so a traceback through the step shows its lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    functions_source = compiled.finish() if compiled is not None else None
    step = namespace[name]
    step.numba_functions = [getattr(compiled.module, segment.name)
                            for segment in segments] if compiled is not None else []
    return source, step, functions_source, in_python


def _host_contiguous(value):
    """A variable's value as a numba function reads it in a step with GPU nodes: on the host,
    then as `_c_order` gives it."""
    return _c_order(to_host(value))


def _device_name(device) -> str:
    """The generated step's global name of a device: `_cpu`, `_cuda0`."""
    return "_cpu" if device.type == "cpu" else f"_cuda{device.index}"


def _placed_line(program, node, device, outputs, value_of, global_name) -> str:
    """The line of a node in a step with ops on a GPU: its kernel for its device (or its op
    kind, through `graph.placement.run_on`), each input moved there first; a constant read on
    the GPU is copied there once, now."""
    device_name = _device_name(device)

    def argument(value) -> str:
        if value is None:
            return "None"  # an assign's target
        producer = value[0]
        if isinstance(producer.kind, Const):
            if device.type == "cpu":
                return value_of(value)
            return global_name(to_device(producer.attrs["value"], device), "const")
        if device.type == "cpu" and producer.feed is not None:
            return value_of(value)
        return f"_move(run, {value_of(value)}, {device_name})"

    arguments = ", ".join(argument(v) for v in node.inputs)
    where = f"{_where(node)} on {device}"
    if node.is_primitive and node.pure and _static(program, node):
        kernel = global_name(node.primitive.kernel(device), "kernel")
        targets = ", ".join(outputs) + ("," if len(outputs) == 1 and _many(node) else "")
        return f"    {targets} = {kernel}({arguments})  # {where}"
    if _rewritten(node):  # its inputs are on its device: the seam runs the kernel there
        return _rewritten_line(node, outputs, argument, global_name, where)
    kind = "" if node.kind is node.op.kind else f", {global_name(node.kind, 'kind')}"
    call = f"_run_on(run, {global_name(node.op, 'op')}, {device_name}, [{arguments}]{kind})"
    return f"    {', '.join(outputs)}, = {call}  # {where}" if outputs else f"    {call}  # {where}"


def _rewritten(node) -> bool:
    """A primitive node a pass gave another op than its graph operation's (log_softmax for a
    log of a softmax, sub for an AssignSub): its op kind would run the operation's own."""
    return node.is_primitive and node.op is not None and node.primitive is not node.op.primitive


def _rewritten_line(node, outputs, value_of, global_name, where) -> str:
    """The line of a rewritten node whose shapes are known only when it runs: the execution
    seam runs its own primitive's rule, then kernel (a failure reruns the step on the
    interpreter, which names the user's line)."""
    primitive = global_name(node.primitive, "primitive")
    arguments = ", ".join(value_of(v) for v in node.inputs)
    return f"    {', '.join(outputs)}, = _run_primitive({primitive}, [{arguments}])  # {where}"


def _run_primitive(primitive, inputs) -> tuple:
    result = run_op(primitive, inputs)[1]
    return result if type(result) is tuple else (result,)


def _c_order(array):
    """A variable's value as the numba functions take it: C-ordered, and 0-d kept 0-d
    (np.ascontiguousarray makes a 0-d array 1-d, a type the functions were not compiled for)."""
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def _blas_layout(value):
    """A constant as the numba functions take it: C- or F-ordered as it is (the layouts the
    CPU kernels read in place), else a C copy."""
    if not isinstance(value, np.ndarray):
        return np.asarray(value)
    if not (value.flags.c_contiguous or value.flags.f_contiguous):
        return value.copy()
    return value


def _many(node) -> bool:
    return node.is_primitive and len(node.specs) > 1


def _static(program, node) -> bool:
    """Whether every input shape of `node` was known when the step was generated (after a
    control-flow op it may not be: then the shape rule must run with the values)."""
    return all(v is None or None not in v[0].specs[v[1]].shape for v in node.inputs)


def _where(node) -> str:
    if node.op is None:
        return node.label
    site = node.op.site
    place = f"{site.filename.rsplit('/', 1)[-1]}:{site.lineno}" if site is not None else "?"
    return f"{node.label} at {place}"


class _SegmentWriter:
    """Writes the numba functions of a program's segments and the Python lines calling them."""

    def __init__(self, program: Program, segments: list, segment_of: dict):
        self.program = program
        self.segments = segments
        self.segment_of = segment_of
        self.objects: dict = {}  # global name -> kernel or constant the functions use
        self.object_names: dict = {}  # id(kernel) -> its global name (kernels are shared)
        self.sources: list[str] = []
        self.module = None
        self.placed = False  # some nodes run on a GPU: values read from them come to the host
        # Locals are named by node number; the nodes of lowered conds' and loops' plans are
        # numbered after the program's own, in the order they are written.
        self.numbers = {node: number for number, node in enumerate(program.nodes)}
        # Each value's readers: the segments that read it, and "outside"; and how many nodes
        # read it (a fetch counts as one). With `fresh`, the locals holding a buffer their own
        # statements allocated, an Assign may take such a buffer as the variable's new value,
        # uncopied, when it is its only reader.
        needed_after: dict = {}  # value key -> the segments of its readers, and "outside"
        readers: dict = {}  # value key -> how many nodes read it
        uses = [(segment_of.get(node, "outside"), value)
                for node in program.nodes for value in node.inputs]
        uses += [("outside", value) for value in program.fetches]
        for reader, value in uses:
            if value is not None:
                needed_after.setdefault(value, set()).add(reader)
                readers[value] = readers.get(value, 0) + 1
        self.needed_after = needed_after
        self.readers = readers
        self.fresh: set = set()  # (segment number, local)
        for segment in segments:
            self._write(segment)

    # -- the numba function of one segment -------------------------------------------------

    def _object(self, value) -> str:
        name = self.object_names.get(id(value))
        if name is None or self.objects[name] is not value:
            name = f"k{len(self.objects)}"
            self.objects[name] = value
            self.object_names[id(value)] = name
        return name

    def _argument(self, segment, key) -> str:
        """The parameter holding a value made outside the segment. Variables arrive
        C-ordered; a constant in its own layout if BLAS can read it so (C or F), as the CPU
        kernels read it; a feed or a Python call's value as it is (C usually, but a feed may
        be a transposed array): statements that need C order get a C twin, made when needed
        (`np.ascontiguousarray` returns a C array itself), so every kernel sees the layout
        the interpreter's kernel would see."""
        if key not in segment.local:
            name = f"a{len(segment.arguments)}"
            segment.arguments.append(key)
            segment.local[key] = name
            if key[0] != "variable":
                producer = key[0]
                value = producer.attrs["value"] if isinstance(producer.kind, Const) else None
                known_c = isinstance(value, np.ndarray) and value.flags.c_contiguous
                segment.is_contiguous[name] = known_c
        return segment.local[key]

    def _use(self, segment, value, contiguous: bool) -> str:
        producer, index = value
        if producer.kind is not None and producer.kind.is_variable:
            staged = segment.staged.get(producer.op)
            if staged is not None:
                return staged
            return self._argument(segment, ("variable", producer.op))
        if value not in segment.local:  # made before the segment: an argument
            self._argument(segment, value)
        name = segment.local[value]
        if contiguous and not segment.is_contiguous.get(name, True):
            twin = segment.contiguous.get(name)
            if twin is None:
                twin = segment.contiguous[name] = f"{name}_c"
                segment.emit(f"{twin} = np.ascontiguousarray({name})")
            return twin
        return name

    def number(self, node) -> int:
        return self.numbers.setdefault(node, len(self.numbers))

    def _write(self, segment) -> None:
        segment.is_contiguous = {}
        for node in segment.nodes:
            self.write_node(segment, node)
        self._finish_segment(segment)

    def write_node(self, segment, node) -> None:
        """The statements of one node (a cond's or loop's with those of its plans)."""
        number = self.number(node)
        segment.emit(f"# {_where(node)}")
        if node.control is not None:
            control.write(self, segment, node, number)
            return
        if nopython.is_passthrough(node):
            if node.specs and node.inputs:  # Identity: the same value under a new name
                segment.local[(node, 0)] = self._use(segment, node.inputs[0], False)
            return
        if nopython.assign_lowerable(node):
            variable = node.op.inputs[0].op
            value = self._use(segment, node.inputs[1], False)
            current = segment.staged.get(variable)
            if current is None and type(node.kind) is not nopython.Assign:
                current = self._argument(segment, ("variable", variable))
            target = f"s{number}"
            spec = node.specs[0]
            if (type(node.kind) is nopython.Assign and self.readers.get(node.inputs[1]) == 1
                    and (segment.number, value) in self.fresh):
                segment.emit(f"{target} = {value}")  # a buffer made for this assign alone
            elif spec.shape == ():
                segment.emit(f"{target} = np.empty((), {cpu_kernels.dtype_literal(spec.dtype)})")
                expression = nopython.SCALAR_ASSIGN_EXPRESSION[type(node.kind)]
                segment.emit(f"{target}[()] = " + expression.format(value=value, current=current))
            else:
                expression = nopython._ASSIGN_EXPRESSION[type(node.kind)]
                segment.emit(f"{target} = " + expression.format(value=value, current=current))
            segment.staged[variable] = target
            segment.local[(node, 0)] = target
            return
        lowered = nopython.lowering_of(node)
        fields = {}
        for k, value in enumerate(node.inputs):
            fields[f"i{k}"] = self._use(segment, value, not lowered.any_layout)
        for k, contiguous in enumerate(lowered.contiguous):
            local = f"v{number}_{k}"
            fields[f"o{k}"] = local
            segment.local[(node, k)] = local
            segment.is_contiguous[local] = contiguous
        for key, value in lowered.objects.items():
            fields[key] = self._object(value)
        # Outputs whose statements allocate them (a top-level `o = np.empty(...)`): large ones
        # ask for huge pages, as NumPy's would; each is a fresh buffer (see `readers`).
        allocations = {f"{fields[f'o{k}']} = np.empty(": (fields[f"o{k}"], spec)
                       for k, spec in enumerate(node.specs)}
        for line in lowered.code.format(**fields).splitlines():
            segment.emit(line)
            allocated = allocations.get(line.split("np.empty(", 1)[0] + "np.empty(")
            if allocated is None:
                continue
            local, spec = allocated
            self.fresh.add((segment.number, local))
            if _HUGE_PAGES and spec_bytes(spec) >= cpu_kernels.HUGE_PAGE_MIN_BYTES:
                segment.emit(f"{self._object(cpu_kernels.advise_huge_pages)}({local})")

    def _finish_segment(self, segment) -> None:
        # What the segment returns: its values read later outside it, and staged values.
        produced = {key for key in segment.local if key in self.needed_after
                    and key not in segment.arguments}
        for node in segment.nodes:
            for index in range(len(node.specs)):
                key = (node, index)
                if key in produced and self.needed_after[key] - {segment}:
                    segment.results.append(key)
        staged_results = [("staged", variable) for variable in segment.staged]
        segment.results.extend(staged_results)
        returned = [segment.local[key] if key[0] != "staged" else segment.staged[key[1]]
                    for key in segment.results]
        body = "\n".join(f"    {line}" for line in segment.lines)
        result = f"({', '.join(returned)},)" if returned else "0"
        parameters = ", ".join(segment.local[key] for key in segment.arguments)
        self.sources.append(f"@numba.njit(cache=True)\ndef {segment.name}({parameters}):\n"
                            f"{body}\n    return {result}\n")

    # -- the Python lines around them -------------------------------------------------------

    def call(self, segment, value_of, global_name, names) -> list[str]:
        arguments = []
        for key in segment.arguments:
            if key[0] == "variable":
                arguments.append(f"_c(read({global_name(key[1], 'var')}))")
            else:
                producer = key[0]
                # A constant of a lowered cond's or loop's plan is no value of the step's.
                text = value_of(key) if key in names or not isinstance(producer.kind, Const) \
                    else global_name(producer.attrs["value"], "const")
                if isinstance(producer.kind, Const):  # C or F as it is; else C, once
                    value = producer.attrs["value"]
                    ordered = _blas_layout(value)
                    text = text if ordered is value else global_name(ordered, "const")
                elif self.placed:  # a value from a node on a GPU comes to the host
                    text = f"_h({text})"
                arguments.append(text)
        targets = []
        stage_lines = []
        for key in segment.results:
            if key[0] == "staged":
                variable = global_name(key[1], "var")
                local = f"{variable}_new"
                targets.append(local)
                stage_lines.append(f"    run.stage({variable}, {local})")
            else:
                local = f"v{self.program.nodes.index(key[0])}_{key[1]}"
                names[key] = local
                targets.append(local)
                if segment.local[key] in segment.aliases:  # maybe an argument: a constant...
                    stage_lines.append(f"    run.shared_ids.add(id({local}))")
        function = global_name(self, "segments")
        nodes = ", ".join(_where(node) for node in segment.nodes[:1])
        call = f"{function}.module.{segment.name}({', '.join(arguments)})"
        head = f"    {', '.join(targets)}, = {call}" if targets else f"    {call}"
        return [f"    # {segment.name}: {len(segment.nodes)} nodes in one numba function, "
                f"from {nodes}", head, *stage_lines]

    def finish(self) -> str:
        """The functions' source; loads (from numba's disk cache when it holds them) and
        compiles them now, for the argument types the step will pass."""
        source = "\n\n".join(self.sources)
        self.module = nopython.load_segments(source, self.objects)
        for segment in self.segments:
            types = [self._type(key) for key in segment.arguments]
            function = getattr(self.module, segment.name)
            try:
                function.compile(tuple(types))
            except Exception:
                # A damaged cache entry (a half-written or corrupted index) is never trusted:
                # drop this function's entries and compile it afresh, once.
                function._cache.flush()
                function.compile(tuple(types))
        return source

    def _type(self, key):
        """The numba type the step will most likely pass: a constant's own; C order for the
        rest (an argument of another layout compiles one more version when first seen)."""
        if key[0] != "variable" and isinstance(key[0].kind, Const):
            return numba.typeof(_blas_layout(key[0].attrs["value"]))
        spec = self._spec(key)
        return numba.typeof(np.empty(spec.shape, spec.dtype))

    def _spec(self, key):
        if key[0] == "variable":
            tensor = key[1].outputs[0]
            return type("S", (), {"shape": tuple(tensor.shape), "dtype": tensor.dtype})
        return key[0].specs[key[1]]
