"""The simulated 6 August 2010: the decommissioning runbook's shutdown step, run on a live index.

At the switch-off (noon on 6 August 2010 in history; docs/reference.md 5h) the simulation does what
the rehearsal does: decommission's `ShutdownStep` revokes every account and token
and ends every session through the facade, then probes every path (login, search, view, API, feed,
export, subject-access portal) and requires each to be refused. The simulation's own feeds bypass
the facade (they write in batches), so the switch used here also stops them. A probe that gets in is
a no-go: the run stops with the step's message.

decommission is imported when a switch-off runs, not with sim.regimes: runs without a
deployment never need it (docs/architecture.md: the experiments layer composes decommission).
"""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.feeds.live import LiveFeed
from sim.index.service import ContactPoint
from sim.outputs import write_json

OPERATOR = "simulated ContactPoint operator"


@dataclass
class FeedsAndFacade:
    """The runbook's `Switchable`: the facade's switch-off, then every live feed stopped."""

    service: ContactPoint
    feed: LiveFeed | None

    def switch_off(self, *, by: str | None, now: dt.datetime) -> int:
        from decommission.probes import SystemSwitch

        revoked = SystemSwitch(self.service).switch_off(by=by, now=now)
        if self.feed is not None:
            self.feed.stop()
        return revoked


def run_switch_off(
    service: ContactPoint,
    feed: LiveFeed | None,
    deployment: Path,
    at: dt.datetime,
    evidence: Path | None = None,
) -> dict[str, Any]:
    """Run the shutdown step at `at` and check it; returns (and writes) the step's evidence."""
    from decommission.probes import facade_probes
    from decommission.shutdown import ShutdownStep
    from decommission.step import Context

    probes = facade_probes(service, deployment, at)
    step = ShutdownStep("switch_off", FeedsAndFacade(service, feed), probes, OPERATOR)
    ctx = Context(
        deployment=deployment,
        evidence=evidence.parent if evidence else deployment,
        now=at,
        progress=lambda *_: None,
    )
    found = step.run(ctx)
    found["feed_updates_dropped"] = feed.dropped if feed is not None else 0
    if evidence is not None:
        write_json(evidence, found)
    step.verify(ctx, found)
    return found
