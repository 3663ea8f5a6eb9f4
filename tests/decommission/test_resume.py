"""Resuming a rehearsal from its journal, and the faults added for it (crash, full disk,
an extract never returned): steps that passed are not redone, the one under way is."""

import json
import shutil

import pytest

import decommission.destroy_steps as destroy_steps
from decommission import journal
from decommission.certificate import public_key_hex
from decommission.evidence import verify_evidence
from decommission.faults import Crash, fault_named
from decommission.rehearsal import rehearse
from sim.errors import InputError

BEFORE_DESTRUCTION = ["announce", "inventory", "notify", "freeze", "switch_off", "archive"]


def steps_passed(evidence) -> list[str]:
    return [event["step"] for event in journal.passed(journal.read(evidence / "journal.jsonl"))]


@pytest.mark.parametrize("step", BEFORE_DESTRUCTION)
def test_a_crash_leaves_a_journal_and_an_untouched_deployment(
    specimen, setup, tmp_path, digest_tree, step
):
    """A crash after any step before destruction: the journal ends at that step, run.json says
    the run did not finish, the deployment is as it was, and `verify` refuses the evidence."""
    before = digest_tree(specimen.deployment)
    evidence = tmp_path / "evidence"
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup, faults=[f"crash-after:{step}"])
    assert steps_passed(evidence)[-1] == step
    assert json.loads((evidence / "run.json").read_text())["status"] == "running"
    assert digest_tree(specimen.deployment) == before
    problems = verify_evidence(evidence, public_key_hex(setup.verifier_key))
    assert "the run did not finish (it was interrupted): resume it first" in problems


def test_resume_does_not_redo_passed_steps(specimen, setup, new_setup, tmp_path):
    """After a crash at the archive, the resumed run starts with destruction; the earlier
    evidence files are not rewritten, and the certificates verify."""
    evidence = tmp_path / "evidence"
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup, faults=["crash-after:archive"])
    kept = {p: p.stat().st_mtime_ns for p in (evidence / "steps").glob("*.json")}
    started = []
    outcome = rehearse(
        specimen.deployment,
        evidence,
        new_setup(specimen, 7),
        resume=True,
        progress=lambda step, status, message: started.append(step) if status == "start" else 0,
    )
    assert outcome.status == "completed"
    assert started == ["destroy", "verify", "certify", "duties_lapse"]
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in kept.items())
    public = public_key_hex(new_setup(specimen, 7).verifier_key)  # the attempt that certified
    assert verify_evidence(evidence, public, specimen.deployment) == []


def test_a_crash_half_way_through_destruction(specimen, setup, new_setup, tmp_path, monkeypatch):
    """The process dies after three files are destroyed: the resumed run destroys the rest and
    the certificate lists every file, those destroyed before the crash included."""
    real = destroy_steps.destroy_files
    inventory_files = []

    def dies_after_three(deployment, found, keystore, passes, erase, note):
        inventory_files.extend(f.path for f in found)
        count = []

        def noting(event):
            note(event)
            count.extend(["done"] if "done" in event else [])
            if len(count) == 3:
                raise Crash("killed during destruction")

        return real(deployment, found, keystore, passes, erase, noting)

    evidence = tmp_path / "evidence"
    monkeypatch.setattr(destroy_steps, "destroy_files", dies_after_three)
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup)
    monkeypatch.setattr(destroy_steps, "destroy_files", real)
    outcome = rehearse(specimen.deployment, evidence, new_setup(specimen, 2), resume=True)
    assert outcome.status == "completed" and not list(specimen.deployment.iterdir())
    last = json.loads((evidence / outcome.certificates[-1]).read_text())["certificate"]
    assert {item["property_number"] for item in last["items"]} == set(inventory_files)
    public = public_key_hex(new_setup(specimen, 2).verifier_key)  # the attempt that certified
    assert verify_evidence(evidence, public, specimen.deployment) == []


def test_destruction_rechecks_the_archive_on_resume(specimen, setup, new_setup, tmp_path):
    """An archive file changed while the run was down: the resumed destruction refuses to start."""
    evidence = tmp_path / "evidence"
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup, faults=["crash-after:archive"])
    stats = evidence / "archive/data/statistics/aggregate.json"
    stats.write_bytes(stats.read_bytes() + b" ")
    files = sorted(p for p in specimen.deployment.rglob("*") if p.is_file())
    outcome = rehearse(specimen.deployment, evidence, new_setup(specimen, 2), resume=True)
    assert outcome.stopped_at == "destroy" and "no longer validates" in outcome.reason
    assert sorted(p for p in specimen.deployment.rglob("*") if p.is_file()) == files


