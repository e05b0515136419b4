"""Code generation: a Program becomes the Python source of one function, `step(run, feeds)`,
with one line per node in execution order.

Every shape is known when the step is generated, so the shape rules ran then and the step
calls each op's kernel for its device directly (`Op.kernel`, chosen here once). Values are
local variables, freed after their last use (the memory plan). Variables are read where each
consumer runs, as the interpreter reads them; assigns, control flow and random ops run
through their op kind (`kind.run`), with the run's state, as the interpreter runs them.
"""

from __future__ import annotations

import linecache

from framework.device import cpu
from graph.compile.program import Program
from graph.ops import Const

__all__ = ["generate"]


def generate(program: Program, name: str = "step"):
    """(source, the compiled function) for `program`."""
    namespace: dict = {}
    lines = [f"def {name}(run, feeds):", "    read = run.variable_value"]
    names: dict = {}  # (node, index) -> the local (or global) name of that value
    tracks_values = program.has_control_flow
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

    for number, node in enumerate(program.nodes):
        outputs = [f"v{number}_{index}" for index in range(len(node.specs))]
        where = _where(node)
        if node.feed is not None:
            lines.append(f"    {outputs[0]} = feeds[{node.feed}]  # {where}")
        elif isinstance(node.kind, Const):
            constant = global_name(node.attrs["value"], "const")
            names[(node, 0)] = constant
            if tracks_values and node.op is not None:
                tensor = global_name(node.op.outputs[0], "tensor")
                lines.append(f"    values[{tensor}] = {constant}")
            continue
        elif node.kind.is_variable:
            continue  # read where used
        elif node.is_primitive and node.pure and _static(program, node):
            kernel = global_name(node.primitive.kernel(cpu), "kernel")
            arguments = ", ".join(value_of(v) for v in node.inputs)
            targets = ", ".join(outputs) + ("," if len(outputs) == 1 and _many(node) else "")
            lines.append(f"    {targets} = {kernel}({arguments})  # {where}")
        else:
            kind = global_name(node.kind, "kind")
            op = global_name(node.op, "op")
            arguments = ", ".join("None" if v is None else value_of(v) for v in node.inputs)
            if outputs:
                lines.append(f"    {', '.join(outputs)}, = {kind}.run(run, {op}, "
                             f"[{arguments}])  # {where}")
            else:
                lines.append(f"    {kind}.run(run, {op}, [{arguments}])  # {where}")
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
    return source, namespace[name]


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
