"""A run's helper process (a lookup worker, the feed writer): spawned, spoken to over a pipe,
every wait bounded.

    helper = HelperProcess(open_store, (root,), name="feed-writer", label="the feed writer")
    helper.receive("ready")
    helper.send(("deliver", delivery)); helper.receive("delivered")
    helper.stop()

In the helper, `open_work(connection, *args)` opens what it needs and returns how it answers a
message (sending its own replies) and how it closes; `serve` then says ("ready",), answers each
message until ("stop",), closes and says ("stopped",), and reports any failure in one line.
A helper that dies, fails or answers nothing for `PATIENCE` seconds raises HelperProcessError
naming it, in one line; the caller then kills every helper it has (`kill`).
"""

import multiprocessing
import signal
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import NoReturn

from sim.errors import WorkbenchError

PATIENCE = 600.0  # seconds a helper may take over one message before the run gives up
POLL = 0.5  # seconds between checks that a silent helper is still alive
STOP_SECONDS = 30.0  # a helper closing its stores at the end (an audit checkpoint)


def can_start_processes() -> bool:
    """Whether this process may start helpers: a daemonic one (a Dask worker) may not."""
    return not multiprocessing.current_process().daemon


class HelperProcessError(WorkbenchError):
    """A helper process died, failed or went silent: the run cannot go on."""


Answer = Callable[[tuple], None]  # a helper's answer to one message
OpenWork = Callable[..., tuple[Answer, Callable[[], None]]]  # (connection, *args) -> answer, close


def serve(connection: Connection, open_work: OpenWork, *args: object) -> None:
    """The helper's life: open its work, answer each message until told to stop, close."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle: it stops us
    try:
        answer, close = open_work(connection, *args)
        connection.send(("ready",))
        while (message := connection.recv())[0] != "stop":
            answer(message)
        close()
        connection.send(("stopped",))
    except Exception as error:  # every failure is reported, then the helper ends
        _report_failure(connection, error)


def _report_failure(connection: Connection, error: BaseException) -> NoReturn:
    """Say what failed and where (one line), then end the process."""
    where = traceback.extract_tb(error.__traceback__)[-1]
    connection.send(("failed", f"{type(error).__name__}: {error} ({where.name}:{where.lineno})"))
    raise SystemExit(1) from None


class HelperProcess:
    """One spawned helper and the run's end of its pipe."""

    def __init__(self, open_work: OpenWork, args: tuple, *, name: str, label: str) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh process: no forked SQLite state
        ours, theirs = context.Pipe()
        self.label = label
        self.connection = ours
        self.process = context.Process(
            target=serve,
            args=(theirs, open_work, *args),
            name=name,
            daemon=True,  # never outlives the run, whatever happens to it
        )
        self.process.start()
        theirs.close()

    def send(self, message: tuple) -> None:
        try:
            self.connection.send(message)
        except OSError:  # the pipe broke: the helper is gone
            self.process.join(POLL)
            raise HelperProcessError(self._died()) from None

    def receive(self, expected: str) -> tuple:
        """The helper's next message, waited for in bounded steps; a dead, failed or silent
        helper raises HelperProcessError."""
        deadline = time.monotonic() + PATIENCE
        while not self.connection.poll(POLL):
            if not self.process.is_alive():
                raise HelperProcessError(self._died())
            if time.monotonic() > deadline:
                raise HelperProcessError(f"{self.label} answered nothing in {PATIENCE:.0f} s")
        try:
            message = self.connection.recv()
        except (EOFError, OSError):
            self.process.join(POLL)
            raise HelperProcessError(self._died()) from None
        if message[0] == "failed":
            raise HelperProcessError(f"{self.label} failed: {message[1]}")
        if message[0] != expected:
            raise HelperProcessError(f"{self.label} sent {message[0]!r}, expected {expected!r}")
        return message

    def ask_to_stop(self) -> None:
        """Tell the helper to stop (`stopped` then waits for it)."""
        self.send(("stop",))

    def stopped(self) -> None:
        """Wait for the helper to say it stopped and exit cleanly."""
        self.receive("stopped")
        self.process.join(STOP_SECONDS)
        if self.process.exitcode != 0:
            raise HelperProcessError(f"{self.label} ended with exit code {self.process.exitcode}")

    def stop(self) -> None:
        """Stop the helper: it closes what it opened and exits."""
        self.ask_to_stop()
        self.stopped()

    def kill(self) -> None:
        """End the helper if it still runs (after a failure: nothing is left waiting)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(STOP_SECONDS)
        self.connection.close()

    def _died(self) -> str:
        return f"{self.label} died (exit code {self.process.exitcode})"
