"""After destruction, the archive still answers: held records kept whole, a pending request
answered by `answer-sar` with the live index's rules (shielding included), and certificates
checked against the key pinned before the run, from outside the evidence folder."""

import base64
import datetime as dt
import json
import re
import shlex
import sqlite3
from contextlib import closing
from pathlib import Path

import pyrage
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decommission.answer import open_parts
from decommission.certificate import canonical, public_key_hex
from decommission.held import held_store
from sim.index.layout import Layout
from sim.index.records import record_rules
from sim.index.retention import add_years
from sim.index.sar import export_requests, receive_request
from sim.index.sar_request import sar_rules
from sim.index.store import SqliteStore

AT = dt.datetime(2010, 7, 20, 10, 0)


def old_enough_to_ask(db: sqlite3.Connection) -> list[str]:
    """Children old enough on AT to make a subject access request in their own name
    (child_request_age, data/index/sar.toml), in the index's order."""
    born_by = add_years(AT.date(), -sar_rules().child_request_age.value).isoformat()
    sql = "SELECT child_id FROM child WHERE date_of_birth <= ? ORDER BY child_key"
    return [row[0] for row in db.execute(sql, (born_by,))]


@pytest.fixture
def rehearsed(deployment, tmp_path, cpw):
    """Before the run: a child's own request, and a parent's request about a shielded child
    who is leaving England (recorded in the live index and its exported list); each held
    record read from the live index. Then a completed rehearsal with an age custodian."""
    identity = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "custodian.key"
    key_file.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    (tmp_path / "custodian.pub").write_text(f"{identity.to_public()}\n")
    layout = Layout(deployment)
    store = SqliteStore.open(layout.index)
    try:
        held_before = [h.child_id for h in store.read_holds()]
        with closing(sqlite3.connect(f"file:{layout.index}?mode=ro", uri=True)) as db:
            ids = old_enough_to_ask(db)
        own, shielded = [c for c in ids[:50] if c not in held_before][-2:]
        request = store.add_shielding_request(shielded, "risk of significant harm", "lead", AT)
        store.decide_shielding_request(request, True, "manager", AT)
        store.set_leaving_england(shielded, True, "lead", AT)
        child_asks = receive_request(
            store, own, "child", AT.date(), actor="system", at=AT, fee_gbp=0
        ).request.request_id
        parent_asks = receive_request(
            store, shielded, "parent", AT.date(), child_consent=True, actor="system", at=AT
        ).request.request_id
        export_requests(store, layout.sar, AT.date())
        held = sorted({*held_before, own, shielded})
        live = {child: store.read_record(child, include_archived=True) for child in held}
        holds = sorted(store.read_holds(), key=lambda h: h.hold_id)
        requests = store.read_subject_access_requests()
    finally:
        store.close()
    evidence = tmp_path / "evidence"
    result = cpw("decommission", "rehearse", str(deployment), "--out", str(evidence),
                 "--custodian-key", str(tmp_path / "custodian.pub"))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert not [p for p in deployment.rglob("*") if p.is_file()]
    return {
        "evidence": evidence, "key": key_file, "identity": identity, "live": live,
        "holds": holds, "requests": requests, "child_asks": child_asks,
        "parent_asks": parent_asks, "shielded": shielded, "stdout": result.stdout,
    }  # fmt: skip


def test_held_records_keep_every_field_the_live_index_had(rehearsed):
    """Each held child's record, read back from the archive as an index store, equals the one
    read from the live index before destruction, field by field: names, address, carers,
    services, shield, leaving England; and the holds and requests are there as they stood."""
    parts = open_parts(rehearsed["evidence"] / "archive", rehearsed["identity"])
    store = held_store(parts[0])
    try:
        for child, before in rehearsed["live"].items():
            after = store.read_record(child, include_archived=True)
            assert after is not None, child
            for field in ("record", "shield", "archived_on", "leaving_england"):
                assert getattr(after, field) == getattr(before, field), (child, field)
            assert after.record.model_dump() == before.record.model_dump()
        assert store.read_holds() == rehearsed["holds"]
        assert store.read_subject_access_requests() == rehearsed["requests"]
    finally:
        store.close()
    shielded = rehearsed["live"][rehearsed["shielded"]]
    assert shielded.shield is not None and shielded.leaving_england is not None


def answer(cpw, rehearsed, request_id: int, *extra: str):
    return cpw("decommission", "answer-sar", str(rehearsed["evidence"]), str(request_id),
               "--custodian-key", str(rehearsed["key"]), "--on", "2010-09-01", *extra)  # fmt: skip


def test_answer_sar_discloses_the_complete_record_after_destruction(rehearsed, cpw):
    """The child's own request: refused until identity is confirmed (the live rules), then the
    pack holds the whole record as the live index held it, and both are logged."""
    refused = answer(cpw, rehearsed, rehearsed["child_asks"])
    assert refused.returncode == 2 and refused.stderr.startswith("cpw: error: ")
    assert "fee and identity are needed first" in refused.stderr
    done = answer(cpw, rehearsed, rehearsed["child_asks"], "--identity-verified-on", "2010-08-01")
    assert done.returncode == 0, done.stderr
    pack = json.loads(done.stdout)
    before = next(r for c, r in rehearsed["live"].items() if c == pack["child_id"])
    assert pack["record"] == before.record.model_dump(mode="json")
    assert pack["purposes"] and pack["sources"]
    log = Path(f"{rehearsed['evidence']}.custodian-log.jsonl").read_text().splitlines()
    assert [json.loads(line)["outcome"] for line in log] == ["refused", "allowed"]


