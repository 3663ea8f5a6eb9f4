"""Consoles for CLI output: wide enough for tables when output goes to a file or a pipe."""

import sys

from rich.console import Console

PIPE_WIDTH = 120


def stdout_console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=PIPE_WIDTH)
