"""`Lowered`: what an op gives the graph compiler to run it inside one generated numba function.

It lives in the kernels layer because the CPU templates (framework.kernels.cpu) build the
statements of the kernels they generate; ops (framework.ops) return it from `Op.nopython`.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Lowered:
    """How an op runs inside compiled code: numba statements the graph compiler pastes into the
    one function it generates for a run of the graph (graph.compile.codegen).

    `code` holds `{i0}`, `{i1}`, ... for the inputs, `{o0}`, ... for the outputs it must
    assign, and `{name}` for each object of `objects` (kernels, constants), which the compiler
    binds under names of its own. The statements make the calls the CPU kernel makes on the
    same shapes (the same kernels, layouts and BLAS calls), so compiled code gives the same
    bits. Inputs arrive C-contiguous unless `any_layout`; `contiguous` says, per output,
    whether it is C-contiguous (a transpose's view is not). A statement may raise (a label out
    of range): the compiled step then reruns on the interpreter, which names the error.

    >>> Lowered("{o0} = {i0}.copy()", {}).outputs
    1
    """

    code: str
    objects: dict
    contiguous: tuple = (True,)
    any_layout: bool = False

    @property
    def outputs(self) -> int:
        return len(self.contiguous)


def joined(*parts) -> tuple:
    """(code, objects) of several (code, objects) parts run one after another, each part's
    object names suffixed with its position so that they cannot collide.

    >>> code, objects = joined(("{k}({i0})", {"k": print}), ("{k}({o0})", {"k": len}))
    >>> code.splitlines(), sorted(objects)
    (['{k_0}({i0})', '{k_1}({o0})'], ['k_0', 'k_1'])
    """
    lines, objects = [], {}
    for number, (code, found) in enumerate(parts):
        for name, value in found.items():
            code = code.replace("{" + name + "}", "{" + f"{name}_{number}" + "}")
            objects[f"{name}_{number}"] = value
        if code:
            lines.append(code)
    return "\n".join(lines), objects


def rebound(lowered: Lowered, inputs=(), outputs=()) -> str:
    """`lowered.code` with its input k read from `inputs[k]` and its output k written to
    `outputs[k]` (placeholders or local names), for an op whose statements run another's.

    >>> rebound(Lowered("{o0} = {i0} + {i1}", {}), ("{i1}", "{i0}"), ("{o0}_t",))
    '{o0}_t = {i1} + {i0}'
    """
    code = lowered.code
    renames = [(f"{{i{k}}}", name) for k, name in enumerate(inputs)]
    renames += [(f"{{o{k}}}", name) for k, name in enumerate(outputs)]
    for number, (old, _) in enumerate(renames):  # two steps: a new name may be an old one
        code = code.replace(old, f"\0{number}\0")
    for number, (_, new) in enumerate(renames):
        code = code.replace(f"\0{number}\0", new)
    return code
