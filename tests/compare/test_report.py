"""The HTML report: self-contained, escaped, one section per demo; and the CLI that writes it."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import graphviz
import pytest
from matplotlib.figure import Figure

from compare import __main__ as cli
from compare import report
from compare.sections import Code, Picture, Section, SideBySide, Table, Text

ROOT = Path(__file__).resolve().parents[2]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="graphviz's `dot` is not installed")


class PageParser(HTMLParser):
    """Collects what the checks need: tags with their attributes, and the visible text."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.headings: dict[str, list[str]] = {"h2": []}
        self._heading = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "h2":
            self._heading = []

    def handle_endtag(self, tag):
        if tag == "h2" and self._heading is not None:
            self.headings["h2"].append("".join(self._heading))
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)

    def all(self, tag):
        return [attrs for name, attrs in self.tags if name == tag]


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def figure() -> Figure:
    plot = Figure(figsize=(3, 2))
    plot.subplots().plot([1, 2, 3], [3, 1, 2])
    return plot


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    figure().savefig(buffer, format="png")
    return buffer.getvalue()


def drawing(label: str) -> graphviz.Digraph:
    dot = graphviz.Digraph()
    dot.node("a", label)
    dot.node("b", "b")
    dot.edge("a", "b", label="(2, 3) float32")
    return dot


def sample_sections(with_drawings: bool) -> list[Section]:
    first = Section("first-demo", "First <demo> & more", "Intro with <b>markup</b>.",
                    summary="first: 1 < 2")
    first.add(Text("One paragraph.\n\nA second <script>alert(1)</script> paragraph."),
              Code("if x < 1 and y > 2:\n    pass", caption="code & caption"),
              Table(["name", "value"], [["<td>", "a & b"]], caption="a table"),
              Picture(figure(), "a plot"),
              Picture(png_bytes(), "a png", fmt="png"))
    second = Section("second demo!", "Second", "Side by side.", summary="second")
    left = [Text("eager words")]
    right = [Text("graph words")]
    if with_drawings:
        left.append(Picture(drawing("eager <op>"), "eager drawing"))
        right.append(Picture(drawing("graph op"), "graph drawing"))
    second.add(SideBySide(left, right))
    return [first, second]


def test_every_image_is_embedded_and_nothing_is_fetched(tmp_path):
    path = report.write_report(sample_sections(with_drawings=False), tmp_path / "sub" / "r.html")
    assert path == (tmp_path / "sub" / "r.html").resolve() and path.is_file()
    page = path.read_text(encoding="utf-8")
    parsed = parse(page)
    images = parsed.all("img")
    assert len(images) == 2
    assert [image["src"].split(";")[0] for image in images] == ["data:image/svg+xml",
                                                               "data:image/png"]
    assert all(image.get("alt") for image in images)
    assert not parsed.all("script") and not parsed.all("link") and not parsed.all("iframe")
    for _, attrs in parsed.tags:
        for name in ("src", "href"):
            value = attrs.get(name, "")
            assert not re.match(r"\s*(https?:)?//", value), (name, value[:80])
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page)
    assert "@import" not in page and "url(http" not in page


@needs_dot
def test_drawings_are_inline_svg_with_unique_ids(tmp_path):
    page = report.write_report(sample_sections(with_drawings=True), tmp_path / "r.html") \
        .read_text(encoding="utf-8")
    parsed = parse(page)
    assert len(parsed.all("svg")) == 2  # the two drawings; plots are <img> data URIs
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    ids = [attrs["id"] for _, attrs in parsed.tags if "id" in attrs]
    assert len(ids) == len(set(ids)), "two inline drawings share an element id"
    assert "eager &lt;op&gt;" in page  # the drawing's own label, escaped by graphviz
    columns = [attrs["class"] for attrs in parsed.all("div") if "column" in attrs.get("class", "")]
    assert columns == ["column eager", "column graph"]  # eager left, graph right


def test_sections_headings_contents_and_anchors():
    sections = sample_sections(with_drawings=False)
    parsed = parse(report.render_html(sections))
    assert parsed.headings["h2"] == ["First <demo> & more", "Second"]
    anchors = [attrs["href"] for attrs in parsed.all("a")]
    ids = {attrs["id"] for attrs in parsed.all("section")}
    assert anchors == ["#first-demo", "#second-demo"] and set(a[1:] for a in anchors) == ids
    text = "".join(parsed.text)
    assert "first: 1 < 2" in text  # the summaries are in the table of contents


def test_text_is_escaped():
    page = report.render_html(sample_sections(with_drawings=False))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "First &lt;demo&gt; &amp; more" in page
    assert "Intro with &lt;b&gt;markup&lt;/b&gt;." in page
    assert "<td>&lt;td&gt;</td><td>a &amp; b</td>" in page
    assert "if x &lt; 1 and y &gt; 2:" in page
    assert page.count("<p>") >= 2  # blank lines separate paragraphs


def test_duplicate_keys_get_distinct_anchors():
    sections = [Section("same", "A", ""), Section("same", "B", "")]
    ids = [attrs["id"] for attrs in parse(report.render_html(sections)).all("section")]
    assert ids == ["same", "same-2"]


def test_a_picture_of_the_wrong_kind_is_named():
    section = Section("bad", "Bad", "")
    section.add(Picture(object(), "mystery"))
    with pytest.raises(TypeError, match="'mystery'.*cannot show a object"):
        report.render_html([section])
    section.blocks = [Picture(b"GIF89a", "gif", fmt="gif")]
    with pytest.raises(ValueError, match="fmt must be 'svg' or 'png'"):
        report.render_html([section])


