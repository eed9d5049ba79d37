"""Access decisions (one place, deny by default) and the API's start-up refusal of /v1
routes without a guard."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI

from shared import errors
from tenant_api import access, app, routes, tokens
from tenant_api.tokens import Caller


class Roles:
    def __init__(self, orgs: set[str]) -> None:
        self.orgs = frozenset(orgs)
        self.asked = 0

    def managed_orgs(self, caller: Caller) -> frozenset[str]:
        self.asked += 1
        return self.orgs


def caller(*scopes: str) -> Caller:
    return Caller("u", "u", "cf", frozenset(scopes), "token")


def test_access_global_readers_read_named_orgs_or_all_without_asking_roles() -> None:
    for scope in sorted(tokens.GLOBAL_READ_SCOPES):
        roles = Roles(set())
        assert access.decide(access.Rule.ORG_SCOPED, caller(scope), None, roles).orgs is None
        named = access.decide(access.Rule.ORG_SCOPED, caller(scope), ["o", "o"], roles)
        assert named.orgs == ("o",)
        assert roles.asked == 0


def test_access_others_read_only_named_orgs_they_manage() -> None:
    roles = Roles({"mine", "also-mine"})
    user = caller("cloud_controller.read")
    decided = access.decide(access.Rule.ORG_SCOPED, user, ["mine", "also-mine"], roles)
    assert decided.orgs == ("mine", "also-mine")
    for named in ([], None, ["other"], ["mine", "other"]):
        with pytest.raises(errors.Forbidden):
            access.decide(access.Rule.ORG_SCOPED, user, named, roles)


def test_access_an_unknown_rule_is_refused() -> None:
    with pytest.raises(errors.Forbidden):
        access.decide("made_up", caller("cloud_controller.admin"), None, Roles(set()))  # type: ignore[arg-type]


def test_access_any_caller_rule_names_no_orgs() -> None:
    assert access.decide(access.Rule.ANY_CALLER, caller(), None, Roles(set())).orgs is None


def test_access_a_v1_route_without_a_guard_stops_the_app() -> None:
    router = APIRouter(prefix="/v1")

    @router.get("/open")
    def open_route() -> dict[str, str]:
        return {}

    unguarded = FastAPI()
    unguarded.include_router(router)
    with pytest.raises(RuntimeError, match="/v1/open has no access guard"):
        app.refuse_unguarded(unguarded)


def test_access_the_real_routes_are_seen_and_guarded() -> None:
    real = FastAPI()
    real.include_router(routes.router)
    seen = {route.path for route in app._api_routes(real.routes)}
    assert "/v1/usage" in seen
    app.refuse_unguarded(real)
