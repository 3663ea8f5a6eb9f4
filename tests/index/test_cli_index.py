"""`cpw index ...` and `cpw deploy`: the README walk-through runs as written; bad input exits 2."""

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest

from sim.cli import main
from sim.deployment.deploy import deploy
from sim.index.access import load_access_rules, token_code
from sim.index.view import view_reasons
from sim.population.output import write_population
from sim.population.synth import SynthRequest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
PRACTITIONER = "practitioner1-e08000001"


def walk_through() -> str:
    """The first shell block under the README's "Walk-through: the index" heading."""
    section = README.split("## Walk-through: the index", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readme_walk_through_runs_as_written(tmp_path):
    """Every step of the walk-through succeeds, shows what it promises, and tampering is caught."""
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPW_")}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walk_through()],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "login ok: sam (practitioner, E08000001)" in out
    assert "1 match(es)" in out and "shielding approved: request 1" in out
    first, second = out.split("index ID: ")[1:3]
    assert "address:" in first and "carers:" in first
    assert "[SHIELDED: identity only]" in second and "address:" not in second
    assert "audit log intact" in out and "audit log FAILED verification: entry 5" in out
    assert "tampering detected" in out
    assert (
        "a long passphrase" not in (tmp_path / "runs/walk/deployment/audit/audit.jsonl").read_text()
    )


@pytest.fixture(scope="module")
def dep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    write_population(SynthRequest(seed=4, scale=0.01, authority_codes=("E08000001",)), root / "pop")
    deploy(root / "pop", root / "dep", canaries=2, profile="simulation")
    return root / "dep"


def run(monkeypatch, capsys, *args: str, **env: str) -> tuple[int, str, str]:
    """`cpw ARGS` in this process (as sim.cli.main runs it): exit status, stdout, stderr."""
    for name in [k for k in os.environ if k.startswith("CPW_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["cpw", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_bad_input_is_one_line_and_exit_2(dep, tmp_path, monkeypatch, capsys):
    """Unknown population, a deployment that exists, a bad clock, a bad secret: exit 2, one line."""
    cases = [
        ("deploy", str(tmp_path / "none"), "--out", str(tmp_path / "x")),
        ("deploy", str(dep.parent / "pop"), "--out", str(dep)),
        ("index", "token", "code", "--secret", "not base32 !", "--at", "2010-01-04T10:00"),
        ("index", "login-check", str(dep), "--user", "x", "--at", "yesterday"),
        ("index", "view", str(tmp_path), "AB123456C", "--reason", "r", "--user", "x"),
    ]
    for args in cases:
        status, _, err = run(monkeypatch, capsys, *args)
        assert status == 2, (args, err)
        assert err.startswith("cpw: error: ") and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_refusals_exit_2_with_the_shared_message_and_are_audited(dep, monkeypatch, capsys):
    """A wrong PIN and a view without a listed reason: generic messages, both in the audit log."""
    user = json.loads(Path(f"{dep}.credentials.json").read_text())["users"][PRACTITIONER]
    code = token_code(user["token_secret"], dt.datetime(2010, 1, 4, 15), load_access_rules())
    status, _, err = run(monkeypatch, capsys, "index", "login-check", str(dep), "--user",
                         PRACTITIONER, "--code", code, CPW_PASSWORD=user["password"],
                         CPW_PIN="000000", CPW_AT="2010-01-04T15:00")  # fmt: skip
    assert status == 2 and "the details given were not accepted" in err
    status, _, err = run(monkeypatch, capsys, "index", "view", str(dep), "AB123456C", "--reason",
                         "curious", "--user", PRACTITIONER, "--demo-credentials",
                         f"{dep}.credentials.json", CPW_AT="2010-01-04T15:01")  # fmt: skip
    assert status == 2 and "state one of the reasons" in err
    log = (dep / "audit" / "audit.jsonl").read_text().splitlines()
    reasons = [json.loads(line)["reason"] for line in log[-4:]]
    assert "wrong_pin" in reasons and "no_valid_reason" in reasons
    assert user["password"] not in "".join(log)


def test_reasons_lists_the_data_files_reasons(monkeypatch, capsys):
    """`cpw index reasons` prints data/index/record.toml's list, one per line."""
    status, out, _ = run(monkeypatch, capsys, "index", "reasons")
    assert status == 0 and out.splitlines() == view_reasons()


def test_token_code_is_the_totp_an_authenticator_shows(monkeypatch, capsys):
    """`cpw index token code` prints the RFC 6238 code at --at, as pyotp (README `code`) does."""
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    status, out, _ = run(monkeypatch, capsys, "index", "token", "code", "--secret", secret,
                         "--at", "2010-01-04T10:00")  # fmt: skip
    expected = pyotp.TOTP(secret).at(dt.datetime(2010, 1, 4, 10, tzinfo=dt.UTC))
    assert status == 0 and out.strip() == expected


def test_token_issue_never_shows_the_secret_to_whoever_issues_it(dep, monkeypatch, capsys):
    """`cpw index token issue` prints the serial and where the holder's letter is; the secret
    is only in the holder's owner-only letter, from which `token code --letter` reads it."""
    status, out, err = run(monkeypatch, capsys, "index", "user", "add", str(dep), "--username",
                           "ida", "--forename", "Ida", "--surname", "Lund", "--role",
                           "practitioner", "--authority", "E08000001", "--organisation",
                           "E08000001", CPW_NEW_PASSWORD="a long passphrase", CPW_NEW_PIN="2468",
                           CPW_AT="2010-01-04T09:00")  # fmt: skip
    assert status == 0, err
    status, out, err = run(monkeypatch, capsys, "index", "token", "issue", str(dep),
                           "--username", "ida", CPW_AT="2010-01-04T09:01")  # fmt: skip
    letter = Path(f"{dep}.token-letters") / "ida.json"
    secret = json.loads(letter.read_text())["token_secret"]
    assert status == 0 and "ida" in out and secret not in out + err
    assert os.stat(letter).st_mode & 0o777 == 0o600
    status, code, _ = run(monkeypatch, capsys, "index", "token", "code", "--letter", str(letter),
                          "--at", "2010-01-04T10:00")  # fmt: skip
    assert status == 0 and code.strip() == token_code(
        secret, dt.datetime(2010, 1, 4, 10), load_access_rules()
    )
