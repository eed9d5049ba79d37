"""Org and space roles, and who may see which (the Cloud Controller's `/v3/roles` rules).

A user who is not a global reader sees the org roles of every org in which they hold an org
role (members of an org see each other's roles), and the space roles of the spaces in which
they hold a space role or whose org they manage. Global readers see every role.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class RoleType(StrEnum):
    """The role types of CC v3 (`app/models/runtime/role.rb`)."""

    ORGANIZATION_USER = "organization_user"
    ORGANIZATION_AUDITOR = "organization_auditor"
    ORGANIZATION_MANAGER = "organization_manager"
    ORGANIZATION_BILLING_MANAGER = "organization_billing_manager"
    SPACE_AUDITOR = "space_auditor"
    SPACE_DEVELOPER = "space_developer"
    SPACE_MANAGER = "space_manager"
    SPACE_SUPPORTER = "space_supporter"

    @property
    def is_space_role(self) -> bool:
        return self.value.startswith("space_")


class DuplicateRole(ValueError):
    """The user already holds that role there."""


@dataclass(frozen=True)
class Role:
    guid: str
    type: RoleType
    user_guid: str
    org_guid: str  # for a space role, the space's org
    space_guid: str | None
    created: int


def new_role(
    type_: RoleType, user_guid: str, org_guid: str, space_guid: str | None, created: int
) -> Role:
    return Role(str(uuid.uuid4()), type_, user_guid, org_guid, space_guid, created)


class RoleBook:
    """Every role, in creation order; thread-safe."""

    def __init__(self, roles: Iterable[Role] = ()) -> None:
        self._lock = threading.Lock()
        self._roles: list[Role] = []
        for role in roles:
            self.add(role)

    def add(self, role: Role) -> Role:
        with self._lock:
            for held in self._roles:
                if (held.type, held.user_guid, held.org_guid, held.space_guid) == (
                    role.type,
                    role.user_guid,
                    role.org_guid,
                    role.space_guid,
                ):
                    raise DuplicateRole(
                        f"User '{role.user_guid}' already has '{role.type}' role in "
                        + (f"space '{role.space_guid}'." if role.space_guid else
                           f"organization '{role.org_guid}'.")
                    )  # fmt: skip
            self._roles.append(role)
        return role

    def all(self) -> list[Role]:
        with self._lock:
            return list(self._roles)

    def space_org(self, space_guid: str) -> str | None:
        """The org of a space some role names, if any."""
        return next((r.org_guid for r in self.all() if r.space_guid == space_guid), None)

    def visible_to(self, subject: str, global_reader: bool) -> list[Role]:
        roles = self.all()
        if global_reader:
            return roles
        mine = [r for r in roles if r.user_guid == subject]
        member_of = {r.org_guid for r in mine if not r.type.is_space_role}
        managed = {r.org_guid for r in mine if r.type is RoleType.ORGANIZATION_MANAGER}
        spaces = {r.space_guid for r in mine if r.space_guid is not None}
        return [
            r
            for r in roles
            if (r.space_guid is None and r.org_guid in member_of)
            or (r.space_guid is not None and (r.space_guid in spaces or r.org_guid in managed))
        ]