def test_resume_is_refused_when_it_cannot_be_trusted(specimen, setup, new_setup, tmp_path):
    """No journal, another deployment, or evidence edited since its step passed: refused."""
    evidence = tmp_path / "evidence"
    with pytest.raises(InputError, match="no journal"):
        rehearse(specimen.deployment, evidence, setup, resume=True)
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup, faults=["crash-after:notify"])
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(InputError, match="not"):
        rehearse(other, evidence, new_setup(specimen, 2), resume=True)
    notice = evidence / "steps/inventory.json"
    notice.write_text(notice.read_text().replace('"stores"', '"Stores"'))
    with pytest.raises(InputError, match="changed since it passed"):
        rehearse(specimen.deployment, evidence, new_setup(specimen, 2), resume=True)


def test_a_stopped_run_records_the_command_that_resumes_it(specimen, setup, new_setup, tmp_path):
    """A stop writes the caller's resume command into run.json; the resume then completes."""
    evidence = tmp_path / "evidence"
    command = f"cpw decommission rehearse {specimen.deployment} --out {evidence} --resume"
    outcome = rehearse(
        specimen.deployment, evidence, setup, faults=["probe-gets-in"], resume_command=command
    )
    run = json.loads((evidence / "run.json").read_text())
    assert (outcome.stopped_at, run["resume_with"]) == ("switch_off", command)
    again = rehearse(specimen.deployment, evidence, new_setup(specimen, 2), resume=True)
    assert again.status == "completed"
    run = json.loads((evidence / "run.json").read_text())
    assert run["resume_with"] is None and run["attempts"] == 2


def test_an_extract_never_returned_stops_before_certificates(specimen, setup, new_setup, tmp_path):
    """An authority keeps its extract: destruction's gate names it and its holder, no certificate
    is issued; once it is returned, the resumed run destroys it and certifies."""
    evidence = tmp_path / "evidence"
    outcome = rehearse(specimen.deployment, evidence, setup, faults=["extract-not-returned"])
    assert outcome.stopped_at == fault_named("extract-not-returned").stops_at == "destroy"
    assert "extracts/E08000002-2010-07-15.csv (held by E08000002)" in outcome.reason
    assert not (evidence / "certificates").exists()
    withheld = specimen.deployment.parent / "deployment.withheld/E08000002-2010-07-15.csv"
    (specimen.deployment / "extracts").mkdir(exist_ok=True)
    shutil.move(withheld, specimen.deployment / "extracts" / withheld.name)
    again = rehearse(specimen.deployment, evidence, new_setup(specimen, 2), resume=True)
    assert again.status == "completed"
    last = json.loads((evidence / again.certificates[-1]).read_text())["certificate"]
    assert "extracts/E08000002-2010-07-15.csv" in {i["property_number"] for i in last["items"]}


@pytest.mark.parametrize("step", ["archive", "destroy"])
def test_a_full_disk_stops_and_says_why(specimen, setup, new_setup, tmp_path, digest_tree, step):
    """ENOSPC while bagging stops at the archive with nothing destroyed; while destroying it stops
    before a file is destroyed unrecorded; after space is freed the resume completes."""
    before = digest_tree(specimen.deployment)
    evidence = tmp_path / "evidence"
    outcome = rehearse(specimen.deployment, evidence, setup, faults=[f"disk-full:{step}"])
    assert outcome.stopped_at == step and "no space left" in outcome.reason.lower()
    if step == "archive":
        assert digest_tree(specimen.deployment) == before
    noted = journal.read(evidence / "steps/destroy.journal.jsonl")
    done = {event["done"]["path"] for event in noted if "done" in event}
    gone = set(before) - set(digest_tree(specimen.deployment))
    assert gone <= done
    again = rehearse(specimen.deployment, evidence, new_setup(specimen, 2), resume=True)
    assert again.status == "completed"


def test_a_new_run_over_an_unfinished_one_is_refused(specimen, setup, tmp_path):
    """Starting afresh into the evidence of a stopped run points to --resume instead."""
    evidence = tmp_path / "evidence"
    rehearse(specimen.deployment, evidence, setup, faults=["probe-gets-in"])
    with pytest.raises(InputError, match="--resume"):
        rehearse(specimen.deployment, evidence, setup)
