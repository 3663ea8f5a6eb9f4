"""Crash safety: atomic replacement of state, idempotent resumes, one run per deployment, and
clean stops (full disk, permission errors, missing files, Ctrl-C) that say how to resume."""

import base64
import errno
import json
import os

import pytest

import decommission.destroy_steps as destroy_steps
import decommission.destruction as destruction
from decommission import atomic, journal
from decommission.certificate import public_key_hex
from decommission.destruction import crypto_erase, key_material, read_keys
from decommission.evidence import verify_evidence
from decommission.faults import Crash
from decommission.lock import DeploymentBusy, DeploymentLock
from decommission.rehearsal import rehearse
from decommission.run_record import recorded_outcome

RESUME = "cpw decommission rehearse DEP --out EV --resume"


def run_record(evidence) -> dict:
    return json.loads((evidence / "run.json").read_text())


def public_key(setup) -> str:
    """The signer's public key, as the operator holds it from outside the evidence (the CLI pins
    it beside the evidence folder; a library-level resume signs with its own setup's key)."""
    return public_key_hex(setup.verifier_key)


def test_replace_file_leaves_the_old_content_when_the_write_fails(tmp_path):
    """A write cut short (here: no room left) leaves the old file whole and no temporary."""
    path = tmp_path / "run.json"
    path.write_text("old")
    with pytest.raises(OSError) as error:
        atomic.replace_file(path, b"new content", room=3)
    assert error.value.errno == errno.ENOSPC
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
    atomic.replace_file(path, b"new content")
    assert path.read_text() == "new content"


def test_a_kill_while_the_key_store_is_rewritten_never_leaves_it_empty(specimen, monkeypatch):
    """Killed after the old store is linked aside but before the new one is in place, then after
    it is in place but before the old bytes are overwritten: each time the store's path holds a
    whole key store, and the erasure redone finishes with no copy of the old store left."""
    store = specimen.deployment / "keys/keystore.json"
    erased = key_material(read_keys(store)["backup-2010-08-01"])
    real_replace, real_overwrite = atomic.replace_file, destruction.overwrite_and_unlink

    def die(*args, **kwargs):
        raise Crash("killed")

    monkeypatch.setattr(atomic, "replace_file", die)
    with pytest.raises(Crash):
        crypto_erase(store, ["backup-2010-08-01"])
    assert "backup-2010-08-01" in read_keys(store)  # the old store, whole
    monkeypatch.setattr(atomic, "replace_file", real_replace)
    monkeypatch.setattr(destruction, "overwrite_and_unlink", die)
    with pytest.raises(Crash):
        crypto_erase(store, ["backup-2010-08-01"])
    assert list(read_keys(store)) == ["audit-signing", "backup-2010-08-05"]  # the new, whole
    monkeypatch.setattr(destruction, "overwrite_and_unlink", real_overwrite)
    crypto_erase(store, ["backup-2010-08-01"])
    assert list(read_keys(store)) == ["audit-signing", "backup-2010-08-05"]
    assert sorted(p.name for p in store.parent.iterdir()) == ["keystore.json"]
    assert base64.b64encode(erased) not in store.read_bytes()


def test_a_kill_after_the_certificates_are_published_is_resumed(
    specimen, setup, new_setup, tmp_path, monkeypatch
):
    """Killed just after certificates/ is renamed into place, before the gate is journalled:
    the resume (a new process with a new key) replaces them, and they verify with the key the
    evidence names; no resume fails on a non-empty certificates/."""
    evidence = tmp_path / "evidence"
    publish = destroy_steps.CertifyStep._publish

    def publish_then_die(self, ctx):
        publish(self, ctx)
        raise Crash("killed after the rename")

    monkeypatch.setattr(destroy_steps.CertifyStep, "_publish", publish_then_die)
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup)
    first = sorted(p.name for p in (evidence / "certificates").iterdir())
    monkeypatch.setattr(destroy_steps.CertifyStep, "_publish", publish)
    signer = new_setup(specimen, 9)
    outcome = rehearse(specimen.deployment, evidence, signer, resume=True)
    assert outcome.status == "completed"
    assert sorted(p.name for p in (evidence / "certificates").iterdir()) == first
    assert not (evidence / "certificates.superseded").exists()
    assert verify_evidence(evidence, public_key(signer), specimen.deployment) == []


