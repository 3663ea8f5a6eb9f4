"""Peak memory of a process tree, sampled from /proc (workers included, which rusage cannot sum)."""

import threading
from pathlib import Path


def _tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        current = stack.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                stack.extend(int(c) for c in task.read_text().split())
            except OSError:
                continue
    return pids


def _rss_bytes(pid: int) -> tuple[int, int]:
    """Resident bytes, and the private part of them (anonymous and shared memory: not pages
    of files mapped from disk, such as SQLite's memory map or polars reading a file)."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssShmem"):
                found[key] = int(value.split()[0]) * 1024
    except OSError:
        return 0, 0
    return found.get("VmRSS", 0), found.get("RssAnon", 0) + found.get("RssShmem", 0)


class PeakMemory:
    """Context manager sampling the summed RSS of a process and its descendants (`peak`), and
    the private part of it (`peak_private`: without pages of files mapped from disk, which
    the kernel can drop and read again)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval, self.peak, self.peak_private = pid, interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            sizes = [_rss_bytes(p) for p in _tree(self.pid)]
            self.peak = max(self.peak, sum(rss for rss, _ in sizes))
            self.peak_private = max(self.peak_private, sum(private for _, private in sizes))

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
