"""The orgs a user manages, as the Cloud Controller says: `GET /v3/roles`, asked with the
user's own token, every page followed, cached for a short while.

Only `organization_manager` and `organization_billing_manager` count. The next pages' links
are followed by their query alone, always against CF_API_ADDRESS: a user's token is never
sent to another host, whatever a page says. Concurrent requests of one user share one
look-up.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from urllib.parse import parse_qsl, urlsplit

import orjson
import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from shared import errors
from shared.transport import Transport
from tenant_api.tokens import Caller

log = structlog.get_logger()

# The role types that may read an org's figures (CONTRACT "HTTP API").
MANAGER_TYPES = ("organization_manager", "organization_billing_manager")
# Roles per page asked for, and most pages followed (a runaway `next` stops there).
PER_PAGE = 100
MAX_PAGES = 100
# Users whose roles are cached at once (least recently used dropped first).
MAX_CACHED_USERS = 10_000


class _Guid(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    guid: str


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    data: _Guid | None = None


class _Relationships(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    user: _Data
    organization: _Data = _Data()


class _Role(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    type: str
    relationships: _Relationships


class _Link(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    href: str


class _Pagination(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    next: _Link | None = None


class RolesPage(BaseModel):
    """One page of `GET /v3/roles` (only what is used)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    pagination: _Pagination
    resources: list[_Role]


class OrgRoles:
    """`managed_orgs(caller)`, cached per user for `ttl` seconds; thread-safe."""

    def __init__(
        self,
        transport: Transport,
        api_address: str,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._api = api_address
        self._ttl = ttl
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()
        self._pending: dict[str, Future[frozenset[str]]] = {}
        self._lock = threading.Lock()

    def managed_orgs(self, caller: Caller) -> frozenset[str]:
        """The orgs the caller manages or billing-manages. InvalidToken when the Cloud
        Controller refuses the token; CloudFoundryUnavailable when it cannot answer."""
        with self._lock:
            cached = self._cache.get(caller.subject)
            if cached is not None and cached[0] > self._clock():
                self._cache.move_to_end(caller.subject)
                return cached[1]
            pending = self._pending.get(caller.subject)
            mine = pending is None
            if pending is None:
                pending = self._pending[caller.subject] = Future()
        if not mine:
            return pending.result()
        try:
            orgs = self._look_up(caller)
        except BaseException as exc:
            with self._lock:
                del self._pending[caller.subject]
            pending.set_exception(exc)
            raise
        with self._lock:
            del self._pending[caller.subject]
            self._cache[caller.subject] = (self._clock() + self._ttl, orgs)
            self._cache.move_to_end(caller.subject)
            while len(self._cache) > MAX_CACHED_USERS:
                self._cache.popitem(last=False)
        pending.set_result(orgs)
        return orgs

    def _look_up(self, caller: Caller) -> frozenset[str]:
        params: list[tuple[str, str]] = [
            ("user_guids", caller.subject),
            ("types", ",".join(MANAGER_TYPES)),
            ("per_page", str(PER_PAGE)),
        ]
        orgs: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self._page(caller, params)
            if page is None:
                break
            orgs |= {
                role.relationships.organization.data.guid
                for role in page.resources
                if role.type in MANAGER_TYPES
                and role.relationships.user.data is not None
                and role.relationships.user.data.guid == caller.subject
                and role.relationships.organization.data is not None
            }
            if page.pagination.next is None:
                break
            params = parse_qsl(urlsplit(page.pagination.next.href).query, keep_blank_values=True)
        log.debug("roles_looked_up", user_id=caller.subject, orgs=len(orgs))
        return frozenset(orgs)

    def _page(self, caller: Caller, params: list[tuple[str, str]]) -> RolesPage | None:
        """A page; None when the Cloud Controller lets this user read no roles (403)."""
        reply = self._transport.get(
            self._api + "/v3/roles",
            params=dict(params),
            headers={"Authorization": f"bearer {caller.token}"},
        )
        if reply.status == 401:
            raise errors.InvalidToken("the Cloud Controller does not accept the token")
        if reply.status == 403:
            return None
        if reply.status != 200:
            raise errors.CloudFoundryUnavailable(f"GET /v3/roles answered {reply.status}")
        try:
            return RolesPage.model_validate(orjson.loads(reply.body))
        except (orjson.JSONDecodeError, ValidationError):
            raise errors.CloudFoundryUnavailable("GET /v3/roles answered no role list") from None
