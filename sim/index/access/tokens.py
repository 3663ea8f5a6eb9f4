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


def _totp(secret: str, rules: AccessRules) -> pyotp.TOTP:
    return pyotp.TOTP(
        secret, digits=rules.token_digits.value, interval=rules.token_step_seconds.value
    )


def token_code(secret: str, now: dt.datetime, rules: AccessRules) -> str:
    """The code the token shows at `now`: what a simulated practitioner types in."""
    return _totp(secret, rules).generate_otp(epoch_seconds(now) // rules.token_step_seconds.value)


def matching_step(secret: str, code: str, now: dt.datetime, rules: AccessRules) -> int | None:
    """The time step whose code equals `code`, within the drift allowance; None if none does."""
    code = str(code)
    if not (code.isascii() and code.isdigit() and len(code) == rules.token_digits.value):
        return None  # not a code the token could show (e.g. non-ASCII digits): never compared
    totp = _totp(secret, rules)
    step = epoch_seconds(now) // rules.token_step_seconds.value
    drift = rules.token_drift_steps.value
    found = None
    for candidate in range(step - drift, step + drift + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found
