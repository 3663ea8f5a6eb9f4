"""Each teaching notebook's run time at its defaults, against the 2-minute budget.

    .venv/bin/python bench/bench_notebooks.py [NOTEBOOK ...]

Executes each notebook in a fresh kernel (as tests/test_notebooks.py does, in a scratch
directory) and prints its wall time beside the budget and beside the time to start a kernel
and run an empty cell, so the notebook's own cost is visible on a noisy machine.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 120.0


def run(notebook: nbformat.NotebookNode, workdir: Path) -> float:
    started = time.perf_counter()
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as scratch:
        os.environ["TMPDIR"] = scratch
        empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
        baseline = run(empty, Path(scratch))
        print(f"kernel start + one empty cell: {baseline:.1f} s")
        for path in paths:
            seconds = run(nbformat.read(path, as_version=4), Path(scratch))
            verdict = "ok" if seconds <= BUDGET_SECONDS else "OVER BUDGET"
            print(
                f"{path.name:34s} {seconds:6.1f} s  ({seconds / baseline:5.1f}x the empty "
                f"notebook; budget {BUDGET_SECONDS:.0f} s: {verdict})"
            )


if __name__ == "__main__":
    main()
