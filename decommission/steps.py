"""The runbook's steps other than shutdown: notices, inventory, archive, destroy, verify, certify.

Each gate is enforced in code as well as by the runbook's order: destruction re-validates the
archive itself before touching anything, and certification refuses while residue remains.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decommission.archive import ArchiveKeys, build_archive, held_children, held_problems
from decommission.bagcheck import file_digest, strict_problems
from decommission.certificate import (
    Person,
    ResidueRemains,
    certificate_sha256,
    issue_certificates,
    verify_certificate,
)
from decommission.destruction import crypto_erase, destroy_files, key_material, read_keys
from decommission.inventory import load_inventory, missing_stores, scan
from decommission.runbook import Runbook, RunbookStep
from decommission.standards import load_standards
from decommission.step import Context, Step
from decommission.verification import verify_destruction
from sim.errors import WorkbenchError


def write_evidence(ctx: Context, name: str, document: dict[str, Any]) -> str:
    """Write one evidence file (canonical JSON) under the evidence directory; return its sha256."""
    path = ctx.evidence / name
    path.parent.mkdir(parents=True, exist_ok=True)
    content = json.dumps(document, indent=1, sort_keys=True, default=str).encode() + b"\n"
    path.write_bytes(content)
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
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines))
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
        found = scan(ctx.deployment, inventory)
        keys: list[bytes] = []
        for store in inventory.of_kind("key-store"):
            keys += [
                key_material(entry) for entry in read_keys(ctx.deployment / store.path).values()
            ]
        ctx.state.update(inventory=inventory, found=found, keys=keys)
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
            "holders": ctx.state["holders"],
        }

    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        if evidence["missing_stores"]:
            raise self.no_go(f"listed stores missing: {', '.join(evidence['missing_stores'])}")


class ArchiveStep(Step):
    """Build the archive in EVIDENCE/archive and validate it strictly."""

    kind = "archive"

    def __init__(self, step_id: str, keys: ArchiveKeys) -> None:
        super().__init__(step_id)
        self.keys = keys

    def plan(self, ctx: Context) -> list[str]:
        return [
            "bag the sealed audit log, held records, pending SARs, statistics, evidence",
            "validate the bag strictly; check it holds no record that is not under a hold",
        ]

    def run(self, ctx: Context) -> dict[str, Any]:
        inventory = ctx.state["inventory"]
        held, _, _ = held_children(ctx.deployment, inventory)
        ctx.state["held"] = set(held)
        summary = build_archive(
            ctx.deployment,
            inventory,
            ctx.evidence / "archive",
            self.keys,
            dict(ctx.results),
            ctx.now.date(),
        )
        return summary

    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        bag = ctx.evidence / "archive"
        problems = strict_problems(bag) + held_problems(bag, self.keys, ctx.state["held"])
        if problems:
            raise self.no_go(f"archive invalid: {'; '.join(problems[:3])}")
        ctx.state["archive_valid"] = True


class DestroyStep(Step):
    """Destroy every file the scan finds (scope 'scan') or only listed stores ('inventory')."""

    kind = "destroy"

    def __init__(self, step_id: str) -> None:
        super().__init__(step_id)
        self.scope = "scan"
        self.erase = crypto_erase

    def plan(self, ctx: Context) -> list[str]:
        return [
            "re-validate the archive; stop if it does not validate",
            "erase data keys, clear SQLite stores, overwrite and remove every file found",
        ]

    def run(self, ctx: Context) -> dict[str, Any]:
        bag = ctx.evidence / "archive"
        if not ctx.state.get("archive_valid"):
            raise self.no_go("the archive has not validated: nothing may be destroyed")
        problems = strict_problems(bag)
        if problems:
            raise self.no_go(f"the archive no longer validates: {problems[0]}")
        inventory = ctx.state["inventory"]
        found = scan(ctx.deployment, inventory)  # again: the archive step may have added files
        if self.scope == "inventory":
            found = [f for f in found if f.listed]
        keystores = [s.path for s in inventory.of_kind("key-store")]
        passes = load_standards().overwrite_passes.value
        try:
            records = destroy_files(
                ctx.deployment, found, keystores[0] if keystores else None, passes, self.erase
            )
        except (WorkbenchError, OSError, ValueError) as exc:
            raise self.no_go(f"destruction failed: {type(exc).__name__}: {exc}") from None
        ctx.state["records"] = records
        return {
            "records": [asdict(r) for r in records],
            "overwrite_passes": passes,
            "scope": self.scope,
        }

    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        left = [r["path"] for r in evidence["records"] if (ctx.deployment / r["path"]).exists()]
        rows = [
            r["path"] for r in evidence["records"] if any((r["rows_after_clear"] or {}).values())
        ]
        if left or rows:
            raise self.no_go(f"still present: {left}; rows left in: {rows}")


class VerifyStep(Step):
    """Independent byte-level scan of the deployment and the archive."""

    kind = "verify"

    def __init__(self, step_id: str, canaries: Sequence[dict[str, str]], sample: Sequence[str]):
        super().__init__(step_id)
        self.canaries, self.sample = canaries, sample

    def plan(self, ctx: Context) -> list[str]:
        return [
            f"scan for {len(self.canaries)} canaries and {len(self.sample)} sampled "
            "identifiers in every encoding, and for every erased key"
        ]

    def run(self, ctx: Context) -> dict[str, Any]:
        report = verify_destruction(
            ctx.deployment,
            ctx.evidence / "archive",
            self.canaries,
            self.sample,
            ctx.state.get("keys", []),
        )
        write_evidence(ctx, "verification.json", report)
        return report

    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        if not evidence["passed"]:
            hits = len(evidence["deployment"]["hits"]) + len(evidence["archive"]["hits"])
            where = sorted(
                {h["path"] for h in evidence["deployment"]["hits"]}
                | {r["path"] for r in evidence["residue_files"]}
            )
            raise self.no_go(f"residue remains: {hits} hits, in {', '.join(where[:5])}")


class CertifyStep(Step):
    """Issue and self-check the signed certificates."""

    kind = "certify"

    def __init__(self, step_id: str, sanitizer: Person, verifier: Person, key: Ed25519PrivateKey):
        super().__init__(step_id)
        self.sanitizer, self.verifier, self.key = sanitizer, verifier, key

    def plan(self, ctx: Context) -> list[str]:
        return ["one certificate per holder and one for the deployment, signed with Ed25519"]

    def run(self, ctx: Context) -> dict[str, Any]:
        evidence = {
            "verification.json": file_digest(ctx.evidence / "verification.json", "sha256"),
            "steps/destroy.json": file_digest(ctx.evidence / "steps/destroy.json", "sha256"),
            "archive/tagmanifest-sha512.txt": file_digest(
                ctx.evidence / "archive/tagmanifest-sha512.txt", "sha512"
            ),
        }
        seal = ctx.evidence / "archive/data/audit/seal.json"
        try:
            certificates = issue_certificates(
                ctx.state["records"],
                ctx.results["verify"],
                deployment=ctx.deployment.name,
                sanitizer=self.sanitizer,
                verifier=self.verifier,
                key=self.key,
                issued_at=ctx.now.isoformat(),
                evidence=evidence,
                chain_start=file_digest(seal, "sha256"),
                classification=load_standards().classification_before.value,
                backed_up="kept items only: see archive/ (BagIt 1.0)",
            )
        except ResidueRemains as exc:
            raise self.no_go(str(exc)) from None
        names = []
        for signed in certificates:
            name = f"certificates/{signed['certificate']['certificate_id'].rsplit('/', 1)[1]}.json"
            write_evidence(ctx, name, signed)
            names.append(name)
        return {
            "certificates": names,
            "sha256": [certificate_sha256(c) for c in certificates],
            "public_key": certificates[0]["signature"]["public_key"],
        }

    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        for name in evidence["certificates"]:
            signed = json.loads((ctx.evidence / name).read_text())
            problems = verify_certificate(signed, evidence["public_key"], ctx.evidence)
            if problems:
                raise self.no_go(f"{name}: {problems[0]}")