def test_a_parents_request_about_a_shielded_child_gets_the_shielded_view(rehearsed, cpw):
    """The parent's request about a shielded child: only the fields a shielded record shows,
    and access entries without who looked, exactly as sim.index.sar answers it live."""
    done = answer(cpw, rehearsed, rehearsed["parent_asks"], "--fee-paid-on", "2010-07-25",
                  "--identity-verified-on", "2010-07-26")  # fmt: skip
    assert done.returncode == 0, done.stderr
    pack = json.loads(done.stdout)
    assert set(pack["record"]) <= set(record_rules().shielded_visible_fields.value)
    assert "address" not in pack["record"] and "carers" not in pack["record"]
    assert all(entry["actor"] is None for entry in pack["access_log"])


def verify_command_of(report: Path) -> list[str]:
    """The verify command exactly as the operator's report prints it."""
    command = re.search(r"`(cpw decommission verify [^`]+)`", report.read_text())[1]
    return shlex.split(command)[1:]


def test_a_forged_re_signed_certificate_fails_verify_as_the_report_says(rehearsed, cpw):
    """An item removed from the deployment's certificate, re-signed with a new key written into
    the evidence folder: `verify`, run as the report says, fails; a key file inside the folder
    is refused in one line; the pinned fingerprint the run printed passes the untouched run."""
    evidence = rehearsed["evidence"]
    command = verify_command_of(evidence / "report.md")
    assert cpw(*command).returncode == 0
    printed = re.search(r"verifier key (sha256:[0-9a-f]{64})", rehearsed["stdout"])[1]
    assert cpw("decommission", "verify", str(evidence), "--fingerprint", printed).returncode == 0
    run = json.loads((evidence / "run.json").read_text())
    last = evidence / run["certificates"][-1]
    signed = json.loads(last.read_text())
    signed["certificate"]["items"] = signed["certificate"]["items"][1:]
    forger = Ed25519PrivateKey.generate()
    value = base64.b64encode(forger.sign(canonical(signed["certificate"]))).decode()
    signed["signature"] = {"algorithm": "Ed25519", "public_key": public_key_hex(forger),
                           "value": value}  # fmt: skip
    last.write_text(json.dumps(signed))
    (evidence / "verifier-public-key.txt").write_text(public_key_hex(forger) + "\n")
    forged = cpw(*command)
    assert forged.returncode == 1
    assert "signature does not verify with the given public key" in forged.stdout
    inside = cpw("decommission", "verify", str(evidence), "--public-key",
                 str(evidence / "verifier-public-key.txt"))  # fmt: skip
    assert inside.returncode == 2 and len(inside.stderr.strip().splitlines()) == 1
    assert "inside the evidence folder" in inside.stderr
    assert cpw("decommission", "verify", str(evidence), "--fingerprint", printed).returncode == 1


def test_a_request_and_a_hold_placed_in_the_index_while_the_run_is_down(deployment, tmp_path, cpw):
    """crash-after:archive; while the run is down a hold and a request are recorded in the live
    index itself (no list exported); the printed resume command archives both children before
    destroying anything, and the new request is answered from the archive afterwards."""
    identity = pyrage.x25519.Identity.generate()
    (tmp_path / "custodian.key").write_text(f"{identity}\n")
    evidence = tmp_path / "evidence"
    recipient = str(identity.to_public())
    crashed = cpw("decommission", "rehearse", str(deployment), "--out", str(evidence),
                  "--custodian-key", recipient, "--fault", "crash-after:archive")  # fmt: skip
    assert crashed.returncode == 3, crashed.stdout + crashed.stderr
    store = SqliteStore.open(Layout(deployment).index)
    try:
        held = {h.child_id for h in store.read_holds()}
        held |= {r["child_id"] for r in store.read_subject_access_requests()}
        with closing(sqlite3.connect(f"file:{Layout(deployment).index}?mode=ro", uri=True)) as db:
            ids = old_enough_to_ask(db)
        asked, placed = [c for c in ids if c not in held][:2]
        store.place_hold(placed, "s47 enquiry opened while the run was down", "lead", AT)
        late = receive_request(store, asked, "child", AT.date(), fee_gbp=0, actor="a", at=AT)
        before = store.read_record(asked, include_archived=True)
    finally:
        store.close()
    command = shlex.split(crashed.stderr.split("resume with: ", 1)[1].strip())
    resumed = cpw(*command[1:])
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "supplementary archive part 1" in resumed.stdout
    parts = open_parts(evidence / "archive", identity)
    assert len(parts) == 2 and set(parts[1]["child_ids"]) == {asked, placed}
    done = cpw("decommission", "answer-sar", str(evidence), str(late.request.request_id),
               "--custodian-key", str(tmp_path / "custodian.key"), "--on", "2010-09-01",
               "--identity-verified-on", "2010-08-01")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["record"] == before.record.model_dump(mode="json")
