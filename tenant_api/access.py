"""Who may read what: every `/v1` decision is taken here, and anything not allowed is denied.

Each `/v1` route names one `Rule`:

- `ORG_SCOPED` (usage, bills): a token with a global read scope reads every org, named or
  not; anyone else must name orgs with `org_guid`, each one an org in which the Cloud
  Controller gives them `organization_manager` or `organization_billing_manager`.
- `ANY_CALLER` (pricing, once it lands): any verified token; nothing org-specific.

A rule this module does not know is refused: a new route cannot be opened by mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from shared import errors
from tenant_api.tokens import Caller


class Rule(StrEnum):
    """What a route lets a verified caller read."""

    ORG_SCOPED = "org_scoped"
    ANY_CALLER = "any_caller"


class RoleSource(Protocol):
    def managed_orgs(self, caller: Caller) -> frozenset[str]: ...


@dataclass(frozen=True)
class Decision:
    """What the caller may read: `orgs` None means every org (no org filter)."""

    caller: Caller
    orgs: tuple[str, ...] | None


def decide(
    rule: Rule, caller: Caller, requested_orgs: Sequence[str] | None, roles: RoleSource
) -> Decision:
    """The decision for a request, or Forbidden saying what is missing (never what other
    orgs exist or whom they belong to)."""
    if rule is Rule.ANY_CALLER:
        return Decision(caller, None)
    if rule is not Rule.ORG_SCOPED:
        raise errors.Forbidden(f"no access rule {rule!r} is known; refused")
    named = tuple(dict.fromkeys(requested_orgs or ()))
    if caller.reads_every_org:
        return Decision(caller, named or None)
    if not named:
        raise errors.Forbidden(
            "name the orgs to read with org_guid: only orgs you manage or billing-manage "
            "may be read"
        )
    managed = roles.managed_orgs(caller)
    refused = [org for org in named if org not in managed]
    if refused:
        raise errors.Forbidden(
            f"you are not a manager or billing manager of org {refused[0]}"
            + (f" (and {len(refused) - 1} more named)" if len(refused) > 1 else "")
        )
    return Decision(caller, named)
