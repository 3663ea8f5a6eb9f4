"""Token codes are RFC 6238 TOTP codes: the same as pyotp's for any secret and moment."""

import datetime as dt
import os

import pyotp
import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.index.access import load_access_rules, token_code
from sim.index.access.tokens import (
    TokenCodes,
    epoch_seconds,
    matching_step,
    open_secret,
    seal_secret,
    secret_from_bytes,
)

RULES = load_access_rules()
MOMENTS = st.datetimes(dt.datetime(1970, 1, 2), dt.datetime(2200, 1, 1))


@settings(max_examples=2000, deadline=None)
@given(raw=st.binary(min_size=14, max_size=64) | st.binary(min_size=65, max_size=200), at=MOMENTS)
def test_every_code_is_the_one_pyotp_gives(raw, at):
    """Any secret pyotp takes (112 bits or more; longer than SHA-1's 64-byte block too), any
    moment: the code is pyotp's TOTP at that moment, and the step it names is matched."""
    assert epoch_seconds(at) == int(at.replace(microsecond=0, tzinfo=dt.UTC).timestamp())
    secret = secret_from_bytes(raw)
    totp = pyotp.TOTP(secret, digits=RULES.token_digits.value,
                      interval=RULES.token_step_seconds.value)  # fmt: skip
    code = token_code(secret, at, RULES)
    assert code == totp.at(epoch_seconds(at))
    step = epoch_seconds(at) // RULES.token_step_seconds.value
    assert matching_step(secret, code, at, RULES) in range(step, step + 2)


def test_rfc_4226_appendix_d_test_values():
    """The HOTP values of RFC 4226 appendix D (secret '12345678901234567890', counters 0-9)."""
    secret = secret_from_bytes(b"12345678901234567890")
    expected = ["755224", "287082", "359152", "969429", "338314",
                "254676", "287922", "162583", "399871", "520489"]  # fmt: skip
    seconds = RULES.token_step_seconds.value
    codes = TokenCodes(secret, RULES)
    start = dt.datetime(1970, 1, 1)
    got = [codes.code(start + dt.timedelta(seconds=seconds * n)) for n in range(10)]
    assert got == expected


def test_a_sealed_secret_opens_to_itself_and_only_under_its_serial():
    key = os.urandom(32)
    secret = secret_from_bytes(os.urandom(20))
    sealed = seal_secret(secret, key, "T1")
    assert open_secret(sealed, key, "T1") == secret == open_secret(sealed, key, "T1")
    for wrong_key, serial in ((key, "T2"), (os.urandom(32), "T1")):
        with pytest.raises(InvalidTag):
            open_secret(sealed, wrong_key, serial)
