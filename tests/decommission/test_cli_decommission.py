"""`cpw decommission` on a real `cpw deploy` deployment, as an operator would run it."""

import hashlib
import json
import shlex
import shutil
from pathlib import Path

import pyrage

from decommission.lock import DeploymentLock
from decommission.probes import sample_identifiers
from decommission.scan import scan_tree
from decommission.verification import (
    canaries_path,
    canary_needles,
    identifier_needles,
    load_canaries,
)


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith("-shm")
    }


def test_full_rehearsal_certifies_and_verifies(deployment, tmp_path, cpw):
    """Probes refused, archive kept, every copy destroyed, certificates verify independently;
    the report's path is printed last, and the report (with the real facade's answers to the
    probes) holds no canary and none of the index's real IDs, by the verifier's own needles."""
    evidence = tmp_path / "evidence"
    needles = canary_needles(load_canaries(canaries_path(deployment)))
    needles += identifier_needles(sample_identifiers(deployment))
    result = cpw("decommission", "rehearse", str(deployment), "--out", str(evidence))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "completed" in result.stdout and "probe login: refused" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == f"report: {evidence / 'report.md'}"
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in ("report.md", "report.html"):
        shutil.copy(evidence / name, reports / name)
    assert "| login | yes | refused |" in (reports / "report.md").read_text()
    assert scan_tree(reports, needles).hits == []
    assert not [p for p in deployment.rglob("*") if p.is_file()]
    check = cpw(
        "decommission",
        "verify",
        str(evidence),
        "--public-key",
        f"{evidence}.custodian-record.json",
        "--deployment",
        str(deployment),
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_probe_that_gets_in_stops_before_anything_is_destroyed(deployment, tmp_path, cpw):
    """With a path left open the run stops at the switch-off and the deployment is untouched."""
    before = digest(deployment)
    result = cpw(
        "decommission",
        "rehearse",
        str(deployment),
        "--out",
        str(tmp_path / "ev"),
        "--fault",
        "probe-gets-in",
    )
    assert result.returncode == 1
    assert "stopped at switch_off" in result.stdout
    assert f"report: {tmp_path / 'ev' / 'report.md'}" in result.stdout
    after = digest(deployment)
    assert {k: v for k, v in after.items() if "audit" not in k and "accounts" not in k} == {
        k: v for k, v in before.items() if "audit" not in k and "accounts" not in k
    }


def test_residue_left_in_a_wal_file_means_no_certificate(deployment, tmp_path, cpw):
    """A canary left behind in a WAL file is found, and no certificate is issued."""
    evidence = tmp_path / "ev"
    result = cpw(
        "decommission",
        "rehearse",
        str(deployment),
        "--out",
        str(evidence),
        "--fault",
        "canary-in-wal",
    )
    assert result.returncode == 1 and "residue remains" in result.stdout
    certificates = evidence / "certificates"
    assert not certificates.exists() or not list(certificates.glob("*.json"))


def test_dry_run_and_plan_change_nothing(deployment, tmp_path, cpw):
    """`--dry-run` and `plan` print the steps and the stores and write nothing."""
    before = digest(deployment)
    for args in (
        ["rehearse", str(deployment), "--out", str(tmp_path / "ev"), "--dry-run"],
        ["plan", str(deployment)],
    ):
        result = cpw("decommission", *args)
        assert result.returncode == 0 and "switch_off" in result.stdout
    assert digest(deployment) == before
    assert not (tmp_path / "ev").exists()


def test_unknown_fault_is_one_line_and_exit_2(deployment, tmp_path, cpw):
    """A fault name that does not exist is refused before anything happens."""
    result = cpw(
        "decommission",
        "rehearse",
        str(deployment),
        "--out",
        str(tmp_path / "ev"),
        "--fault",
        "meteor",
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--fault" in result.stderr


def test_a_crash_then_the_printed_resume_command(deployment, tmp_path, cpw):
    """A simulated crash exits 3 and prints the command that resumes; that command completes
    the run, `verify` passes, and running it again changes nothing."""
    evidence = tmp_path / "ev"
    crashed = cpw(
        "decommission", "rehearse", str(deployment), "--out", str(evidence),
        "--fault", "crash-after:switch_off",
    )  # fmt: skip
    assert crashed.returncode == 3, crashed.stdout + crashed.stderr
    command = shlex.split(crashed.stderr.split("resume with: ", 1)[1].strip())
    assert command[:3] == ["cpw", "decommission", "rehearse"] and command[-1] == "--resume"
    resumed = cpw(*command[1:])
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "switch_off info: passed in an earlier attempt: not redone" in resumed.stdout
    key = f"{evidence}.custodian-record.json"  # pinned before the run, outside the evidence
    check = cpw("decommission", "verify", str(evidence), "--public-key", key,
                "--deployment", str(deployment))  # fmt: skip
    assert check.returncode == 0, check.stdout
    before = digest(evidence)
    again = cpw(*command[1:])
    assert again.returncode == 0 and digest(evidence) == before


def test_a_stop_prints_its_resume_command_and_a_custodian_gets_the_keys(deployment, tmp_path, cpw):
    """A stopped run prints `resume with: ...`; with --custodian-key the archive keys are bagged
    wrapped for the custodian and never printed."""
    evidence = tmp_path / "ev"
    custodian = str(pyrage.x25519.Identity.generate().to_public())
    stopped = cpw(
        "decommission", "rehearse", str(deployment), "--out", str(evidence),
        "--fault", "corrupt-archive", "--custodian-key", custodian,
    )  # fmt: skip
    assert stopped.returncode == 1
    expected = shlex.join(["cpw", "decommission", "rehearse", str(deployment), "--out",
                           str(evidence), "--resume", "--custodian-key", custodian])  # fmt: skip
    assert f"resume with: {expected}" in stopped.stdout.replace("\n", "")
    resumed = cpw(*shlex.split(expected)[1:])
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "archive keys" not in stopped.stdout + resumed.stdout
    assert (evidence / "archive/data/keys/archive-keys.age").is_file()


def test_a_refused_rehearsal_pins_no_key(deployment, tmp_path, cpw):
    """A rehearsal refused before it starts (its --out holds something else) leaves no signing
    key and no custodian's record behind."""
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("not evidence")
    refused = cpw("decommission", "rehearse", str(deployment), "--out", str(out))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("busy")) == ["busy"]


def test_a_refused_rehearse_changes_nothing(deployment, tmp_path, cpw):
    """Refused with exit 2 (an evidence directory already in use): the deployment, its audit
    log and accounts included, is byte for byte as it was; no demo user was logged in."""
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "something.txt").write_text("not a rehearsal")
    before = digest(deployment)
    result = cpw("decommission", "rehearse", str(deployment), "--out", str(evidence))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("cpw: error: --out") and len(result.stderr.splitlines()) == 1
    assert digest(deployment) == before


