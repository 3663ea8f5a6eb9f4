"""The operator's report, sections on the work itself: probes, archive, destruction, certificates.

Each section reads the evidence its step wrote and says plainly what it shows; a step the run
never reached says so. Counts and paths only: the archive is described by its manifest and its
summary, never by the records it holds (docs/decommissioning-standards.md 9.C.7).
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from decommission.signing import RECORD_SUFFIX, beside, fingerprint
from decommission.standards import load_standards
from sim.reporting import Block, Section

Redact = Callable[[str], str]
"""Blanks what the report must never hold from a text that came from the index or a failure."""
NOT_REACHED = "No evidence: the run stopped before this step, or while it wrote its evidence."


def read_json(path: Path) -> dict[str, Any]:
    """A JSON evidence file, or {} if it was never written or cut short (a full disk, a crash)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _bytes(count: int) -> str:
    return f"{count:,}"


def probes_section(evidence: Path, step_id: str, redact: Redact) -> Section:
    heading = "Switch-off and probes: is every path refused?"
    shutdown = read_json(evidence / f"steps/{step_id}.json")
    if not shutdown:
        return Section(heading, [NOT_REACHED])
    rows = [
        [p["path"], "yes" if p["outcome"] == "refused" else "NO", p["outcome"], redact(p["detail"])]
        for p in shutdown["probes"]
    ]
    return Section(
        heading,
        [
            f"Switched off at {shutdown['switched_off_at']} by {shutdown['by']}: "
            f"{shutdown['sessions_and_accounts_revoked']} sessions and accounts revoked. Then "
            "each path was tried with a session opened before the switch-off; only a typed "
            "refusal counts as refused.",
            (["path", "refused?", "outcome", "what the index answered"], rows),
        ],
    )


def archive_section(evidence: Path, step_id: str, by_step: dict[str, dict[str, Any]]) -> Section:
    heading = "What was kept, and why"
    summary = read_json(evidence / f"steps/{step_id}.json")
    manifest = evidence / "archive/manifest-sha256.txt"
    if not summary or not manifest.is_file():
        return Section(heading, [NOT_REACHED])
    if by_step.get(step_id, {}).get("status") != "go":
        return Section(
            heading,
            [
                f"The archive was built but did not pass its gate ({step_id}: see the reason "
                "above), so nothing may be destroyed; the resumed run builds it again.",
            ],
        )
    reasons = load_standards().retention_reasons.value
    rows = []
    for line in manifest.read_text().splitlines():
        name = line.split(maxsplit=1)[1]
        folder = name.removeprefix("data/").split("/", 1)[0]
        size = (evidence / "archive" / name).stat().st_size
        link = f"archive/{name}"
        rows.append([f"[{name}]({link})", _bytes(size), reasons.get(folder, "no reason recorded")])
    statistics = read_json(evidence / "archive/data/statistics/aggregate.json")
    tables = "; ".join(
        f"{store}: " + ", ".join(f"{t} {_bytes(n)} rows" for t, n in sorted(s["rows"].items()))
        for store, s in sorted(statistics.items())
    )
    return Section(
        heading,
        [
            "Kept in a BagIt 1.0 archive ([archive/](archive/bag-info.txt)), validated strictly "
            "before anything was destroyed (every payload file in every manifest, complete tag "
            "manifests, full fixity; tag manifest sha512 "
            f"`{summary['tagmanifest_sha512'][:16]}`). It holds no record of a child who is not "
            "under a hold or the subject of a pending request: checked at the archive's gate.",
            f"Counts: {summary['holds']} child-protection hold(s) and {summary['pending_sars']} "
            f"pending subject access request(s), covering {summary['held_children']} "
            f"child(ren) and {summary['held_rows']} row(s); "
            f"{_bytes(summary.get('audit_entries', 0))} audit entries sealed; "
            f"statistics kept: {tables or 'none'}.",
            f"Archive keys: {summary['archive_keys']}.",
            *_supplements(evidence, step_id),
            (["archived file", "bytes", "why it is kept"], rows),
        ],
    )


