"""Who may use the index: accounts, vetting, tokens, logins, sessions and roll-out gates."""

from sim.index.access.conditions import crb_valid_until
from sim.index.access.control import SYSTEM, AccessControl
from sim.index.access.login import LoginAttempt
from sim.index.access.phases import access_start
from sim.index.access.refusals import MESSAGES, AccessRefused
from sim.index.access.rules import ACCESS_FILE, ROLES, AccessRules, Role, load_access_rules
from sim.index.access.sessions import Session
from sim.index.access.store import Account, NewAccount
from sim.index.access.tokens import token_code
from sim.index.access.usage import UsageGuard

__all__ = [
    "ACCESS_FILE",
    "MESSAGES",
    "ROLES",
    "SYSTEM",
    "AccessControl",
    "AccessRefused",
    "AccessRules",
    "Account",
    "LoginAttempt",
    "NewAccount",
    "Role",
    "Session",
    "UsageGuard",
    "access_start",
    "crb_valid_until",
    "load_access_rules",
    "token_code",
]
