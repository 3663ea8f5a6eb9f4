"""The audit trail: an append-only, hash-chained log with signed checkpoints, and its watchers."""

from sim.index.audit.event import AuditEvent, Outcome
from sim.index.audit.keys import (
    create_key_store,
    key_fingerprint,
    load_signing_key,
    pinned_public_key,
    public_key_hex,
)
from sim.index.audit.log import AuditLog, checkpoints_path
from sim.index.audit.monitoring import ALERT_SCHEMA, scan_alerts
from sim.index.audit.reader import detail_field, read_audit, scan_audit
from sim.index.audit.settings import MONITORING_FILE, MonitoringRules, load_monitoring_rules
from sim.index.audit.verify import VerifyReport, verify

__all__ = [
    "ALERT_SCHEMA",
    "MONITORING_FILE",
    "AuditEvent",
    "AuditLog",
    "MonitoringRules",
    "Outcome",
    "VerifyReport",
    "checkpoints_path",
    "create_key_store",
    "detail_field",
    "key_fingerprint",
    "load_monitoring_rules",
    "load_signing_key",
    "pinned_public_key",
    "public_key_hex",
    "read_audit",
    "scan_alerts",
    "scan_audit",
    "verify",
]