def _supplements(evidence: Path, step_id: str) -> list[Block]:
    """The parts added immediately before destruction, for holds and requests that arrived
    after the archive step (decommission.coverage)."""
    parts = read_json(evidence / f"steps/{step_id}-supplements.json").get("parts", [])
    return [
        f"Supplementary part {p['number']} ([archive/{p['file']}](archive/{p['file']})), added "
        f"before destruction for {len(p['covers'])} hold(s) or request(s) that arrived after "
        f"the archive step: {p['held_children']} child(ren), {p['held_rows']} row(s), "
        f"validated; archive keys: {p['archive_keys']}."
        if p.get("file")
        else f"{len(p['covers'])} hold(s) or request(s), for {p['held_children']} child(ren), "
        f"{p['too_late']} (recorded as part {p['number']}, nothing archived)."
        for p in parts
    ]


def destruction_section(
    evidence: Path, destroy_id: str, verify_id: str, by_step: dict[str, dict[str, Any]]
) -> Section:
    heading = "What was destroyed, and how"
    destroyed = read_json(evidence / f"steps/{destroy_id}.json")
    if not destroyed:
        return Section(heading, [NOT_REACHED])
    checked = by_step.get(destroy_id, {}).get("status") == "go"
    rows = [
        [
            r["path"],
            r["store"] or "not in the inventory (found by the scan)",
            r["holder"],
            r["method"],
            r["sanitization"],
            r["tool"],
            _bytes(r["size"]),
            _checked(r, checked),
        ]
        for r in destroyed["records"]
    ]
    header = ["file", "store", "holder", "method", "SP 800-88", "tool", "bytes", "checked"]
    blocks: list[Block] = [
        f"{len(rows)} file(s), {_bytes(sum(r['size'] for r in destroyed['records']))} bytes; "
        f"overwrite passes: {destroyed['overwrite_passes']}; scope: {destroyed['scope']} "
        "(every file found by scanning the deployment, listed or not).",
        (header, rows),
    ]
    report = read_json(evidence / "verification.json")
    if not report:
        return Section(heading, [*blocks, f"Independent verification ({verify_id}): not run."])
    hits = report["deployment"]["hits"] + report["archive"]["hits"]
    blocks.append(
        f"Independent verification ({verify_id}, [verification.json](verification.json)): "
        f"{report['method']}; {report['deployment']['files']} file(s) "
        f"({_bytes(report['deployment']['bytes'])} bytes) left under the deployment and "
        f"{report['archive']['files']} file(s) ({_bytes(report['archive']['bytes'])} bytes) in "
        f"the archive, against {report['patterns']} patterns (canaries and sampled identifiers "
        "in every encoding, and the erased keys): "
        f"{len(hits)} hit(s), {len(report['residue_files'])} residue file(s). "
        f"Result: **{'passed' if report['passed'] else 'FAILED'}**."
    )
    if hits or report["residue_files"]:
        found = [[h["path"], h["pattern"], str(h["offset"])] for h in hits]
        found += [[r["path"], r["residue"], ""] for r in report["residue_files"]]
        blocks.append((["where", "what (pattern label, never its value)", "byte"], found))
    return Section(heading, blocks)


def _checked(record: dict[str, Any], gate_passed: bool) -> str:
    if not gate_passed:
        return "not checked (the gate did not pass)"
    rows = record.get("rows_after_clear")
    cleared = f"; rows after clearing: {sum(rows.values())}" if rows else ""
    return f"gone{cleared}"


def certificates_section(evidence: Path, run: dict[str, Any]) -> Section:
    heading = "Certificates"
    names = run.get("certificates", [])
    if not names:
        return Section(heading, ["None issued: certificates come only after a clean verification."])
    rows = []
    for name in names:
        signed = read_json(evidence / name)
        body = signed["certificate"]
        rows.append(
            [
                f"[{body['certificate_id']}]({name})",
                body["holder"],
                str(len(body["items"])),
                _bytes(sum(item["size_bytes"] for item in body["items"])),
                body["date"],
                fingerprint(signed["signature"]["public_key"]),
            ]
        )
    return Section(
        heading,
        [
            "One certificate per holder of a copy and one for the deployment, with the fields of "
            "NIST SP 800-88 Rev. 1 Appendix G, signed with Ed25519 by the verifier; each names "
            "the digest of the one before, the first the sealed audit log's seal "
            "([archive/data/audit/seal.json](archive/data/audit/seal.json)). The signer key was "
            "pinned before the run: its fingerprint was printed to the operator and is in the "
            f"custodian's record, {beside(evidence, RECORD_SUFFIX).name}, beside this folder; "
            "compare it with the fingerprints here.",
            (["certificate", "holder", "items", "bytes", "dated", "signer key"], rows),
        ],
    )
