"""Verified shutdown: switch the index off, then prove that no path still lets anyone in.

In 2010 logins were deleted at noon on 6 August (ZDNet, 6 Aug 2010); nothing published shows
that every other path (the API, feeds, exports, the subject-access portal) was tested. Here the
switch-off is followed by one probe per path; a probe that gets in stops the run, so nothing is
archived or destroyed while the index is still reachable (docs/decommissioning-standards.md 9.B.5).

The step knows the index only through `Switchable` and plain callables, so the real facade
(`sim.index.service.ContactPoint`) or a test double can be passed in.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from decommission.standards import load_standards
from decommission.step import Context, Step
from sim.errors import WorkbenchError

Outcome = Literal["refused", "allowed", "inconclusive"]
Probe = Callable[[], object]
"""Try to get in by one path: return (anything) if let in; raise WorkbenchError if refused."""


class Switchable(Protocol):
    """What shutdown needs of the index: the facade's `switch_off`."""

    def switch_off(self, *, by: str | None, now: dt.datetime) -> int: ...


@dataclass(frozen=True)
class ProbeResult:
    path: str
    outcome: Outcome
    detail: str


def probe(path: str, attempt: Probe) -> ProbeResult:
    """Run one probe. Only a typed refusal counts as refused: a crash proves nothing."""
    try:
        attempt()
    except (WorkbenchError, PermissionError) as refusal:
        return ProbeResult(path, "refused", f"{type(refusal).__name__}: {refusal}")
    except Exception as error:
        return ProbeResult(path, "inconclusive", f"{type(error).__name__}: {error}")
    return ProbeResult(path, "allowed", "the probe got in")


class ShutdownStep(Step):
    """Switch off, then probe every path named in data/decommission/standards.toml."""

    kind = "shutdown"

    def __init__(
        self, step_id: str, index: Switchable, probes: Mapping[str, Probe], operator: str
    ) -> None:
        super().__init__(step_id)
        self.index = index
        self.probes = probes
        self.operator = operator

    def plan(self, ctx: Context) -> list[str]:
        paths = load_standards().probe_paths.value
        return [f"switch the index off as {self.operator}", f"probe: {', '.join(paths)}"]

    def run(self, ctx: Context) -> dict[str, Any]:
        revoked = self.index.switch_off(by=self.operator, now=ctx.now)
        results = [probe(path, self.probes[path]) for path in sorted(self.probes)]
        for result in results:
            ctx.progress(self.id, "info", f"probe {result.path}: {result.outcome}")
        return {
            "switched_off_at": ctx.now.isoformat(),
            "by": self.operator,
            "sessions_and_accounts_revoked": revoked,
            "probes": [asdict(result) for result in results],
        }

    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        required = load_standards().probe_paths.value
        probed = {p["path"]: p["outcome"] for p in evidence["probes"]}
        unprobed = [path for path in required if path not in probed]
        if unprobed:
            raise self.no_go(f"paths not probed: {', '.join(unprobed)}")
        open_paths = [path for path, outcome in probed.items() if outcome != "refused"]
        if open_paths:
            raise self.no_go(f"probes not refused after switch-off: {', '.join(open_paths)}")
