"""The step every runbook action is built on: three narrow hooks, plan / run / verify.

A step says what it would do (`plan`, which changes nothing), does it (`run`, returning the
evidence it produced) and checks the outcome (`verify`). A failed check raises `NoGo`, which
stops the rehearsal at that gate: later steps, destruction above all, never run after a no-go.
A resumed run does not redo a step that passed its gate: `restore` rebuilds, from the evidence the
step wrote, the in-memory state later steps need.
"""

import datetime as dt
import errno
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from decommission import atomic
from sim.errors import WorkbenchError

Progress = Callable[[str, str, str], None]
"""progress(step_id, status, message): status is 'start', 'go', 'no-go' or 'info'."""


class NoGo(WorkbenchError):
    """A go/no-go gate failed: the run stops here and says why."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"no-go at {step}: {reason}")
        self.step = step
        self.reason = reason


class Disk:
    """Where steps write their output (evidence files, the archive), so a fault can fill it.

    `room` is the number of bytes left (None: unlimited). A write that does not fit raises
    OSError(ENOSPC), as a full filesystem does; the run then stops and says why.
    """

    def __init__(self) -> None:
        self.room: int | None = None

    def write(self, path: Path, content: bytes) -> None:
        """Replace `path` atomically (decommission.atomic): a kill or a full disk leaves the old
        file or none, never a part-written one."""
        try:
            atomic.replace_file(path, content, self.room)
        finally:
            if self.room is not None:
                self.room = max(0, self.room - len(content))

    def append(self, path: Path, line: str) -> None:
        """Append one line and fsync it (a journal line that must survive a crash)."""
        content = line.encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            fits = content if self.room is None else content[: self.room]
            handle.write(fits)
            handle.flush()
            os.fsync(handle.fileno())
        if self.room is not None:
            self.room -= len(fits)
            if len(fits) < len(content):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


@dataclass
class Context:
    """What steps share: the deployment, the evidence being written, and results so far.

    `results` maps a step id to the evidence its `run` returned; `state` holds in-memory values
    that must never be written out (sampled identifiers, keys).
    """

    deployment: Path
    evidence: Path
    now: dt.datetime
    progress: Progress
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    disk: Disk = field(default_factory=Disk)


class Step(ABC):
    """Base class: subclasses set `kind` and implement the three hooks."""

    kind: ClassVar[str]

    def __init__(self, step_id: str) -> None:
        self.id = step_id

    @abstractmethod
    def plan(self, ctx: Context) -> list[str]:
        """What `run` would do, as sentences; must change nothing."""

    @abstractmethod
    def run(self, ctx: Context) -> dict[str, Any]:
        """Do the step; return its evidence (JSON-serialisable, no personal data)."""

    @abstractmethod
    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        """Raise NoGo unless the step's checks hold."""

    def restore(self, ctx: Context, evidence: dict[str, Any]) -> None:
        """On resume, rebuild from the step's written evidence what later steps need from it."""
        return  # most steps leave nothing that later steps read

    def no_go(self, reason: str) -> NoGo:
        return NoGo(self.id, reason)
