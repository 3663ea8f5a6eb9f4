"""The teaching notebooks (notebooks/*.ipynb) run top to bottom, and are committed without outputs.

Each notebook is executed in a fresh kernel with nbclient, in a temporary working directory and
with TMPDIR pointing into it, so nothing is written into the repository or left in /tmp.
"""

import ast
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {
    "01-the-index.ipynb",
    "02-children-on-the-move.ipynb",
    "03-lost-children.ipynb",
    "04-costs-and-exposure.ipynb",
    "05-switching-it-off.ipynb",
}
LOGIC = {  # what a notebook cell may not hold: it calls the public API and displays
    ast.FunctionDef: "defines a function",
    ast.AsyncFunctionDef: "defines a function",
    ast.Lambda: "defines a function (lambda)",
    ast.ClassDef: "defines a class",
    ast.For: "has a for loop",
    ast.AsyncFor: "has a for loop",
    ast.While: "has a while loop",
    ast.comprehension: "has a loop inside a comprehension",
}
CELL_TIMEOUT_SECONDS = 300


def test_every_teaching_notebook_is_there():
    """The five teaching notebooks exist (a renamed or deleted one fails here)."""
    assert {path.name for path in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_without_error(path, tmp_path, monkeypatch):
    """Every cell runs without an exception, writing only to tmp (run times: bench_notebooks)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    figures = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert figures, f"{path.name} drew no figure"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_parameters_come_first(path):
    """The first code cell is the parameters cell, the only one a student is asked to change."""
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and code[0].source.startswith("# Parameters"), f"{path.name}: no parameters cell"
    assert notebook.cells[0].cell_type == "markdown", f"{path.name}: no introduction first"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    """No outputs and no execution counts in git: diffs stay readable and no data leaks in."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code"
    dirty = [i for i, cell in enumerate(code) if cell.outputs or cell.execution_count is not None]
    assert dirty == [], f"{path.name}: code cells {dirty} have outputs or execution counts"


def logic_in(source: str) -> list[str]:
    """What a cell does that belongs in a tested function (line and kind), after IPython's
    own transformation of magics such as %matplotlib."""
    found = []
    for node in ast.walk(ast.parse(TransformerManager().transform_cell(source))):
        for kind, what in LOGIC.items():
            if isinstance(node, kind):
                line = node.target.lineno if isinstance(node, ast.comprehension) else node.lineno
                found.append(f"line {line}: {what}")
    return sorted(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_cells_hold_no_logic(path):
    """Notebooks only call the public API. No cell defines a function or class or
    loops; figures and tables come from tested functions (sim.teaching and the figures
    modules), so each cell is a call and a display."""
    notebook = nbformat.read(path, as_version=4)
    found = {
        i: logic_in(cell.source)
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and logic_in(cell.source)
    }
    assert found == {}, f"{path.name}: cells with logic of their own: {found}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("%matplotlib inline\nx = f(1)\ndisplay(x)", []),
        ("def f():\n    return 1", ["line 1: defines a function"]),
        ("g(lambda: 1)", ["line 1: defines a function (lambda)"]),
        ("class A:\n    pass", ["line 1: defines a class"]),
        ("for i in x:\n    print(i)", ["line 1: has a for loop"]),
        ("while True:\n    break", ["line 1: has a while loop"]),
        ("y = [i for i in x]", ["line 1: has a loop inside a comprehension"]),
    ],
)
def test_the_logic_check_finds_each_kind(source, expected):
    """The check that keeps notebooks free of logic catches each kind it names (and passes a
    cell of calls with a magic)."""
    assert logic_in(source) == expected
