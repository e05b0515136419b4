"""Generated numba kernels that still hit numba's on-disk cache.

numba caches a compiled function next to its source file; a function built in a closure or with
`exec` has no stable file, so it would be compiled again in every process. Here generated
source is written once to a file named by a hash of its text, then imported: numba's
`cache=True` works on it like on hand-written code. The kernels layer's CPU templates
(framework/kernels/cpu.py) use this now; the graph compiler's whole-graph code generation
uses it later.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import numba

_loaded: dict[str, ModuleType] = {}


def cache_dir() -> Path:
    """Where generated sources live: $DUALGRAPH_CACHE_DIR, else beside numba's cache."""
    root = os.environ.get("DUALGRAPH_CACHE_DIR")
    if not root:
        numba_dir = os.environ.get("NUMBA_CACHE_DIR")
        xdg = os.environ.get("XDG_CACHE_HOME", os.path.join(Path.home(), ".cache"))
        root = os.path.join(numba_dir or os.path.join(xdg, "dualgraph"), "generated")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def source_fingerprint(*functions) -> str:
    """A hash of functions' source, so generated code changes when what it calls changes."""
    digest = hashlib.sha256()
    for function in functions:
        function = getattr(function, "py_func", function)
        digest.update(inspect.getsource(function).encode())
    return digest.hexdigest()[:16]


def load_module(source: str, stem: str) -> ModuleType:
    """Import generated `source` from a file named after `stem` and the source's hash.

    >>> load_module("def f():\\n    return 42\\n", "answer").f()
    42
    """
    key = hashlib.sha256(f"{numba.__version__}\n{source}".encode()).hexdigest()[:20]
    name = f"{stem}_{key}"
    module = _loaded.get(name)
    if module is not None:
        return module
    path = cache_dir() / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        # Write-then-rename: concurrent test workers never import a half-written file.
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w") as file:
            file.write(source)
        os.replace(temporary, path)
    spec = importlib.util.spec_from_file_location(f"dualgraph_generated.{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    _loaded[name] = module
    return module
