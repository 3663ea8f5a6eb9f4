"""`cpw --help` start-up time beside a bare interpreter's, measured in the same run.

    .venv/bin/python bench/bench_cli_startup.py [--repeat 7]

Target: `cpw --help` under 0.5 s. Each figure is the median of --repeat fresh processes (the
first run of each is discarded as a warm-up of the file cache). The CLI modules import only
typer and each other at start-up; a command imports what it uses when it runs
(tests/test_install.py checks which modules `--help` loads).
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "cpw --help": [sys.executable, "-m", "sim.cli", "--help"],
    "cpw index search --help": [sys.executable, "-m", "sim.cli", "index", "search", "--help"],
    "cpw decommission rehearse --help": [
        sys.executable, "-m", "sim.cli", "decommission", "rehearse", "--help",
    ],
}  # fmt: skip


def seconds(command: list[str], repeat: int) -> float:
    """Median wall time of `repeat` runs of a fresh process, after one warm-up run."""
    times = []
    for run in range(repeat + 1):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        if run:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for name, command in COMMANDS.items():
        print(f"{name:<34} {seconds(command, args.repeat):6.3f} s")


if __name__ == "__main__":
    main()
