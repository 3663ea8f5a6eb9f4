"""The verifier's key is pinned beside the evidence folder before the run, reused on resume, and
a key file inside the folder being verified is refused."""

import datetime as dt
import json

import pytest

from decommission.signing import (
    KEY_SUFFIX,
    RECORD_SUFFIX,
    beside,
    fingerprint,
    key_for_fingerprint,
    pin_signing_key,
    public_hex,
    trusted_key,
)
from sim.errors import InputError

NOW = dt.datetime(2010, 7, 1, 9, 0, tzinfo=dt.UTC)


def test_the_key_is_pinned_outside_the_evidence_and_reused(tmp_path):
    """The first call makes the key and the custodian's record beside the evidence folder; a
    resumed run gets the same key and creates nothing."""
    evidence = tmp_path / "evidence"
    key, created = pin_signing_key(evidence, deployment=tmp_path / "dep", custodian=None, now=NOW)
    assert created == [beside(evidence, KEY_SUFFIX), beside(evidence, RECORD_SUFFIX)]
    assert all(path.parent == tmp_path for path in created) and not evidence.exists()
    record = json.loads(beside(evidence, RECORD_SUFFIX).read_text())
    assert record["verifier_public_key"] == public_hex(key)
    assert record["verifier_key_fingerprint"] == fingerprint(public_hex(key))
    assert beside(evidence, KEY_SUFFIX).stat().st_mode & 0o077 == 0
    again, made = pin_signing_key(evidence, deployment=tmp_path / "dep", custodian=None, now=NOW)
    assert made == [] and public_hex(again) == public_hex(key)


def test_a_key_from_inside_the_evidence_is_refused(tmp_path):
    """--public-key: the custodian's record or hex are read; any file inside the evidence
    folder (even through a link) is refused with one clear line."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    key, _ = pin_signing_key(evidence, deployment=tmp_path, custodian=None, now=NOW)
    record = beside(evidence, RECORD_SUFFIX)
    assert trusted_key(str(record), evidence) == public_hex(key)
    assert trusted_key(public_hex(key), evidence) == public_hex(key)
    (evidence / "verifier-public-key.txt").write_text(public_hex(key) + "\n")
    (tmp_path / "link.txt").symlink_to(evidence / "verifier-public-key.txt")
    for path in (evidence / "verifier-public-key.txt", tmp_path / "link.txt"):
        with pytest.raises(InputError, match="inside the evidence folder"):
            trusted_key(str(path), evidence)
    with pytest.raises(InputError, match="no such file"):
        trusted_key(str(tmp_path / "missing.json"), evidence)


def test_a_fingerprint_picks_only_the_pinned_signer():
    """The signer key named in the certificates counts only if its fingerprint is the pinned
    one; a malformed fingerprint is an error."""
    ours, theirs = "11" * 32, "22" * 32
    assert key_for_fingerprint(fingerprint(ours), [theirs, ours]) == ours
    assert key_for_fingerprint(fingerprint(ours), [theirs]) == ""
    with pytest.raises(InputError, match="64 hex digits"):
        key_for_fingerprint("sha256:abcd", [ours])
