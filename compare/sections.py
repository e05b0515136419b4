"""What a demo hands to the report: a titled section made of plain blocks.

Every demo module has `run(small: bool = False) -> Section`. The terminal prints `summary`
(and `text()` for a demo run alone); `compare.report` turns the blocks into one HTML page.
A demo never writes HTML itself, so each demo stays readable as a script and the page keeps
one look.

Blocks, in reading order:
- `Text`: a paragraph (plain text; blank lines separate paragraphs);
- `Code`: source the reader should look at (the demo's model, the line that failed); an error
  message is a `Code` with `wrap=True`, so its long lines wrap instead of scrolling;
- `Picture`: one image: a graphviz `Digraph`, a matplotlib `Figure`, or SVG/PNG bytes;
- `SideBySide`: eager on the left, graph on the right (each a list of blocks);
- `Table`: headers and rows of strings.

>>> section = Section("demo", "A demo", "What it shows.", summary="it ran")
>>> section.add(Text("Hello."))
>>> section.add(Table(["a", "b"], [["1", "2"]]))
>>> print(section.text())
== A demo ==
What it shows.
<BLANKLINE>
Hello.
<BLANKLINE>
a  b
-  -
1  2
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any

from compare.timing import format_table

__all__ = ["Block", "Code", "Picture", "Section", "SideBySide", "Table", "Text",
           "source_without_docstring"]


@dataclass
class Text:
    text: str


@dataclass
class Code:
    source: str
    caption: str = ""
    wrap: bool = False  # wrap long lines (error messages) rather than scroll them


def source_without_docstring(obj) -> str:
    """The source of a function or class, its docstring left out (the code is the point).

    >>> lines = source_without_docstring(source_without_docstring).splitlines()
    >>> print(lines[0])
    def source_without_docstring(obj) -> str:
    >>> any("the code is the point" in line for line in lines)
    False
    """
    source = textwrap.dedent(inspect.getsource(obj))
    lines = source.splitlines()
    body = ast.parse(source).body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        start = body[0].lineno - 1
        del lines[start:body[0].end_lineno]
        while start < len(lines) and not lines[start].strip():
            del lines[start]  # the blank line that followed the docstring
    return "\n".join(lines)


@dataclass
class Picture:
    """`image` is a graphviz.Digraph, a matplotlib Figure, or bytes (`fmt` "svg" or "png")."""

    image: Any
    caption: str = ""
    fmt: str = "svg"


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class SideBySide:
    """Two columns: eager (define-by-run) left, graph (define-and-run) right."""

    left: list
    right: list
    left_title: str = "eager (define-by-run)"
    right_title: str = "graph (define-and-run)"


Block = Text | Code | Picture | Table | SideBySide


@dataclass
class Section:
    key: str  # the demo's CLI name, also the HTML anchor
    title: str
    intro: str
    blocks: list = field(default_factory=list)
    summary: str = ""  # one or two lines for the terminal after `make demo`
    failed: bool = False  # set by the report when the demo raised (the blocks show the error)

    def add(self, *blocks) -> None:
        self.blocks.extend(blocks)

    def text(self) -> str:
        """The section as terminal text: pictures appear as their captions."""
        lines = [f"== {self.title} ==", self.intro]
        for block in self.blocks:
            lines += ["", *_block_text(block)]
        return "\n".join(lines)


def _block_text(block) -> list[str]:
    if isinstance(block, Text):
        return [block.text]
    if isinstance(block, Code):
        return ([block.caption] if block.caption else []) + \
            ["    " + line for line in block.source.rstrip().splitlines()]
    if isinstance(block, Picture):
        return [f"[picture: {block.caption or 'untitled'}]"]
    if isinstance(block, Table):
        return ([block.caption] if block.caption else []) + \
            format_table(block.headers, block.rows).splitlines()
    if isinstance(block, SideBySide):
        lines = [f"-- {block.left_title} --"]
        for inner in block.left:
            lines += _block_text(inner)
        lines.append(f"-- {block.right_title} --")
        for inner in block.right:
            lines += _block_text(inner)
        return lines
    raise TypeError(f"not a report block: {type(block).__name__}")
