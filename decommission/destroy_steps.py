"""The runbook's closing steps: destroy every copy, verify independently, certify.

Destruction re-validates the archive itself before touching anything, notes each file before and
after destroying it (steps/destroy.journal.jsonl), so a run that died half-way is finished
without losing the record of what was already destroyed, and its gate stops the run if a copy
found at the inventory is gone without a destruction record (an authority extract its holder
kept). Certification refuses while residue remains (NIST SP 800-88 Rev. 1 4.7-4.8).
"""

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decommission import atomic, journal
from decommission.bagcheck import file_digest, strict_problems
from decommission.certificate import (
    Person,
    ResidueRemains,
    certificate_sha256,
    issue_certificates,
    public_key_hex,
    verify_certificate,
)
from decommission.destruction import DestructionRecord, crypto_erase, destroy_files
from decommission.inventory import scan_deployment
from decommission.postgres import SERVER_KINDS, quiesce
from decommission.standards import load_standards
from decommission.step import Context, Step
from decommission.steps import write_evidence
from decommission.verification import verify_destruction
from sim.errors import WorkbenchError

EVIDENCE = {
    "verification.json": "sha256",
    "steps/destroy.json": "sha256",
    "archive/tagmanifest-sha512.txt": "sha512",
}
"""The evidence files each certificate names, with the digest algorithm it names them by."""
CHAIN_START = ("archive/data/audit/seal.json", "sha256")
"""The audit log's final checkpoint: the first certificate in the chain names its digest."""
TRANSIENT = ("sidecar", "temp")
"""File classes that come and go by themselves (SQLite removes its WAL on a clean close)."""


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
            "stop any database server and drop its replication slots",
            "erase data keys, clear SQLite stores, overwrite and remove every file found",
        ]

    def run(self, ctx: Context) -> dict[str, Any]:
        bag = ctx.evidence / "archive"
        notes = ctx.evidence / "steps" / f"{self.id}.journal.jsonl"
        earlier = _destroyed_before(ctx, notes)
        if not ctx.state.get("archive_valid"):
            raise self.no_go("the archive has not validated: nothing may be destroyed")
        problems = strict_problems(bag)
        if problems:
            raise self.no_go(f"the archive no longer validates: {problems[0]}")
        inventory = ctx.state["inventory"]
        servers = quiesce(ctx.deployment) if inventory.of_kind(*SERVER_KINDS) else None
        # again: the archive step may have added files
        found = scan_deployment(ctx.deployment, inventory)
        if self.scope == "inventory":
            found = [f for f in found if f.listed]
        keystores = [s.path for s in inventory.of_kind("key-store")]
        passes = load_standards().overwrite_passes.value
        keystore = keystores[0] if keystores else None

        def note(event: dict[str, Any]) -> None:
            line = json.dumps(event, sort_keys=True) + "\n"
            ctx.disk.append(notes, journal.terminator(notes) + line)

        try:
            records = destroy_files(ctx.deployment, found, keystore, passes, self.erase, note)
        except (WorkbenchError, ValueError) as exc:  # an OSError: the run says which file
            raise self.no_go(f"destruction failed: {type(exc).__name__}: {exc}") from None
        records = earlier + records
        ctx.state["records"] = records
        evidence = {
            "records": [asdict(r) for r in records],
            "overwrite_passes": passes,
            "scope": self.scope,
        }
        return evidence if servers is None else {**evidence, "database_servers": servers}

    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        left = [r["path"] for r in evidence["records"] if (ctx.deployment / r["path"]).exists()]
        rows = [
            r["path"] for r in evidence["records"] if any((r["rows_after_clear"] or {}).values())
        ]
        if left or rows:
            raise self.no_go(f"still present: {left}; rows left in: {rows}")
        destroyed = {r["path"] for r in evidence["records"]}
        kept = [
            f"{f['path']} (held by {f['holder']})"
            for f in ctx.results["inventory"]["files"]
            if f["file_class"] not in TRANSIENT
            and f["kind"] not in SERVER_KINDS
            and f["path"] not in destroyed
            and not (ctx.deployment / f["path"]).exists()
        ]
        if kept:
            raise self.no_go(f"copies never returned for destruction: {', '.join(kept)}")

    def restore(self, ctx: Context, evidence: dict[str, Any]) -> None:
        ctx.state["records"] = [DestructionRecord(**r) for r in evidence["records"]]


