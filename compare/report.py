"""The report: every demo's Section on one self-contained HTML page (`out/report.html`).

`collect(names, small)` runs demos and returns their Sections; `write_report(sections, path)`
writes the page. The page needs no network and runs no script: CSS is inline, graph drawings
are inline SVG, plots and other images are `data:` URIs. Each SideBySide block is two columns,
eager (define-by-run) on the left and graph (define-and-run) on the right. A drawing too large
to read at its column's width also gets a full-size copy, folded under it. In prose (intros,
paragraphs, captions), text between backticks is shown as code.

>>> from compare.sections import Section, Table, Text
>>> section = Section("demo", "A <demo>", "What it shows.", summary="it ran")
>>> section.add(Text("x < y"), Table(["a"], [["1"]]))
>>> page = render_html([section])
>>> "A &lt;demo&gt;" in page and "x &lt; y" in page and 'href="#demo"' in page
True
>>> _prose("use `tf.cond` <here>")
'use <code>tf.cond</code> &lt;here&gt;'
"""

from __future__ import annotations

import base64
import html
import importlib
import io
import os
import platform
import re
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from compare.sections import Code, Picture, Section, SideBySide, Table, Text

__all__ = ["DEFAULT_PATH", "REPORT_DEMOS", "collect", "ops_section", "render_html",
           "run_demo", "write_report"]

DEFAULT_PATH = Path("out") / "report.html"


# -- the demos, in the page's order ----------------------------------------------------------


def _module_demo(module: str) -> Callable[[bool], Section]:
    """A demo's `run(small)`, imported only when the demo runs (keeps `--help` fast)."""

    def run(small: bool = False) -> Section:
        return importlib.import_module(module).run(small)

    run.__doc__ = f"`{module}.run`"
    return run


def ops_section(small: bool = False) -> Section:
    """The op layer as a Section: the registry (every primitive, its kernels and gradient) and
    every kernel timed against NumPy (`bench_ops`; `small`: a few ops, three repeats)."""
    import dataclasses

    from compare import bench_ops
    from framework.ops import REGISTRY

    with_cuda = any(REGISTRY[name].cuda for name in REGISTRY)
    registry_rows = []
    for name in sorted(REGISTRY):
        op = REGISTRY[name]
        attributes = ", ".join(field.name for field in dataclasses.fields(op)) or "-"
        gradient = "rule" if op.vjp is not None else f"none ({op.no_gradient})"
        kernels = "numba" + (", numba.cuda" if op.cuda else "") if with_cuda else "numba"
        registry_rows.append([name, attributes, kernels, gradient])
    names = ["add", "mul", "exp", "sum", "matmul", "softmax (512, n)"] if small else None
    rows = bench_ops.run(repeats=15, names=names, quick=small)
    judged = [row for row in rows if row[5] in ("yes", "NO")]
    rows = [[*row[:5], row[5] or "not judged"] for row in rows]
    met = sum(row[5] == "yes" for row in judged)
    section = Section(
        "ops", "The op layer: one kernel set for both front-ends",
        "Every primitive is declared once in framework/ops with its shape rule, its numba "
        "CPU kernel and its gradient rule; eager and graph both call it. Below: the registry, "
        "then each kernel timed against NumPy on the same work.",
        summary=f"{len(REGISTRY)} primitives; {met} of {len(judged)} judged kernel timings "
                f"within {bench_ops.TARGET_RATIO}x of NumPy")
    section.add(
        Table(["op", "attributes", "kernels", "gradient"], registry_rows,
              f"the registry: {len(REGISTRY)} primitives"
              + ("" if with_cuda else "; none has a CUDA kernel yet")),
        Text("Timings: median of interleaved repeats in this process. The reference does the "
             "same work in NumPy (SciPy for special functions; conv2d names its own); ratio = "
             f"ours / reference, below 1 when ours is faster. The target, at most "
             f"{bench_ops.TARGET_RATIO}x, is "
             "judged only at 1e6 elements and for matmul, where the kernel rather than "
             "Python's call path sets the time; at 1000 elements the fixed cost of a call "
             "dominates." + (" A smoke run: a few ops, three repeats." if small else "")),
        Table(["op", "size", "ours", "reference", "ratio",
               f"<= {bench_ops.TARGET_RATIO}x"], rows, "kernels against NumPy"),
    )
    return section


