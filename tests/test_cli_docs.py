"""Every `cpw` command has help text and is shown in the README (as sqlite-utils checks)."""

from pathlib import Path

import typer

from sim.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def command_paths(command, prefix: str = "cpw") -> list[tuple[str, object]]:
    """(path, command) for every leaf command; groups are walked through `.commands`."""
    if hasattr(command, "commands"):
        found = []
        for name, sub in command.commands.items():
            found += command_paths(sub, f"{prefix} {name}")
        return found
    return [(prefix, command)]


def test_every_command_is_documented_and_has_help():
    """A command missing from the README or without help text fails this test."""
    paths = command_paths(typer.main.get_command(app))
    assert len(paths) >= 3
    for path, command in paths:
        assert (command.help or "").strip(), f"{path} has no help"
        assert f"{path} " in README or f"{path}\n" in README, f"{path} is not in README.md"


def test_help_runs_for_every_command(cpw):
    """`cpw --help` and `cpw COMMAND --help` exit 0 and list options."""
    top = cpw("--help")
    assert top.returncode == 0 and "synth" in top.stdout
    for path, _ in command_paths(typer.main.get_command(app)):
        result = cpw(*path.split()[1:], "--help")
        assert result.returncode == 0, path
        assert "--help" in result.stdout