def test_a_database_damaged_by_a_kill_mid_clear_does_not_block_the_resume(
    specimen, setup, new_setup, tmp_path, monkeypatch
):
    """Killed while clearing the replica (its bytes half-written): every resume used to fail on
    the malformed file; now it is overwritten, the key store and the rest are reached, and the
    run completes with no canary left."""
    evidence = tmp_path / "evidence"
    replica = specimen.deployment / "replica/index.db"
    clear = destruction.clear_sqlite

    def die_mid_clear(path):
        if path == replica:
            content = bytearray(path.read_bytes())
            content[100:4096] = b"\xff" * (4096 - 100)
            path.write_bytes(bytes(content))
            raise Crash("killed mid-clear")
        return clear(path)

    monkeypatch.setattr(destruction, "clear_sqlite", die_mid_clear)
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup)
    assert replica.exists()  # malformed, and every later file still waiting
    monkeypatch.setattr(destruction, "clear_sqlite", clear)
    signer = new_setup(specimen, 4)
    outcome = rehearse(specimen.deployment, evidence, signer, resume=True)
    assert outcome.status == "completed", outcome.reason
    assert list(specimen.deployment.iterdir()) == []
    assert verify_evidence(evidence, public_key(signer), specimen.deployment) == []


def test_a_second_rehearsal_of_the_same_deployment_is_refused(specimen, setup, tmp_path):
    """While one run holds the deployment's lock another is refused at once, before it writes
    anything; once the first ends the lock is free."""
    busy = pytest.raises(DeploymentBusy, match="another rehearsal of this deployment")
    with DeploymentLock(specimen.deployment), busy:
        rehearse(specimen.deployment, tmp_path / "second", setup)
    assert not (tmp_path / "second").exists()
    assert rehearse(specimen.deployment, tmp_path / "first", setup).status == "completed"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "no space left"),
        (errno.EPERM, "permission denied"),
        (errno.EACCES, "permission denied"),
        (errno.ENOENT, "is missing"),
    ],
)
def test_volume_errors_during_destruction_stop_cleanly_and_resume(
    specimen, setup, new_setup, tmp_path, monkeypatch, code, words
):
    """A full disk, an immutable or unreadable file, a deleted file: the run stops at the step
    with a reason naming the file, run.json says stopped with the resume command, and the
    resume completes once the cause is gone."""
    evidence = tmp_path / "evidence"
    overwrite = destruction.overwrite_and_unlink

    def refuse(path, passes):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(destruction, "overwrite_and_unlink", refuse)
    outcome = rehearse(specimen.deployment, evidence, setup, resume_command=RESUME)
    assert (outcome.status, outcome.stopped_at) == ("stopped", "destroy")
    assert words in outcome.reason
    record = run_record(evidence)
    assert (record["status"], record["resume_with"]) == ("stopped", RESUME)
    monkeypatch.setattr(destruction, "overwrite_and_unlink", overwrite)
    signer = new_setup(specimen, 5)
    done = rehearse(specimen.deployment, evidence, signer, resume=True)
    assert done.status == "completed"
    assert verify_evidence(evidence, public_key(signer), specimen.deployment) == []


def test_a_full_disk_writing_the_journal_is_a_clean_stop(specimen, setup, tmp_path, monkeypatch):
    """ENOSPC outside any step (the journal line announcing one) stops the run, no exception."""
    append = journal.append

    def full(path, event):
        if event.get("step") == "archive":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        append(path, event)

    monkeypatch.setattr(journal, "append", full)
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup, resume_command=RESUME)
    assert (outcome.status, outcome.stopped_at) == ("stopped", "archive")
    assert outcome.reason.startswith("no space left")
    assert run_record(tmp_path / "evidence")["resume_with"] == RESUME


def test_ctrl_c_during_a_step_is_a_clean_stop_that_resumes(
    specimen, setup, new_setup, tmp_path, monkeypatch
):
    """Ctrl-C mid-destruction: run.json says stopped (interrupted) with the resume command, and
    the resume completes."""
    evidence = tmp_path / "evidence"
    overwrite = destruction.overwrite_and_unlink
    calls = []

    def interrupted(path, passes):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        overwrite(path, passes)

    monkeypatch.setattr(destruction, "overwrite_and_unlink", interrupted)
    outcome = rehearse(specimen.deployment, evidence, setup, resume_command=RESUME)
    assert (outcome.status, outcome.stopped_at) == ("stopped", "destroy")
    assert outcome.reason.startswith("interrupted")
    assert recorded_outcome(evidence).status == "stopped"
    monkeypatch.setattr(destruction, "overwrite_and_unlink", overwrite)
    done = rehearse(specimen.deployment, evidence, new_setup(specimen, 6), resume=True)
    assert done.status == "completed"


def test_a_resume_of_a_run_killed_before_its_journal_starts_afresh(specimen, setup, tmp_path):
    """Killed after making the evidence directory, before its first journal line (cut short):
    the printed resume command starts the run rather than refusing it."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / journal.JOURNAL_FILE).write_text('{"event": "att')
    outcome = rehearse(specimen.deployment, evidence, setup, resume=True)
    assert outcome.status == "completed"