# Name (as on the command line) -> run(small) -> Section, in the order of the page.
REPORT_DEMOS: dict[str, Callable[[bool], Section]] = {
    "if-statement": _module_demo("compare.demo_if"),
    "dynamic-loops": _module_demo("compare.demo_loops"),
    "debugging": _module_demo("compare.demo_debugging"),
    "same-model": _module_demo("compare.demo_same_model"),
    "cost": _module_demo("compare.demo_cost"),
    "compiler": _module_demo("compare.demo_compiler"),
    "ops": ops_section,
}


def _failure_section(name: str, error: BaseException) -> Section:
    section = Section(name, f"{name}: failed",
                      "This demo raised an error, shown below; the other sections are "
                      "unaffected.", summary=f"FAILED: {type(error).__name__}: {error}",
                      failed=True)
    section.add(Code("".join(traceback.format_exception(error)), "the error"))
    return section


def run_demo(name: str, small: bool = False, keep_going: bool = True) -> tuple[Section, float]:
    """Run one report demo: (its Section, seconds it took).

    With `keep_going`, an error becomes a failed Section that shows the traceback (its
    `failed` is True), so one broken demo does not cost the whole page.
    """
    if name not in REPORT_DEMOS:
        raise KeyError(f"unknown demo {name!r}; choose from {', '.join(REPORT_DEMOS)}")
    start = time.perf_counter()
    try:
        section = REPORT_DEMOS[name](small)
    except Exception as error:
        if not keep_going:
            raise
        section = _failure_section(name, error)
    return section, time.perf_counter() - start


def collect(names: Iterable[str] | None = None, small: bool = False,
            keep_going: bool = True) -> list[Section]:
    """Run the demos named (all of `REPORT_DEMOS` for None), in order; their Sections."""
    names = list(REPORT_DEMOS) if names is None else list(names)
    return [run_demo(name, small, keep_going)[0] for name in names]


# -- HTML -------------------------------------------------------------------------------------

_CSS = """
:root { --eager: #1f77b4; --graph: #e07b00; --ink: #1d232b; --muted: #5b6570; --rule: #d9dee3; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--ink); background: #f6f7f9; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { margin: 0 0 4px; font-size: 1.9em; }
h2 { margin: 0 0 6px; font-size: 1.45em; }
h3 { margin: 0 0 8px; font-size: 1.05em; }
p { margin: 0 0 10px; max-width: 75em; }
.meta, .caption, figcaption, caption { color: var(--muted); font-size: 0.9em; }
nav { background: #fff; border: 1px solid var(--rule); border-radius: 8px; padding: 12px 20px;
      margin: 16px 0 28px; }
nav ol { margin: 6px 0 0; padding-left: 1.4em; }
nav li { margin: 4px 0; }
nav .summary { display: block; color: var(--muted); font-size: 0.88em; white-space: pre-line; }
section { background: #fff; border: 1px solid var(--rule); border-radius: 8px;
          padding: 20px 24px; margin: 0 0 28px; }
section.failed { border: 2px solid #c62828; }
section > .intro { font-size: 1.05em; }
.block { margin: 16px 0; }
.legend b.eager, .column.eager > h3 { color: var(--eager); }
.legend b.graph, .column.graph > h3 { color: var(--graph); }
.side-by-side { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 20px; }
.column { min-width: 0; border-top: 4px solid var(--rule); padding-top: 8px; }
.column.eager { border-top-color: var(--eager); }
.column.graph { border-top-color: var(--graph); }
@media (max-width: 800px) { .side-by-side { grid-template-columns: minmax(0, 1fr); } }
figure { margin: 0; }
.picture { overflow: auto; max-height: 1000px; border: 1px solid var(--rule); border-radius: 6px;
           background: #fff; padding: 6px; text-align: center; }
.picture svg, .picture img { max-width: 100%; height: auto; }
.missing { color: #8a4b00; font-style: italic; }
code { font: 0.92em ui-monospace, "DejaVu Sans Mono", Menlo, monospace; background: #eef1f4;
       border-radius: 3px; padding: 0 3px; }
pre code { background: none; padding: 0; font: inherit; }
pre.wrap { white-space: pre-wrap; overflow-wrap: anywhere; }
.column pre { font-size: 12px; }
details.full-size { margin-top: 6px; }
details.full-size:not([open]) > div { display: none; }
details.full-size > summary { cursor: pointer; color: var(--muted); font-size: 0.9em; }
details.full-size > div { overflow: auto; max-height: 1400px; border: 1px solid var(--rule);
                          border-radius: 6px; background: #fff; padding: 6px; }
pre { margin: 0; padding: 10px 12px; background: #f3f4f6; border: 1px solid var(--rule);
      border-radius: 6px; overflow: auto; font: 13px/1.45 ui-monospace, "DejaVu Sans Mono",
      Menlo, monospace; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.92em; }
caption { text-align: left; padding-bottom: 4px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: left;
         vertical-align: top; }
th { background: #eef1f4; }
footer { color: var(--muted); font-size: 0.85em; }
"""

