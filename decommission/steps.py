"""The runbook's first steps (shutdown apart): notices, inventory, archive.

Each gate is enforced in code as well as by the runbook's order; the steps that destroy, verify
and certify are in decommission.destroy_steps. Every step writes through the context's evidence
volume (`ctx.disk`), so a full disk stops the step that hit it, and every step can be redone
after a crash without harm: notices are rewritten, the scan re-read, a part-built bag removed.
"""

import hashlib
import json
from dataclasses import asdict
from typing import Any

from decommission.archive import (
    WRAPPED_KEYS,
    ArchiveKeys,
    build_archive,
    held_children,
    held_problems,
    remove_archive,
)
from decommission.bagcheck import file_digest, strict_problems
from decommission.custody import Recipient, wrap_keys
from decommission.destruction import key_material, read_keys
from decommission.fingerprints import key_fingerprints
from decommission.inventory import Inventory, load_inventory, missing_stores, scan_deployment
from decommission.runbook import Runbook, RunbookStep
from decommission.step import Context, Step


def write_evidence(ctx: Context, name: str, document: dict[str, Any]) -> str:
    """Write one evidence file (canonical JSON) under the evidence directory; return its sha256."""
    content = json.dumps(document, indent=1, sort_keys=True, default=str).encode() + b"\n"
    ctx.disk.write(ctx.evidence / name, content)
    return hashlib.sha256(content).hexdigest()


class NoticeStep(Step):
    """A notice or record with no system action: announcement, letters, freeze, duties lapse."""

    kind = "notice"

    def __init__(self, step_id: str, runbook: Runbook, step: RunbookStep) -> None:
        super().__init__(step_id)
        self.runbook, self.step = runbook, step

    def plan(self, ctx: Context) -> list[str]:
        return [f"write notices/{self.id}.md"]

    def run(self, ctx: Context) -> dict[str, Any]:
        when = self.runbook.when(self.step)
        switch_off = self.runbook.when(self.runbook.step("switch_off"))
        lines = [
            f"# {self.step.title}",
            "",
            f"Date: {when:%d %B %Y, %H:%M %Z}",
            f"Switch-off: {switch_off:%d %B %Y, %H:%M %Z}",
            "",
        ]
        lines += [f"- {action}" for action in self.step.actions]
        holders = ctx.state.get("holders", [])
        if self.id == "notify":
            lines += ["", "Sent to:"] + [f"- {holder}" for holder in holders]
        lines += ["", f"Source: {self.step.source}", ""]
        path = ctx.evidence / "notices" / f"{self.id}.md"
        ctx.disk.write(path, "\n".join(lines).encode())
        return {
            "notice": f"notices/{self.id}.md",
            "sha256": file_digest(path, "sha256"),
            "recipients": holders if self.id == "notify" else [],
        }

    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        if file_digest(ctx.evidence / evidence["notice"], "sha256") != evidence["sha256"]:
            raise self.no_go("notice changed after it was written")
        if self.id == "notify" and not evidence["recipients"]:
            raise self.no_go("no holder to notify: has the inventory been taken?")


class InventoryStep(Step):
    """Read the inventory, scan the tree, remember every key that must later be gone."""

    kind = "inventory"

    def plan(self, ctx: Context) -> list[str]:
        return [f"read {ctx.deployment}/inventory.toml and scan every file under it"]

    def run(self, ctx: Context) -> dict[str, Any]:
        inventory = load_inventory(ctx.deployment)
        found = scan_deployment(ctx.deployment, inventory)
        keys = _keys(ctx, inventory)
        ctx.state.update(inventory=inventory, keys=keys)
        ctx.state["holders"] = sorted({f.holder for f in found})
        classes: dict[str, int] = {}
        for item in found:
            classes[item.file_class] = classes.get(item.file_class, 0) + 1
        return {
            "stores": len(inventory.stores),
            "files": [asdict(f) for f in found],
            "classes": classes,
            "missing_stores": missing_stores(ctx.deployment, inventory),
            "keys_in_key_store": len(keys),
            "key_fingerprints": key_fingerprints(keys),
            "holders": ctx.state["holders"],
            "inventory": inventory.model_dump(mode="json"),
        }

    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        if evidence["missing_stores"]:
            raise self.no_go(f"listed stores missing: {', '.join(evidence['missing_stores'])}")

    def restore(self, ctx: Context, evidence: dict[str, Any]) -> None:
        inventory = Inventory.model_validate(evidence["inventory"])
        ctx.state.update(inventory=inventory, keys=_keys(ctx, inventory))
        ctx.state["holders"] = evidence["holders"]


def _keys(ctx: Context, inventory: Inventory) -> list[bytes]:
    """Key material in the key store while it exists (after destruction there is none to read)."""
    keys: list[bytes] = []
    for store in inventory.of_kind("key-store"):
        try:
            entries = read_keys(ctx.deployment / store.path).values()
        except (OSError, ValueError):  # destroyed, or cut short by a run that died destroying it
            continue
        keys += [key_material(entry) for entry in entries]
    return keys


class ArchiveStep(Step):
    """Build the archive in EVIDENCE/archive and validate it strictly."""

    kind = "archive"

    def __init__(self, step_id: str, keys: ArchiveKeys, custodian: Recipient | None = None) -> None:
        super().__init__(step_id)
        self.keys, self.custodian = keys, custodian

    def plan(self, ctx: Context) -> list[str]:
        return [
            "bag the sealed audit log, held records, pending SARs, statistics, evidence",
            "validate the bag strictly; check it holds no record that is not under a hold",
        ]

    def run(self, ctx: Context) -> dict[str, Any]:
        inventory = ctx.state["inventory"]
        held, _, _ = held_children(ctx.deployment, inventory)
        ctx.state["held"] = set(held)
        remove_archive(ctx.evidence / "archive")  # a bag left part-built by a crash or full disk
        wrapped = wrap_keys(self.keys, self.custodian) if self.custodian else None
        summary = build_archive(
            ctx.deployment,
            inventory,
            ctx.evidence / "archive",
            self.keys,
            dict(ctx.results),
            ctx.now.date(),
            write=ctx.disk.write,
            wrapped_keys=wrapped,
        )
        summary["archive_keys"] = (
            f"age-encrypted to custodian {self.custodian} in data/{WRAPPED_KEYS}"
            if self.custodian
            else "given to the operator once when the archive validated; written nowhere"
        )
        return summary

    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        bag = ctx.evidence / "archive"
        problems = strict_problems(bag) + held_problems(bag, self.keys, ctx.state["held"])
        if problems:
            raise self.no_go(f"archive invalid: {'; '.join(problems[:3])}")
        ctx.state["archive_valid"] = True

    def restore(self, ctx: Context, evidence: dict[str, Any]) -> None:
        ctx.state["archive_valid"] = True  # it passed its gate; destruction re-checks its fixity
