"""Security-token codes: TOTP (RFC 6238) over the token's shared secret.

A code is accepted for the server's time step or up to `token_drift_steps` either side
(RFC 6238 s5.2), and only for a step later than the last one accepted from that token, so a
code once used cannot be replayed within its validity window (RFC 6238 s5.2: "the verifier
MUST NOT accept the second attempt of the OTP after the successful validation").
"""

import base64
import datetime as dt
import functools
import hashlib
import hmac
import os

import pyotp
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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
    return _opened(stored, key, serial)


@functools.lru_cache(maxsize=1 << 16)
def _opened(stored: str, key: bytes, serial: str) -> str:
    """A sealed entry opened once per process: a day's logins read the same tokens as the day
    before. The plaintext stays in this process's memory, which holds the token key anyway."""
    raw = bytes.fromhex(stored[len(SEALED) :])
    return AESGCM(key).decrypt(raw[:12], raw[12:], serial.encode()).decode()


_EPOCH = dt.datetime(1970, 1, 1)
_SECOND = dt.timedelta(seconds=1)


def epoch_seconds(now: dt.datetime) -> int:
    """Whole seconds since 1970 on the simulation's clock (naive times are read as UTC, both
    sides), counted exactly (no float between)."""
    naive = now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now
    return (naive - _EPOCH) // _SECOND


def secret_from_bytes(raw: bytes) -> str:
    """A base32 token secret (the form authenticator apps and pyotp take)."""
    return base64.b32encode(raw).decode()


@functools.lru_cache(maxsize=1 << 16)
def _keyed_hmac(secret: str) -> "hmac.HMAC":
    """HMAC-SHA-1 keyed with the secret as pyotp decodes it, made once per secret per process;
    each code copies it (the key's padding and hashing are not redone)."""
    return hmac.new(pyotp.TOTP(secret).byte_secret(), digestmod=hashlib.sha1)


class TokenCodes:
    """One token's codes: a TOTP code is the HOTP (RFC 4226 s5.3: HMAC-SHA-1 of the 8-byte
    counter, dynamically truncated to `token_digits` digits) of the time step (RFC 6238 s4).
    The keyed HMAC is made once per token and copied for each code, a sixth of the cost of
    cryptography's HOTP object (tests/index/test_tokens.py checks the codes against pyotp's and
    RFC 4226's)."""

    def __init__(self, secret: str, rules: AccessRules) -> None:
        self._keyed = _keyed_hmac(secret)
        self._digits = rules.token_digits.value
        self._modulus = 10**self._digits
        self._seconds = rules.token_step_seconds.value
        self._drift = rules.token_drift_steps.value

    def code(self, now: dt.datetime) -> str:
        """The code the token shows at `now`."""
        return self._hotp(epoch_seconds(now) // self._seconds).decode()

    def _hotp(self, step: int) -> bytes:
        mac = self._keyed.copy()
        mac.update(step.to_bytes(8, "big"))
        digest = mac.digest()
        offset = digest[-1] & 0x0F
        binary = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
        return str(binary % self._modulus).zfill(self._digits).encode()

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
        return hmac.compare_digest(self._hotp(step), given)


def token_code(secret: str, now: dt.datetime, rules: AccessRules) -> str:
    """The code the token shows at `now`: what a simulated practitioner types in."""
    return TokenCodes(secret, rules).code(now)


def matching_step(secret: str, code: str, now: dt.datetime, rules: AccessRules) -> int | None:
    """The time step whose code equals `code`, within the drift allowance; None if none does."""
    return TokenCodes(secret, rules).matching_step(code, now)
