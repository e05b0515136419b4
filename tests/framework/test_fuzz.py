"""Runs fuzz_ops.py under NUMBA_BOUNDSCHECK=1 in a fresh interpreter.

numba reads NUMBA_BOUNDSCHECK at import, so the check needs its own process; it also gets its
own compile cache, so bounds-checked kernels never mix with the fast ones.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_op_matches_numpy_or_raises_under_bounds_checking():
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "dualgraph")
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1",
               NUMBA_CACHE_DIR=os.path.join(base, "boundscheck"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         str(Path(__file__).with_name("fuzz_ops.py"))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
