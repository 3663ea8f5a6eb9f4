"""Decommissioning a ContactPoint deployment: verified shutdown, archive, certified destruction.

The 2010 runbook is data (data/decommission/runbook-2010.toml); `rehearse` runs it over a
deployment directory (docs/architecture.md, "A deployment") with go/no-go gates and writes an
evidence directory (resumable from its journal); `verify_evidence` re-checks it independently.
"""

from decommission.answer import answer_request
from decommission.archive import ArchiveKeys, build_archive, held_problems
from decommission.bagcheck import ArchiveInvalid, strict_problems, validate_strict
from decommission.certificate import Person, ResidueRemains, issue_certificates, verify_certificate
from decommission.coverage import recheck_coverage
from decommission.custody import unwrap_keys, wrap_keys
from decommission.destruction import crypto_erase, destroy_files
from decommission.evidence import verify_evidence
from decommission.faults import FAULTS, Crash, fault_named, fault_names
from decommission.held import connected_rows, held_now, held_records, held_store
from decommission.inventory import FoundFile, Inventory, load_inventory, scan_deployment
from decommission.rehearsal import Outcome, Rehearsal, dry_run, rehearse
from decommission.runbook import Runbook, load_runbook, plan_text
from decommission.shutdown import ProbeResult, ShutdownStep, Switchable, probe
from decommission.signing import pin_signing_key, trusted_key
from decommission.standards import load_standards
from decommission.step import Context, NoGo, Step
from decommission.verification import load_canaries, verify_destruction

__all__ = [
    "FAULTS",
    "ArchiveInvalid",
    "ArchiveKeys",
    "Context",
    "Crash",
    "FoundFile",
    "Inventory",
    "NoGo",
    "Outcome",
    "Person",
    "ProbeResult",
    "Rehearsal",
    "ResidueRemains",
    "Runbook",
    "ShutdownStep",
    "Step",
    "Switchable",
    "answer_request",
    "build_archive",
    "connected_rows",
    "crypto_erase",
    "destroy_files",
    "dry_run",
    "fault_named",
    "fault_names",
    "held_now",
    "held_problems",
    "held_records",
    "held_store",
    "issue_certificates",
    "load_canaries",
    "load_inventory",
    "load_runbook",
    "load_standards",
    "pin_signing_key",
    "plan_text",
    "probe",
    "recheck_coverage",
    "rehearse",
    "scan_deployment",
    "strict_problems",
    "trusted_key",
    "unwrap_keys",
    "validate_strict",
    "verify_certificate",
    "verify_destruction",
    "verify_evidence",
    "wrap_keys",
]
