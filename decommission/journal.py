"""The run's journal: what a rehearsal has done, written down before it moves on.

A decommissioning run may die between any two steps (power, a killed process, a full disk). The
journal (EVIDENCE/journal.jsonl) gets one line per event, flushed to disk before the run goes
on, so a resumed run knows which steps passed their gate (not redone), which one was under way
(redone, idempotently) and which came before a stop (docs/decommissioning-standards.md 9.D: a
destruction that cannot be accounted for cannot be certified). Lines carry no personal data.
"""

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

JOURNAL_FILE = "journal.jsonl"


def append(path: Path, event: dict[str, Any]) -> None:
    """Append one JSON line and fsync it: once this returns, the line survives a crash."""
    line = json.dumps(event, sort_keys=True, default=str) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(terminator(path) + line)
        handle.flush()
        os.fsync(handle.fileno())


def terminator(path: Path) -> str:
    """A newline if the file ends in a line cut short (a crash or a full disk), so the next line
    starts on its own; else nothing."""
    if not path.is_file() or path.stat().st_size == 0:
        return ""
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return "" if handle.read(1) == b"\n" else "\n"


def read(path: Path) -> list[dict[str, Any]]:
    """Every complete line; a line cut short by a crash or a full disk is skipped: what it
    announced was not done (every action is announced before it is taken)."""
    if not path.is_file():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def passed(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The 'go' event of each step that passed its gate, in order (the last one if redone)."""
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.get("event") == "go":
            latest[event["step"]] = event
    return list(latest.values())


def timing(
    clock: Callable[[], dt.datetime] | None, started: dt.datetime | None, attempt: int
) -> dict[str, Any]:
    """A step's attempt and, given the wall clock, when it ran (UTC) and how long it took: the
    operator's report sets them against the 2010 schedule."""
    if clock is None or started is None:
        return {"attempt": attempt}
    seconds = (clock() - started).total_seconds()
    ran_at = started.astimezone(dt.UTC).isoformat(timespec="seconds")
    return {"attempt": attempt, "ran_at": ran_at, "seconds": round(seconds, 3)}
