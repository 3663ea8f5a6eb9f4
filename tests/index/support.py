"""Helpers the index tests share: monitoring rules with other checkpoint intervals, and private
copies of a template deployment."""

import shutil
from pathlib import Path

from sim.deployment.deploy import SIDE_FILES
from sim.index.audit import MonitoringRules, load_monitoring_rules


def checkpoint_rules(every: int, seconds: int = 3600) -> MonitoringRules:
    """The data's monitoring rules, signing a checkpoint every `every` entries or `seconds`."""
    base = load_monitoring_rules()
    return base.model_copy(
        update={
            "audit_checkpoint_every": base.audit_checkpoint_every.model_copy(
                update={"value": every}
            ),
            "audit_checkpoint_seconds": base.audit_checkpoint_seconds.model_copy(
                update={"value": seconds}
            ),
        }
    )


def copy_deployment(template: Path, copy: Path) -> Path:
    """A fresh copy of the deployment at `template` (and the files beside it) at `copy`."""
    shutil.copytree(template, copy)
    for side in SIDE_FILES:
        shutil.copy2(f"{template}.{side}", f"{copy}.{side}")
    return copy
