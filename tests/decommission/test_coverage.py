"""Holds and requests that arrive while a run is down are archived before anything is destroyed:
destruction re-reads them as they are now, on every resume, and archives the difference."""

import json

import pytest

import decommission.coverage as coverage
import decommission.destroy_steps as destroy_steps
from decommission import journal
from decommission.archive import SUPPLEMENT_HELD, read_part
from decommission.bagcheck import strict_problems
from decommission.certificate import public_key_hex
from decommission.coverage import PARTS_FILE
from decommission.evidence import verify_evidence
from decommission.faults import Crash
from decommission.rehearsal import rehearse

FIRST_PART = SUPPLEMENT_HELD.format(number=1)


def children_in(part: dict) -> set[str]:
    rows = part["indexes"]["live-index"]["tables"]["children"]["rows"]
    return {row[0] for row in rows}


def arrive(specimen, kind: str, child_id: str) -> None:
    """A hold or a pending request added to the deployment's list while the run is down."""
    if kind == "hold":
        line = {"hold_id": 50, "child_id": child_id, "reason": "s47 enquiry opened late"}
        path = specimen.deployment / "holds/holds.jsonl"
    else:
        line = {"request_id": 50, "child_id": child_id, "status": "pending"}
        path = specimen.deployment / "sar/requests.jsonl"
    with path.open("a") as handle:
        handle.write(json.dumps(line) + "\n")


@pytest.mark.parametrize("kind", ["hold", "request"])
def test_a_hold_or_request_arriving_after_the_archive_is_archived_before_destruction(
    specimen, setup, new_setup, tmp_path, kind
):
    """crash-after:archive, then a hold (or a pending request) for a child the archive does not
    keep, then --resume: the resumed run archives that child's record in a supplementary part,
    validated and sealed under the resumed run's hold key, before it destroys anything; the
    run completes and verifies."""
    evidence = tmp_path / "evidence"
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup, faults=["crash-after:archive"])
    first = read_part(evidence / "archive", setup.archive_keys)
    late = next(c for c in specimen.child_ids[40:] if c not in first["child_ids"])
    arrive(specimen, kind, late)
    resumed = new_setup(specimen, 9)
    outcome = rehearse(specimen.deployment, evidence, resumed, resume=True)
    assert outcome.status == "completed", outcome.reason
    part = read_part(evidence / "archive", resumed.archive_keys, FIRST_PART)
    assert part["child_ids"] == [late] and children_in(part) == {late}
    assert late not in children_in(first)
    recorded = json.loads((evidence / PARTS_FILE).read_text())["parts"]
    assert [p["held_children"] for p in recorded] == [1]
    assert (
        "Supplementary part 1 ([archive/data/holds/supplement-01.json.enc]"
        in (evidence / "report.md").read_text()
    )
    assert strict_problems(evidence / "archive") == []
    public = public_key_hex(resumed.verifier_key)
    assert verify_evidence(evidence, public, specimen.deployment) == []


def test_nothing_new_adds_no_part(specimen, setup, new_setup, tmp_path):
    """A resume with no hold or request arrived adds nothing to the archive."""
    evidence = tmp_path / "evidence"
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup, faults=["crash-after:archive"])
    before = (evidence / "archive/tagmanifest-sha512.txt").read_bytes()
    outcome = rehearse(specimen.deployment, evidence, new_setup(specimen, 4), resume=True)
    assert outcome.status == "completed"
    assert not (evidence / PARTS_FILE).exists() and not (evidence / "archive" / FIRST_PART).exists()
    assert (evidence / "archive/tagmanifest-sha512.txt").read_bytes() == before


def test_a_part_half_added_by_a_dead_attempt_is_taken_out_and_remade(
    specimen, setup, new_setup, tmp_path, monkeypatch
):
    """The process dies after the supplementary part is in the bag but before it is recorded:
    the next resume takes it out, archives the difference again, and completes."""
    evidence = tmp_path / "evidence"
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup, faults=["crash-after:archive"])
    late = specimen.child_ids[-5]
    arrive(specimen, "hold", late)

    def dies(*args, **kwargs):
        raise Crash("killed after the part was bagged")

    monkeypatch.setattr(coverage, "held_problems", dies)
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, new_setup(specimen, 5), resume=True)
    assert (evidence / "archive" / FIRST_PART).exists() and not (evidence / PARTS_FILE).exists()
    assert (specimen.deployment / "index/index.db").exists()  # nothing destroyed yet
    monkeypatch.undo()
    resumed = new_setup(specimen, 6)
    outcome = rehearse(specimen.deployment, evidence, resumed, resume=True)
    assert outcome.status == "completed", outcome.reason
    part = read_part(evidence / "archive", resumed.archive_keys, FIRST_PART)
    assert part["child_ids"] == [late]