def test_a_second_rehearsal_is_refused_in_one_line(deployment, tmp_path, cpw):
    """While another process holds the deployment's lock, `rehearse` says so in one line,
    exits 2 and changes nothing."""
    before = digest(deployment)
    with DeploymentLock(deployment):
        result = cpw("decommission", "rehearse", str(deployment), "--out", str(tmp_path / "ev"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "another rehearsal of this deployment is running" in result.stderr
    assert digest(deployment) == before and not (tmp_path / "ev").exists()


def test_a_full_disk_is_a_clean_stop_with_the_resume_command(deployment, tmp_path, cpw):
    """The evidence volume fills during the archive: exit 1, run.json says stopped with the
    reason, and stderr holds one line with the reason and the exact resume command."""
    evidence = tmp_path / "ev"
    result = cpw(
        "decommission", "rehearse", str(deployment), "--out", str(evidence),
        "--fault", "disk-full:archive",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    expected = shlex.join(
        ["cpw", "decommission", "rehearse", str(deployment), "--out", str(evidence), "--resume"]
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0]
    assert lines[0].startswith("cpw: stopped at archive: no space left")
    assert lines[0].endswith(f"resume with: {expected}")
    record = json.loads((evidence / "run.json").read_text())
    assert (record["status"], record["stopped_at"]) == ("stopped", "archive")
    assert record["resume_with"] == expected
