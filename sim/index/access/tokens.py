"""Security-token codes: TOTP (RFC 6238) over the token's shared secret.

A code is accepted for the server's time step or up to `token_drift_steps` either side
(RFC 6238 s5.2), and only for a step later than the last one accepted from that token, so a
code once used cannot be replayed within its validity window (RFC 6238 s5.2: "the verifier
MUST NOT accept the second attempt of the OTP after the successful validation").
"""

import base64
import datetime as dt
import hmac
import os

import pyotp
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.hotp import HOTP

from sim.index.access.rules import AccessRules

SECRET_BYTES = 20  # 160 bits, the shared-secret length RFC 4226 s4 recommends
SEALED = "aesgcm:"  # a token secret as stored: AES-256-GCM under the key store's token key


def seal_secret(secret: str, key: bytes, serial: str) -> str:
    """The secret encrypted for the token register (the serial is bound in as associated data,
    so a sealed secret cannot be moved to another token)."""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), serial.encode())
    return SEALED + (nonce + sealed).hex()


def open_secret(stored: str, key: bytes | None, serial: str) -> str:
    """The secret of a sealed register entry (a register without a key holds it in clear)."""
    if not stored.startswith(SEALED):
        return stored
    if key is None:
        raise ValueError("the token register is sealed: open it with the key store's token key")
    raw = bytes.fromhex(stored[len(SEALED) :])
    return AESGCM(key).decrypt(raw[:12], raw[12:], serial.encode()).decode()


def epoch_seconds(now: dt.datetime) -> int:
    """Seconds since 1970 on the simulation's clock (naive times are read as UTC, both sides)."""
    aware = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    return int(aware.timestamp())


def secret_from_bytes(raw: bytes) -> str:
    """A base32 token secret (the form authenticator apps and pyotp take)."""
    return base64.b32encode(raw).decode()


class TokenCodes:
    """One token's codes, its secret decoded once (as pyotp decodes it) for every time step
    computed: a TOTP code is the HOTP (RFC 4226) of the time step (RFC 6238 s4)."""

    def __init__(self, secret: str, rules: AccessRules) -> None:
        key = pyotp.TOTP(secret).byte_secret()
        self._hotp = HOTP(key, rules.token_digits.value, SHA1(), enforce_key_length=False)
        self._digits = rules.token_digits.value
        self._seconds = rules.token_step_seconds.value
        self._drift = rules.token_drift_steps.value

    def code(self, now: dt.datetime) -> str:
        """The code the token shows at `now`."""
        return self._hotp.generate(epoch_seconds(now) // self._seconds).decode()

    def matching_step(self, code: str, now: dt.datetime) -> int | None:
        """The latest time step within the drift allowance whose code equals `code`; None if
        none does. The server's own step is tried first and the others only on a miss (a
        token's clock rarely drifts); after a hit only the later steps are tried, so the step
        returned is the latest match, whichever order they are tried in."""
        code = str(code)
        if not (code.isascii() and code.isdigit() and len(code) == self._digits):
            return None  # not a code the token could show (e.g. non-ASCII digits): never compared
        given = code.encode()
        step = epoch_seconds(now) // self._seconds
        drift = self._drift
        if self._matches(step, given):
            later = [c for c in range(step + 1, step + drift + 1) if self._matches(c, given)]
            return later[-1] if later else step
        window = range(step - drift, step + drift + 1)
        others = [c for c in window if c != step and self._matches(c, given)]
        return others[-1] if others else None

    def _matches(self, step: int, given: bytes) -> bool:
        return hmac.compare_digest(self._hotp.generate(step), given)


def token_code(secret: str, now: dt.datetime, rules: AccessRules) -> str:
    """The code the token shows at `now`: what a simulated practitioner types in."""
    return TokenCodes(secret, rules).code(now)


def matching_step(secret: str, code: str, now: dt.datetime, rules: AccessRules) -> int | None:
    """The time step whose code equals `code`, within the drift allowance; None if none does."""
    return TokenCodes(secret, rules).matching_step(code, now)