def test_temporary_files_a_killed_write_left_in_the_bag_are_taken_out(
    specimen, setup, new_setup, tmp_path
):
    """A kill inside an atomic write leaves its `.partial` beside the file it was replacing, in
    the payload (a supplementary part) or beside a manifest: the next resume removes both, so
    the bag validates, and completes."""
    evidence = tmp_path / "evidence"
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup, faults=["crash-after:archive"])
    arrive(specimen, "hold", specimen.child_ids[-5])
    strays = [evidence / "archive" / f"{FIRST_PART}.partial"]
    strays.append(evidence / "archive/manifest-sha512.txt.partial")
    for stray in strays:
        stray.write_bytes(b"cut short by a kill")
    outcome = rehearse(specimen.deployment, evidence, new_setup(specimen, 5), resume=True)
    assert outcome.status == "completed", outcome.reason
    assert not any(stray.exists() for stray in strays)
    assert strict_problems(evidence / "archive") == []


def test_a_hold_that_cannot_be_archived_stops_the_run(specimen, setup, new_setup, tmp_path):
    """A hold arrives but the live index can no longer be read: the run stops before
    destruction, says why, and destroys nothing."""
    evidence = tmp_path / "evidence"
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup, faults=["crash-after:archive"])
    arrive(specimen, "hold", specimen.child_ids[-7])
    index = specimen.deployment / "index/index.db"
    index.write_bytes(b"not a database any more" + index.read_bytes()[24:])
    outcome = rehearse(specimen.deployment, evidence, new_setup(specimen, 8), resume=True)
    assert (outcome.status, outcome.stopped_at) == ("stopped", "destroy")
    assert "can no longer be read to archive them" in outcome.reason
    assert (specimen.deployment / "keys/keystore.json").exists()
    assert not (evidence / "steps/destroy.journal.jsonl").exists()


def test_a_request_arriving_after_the_index_was_destroyed_is_recorded_not_lost(
    specimen, setup, new_setup, tmp_path, monkeypatch
):
    """The run dies during destruction, just after the live index was destroyed; a request then
    arrives for a child whose record is gone. The resume says so in the evidence (nothing left
    to archive), does not stop on it, and completes."""
    real = destroy_steps.destroy_files

    def dies_after_the_index(deployment, found, keystore, passes, erase, note):
        def noting(event):
            note(event)
            if event.get("done", {}).get("path") == "index/index.db":
                raise Crash("killed just after the index was destroyed")

        return real(deployment, found, keystore, passes, erase, noting)

    evidence = tmp_path / "evidence"
    monkeypatch.setattr(destroy_steps, "destroy_files", dies_after_the_index)
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup)
    monkeypatch.undo()
    assert not (specimen.deployment / "index/index.db").exists()
    (specimen.deployment / "sar").mkdir(exist_ok=True)
    arrive(specimen, "request", specimen.child_ids[-9])
    outcome = rehearse(specimen.deployment, evidence, new_setup(specimen, 3), resume=True)
    assert outcome.status == "completed", outcome.reason
    parts = json.loads((evidence / PARTS_FILE).read_text())["parts"]
    assert [(p["file"], p["held_children"]) for p in parts] == [(None, 1)]
    assert (
        "arrived after this run had destroyed the live index"
        in (evidence / "report.md").read_text()
    )


def test_a_kill_during_the_recheck_leaves_destruction_unbegun(
    specimen, setup, new_setup, tmp_path, monkeypatch
):
    """Killed while the re-check adds a supplementary part: the journal shows no start of
    destruction, every file of the deployment is still there, and the next resume archives the
    late child and completes."""
    evidence = tmp_path / "evidence"
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, setup, faults=["crash-after:archive"])
    first = read_part(evidence / "archive", setup.archive_keys)
    late = next(c for c in specimen.child_ids[40:] if c not in first["child_ids"])
    arrive(specimen, "hold", late)
    before = sorted(p for p in specimen.deployment.rglob("*") if p.is_file())

    def die(*args, **kwargs):
        raise Crash("killed adding the part")

    monkeypatch.setattr(coverage, "add_to_bag", die)
    with pytest.raises(Crash):
        rehearse(specimen.deployment, evidence, new_setup(specimen, 3), resume=True)
    events = journal.read(evidence / journal.JOURNAL_FILE)
    assert not any(e.get("event") == "start" and e.get("step") == "destroy" for e in events)
    assert sorted(p for p in specimen.deployment.rglob("*") if p.is_file()) == before
    monkeypatch.undo()
    resumed = new_setup(specimen, 4)
    outcome = rehearse(specimen.deployment, evidence, resumed, resume=True)
    assert outcome.status == "completed", outcome.reason
    assert read_part(evidence / "archive", resumed.archive_keys, FIRST_PART)["child_ids"] == [late]
