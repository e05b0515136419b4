"""The compiler section of the report: the MLP step before and after the passes, the passes'
report, the generated source, and the step timed interpreted and compiled (a small run)."""

from __future__ import annotations

import graphviz
import pytest

from compare import demo_compiler
from compare.sections import Code, Picture, SideBySide, Table


@pytest.fixture(scope="module")
def section():
    return demo_compiler.run(small=True)


def test_the_drawings_show_the_step_before_and_after_the_passes(section):
    (pair,) = [block for block in section.blocks if isinstance(block, SideBySide)]
    (before,), (after,) = pair.left, pair.right
    assert isinstance(before, Picture) and isinstance(after, Picture)
    assert isinstance(before.image, graphviz.Digraph)
    before_source, after_source = before.image.source, after.image.source
    assert "linear" in before_source and "linear" in after_source
    # The mean's gradient (full_like, sum, div) is folded away by the compiler.
    assert "full_like" in before_source and "full_like" not in after_source
    assert after_source.count("->") < before_source.count("->")


def test_the_section_reports_the_passes_the_source_and_both_timings(section):
    codes = [block for block in section.blocks if isinstance(block, Code)]
    explain, source = codes[0].source, codes[1].source
    assert explain.startswith("compiled step:") and "constant folding" in explain
    assert source.startswith("@numba.njit(cache=True)\ndef segment_0(")
    assert "\ndef step(run, feeds):" in source and "linear 'dense1/linear'" in source
    (table,) = [block for block in section.blocks if isinstance(block, Table)]
    assert [row[0] for row in table.rows] == ["interpreted", "compiled"]
    assert int(table.rows[1][2]) < int(table.rows[0][2])  # fewer nodes once compiled
    assert section.summary.startswith("training step ") and " compiled (" in section.summary