_SVG_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_SVG_ID = re.compile(r'\bid="([^"]+)"')
_SVG_REFERENCE = re.compile(r'(url\(#|href="#)([^")]+)')


def _inline_svg(svg: str, prefix: str) -> str:
    """An SVG document as an element to inline: no XML prolog or DOCTYPE, and its ids
    prefixed so that several drawings on one page never share an id."""
    match = _SVG_PROLOG.match(svg)
    if match is None:
        raise ValueError("not an SVG image: no <svg> element found")
    svg = svg[match.end():]
    svg = _SVG_ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return _SVG_REFERENCE.sub(lambda m: f"{m.group(1)}{prefix}{m.group(2)}", svg)


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _is_drawing(image) -> bool:
    return hasattr(image, "pipe") and hasattr(image, "source")  # graphviz.Digraph / Graph


def _is_figure(image) -> bool:
    return hasattr(image, "savefig") and hasattr(image, "axes")  # matplotlib Figure


class _Renderer:
    """Turns blocks into HTML; numbers the inline SVGs so their ids stay unique."""

    def __init__(self):
        self.pictures = 0

    def block(self, block) -> str:
        if isinstance(block, Text):
            paragraphs = [part.strip() for part in re.split(r"\n\s*\n", block.text)]
            return "".join(f"<p>{_prose(part)}</p>" for part in paragraphs if part)
        if isinstance(block, Code):
            wrap = ' class="wrap"' if block.wrap else ""
            return (f'<figure class="code">{_caption(block.caption)}'
                    f"<pre{wrap}><code>{_escape(block.source.rstrip())}</code></pre></figure>")
        if isinstance(block, Picture):
            return self.picture(block)
        if isinstance(block, Table):
            head = "".join(f"<th>{_escape(cell)}</th>" for cell in block.headers)
            body = "".join("<tr>" + "".join(f"<td>{_escape(cell)}</td>" for cell in row)
                           + "</tr>" for row in block.rows)
            caption = f"<caption>{_escape(block.caption)}</caption>" if block.caption else ""
            return (f'<div class="table-wrap"><table>{caption}<thead><tr>{head}</tr></thead>'
                    f"<tbody>{body}</tbody></table></div>")
        if isinstance(block, SideBySide):
            columns = []
            for side, title, blocks in (("eager", block.left_title, block.left),
                                        ("graph", block.right_title, block.right)):
                inner = "".join(f'<div class="block">{self.block(b)}</div>' for b in blocks)
                columns.append(f'<div class="column {side}"><h3>{_escape(title)}</h3>'
                               f"{inner}</div>")
            return f'<div class="side-by-side">{"".join(columns)}</div>'
        raise TypeError(f"not a report block: {type(block).__name__}")

    def picture(self, picture: Picture) -> str:
        self.pictures += 1
        prefix = f"p{self.pictures}-"
        image, label = picture.image, picture.caption or "picture"
        full_size = ""
        if _is_drawing(image):
            from framework import viz

            try:
                svg = viz.render(image, "svg").decode("utf-8")
                content = _inline_svg(svg, prefix)
                if _svg_width_px(svg) > FULL_SIZE_FROM_PX:
                    full_size = ('<details class="full-size"><summary>show at full size'
                                 f"</summary><div>{_inline_svg(svg, f'{prefix}full-')}</div>"
                                 "</details>")
            except viz.GraphvizNotFoundError as missing:
                content = f'<p class="missing">drawing left out: {_escape(str(missing))}</p>'
        elif _is_figure(image):
            buffer = io.BytesIO()
            image.savefig(buffer, format="svg", metadata={"Date": None})
            content = (f'<img src="{_data_uri(buffer.getvalue(), "image/svg+xml")}" '
                       f'alt="{_escape(label)}">')
        elif isinstance(image, bytes | str):
            data = image.encode("utf-8") if isinstance(image, str) else image
            if picture.fmt == "svg":
                content = _inline_svg(data.decode("utf-8"), prefix)
            elif picture.fmt == "png":
                content = f'<img src="{_data_uri(data, "image/png")}" alt="{_escape(label)}">'
            else:
                raise ValueError(f"Picture {label!r}: fmt must be 'svg' or 'png' for bytes, "
                                 f"got {picture.fmt!r}")
        else:
            raise TypeError(f"Picture {label!r}: cannot show a {type(image).__name__}; give a "
                            "graphviz Digraph, a matplotlib Figure, or SVG/PNG bytes")
        return (f'<figure><div class="picture">{content}</div>{_caption(picture.caption)}'
                f"{full_size}</figure>")


