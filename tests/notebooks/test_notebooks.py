"""Every tutorial notebook in notebooks/ runs clean, draws its graphs inline and is committed
without outputs.

Each notebook is executed from top to bottom with nbclient in a fresh IPython kernel that runs
this very interpreter (so the notebooks see the installed `eager`, `graph` and `compare`), with
notebooks/ as the working directory, as a reader has it. A notebook added to notebooks/ is
tested automatically.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300  # generous: a cold numba cache compiles kernels inside the first cells
SVG = "image/svg+xml"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_DRAW_CALL = re.compile(r"\bdraw\w*\(")


def _ids(path: Path) -> str:
    return path.stem


def _kernel_manager(socket_dir: Path) -> KernelManager:
    """A manager for ipykernel's own "python3" kernel, launched with sys.executable.

    With no kernel directories to search, jupyter_client falls back to the spec ipykernel
    ships, whose command is this interpreter: a "python3" kernelspec installed elsewhere on
    the machine (a user's, a system one) cannot swap in another Python.
    """
    specs = KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True)
    # IPC sockets in `socket_dir`: local only, so the kernel has no TCP port to warn about (nor
    # to leave open to other users of the machine).
    return KernelManager(kernel_name=NATIVE_KERNEL_NAME, kernel_spec_manager=specs,
                         transport="ipc", ip=str(socket_dir / "kernel"))


def _execute(path: Path, socket_dir: Path):
    """The executed notebook; fails the test with the cell and its error when one raises."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, km=_kernel_manager(socket_dir), timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(path.parent)}})
    problem = None
    try:
        client.execute()
    except CellExecutionError as error:
        problem = _describe_failure(path, notebook, error)
    except CellTimeoutError as error:
        problem = f"{path.name}: a cell ran longer than {CELL_TIMEOUT_S} s: {error}"
    except DeadKernelError as error:
        problem = f"{path.name}: the kernel died: {error}"
    if problem is not None:  # failed outside the except blocks: no chained tracebacks
        pytest.fail(problem, pytrace=False)
    return notebook


def _describe_failure(path: Path, notebook, error: CellExecutionError) -> str:
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", ()):
            if output.get("output_type") == "error":
                traceback = _ANSI.sub("", "\n".join(output.get("traceback", ())))
                return (f"{path.name}, cell {index} raised {output['ename']}: "
                        f"{output['evalue']}\n--- cell source ---\n{cell.source}\n"
                        f"--- traceback ---\n{traceback}")
    return f"{path.name}: {error.ename}: {error.evalue}"


def _code_cells(notebook):
    return [(index, cell) for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code"]


def test_there_are_notebooks_to_run():
    assert len(NOTEBOOKS) >= 4, f"expected the tutorial notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_the_committed_notebook_carries_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [index for index, cell in _code_cells(notebook)
             if cell.outputs or cell.execution_count is not None]
    assert not dirty, (f"{path.name}: cells {dirty} carry outputs or execution counts; "
                       "clear them before committing (Jupyter: Edit > Clear All Outputs)")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_the_notebook_runs_clean_and_draws_inline(path, tmp_path):
    notebook = _execute(path, tmp_path)

    warnings = [(index, output.text) for index, cell in _code_cells(notebook)
                for output in cell.outputs
                if output.output_type == "stream" and output.name == "stderr"]
    assert not warnings, f"{path.name}: cells wrote to stderr: {warnings}"

    if shutil.which("dot") is None:
        pytest.skip("the notebook ran clean; its drawings were not checked: graphviz's `dot` "
                    "is missing (sudo apt-get install graphviz)")
    drawn = {index for index, cell in _code_cells(notebook)
             if any(SVG in output.get("data", {}) for output in cell.outputs)}
    assert drawn, f"{path.name} shows no graph drawing (no {SVG} output)"
    undrawn = [index for index, cell in _code_cells(notebook)
               if _DRAW_CALL.search(cell.source) and index not in drawn]
    assert not undrawn, (f"{path.name}: cells {undrawn} call a draw function but show no "
                         f"{SVG} output: is the drawing the cell's last expression?")


def test_the_kernel_runs_this_interpreter(tmp_path):
    assert _kernel_manager(tmp_path).kernel_spec.argv[0] == sys.executable


@pytest.mark.slow
def test_a_failing_cell_is_reported_with_its_source_and_error(tmp_path):
    broken = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("ratio = 1 / 2"),
        nbformat.v4.new_code_cell("def halve(x):\n    return x / 0\n\nhalve(ratio)"),
        nbformat.v4.new_code_cell("print('never reached')"),
    ])
    path = tmp_path / "broken.ipynb"
    nbformat.write(broken, path)
    with pytest.raises(pytest.fail.Exception) as failure:
        _execute(path, tmp_path)
    message = str(failure.value)
    assert "broken.ipynb, cell 1 raised ZeroDivisionError: " in message
    assert "def halve(x):" in message and "return x / 0" in message  # the source and the line
    assert "\x1b[" not in message  # no terminal colour codes
