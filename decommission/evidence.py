"""Independent check of an evidence directory (what `cpw decommission verify` should call).

It shares nothing with the run that wrote the evidence: it takes the verifier's public key from
the caller (a key read from the evidence itself would prove only self-consistency), re-validates
the archive strictly, re-checks every certificate's signature, chain and evidence digests, and,
given the deployment, re-scans it for residue, canaries and copies of the erased keys (by the
fingerprints the inventory step recorded; docs/decommissioning-standards.md 9.E.13).
"""

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from decommission.bagcheck import strict_problems
from decommission.certificate import certificate_sha256, verify_certificate
from decommission.fingerprints import find_keys


def verify_evidence(
    evidence: Path, public_key: Ed25519PublicKey | str, deployment: Path | None = None
) -> list[str]:
    """Every problem found (empty if the evidence holds); a stopped run is itself a problem."""
    evidence = Path(evidence)
    try:
        run = json.loads((evidence / "run.json").read_text())
    except (OSError, ValueError):
        return [f"{evidence}: no readable run.json; not an evidence directory"]
    problems = [f"archive: {p}" for p in strict_problems(evidence / "archive")]
    if run.get("status") == "running":
        problems.append("the run did not finish (it was interrupted): resume it first")
    elif run.get("status") != "completed":
        problems.append(f"run stopped at {run.get('stopped_at')}: {run.get('reason')}")
    names = run.get("certificates", [])
    if run.get("status") == "completed" and not names:
        problems.append("a completed run without certificates")
    previous = None
    for name in names:
        try:
            signed = json.loads((evidence / name).read_text())
        except (OSError, ValueError):
            problems.append(f"{name}: missing or unreadable")
            continue
        problems += [f"{name}: {p}" for p in verify_certificate(signed, public_key, evidence)]
        if deployment is not None:
            problems += [f"{name}: {p}" for p in verify_certificate(signed, public_key, deployment)]
        link = signed.get("certificate", {}).get("previous_certificate_sha256")
        if previous is not None and link != previous:
            problems.append(f"{name}: chain broken (previous certificate digest differs)")
        previous = certificate_sha256(signed)
    if deployment is not None:
        problems += _key_copies(evidence, Path(deployment))
        problems += [f"{path}: left under the destroyed deployment" for path in _left(deployment)]
    return problems


def _left(deployment: Path) -> list[str]:
    """Every file still under the deployment: destruction removes them all, so each one either
    escaped it or appeared since (an extract returned late, a file a process wrote back)."""
    root = Path(deployment)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir())


def _key_copies(evidence: Path, deployment: Path) -> list[str]:
    """Copies of the erased data keys under the deployment, found by their fingerprints."""
    try:
        inventory = json.loads((evidence / "steps/inventory.json").read_text())
    except (OSError, ValueError):
        return ["steps/inventory.json: missing or unreadable (no key fingerprints to scan for)"]
    hits = find_keys(deployment, inventory.get("key_fingerprints", []))
    return [f"{hit['path']}: {hit['pattern']} at byte {hit['offset']}" for hit in hits]


def signer_keys(evidence: Path) -> list[str]:
    """The public keys the run's certificates say they are signed by (to match a pinned
    fingerprint against; never trusted by themselves)."""
    try:
        names = json.loads((Path(evidence) / "run.json").read_text()).get("certificates", [])
    except (OSError, ValueError):
        return []
    keys = []
    for name in names:
        try:
            keys.append(json.loads((Path(evidence) / name).read_text())["signature"]["public_key"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return keys
