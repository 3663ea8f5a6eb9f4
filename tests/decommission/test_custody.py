"""The archive's keys: in memory only, handed to the custodian wrapped for their public key."""

import json

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from decommission.archive import HELD_FILE, WRAPPED_KEYS, ArchiveKeys, unseal
from decommission.custody import custodian_key, raw_hex, unwrap_keys, wrap_keys
from decommission.rehearsal import rehearse
from decommission.scan import key_needles, scan_tree
from sim.errors import InputError

CUSTODIAN = X25519PrivateKey.from_private_bytes(bytes(range(32)))


def test_wrapped_keys_open_for_the_custodian_only():
    """The custodian's private key unwraps both keys; any other key fails authentication."""
    keys = ArchiveKeys.generate()
    document = wrap_keys(keys, CUSTODIAN.public_key())
    assert unwrap_keys(document, CUSTODIAN) == keys
    with pytest.raises(InvalidTag):
        unwrap_keys(document, X25519PrivateKey.generate())
    text = json.dumps(document)
    assert keys.holds.hex() not in text and keys.audit.hex() not in text


def test_custodian_key_from_hex_or_file(tmp_path):
    """--custodian-key takes 64 hex digits or a file of them; anything else is one clear error."""
    public = raw_hex(CUSTODIAN)
    (tmp_path / "custodian.pub").write_text(public + "\n")
    assert raw_hex(custodian_key(public)) == public
    assert raw_hex(custodian_key(str(tmp_path / "custodian.pub"))) == public
    with pytest.raises(InputError, match="64 hex digits"):
        custodian_key("not-a-key")


@pytest.mark.parametrize("with_custodian", [True, False])
def test_archive_keys_are_written_nowhere_in_the_clear(specimen, setup, tmp_path, with_custodian):
    """After a completed run no form of either archive key (raw, hex, base64) is in any file of
    the evidence or the deployment; with a custodian the held records open via the wrapped keys."""
    setup.custodian = CUSTODIAN.public_key() if with_custodian else None
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    assert outcome.status == "completed"
    keys = setup.archive_keys
    needles = key_needles([keys.holds, keys.audit])
    assert scan_tree(outcome.evidence, needles).hits == []
    assert scan_tree(specimen.deployment, needles).hits == []
    bag = outcome.evidence / "archive"
    wrapped = bag / "data" / WRAPPED_KEYS
    assert wrapped.exists() == with_custodian
    if with_custodian:
        opened = unwrap_keys(json.loads(wrapped.read_text()), CUSTODIAN)
        records = json.loads(unseal(opened.holds, (bag / HELD_FILE).read_bytes(), HELD_FILE))
        assert records["child_ids"]
