"""Refusals: a typed error whose message tells the user what to do and an attacker nothing.

The `reason_code` is precise and goes to the audit log; the message is shared by every reason
an attacker could learn from. An unknown username, a wrong password, PIN or token code, a
replayed code, a locked or revoked account all read the same, so probing cannot tell which
accounts exist or which factor was wrong. Conditions of access (vetting, training, agreement,
roll-out) are told only after all three factors succeed, to the account's owner.
"""

from sim.errors import WorkbenchError

CREDENTIALS = "login failed: the details given were not accepted"
NETWORK = "login refused: connect from your organisation's accredited network"
CONDITIONS = (
    "login refused: your account does not meet the conditions of access yet; "
    "contact your ContactPoint management team"
)
SESSION = "your session has ended: log in again"
ROLE = "refused: your role does not permit this"
LIMIT = "refused: usage limit reached; try again later"
PATTERN = "refused: unusual pattern of use; your management team has been told"

MESSAGES: dict[str, str] = {
    "unknown_user": CREDENTIALS,
    "wrong_password": CREDENTIALS,
    "wrong_pin": CREDENTIALS,
    "bad_token_code": CREDENTIALS,
    "replayed_token_code": CREDENTIALS,
    "no_token": CREDENTIALS,
    "malformed_credentials": CREDENTIALS,
    "locked_out": CREDENTIALS,
    "revoked": CREDENTIALS,
    "wrong_network": NETWORK,
    "no_crb_check": CONDITIONS,
    "crb_expired": CONDITIONS,
    "untrained": CONDITIONS,
    "no_agreement": CONDITIONS,
    "before_rollout": CONDITIONS,
    "organisation_not_accredited": CONDITIONS,
    "unknown_session": SESSION,
    "session_expired": SESSION,
    "session_revoked": SESSION,
    "not_permitted": ROLE,
    "malformed_input": "refused: a value given is not in an accepted form",
    "rate_limit": LIMIT,
    "enumeration": PATTERN,
}


class AccessRefused(WorkbenchError):
    """Access refused; `reason_code` (one of MESSAGES) is for the audit log, not the user."""

    def __init__(self, reason_code: str) -> None:
        if reason_code not in MESSAGES:
            raise ValueError(f"unknown refusal reason {reason_code!r}")
        self.reason_code = reason_code
        super().__init__(MESSAGES[reason_code])
