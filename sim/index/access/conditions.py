"""Conditions of access, checked after the three factors succeed (Hansard Lords 22 Jun 2009:
enhanced CRB check renewed every three years, mandatory training, a signed end-user
agreement), plus the network and the organisation's roll-out date."""

import datetime as dt

from sim.index.access.phases import access_start
from sim.index.access.rules import AccessRules
from sim.index.access.store import Account
from sim.reference.rollout import RolloutGroups


def crb_valid_until(checked_on: dt.date, rules: AccessRules) -> dt.date:
    """The last day before the disclosure must be renewed (29 Feb rolls to 1 Mar)."""
    years = rules.crb_renewal_years.value
    try:
        return checked_on.replace(year=checked_on.year + years)
    except ValueError:
        return dt.date(checked_on.year + years, 3, 1)


class AccessConditions:
    """The conditions of access under one set of rules and roll-out dates, each kind of
    organisation's networks and each organisation's roll-out date worked out once: a day's
    logins ask about the same organisations again and again."""

    def __init__(self, rules: AccessRules, rollout: RolloutGroups) -> None:
        self.rules, self.rollout = rules, rollout
        self._networks: dict[str, frozenset[str]] = {}
        self._starts: dict[tuple, dt.date | None] = {}

    def unmet(self, account: Account, network: str, today: dt.date) -> str | None:
        """The refusal reason code for the first unmet condition, or None if all are met."""
        rules = self.rules
        kind = account.organisation_kind
        networks = self._networks.get(kind)
        if networks is None:
            networks = self._networks[kind] = rules.networks_for(kind)
        if network not in networks:
            return "wrong_network"
        if account.crb_checked_on is None or account.crb_checked_on > today:
            return "no_crb_check"
        if today >= crb_valid_until(account.crb_checked_on, rules):
            return "crb_expired"
        trained = account.training_completed_on
        if rules.training_required.value and (trained is None or trained > today):
            return "untrained"
        signed = account.agreement_signed_on
        if rules.agreement_required.value and (signed is None or signed > today):
            return "no_agreement"
        where = (account.role, account.authority_code, account.organisation, kind)
        if where not in self._starts:
            self._starts[where] = access_start(*where, rules, self.rollout)
        start = self._starts[where]
        if start is None:
            return "organisation_not_accredited"
        if today < start:
            return "before_rollout"
        return None
