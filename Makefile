# dualgraph: set-up, tests and demos. Every target does its own set-up, so on a fresh
# Debian/Ubuntu machine `make demo` or `make test` is all it takes.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp

# numba's on-disk compile cache lives in the repo (ignored by git), so kernels compiled by
# one run are reused by the next instead of recompiling on every start.
NUMBA_ENV := NUMBA_CACHE_DIR="$(CURDIR)/.numba_cache"

.DEFAULT_GOAL := test
.PHONY: venv dot browser test test-slow demo bench lint clean

# --- environment --------------------------------------------------------------------------

venv: $(STAMP)

# The stamp depends on pyproject.toml: the install re-runs only when dependencies change,
# so repeated `make test` runs start at once. An existing .venv is re-used, not rebuilt.
# Debian/Ubuntu ship venv's pip bootstrap (ensurepip) in the separate python3-venv package,
# hence the explicit check before creating the environment.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { \
	    echo "error: dualgraph needs Python >= 3.10; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." >&2; \
	    echo "       Install a newer Python, or run: make PYTHON=python3.11 ..." >&2; \
	    exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	    echo "error: '$(PYTHON) -m venv' is unavailable (no venv/ensurepip module)." >&2; \
	    echo "       On Debian/Ubuntu: sudo apt-get install python3-venv" >&2; \
	    exit 1; }
	@if [ ! -x $(BIN)/python ]; then \
	    echo "creating $(VENV) with $$($(PYTHON) --version 2>&1)"; \
	    $(PYTHON) -m venv --clear $(VENV) || { \
	        rm -rf $(VENV); \
	        echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu: sudo apt-get install python3-venv" >&2; \
	        exit 1; }; \
	fi
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
	@touch $@

# Graphviz's `dot` renders graph drawings. It is an OS package, not a pip one. Without it the
# drawing tests skip, so a missing `dot` is never an error here.
dot:
	@if command -v dot >/dev/null 2>&1; then \
	    : ; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "graphviz 'dot' not found; installing it with apt-get"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    { apt-get update -q && apt-get install -y -q graphviz; } \
	        || echo "warning: apt-get could not install graphviz; drawing tests will skip." >&2; \
	else \
	    echo "warning: graphviz's 'dot' is missing, so drawing tests will skip." >&2; \
	    echo "         Install it with: sudo apt-get install graphviz" >&2; \
	fi

# Headless Chromium and its driver open the HTML report in a test (tests/compare/test_browser.py,
# through selenium, which is given Debian's /usr/bin/chromedriver so it never downloads one).
# OS packages again: without them that test skips, so a missing browser is never an error here.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
	    : ; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "headless chromium not found; installing chromium and chromium-driver with apt-get"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    { apt-get update -q && apt-get install -y -q chromium chromium-driver; } \
	        || echo "warning: apt-get could not install chromium; the browser test will skip." >&2; \
	else \
	    echo "warning: chromium or chromedriver is missing, so the browser test will skip." >&2; \
	    echo "         Install them with: sudo apt-get install chromium chromium-driver" >&2; \
	fi

# --- everyday targets ---------------------------------------------------------------------

# Lint first: it is fast and catches what would otherwise surface as confusing test errors.
# The docstring examples of the library run too, so they cannot drift from the code.
# Two test workers share the two cores, so each gets one numba and one BLAS thread: more
# threads than cores made spinning OpenMP workers stall each other. Parallel kernels still run
# their parallel code; their results do not depend on the thread count.
#
# Then the tests marked `bits` (eager == graph, a fast path == the general path, bit for bit)
# run again under OpenBLAS's kernels for other CPU families, each in its own process, as the
# core type is read when NumPy loads: the bits must not depend on the machine. A core type this
# CPU cannot execute (SkylakeX needs AVX-512) is skipped with a line that says so.
BITS_CORETYPES := Haswell SkylakeX Zen
# The graph compiler's 1,000-graph differential suite (marked `compiler_suite`: each random
# graph is compiled to numba functions, about a second apiece) is left to `make test-slow`,
# run before a compiler change is called done; `make test` checks 150 such graphs.
# The CUDA kernels' tests, run once more under numba's CUDA simulator (no GPU needed). numba.cuda
# reads NUMBA_ENABLE_CUDASIM when it is first imported, so they get a process of their own; in
# the main run they skip where no GPU is found (and run for real where one is).
CUDA_SIM_TESTS := tests/framework/test_cuda.py tests/framework/test_cuda_nn.py
CUDA_SIM_TESTS += tests/eager/test_cuda_eager.py
CUDA_SIM_TESTS += tests/graph/test_graph_cuda.py
CUDA_SIM_TESTS += tests/graph/test_fusion_cuda.py
CUDA_SIM_TESTS += tests/compare/test_gpu_check.py

test: venv dot browser
	$(BIN)/ruff check .
	$(NUMBA_ENV) NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 -m 'not compiler_suite' --doctest-modules --ignore-glob='*/__main__.py' \
	    tests framework eager graph compare
	$(NUMBA_ENV) NUMBA_ENABLE_CUDASIM=1 NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
	    $(BIN)/python -m pytest -q -n 2 $(CUDA_SIM_TESTS)
	@for core in $(BITS_CORETYPES); do \
	    if ! $(BIN)/python tests/cpu_runs_openblas_core.py $$core; then continue; fi; \
	    echo "bit-equality tests under OPENBLAS_CORETYPE=$$core"; \
	    $(NUMBA_ENV) OPENBLAS_CORETYPE=$$core NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
	        $(BIN)/python -m pytest -q -n 2 -m bits tests || exit 1; \
	done

test-slow: venv dot
	$(NUMBA_ENV) NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 -m compiler_suite tests

demo: venv dot
	$(NUMBA_ENV) $(BIN)/python -m compare

bench: venv
	$(NUMBA_ENV) $(BIN)/python -m compare bench

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .numba_cache out .pytest_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
