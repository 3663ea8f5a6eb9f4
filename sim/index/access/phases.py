"""Roll-out gates: from which date each organisation's users may log in, by role.

Dates come from data/rollout/groups.toml and the role -> date field from data/index/access.toml.
Trailblazers ran local indexes, not ContactPoint (Commons Library SN/SP/5171 s1.1), so being one
gives no earlier access. Early adopters are the 17 North West authorities plus Barnardo's and
KIDS (Hansard Lords WMS 26 Jan 2009): their management teams from 26 Jan 2009, practitioners
from 12 May 2009; everyone else from the national dates. National partners' practitioners use
the partner's own date; their management teams trained with the early adopters.
"""

import datetime as dt

from sim.index.access.rules import AccessRules, Role
from sim.reference.rollout import RolloutGroups


def access_start(
    role: Role,
    authority_code: str | None,
    organisation: str,
    organisation_kind: str,
    rules: AccessRules,
    rollout: RolloutGroups,
) -> dt.date | None:
    """First day this account may log in; None if its organisation is in no roll-out phase."""
    field = rules.role_access_start.value[role]
    if role == "national_administrator":
        return getattr(getattr(rollout, rules.national_staff_group.value), field)
    if organisation_kind == "national_partner":
        partner = next((p for p in rollout.national_partners if p.name == organisation), None)
        if partner is None:
            return None
        if field == "practitioner_access_start":
            return partner.practitioner_access_start
        return rollout.early_adopters.management_training_start
    if authority_code is None:
        return None
    if authority_code in {m.code for m in rollout.early_adopters.members}:
        return getattr(rollout.early_adopters, field)
    return getattr(rollout.national, field)
