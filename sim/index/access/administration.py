"""Pure decisions for account administration: whose accounts a role covers, and what a new
account's credentials must look like (data/index/access.toml: role_administers, password and PIN
lengths)."""

from sim.index.access.rules import ROLES, AccessRules
from sim.index.access.sessions import Session
from sim.index.access.store import NewAccount


def may_administer(admin: Session, target: NewAccount | None, rules: AccessRules) -> bool:
    """A national administrator covers everyone; a management team covers its own authority's
    users (a national partner's team, its own organisation's), never a national administrator."""
    scope = rules.role_administers.value[admin.role]
    if scope == "all":
        return True
    if scope == "none" or target is None or target.role == "national_administrator":
        return False
    if admin.organisation_kind == "national_partner":
        return target.organisation == admin.organisation
    return target.authority_code is not None and target.authority_code == admin.authority_code


def credential_problem(new: NewAccount, password: str, pin: str, rules: AccessRules) -> str | None:
    """Why a new account's role, password or PIN is unacceptable, or None."""
    least, most = rules.pin_length.value
    if new.role not in ROLES:
        return f"role must be one of {', '.join(ROLES)}"
    if len(password) < rules.password_min_length.value:
        return f"password must have at least {rules.password_min_length.value} characters"
    if not (pin.isdigit() and pin.isascii() and least <= len(pin) <= most):
        return f"PIN must be {least}-{most} digits"
    return None
