"""The archive's keys: in memory only, handed to the custodian age-encrypted to their recipient,
and opened with age's own tools (the `age` command, pyrage), never with this project's code."""

import json
import shutil
import subprocess

import pyrage
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from decommission.archive import HELD_FILE, WRAPPED_KEYS, ArchiveKeys
from decommission.custody import custodian_identity, custodian_key, unwrap_keys, wrap_keys
from decommission.rehearsal import rehearse
from decommission.scan import key_needles, scan_tree
from sim.errors import InputError

CUSTODIAN = pyrage.x25519.Identity.generate()
AGE = shutil.which("age") or "age"  # Debian's `age` package: a dependency of this test


def keyfile(tmp_path, identity=CUSTODIAN):
    """An identity file as `age-keygen` writes it: comments, then the secret key."""
    path = tmp_path / "custodian.key"
    path.write_text(
        f"# created: 2010-08-06T12:00:00Z\n# public key: {identity.to_public()}\n{identity}\n"
    )
    return path


def test_wrapped_keys_open_with_pyrage_for_the_custodian_only():
    """age's own API opens the wrapped keys with the custodian's identity, to a JSON document of
    both keys in hex; any other identity fails; the file holds neither key in any form."""
    keys = ArchiveKeys.generate()
    wrapped = wrap_keys(keys, CUSTODIAN.to_public())
    assert wrapped.startswith(b"age-encryption.org/v1\n")
    opened = json.loads(pyrage.decrypt(wrapped, [CUSTODIAN]))
    assert opened == {"holds": keys.holds.hex(), "audit": keys.audit.hex()}
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(wrapped, [pyrage.x25519.Identity.generate()])
    with pytest.raises(InputError, match="does not open"):
        unwrap_keys(wrapped, pyrage.x25519.Identity.generate())
    assert unwrap_keys(wrapped, CUSTODIAN) == keys
    assert not [n for n in key_needles([keys.holds, keys.audit]) if n.pattern in wrapped]


def test_custodian_key_and_identity_from_text_or_file(tmp_path):
    """--custodian-key takes an age recipient or a file of it (rehearse), an age identity file
    (answer-sar); anything else is one clear error."""
    public = str(CUSTODIAN.to_public())
    (tmp_path / "custodian.pub").write_text(f"# the archive custodian\n{public}\n")
    assert str(custodian_key(public)) == public
    assert str(custodian_key(str(tmp_path / "custodian.pub"))) == public
    assert str(custodian_identity(str(keyfile(tmp_path)))) == str(CUSTODIAN)
    with pytest.raises(InputError, match="age recipient"):
        custodian_key("not-a-key")
    with pytest.raises(InputError, match="age identity"):
        custodian_identity(public)


@pytest.mark.parametrize("with_custodian", [True, False])
def test_archive_keys_are_written_nowhere_in_the_clear(specimen, setup, tmp_path, with_custodian):
    """After a completed run no form of either archive key (raw, hex, base64) is in any file of
    the evidence or the deployment; with a custodian, the wrapped keys are in the bag."""
    setup.custodian = CUSTODIAN.to_public() if with_custodian else None
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    assert outcome.status == "completed"
    keys = setup.archive_keys
    needles = key_needles([keys.holds, keys.audit])
    assert scan_tree(outcome.evidence, needles).hits == []
    assert scan_tree(specimen.deployment, needles).hits == []
    assert (outcome.evidence / "archive" / "data" / WRAPPED_KEYS).exists() == with_custodian


def test_the_age_command_opens_the_archive_as_docs_custodian_md_says(specimen, setup, tmp_path):
    """The custodian's procedure (docs/custodian.md) with common tools only: `age -d -i KEYFILE`
    gives the archive keys; AES-256-GCM (nonce first, the file's bag path as associated data)
    opens the held records with them."""
    setup.custodian = CUSTODIAN.to_public()
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    bag = outcome.evidence / "archive"
    opened = subprocess.run(
        [AGE, "-d", "-i", str(keyfile(tmp_path)), str(bag / "data" / WRAPPED_KEYS)],
        capture_output=True,
        check=True,
    )
    holds = bytes.fromhex(json.loads(opened.stdout)["holds"])
    sealed = (bag / HELD_FILE).read_bytes()
    records = json.loads(AESGCM(holds).decrypt(sealed[:12], sealed[12:], HELD_FILE.encode()))
    assert records["child_ids"] and records["indexes"]["live-index"]["tables"]["children"]
    wrong = subprocess.run(
        [AGE, "-d", "-i", str(keyfile(tmp_path, pyrage.x25519.Identity.generate()))],
        input=(bag / "data" / WRAPPED_KEYS).read_bytes(),
        capture_output=True,
    )
    assert wrong.returncode != 0
