"""Fixtures the graph compiler's test files share."""

from __future__ import annotations

import pytest

from graph.session import Run


@pytest.fixture
def interpreted_runs(monkeypatch):
    """How many times the interpreter executed a plan (a compiled run executes none, unless it
    failed and started over on the interpreter)."""
    count = [0]
    original = Run.execute

    def counting(self, ops):
        count[0] += 1
        return original(self, ops)

    monkeypatch.setattr(Run, "execute", counting)
    return count
