"""Pure decisions for account administration: whose accounts a role covers, and what a new
account's credentials must look like (data/index/access.toml: role_administers, password and PIN
lengths)."""

import re
from dataclasses import fields

import polars as pl

from sim.index.access.rules import ROLES, AccessRules
from sim.index.access.sessions import Session
from sim.index.access.store import NewAccount
from sim.index.records import record_rules


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


def administered(admin: Session, accounts: pl.DataFrame, rules: AccessRules) -> pl.DataFrame:
    """The rows of `accounts` (one per account) that `admin` administers, by may_administer."""
    names = [f.name for f in fields(NewAccount)]
    keep = [
        may_administer(admin, NewAccount(**{n: row.get(n) for n in names}), rules)
        for row in accounts.iter_rows(named=True)
    ]
    return accounts.filter(pl.Series(keep, dtype=pl.Boolean))


USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
ORGANISATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ,.'’/&()-]{0,79}")
AUTHORITY = re.compile(r"E[0-9]{8}")
NAME = re.compile(r"[^\W\d_][^\W\d_ .'’-]*(?:[ .'’-]+[^\W\d_]+)*[.]?")


def account_problem(new: NewAccount) -> str | None:
    """Why a new account's identity fields are not in their strict forms, or None: free text
    in an account (a name, an organisation) has a fixed shape, like the record's fields."""
    if not USERNAME.fullmatch(str(new.username)):
        return "username must be 2-64 lower-case letters, digits, '.', '_' or '-'"
    for label, value in (("forename", new.forename), ("surname", new.surname)):
        if not (isinstance(value, str) and len(value) <= 35 and NAME.fullmatch(value)):
            return f"{label} must be a name (letters, spaces, hyphens, apostrophes)"
    if not ORGANISATION.fullmatch(str(new.organisation)):
        return "organisation must be a code or a name (letters, digits, spaces, , . ' / & ( ) -)"
    if new.authority_code is not None and not AUTHORITY.fullmatch(str(new.authority_code)):
        return "authority must be an ONS code such as E08000001"
    if new.sector not in record_rules().account_sectors.value:
        return f"sector must be one of {', '.join(record_rules().account_sectors.value)}"
    return None


def credential_problem(new: NewAccount, password: str, pin: str, rules: AccessRules) -> str | None:
    """Why a new account's identity, role, password or PIN is unacceptable, or None."""
    least, most = rules.pin_length.value
    if new.role not in ROLES:
        return f"role must be one of {', '.join(ROLES)}"
    problem = account_problem(new)
    if problem:
        return problem
    if not (isinstance(password, str) and password.isprintable()):
        return "password must be printable text"
    if len(password) < rules.password_min_length.value:
        return f"password must have at least {rules.password_min_length.value} characters"
    if not (pin.isdigit() and pin.isascii() and least <= len(pin) <= most):
        return f"PIN must be {least}-{most} digits"
    return None
