"""Extra UAA users and their Cloud Controller roles, from a JSON file (`--users FILE`).

```json
{"users": [
  {"username": "ann", "password": "ann-pw", "scopes": ["cloud_controller.read"],
   "user_id": "optional, else derived from the username",
   "roles": [{"type": "organization_billing_manager", "org_guid": "..."},
             {"type": "space_developer", "org_guid": "...", "space_guid": "..."}]}]}
```

`scopes` are the user's UAA groups; a password grant through the `cf` client gives the ones
that client may hand out (`accounts.CF_CLIENT_SCOPES`). Roles can also be added while the
simulator runs, with `POST /v3/roles` as an admin.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulator import accounts
from simulator.roles import Role, RoleType, new_role


class RoleSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: RoleType
    org_guid: str = Field(min_length=1)
    space_guid: str | None = None

    @model_validator(mode="after")
    def _space_for_space_roles(self) -> RoleSpec:
        if self.type.is_space_role != (self.space_guid is not None):
            raise ValueError(f"a {self.type} role needs space_guid exactly when it is a space role")
        return self


class UserSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str = Field(min_length=1)
    password: str
    scopes: tuple[str, ...] = (accounts.READ, "openid", "uaa.user")
    user_id: str | None = None
    roles: tuple[RoleSpec, ...] = ()


class UsersFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    users: tuple[UserSpec, ...]


def load(path: Path, now: int) -> tuple[list[accounts.User], list[Role]]:
    """The users and roles a file describes; ValueError naming the file and the problem."""
    try:
        spec = UsersFile.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{path}: {where}: {first['msg']}") from None
    users: list[accounts.User] = []
    roles: list[Role] = []
    for user in spec.users:
        user_id = user.user_id or accounts.user_id_of(user.username)
        users.append(accounts.User(user.username, user.password, user.scopes, user_id))
        roles += [new_role(r.type, user_id, r.org_guid, r.space_guid, now) for r in user.roles]
    return users, roles