def test_a_failing_demo_becomes_a_failed_section(monkeypatch):
    def broken(small=False):
        raise RuntimeError("planted <failure>")

    monkeypatch.setitem(report.REPORT_DEMOS, "cost", broken)
    section, seconds = report.run_demo("cost", small=True)
    assert section.failed and section.summary == "FAILED: RuntimeError: planted <failure>"
    assert "planted <failure>" in section.blocks[0].source and seconds >= 0
    assert 'class="failed"' in report.render_html([section])
    with pytest.raises(RuntimeError, match="planted"):
        report.run_demo("cost", keep_going=False)
    with pytest.raises(KeyError, match="unknown demo 'nonesuch'"):
        report.run_demo("nonesuch")


def fake_demos(monkeypatch, fail: str | None = None) -> list[str]:
    ran = []

    def make(name):
        def run(small=False):
            ran.append((name, small))
            if name == fail:
                raise ValueError("broken on purpose")
            section = Section(name, f"Demo {name}", "intro", summary=f"summary of {name}")
            section.add(Picture(figure(), f"plot of {name}"))
            return section

        return run

    for name in list(report.REPORT_DEMOS):
        monkeypatch.setitem(report.REPORT_DEMOS, name, make(name))
    return ran


def test_the_full_run_prints_each_summary_then_the_report(monkeypatch, tmp_path, capsys):
    ran = fake_demos(monkeypatch)
    out = tmp_path / "report.html"
    assert cli.main(["--small", "--out", str(out)]) == 0
    assert ran == [(name, True) for name in report.REPORT_DEMOS]
    printed = capsys.readouterr().out
    for name in report.REPORT_DEMOS:
        assert f"summary of {name}" in printed
    assert printed.rstrip().splitlines()[-1] == f"report: {out.resolve()}"
    parsed = parse(out.read_text(encoding="utf-8"))
    assert parsed.headings["h2"] == [f"Demo {name}" for name in report.REPORT_DEMOS]


def test_a_failed_demo_fails_the_run_but_the_report_is_written(monkeypatch, tmp_path, capsys):
    fake_demos(monkeypatch, fail="cost")
    out = tmp_path / "report.html"
    assert cli.main(["--small", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "FAILED: cost" in printed and out.is_file()
    assert "broken on purpose" in out.read_text(encoding="utf-8")


def test_one_demo_alone_prints_its_text_and_can_write_its_report(monkeypatch, tmp_path,
                                                                  capsys):
    ran = fake_demos(monkeypatch)
    assert cli.main(["same-model", "--small"]) == 0
    assert ran == [("same-model", True)] and "== Demo same-model ==" in capsys.readouterr().out
    out = tmp_path / "one.html"
    assert cli.main(["same-model", "--out", str(out)]) == 0
    assert parse(out.read_text(encoding="utf-8")).headings["h2"] == ["Demo same-model"]
    with pytest.raises(SystemExit):
        cli.main(["train", "--out", str(out)])  # text-only demos have no report


def test_help_lists_every_demo_and_benchmark():
    result = subprocess.run([sys.executable, "-m", "compare", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    listed = {}
    for line in result.stdout.splitlines():
        match = re.match(r"  (\S+)\s+(\*?)\s+(\S.*)", line)
        if match:
            listed.setdefault(match.group(1), (match.group(2), match.group(3)))
    for name, (_, description) in cli.DEMOS.items():
        assert name in listed and listed[name][1] == description
        assert listed[name][0] == ("*" if name in report.REPORT_DEMOS else "")
    assert set(report.REPORT_DEMOS) <= set(cli.DEMOS)
    assert {"if-statement", "dynamic-loops", "debugging", "same-model", "cost"} <= set(listed)
    assert "bench NAME" in result.stdout and "--small" in result.stdout


def test_the_full_run_goes_through_the_report_demos_in_order(monkeypatch, tmp_path, capsys):
    ran = []
    for name in list(cli.DEMOS):  # every demo replaced by a recorder: nothing really runs
        monkeypatch.setitem(cli.DEMOS, name, (lambda args, name=name: ran.append(name), ""))
    out = tmp_path / "report.html"
    assert cli.main(["--out", str(out)]) == 0
    assert ran == list(report.REPORT_DEMOS) == ["if-statement", "dynamic-loops", "debugging",
                                                "same-model", "cost", "compiler", "ops"]
    assert not out.exists() and "no report written" in capsys.readouterr().out


def test_ops_alone_prints_the_registry_and_can_write_its_section(monkeypatch, tmp_path, capsys):
    assert cli.main(["ops", "--small", "--names", "add"]) == 0
    printed = capsys.readouterr().out
    assert "registry check passed" not in printed  # --names: the timings alone, as before
    assert printed.lstrip().startswith("Op kernels vs NumPy")
    calls = []
    monkeypatch.setitem(report.REPORT_DEMOS, "ops",
                        lambda small=False: calls.append(small) or Section("ops", "Ops", "x"))
    out = tmp_path / "ops.html"
    assert cli.main(["ops", "--small", "--out", str(out)]) == 0
    assert calls == [True] and parse(out.read_text(encoding="utf-8")).headings["h2"] == ["Ops"]
