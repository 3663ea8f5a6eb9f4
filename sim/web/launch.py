"""Start `cpw serve` as a child process on a free loopback port, wait for it, stop it.

Used by the end-to-end tests, the load test and bench/bench_web.py, so each drives the server
exactly as an operator would start it.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs (what a crash or `kill -9` does)."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _wait_ready(server: RunningServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"cpw serve exited: {server.log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.url}login", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"cpw serve did not answer within {timeout} s: {server.log.read_text()}")


@contextmanager
def running_server(
    deployment: Path,
    log: Path,
    *,
    at: str | None = None,
    clock_rate: float = 1.0,
    profile: str = "simulation",
    audit_key: str | None = None,
    workers: int = 1,
    facade_threads: int = 1,
    timeout: float = 60.0,
) -> Iterator[RunningServer]:
    """`cpw serve DEPLOYMENT` on 127.0.0.1 and a free port; stopped (SIGTERM) on exit."""
    port = free_port()
    command = [sys.executable, "-m", "sim.cli", "serve", str(deployment), "--host", HOST,
               "--port", str(port), "--workers", str(workers), "--clock-rate", str(clock_rate),
               "--profile", profile, "--facade-threads", str(facade_threads)]  # fmt: skip
    if at is not None:
        command += ["--at", at]
    if audit_key is not None:
        command += ["--audit-key", audit_key]
    environment = {k: v for k, v in os.environ.items() if k != "CPW_AT"}
    # The workers (spawned processes) import this tree's `sim`, as the parent does.
    inherited = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), inherited]))
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=environment
        )
    server = RunningServer(f"http://{HOST}:{port}/", process, log)
    try:
        _wait_ready(server, timeout)
        yield server
    finally:
        server.stop()