# A drawing wider than this (about one column at the page's full width, times 1.5) is shrunk
# so much to fit its column that it gets a folded full-size copy.
FULL_SIZE_FROM_PX = 900
_SVG_WIDTH = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)(pt|px)?"')


def _svg_width_px(svg: str) -> float:
    """The natural width of an SVG drawing in CSS pixels (0 when it does not say)."""
    match = _SVG_WIDTH.search(svg)
    if match is None:
        return 0.0
    return float(match.group(1)) * (4 / 3 if match.group(2) == "pt" else 1)


def _escape(text) -> str:
    return html.escape(str(text), quote=True)


_INLINE_CODE = re.compile(r"`([^`\n]+)`")


def _prose(text) -> str:
    """Escaped text in which `code` (between backticks) is set as code."""
    return _INLINE_CODE.sub(r"<code>\1</code>", _escape(text))


def _caption(text: str) -> str:
    return f"<figcaption>{_prose(text)}</figcaption>" if text else ""


def _machine_line() -> str:
    """How many threads the numba kernels may use: timings depend on it, and on other load."""
    try:
        import numba

        threads = numba.get_num_threads()
    except ImportError:  # pragma: no cover - numba is a dependency
        return ""
    return (f" Numba kernels ran on up to {threads} thread{'s' if threads != 1 else ''}; "
            f"the machine has {os.cpu_count()} CPUs, shared with whatever else was running.")


def _anchors(sections: list[Section]) -> list[str]:
    anchors, used = [], set()
    for section in sections:
        anchor = re.sub(r"[^A-Za-z0-9_-]+", "-", section.key).strip("-") or "section"
        base, count = anchor, 1
        while anchor in used:
            count += 1
            anchor = f"{base}-{count}"
        used.add(anchor)
        anchors.append(anchor)
    return anchors


def render_html(sections: list[Section], title: str = "dualgraph: eager and graph, side by side",
                note: str = "") -> str:
    """The whole page as a string. `note` is a line under the title (how it was made)."""
    renderer = _Renderer()
    anchors = _anchors(sections)
    contents = "".join(
        f'<li><a href="#{anchor}">{_prose(section.title)}</a>'
        + (f'<span class="summary">{_prose(section.summary)}</span>' if section.summary else "")
        + "</li>" for anchor, section in zip(anchors, sections))
    body = []
    for anchor, section in zip(anchors, sections):
        blocks = "".join(f'<div class="block">{renderer.block(block)}</div>'
                         for block in section.blocks)
        failed = ' class="failed"' if getattr(section, "failed", False) else ""
        body.append(f'<section id="{anchor}"{failed}><h2>{_prose(section.title)}</h2>'
                    f'<p class="intro">{_prose(section.intro)}</p>{blocks}</section>')
    made = note or (f"Written {datetime.now():%Y-%m-%d %H:%M} on {platform.machine()} "
                    f"({platform.system()}), Python {platform.python_version()}.")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_escape(title.replace("`", ""))}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<h1>{_prose(title)}</h1>
<p class="meta">{_prose(made + _machine_line())}</p>
<p class="legend">One kernel layer, two ways to build a network. Wherever a demo shows both,
<b class="eager">eager</b> (define-by-run, PyTorch-like) is on the left and
<b class="graph">graph</b> (define-and-run, TensorFlow-1-like) on the right.</p>
<nav><h3>Contents</h3><ol>{contents}</ol></nav>
{"".join(body)}
<footer>Made by <code>python -m compare</code>. Self-contained: no network, no scripts.</footer>
</main>
</body>
</html>
"""


def write_report(sections: list[Section], path=DEFAULT_PATH, title: str | None = None,
                 note: str = "") -> Path:
    """Write the page for `sections` to `path` (folders created); its absolute path.

    >>> import tempfile
    >>> from compare.sections import Section
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_report([Section("a", "A", "Intro.")], Path(folder) / "r.html")
    ...     written.name, "<h2>A</h2>" in written.read_text()
    ('r.html', True)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"note": note} if title is None else {"title": title, "note": note}
    path.write_text(render_html(list(sections), **options), encoding="utf-8")
    return path.resolve()