def _destroyed_before(ctx: Context, notes: Any) -> list[DestructionRecord]:
    """Files a run that died during destruction had destroyed: noted done, or announced and gone.

    A file announced but still present is destroyed again by this run (its record is remade).
    """
    done: dict[str, DestructionRecord] = {}
    for event in journal.read(notes):
        if "done" in event:
            done[event["done"]["path"]] = DestructionRecord(**event["done"])
        elif "intent" in event and not (ctx.deployment / event["intent"]["path"]).exists():
            done.setdefault(event["intent"]["path"], DestructionRecord(**event["intent"]))
    return list(done.values())


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
            ctx.results["inventory"]["key_fingerprints"],
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
    """Issue and self-check the signed certificates.

    They are written to certificates.unchecked/ and become certificates/ only once each one
    re-verifies, so a run that dies while certifying leaves no directory of certificates, or
    one that a resume replaces (its run.json never says completed with it).
    """

    kind = "certify"
    unchecked = "certificates.unchecked"
    superseded = "certificates.superseded"

    def __init__(self, step_id: str, sanitizer: Person, verifier: Person, key: Ed25519PrivateKey):
        super().__init__(step_id)
        self.sanitizer, self.verifier, self.key = sanitizer, verifier, key

    def plan(self, ctx: Context) -> list[str]:
        return ["one certificate per holder and one for the deployment, signed with Ed25519"]

    def run(self, ctx: Context) -> dict[str, Any]:
        evidence = {name: file_digest(ctx.evidence / name, alg) for name, alg in EVIDENCE.items()}
        seal, seal_alg = CHAIN_START
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
                chain_start=file_digest(ctx.evidence / seal, seal_alg),
                classification=load_standards().classification_before.value,
                backed_up="kept items only: see archive/ (BagIt 1.0)",
            )
        except ResidueRemains as exc:
            raise self.no_go(str(exc)) from None
        atomic.remove_tree(ctx.evidence / self.unchecked)  # from a dead attempt
        names = []
        for signed in certificates:
            name = f"{PurePosixPath(signed['certificate']['certificate_id']).name}.json"
            write_evidence(ctx, f"{self.unchecked}/{name}", signed)
            names.append(f"certificates/{name}")
        return {
            "certificates": names,
            "sha256": [certificate_sha256(c) for c in certificates],
            "public_key": public_key_hex(self.key),
        }

    def verify(self, ctx: Context, evidence: dict[str, Any]) -> None:
        for name in evidence["certificates"]:
            path = ctx.evidence / self.unchecked / name.removeprefix("certificates/")
            signed = json.loads(path.read_text())
            problems = verify_certificate(signed, evidence["public_key"], ctx.evidence)
            if problems:
                raise self.no_go(f"{name}: {problems[0]}")
        self._publish(ctx)

    def _publish(self, ctx: Context) -> None:
        """certificates.unchecked/ becomes certificates/. A certificates/ left by an attempt that
        died after its rename, before its gate was journalled, is set aside and removed (the CLI
        signs every attempt with the same pinned key, a library caller may not), so what is
        published is this attempt's, signed by this attempt's key."""
        published = ctx.evidence / "certificates"
        if published.exists():
            atomic.remove_tree(ctx.evidence / self.superseded)
            atomic.rename(published, ctx.evidence / self.superseded)
        atomic.rename(ctx.evidence / self.unchecked, published)
        atomic.remove_tree(ctx.evidence / self.superseded)
