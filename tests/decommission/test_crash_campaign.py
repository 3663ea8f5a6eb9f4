"""The crash campaign (bench/crash_campaign.py) at a small size: a few runs of the real CLI,
each killed (SIGKILL at a random instant or system call, Ctrl-C, SIGTERM) and resumed, with the
invariants checked after every attempt. No timing is asserted: only that crashes happened and
that no invariant broke."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_campaign():
    spec = importlib.util.spec_from_file_location(
        "crash_campaign", ROOT / "bench/crash_campaign.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_small_crash_campaign_breaks_no_invariant(tmp_path):
    """Three runs of seed 11, up to three kills each, every way of dying (system-call kills
    included: without strace the campaign refuses to start); holds and requests arrive at any
    time before destruction, after the archive step included. A signal may find an attempt
    already ended, so no count of crashes is asserted."""
    campaign = load_campaign()
    options = campaign.parse(
        ["--runs", "3", "--seed", "11", "--max-kills", "3", "--arrivals", "any",
         "--workdir", str(tmp_path)]
    )  # fmt: skip
    tally = campaign.campaign(options)
    assert tally.runs == 3 and tally.completed == 3
    assert tally.violations == []


def test_deaths_after_steps_are_each_resumed(tmp_path):
    """Deaths on the spot after a step still to run always happen: every one of them is a
    crash, each resumed, with holds and requests arriving between them (after the archive step
    included), and every run still ends completed with no invariant broken."""
    campaign = load_campaign()
    options = campaign.parse(
        ["--runs", "2", "--seed", "12", "--max-kills", "4", "--modes", "step",
         "--arrivals", "any", "--workdir", str(tmp_path)]
    )  # fmt: skip
    tally = campaign.campaign(options)
    assert tally.crashes == tally.modes["step"] >= 2
    assert tally.completed == 2 and tally.violations == []


def test_system_call_kills_are_never_skipped(tmp_path, monkeypatch):
    """Kills at system calls are part of every campaign that asks for them: without strace the
    campaign refuses to start rather than leave them out in silence."""
    campaign = load_campaign()
    monkeypatch.setattr(campaign.shutil, "which", lambda name: None)
    options = campaign.parse(["--runs", "1", "--modes", "syscall", "--workdir", str(tmp_path)])
    with pytest.raises(SystemExit, match="strace"):
        campaign.campaign(options)
    assert list(tmp_path.iterdir()) == []
