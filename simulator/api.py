"""Routes a request to its handler: discovery, UAA (tokens, sign-in), usage events, roles."""

from __future__ import annotations

import re
from collections.abc import Callable

from simulator import access, cferrors, v2, v3, v3_roles
from simulator.exchange import Request, Response, v2_json, v3_json
from simulator.faults import Faults
from simulator.login import Login
from simulator.platform import Platform
from simulator.roles import RoleBook
from simulator.uaa import Grant, TokenAuthority

# API versions this simulator claims (CF API spec header: CC 3.228.0 / 2.293.0).
V2_VERSION = "2.293.0"
V3_VERSION = "3.228.0"
_GUID = r"(?P<guid>[^/]+)"

Handler = Callable[[Request, Grant, dict[str, str]], Response]


class Api:
    """The whole HTTP surface, as a function from Request to Response."""

    def __init__(
        self, platform: Platform, authority: TokenAuthority, faults: Faults, roles: RoleBook
    ) -> None:
        self.platform = platform
        self.authority = authority
        self.faults = faults
        self.roles = roles
        self.login = Login(authority)
        self._routes: list[tuple[str, re.Pattern[str], bool, Handler]] = []
        self._add("GET", v3_roles.PATH, True, self._list_roles)
        self._add("POST", v3_roles.PATH, True, self._create_role)
        for kind2, suffix in (
            (v2.APPS, "destructively_purge_all_and_reseed_started_apps"),
            (v2.SERVICES, "destructively_purge_all_and_reseed_existing_instances"),
        ):
            self._add("GET", kind2.path, False, self._v2_list(kind2))
            self._add("POST", f"{kind2.path}/{suffix}", False, self._v2_purge(kind2))
            self._add("GET", f"{kind2.path}/{_GUID}", False, self._v2_get(kind2))
        for kind3 in (v3.APPS, v3.SERVICES):
            self._add("GET", kind3.path, True, self._v3_list(kind3))
            self._add(
                "POST",
                f"{kind3.path}/actions/destructively_purge_all_and_reseed",
                True,
                self._v3_purge(kind3),
            )
            self._add("GET", f"{kind3.path}/{_GUID}", True, self._v3_get(kind3))

    # One small factory per route kind, so each handler closes over its Kind.
    def _v2_list(self, kind: v2.Kind) -> Handler:
        def handler(request: Request, grant: Grant, _match: dict[str, str]) -> Response:
            return self.faults.pick(False) or v2.list_events(kind, request, grant, self.platform)

        return handler

    def _v2_get(self, kind: v2.Kind) -> Handler:
        def handler(_request: Request, grant: Grant, match: dict[str, str]) -> Response:
            return v2.get_event(kind, match["guid"], grant, self.platform)

        return handler

    def _v2_purge(self, kind: v2.Kind) -> Handler:
        def handler(_request: Request, grant: Grant, _match: dict[str, str]) -> Response:
            return v2.purge(kind, grant, self.platform)

        return handler

    def _v3_list(self, kind: v3.Kind) -> Handler:
        def handler(request: Request, grant: Grant, _match: dict[str, str]) -> Response:
            return self.faults.pick(True) or v3.list_events(kind, request, grant, self.platform)

        return handler

    def _v3_get(self, kind: v3.Kind) -> Handler:
        def handler(_request: Request, grant: Grant, match: dict[str, str]) -> Response:
            return v3.get_event(kind, match["guid"], grant, self.platform)

        return handler

    def _v3_purge(self, kind: v3.Kind) -> Handler:
        def handler(_request: Request, grant: Grant, _match: dict[str, str]) -> Response:
            return v3.purge(kind, grant, self.platform)

        return handler

    def _list_roles(self, request: Request, grant: Grant, _match: dict[str, str]) -> Response:
        return v3_roles.list_roles(request, grant, self.roles, self.platform.api_url)

    def _create_role(self, request: Request, grant: Grant, _match: dict[str, str]) -> Response:
        with self.platform.lock:
            space_orgs = {s.guid: s.org_guid for s in self.platform.world.spaces}
        return v3_roles.create_role(
            request,
            grant,
            self.roles,
            self.platform.api_url,
            self.authority.user_guids(),
            space_orgs,
            int(self.platform.clock()),
        )

    def _add(self, method: str, pattern: str, is_v3: bool, handler: Handler) -> None:
        self._routes.append((method, re.compile(pattern + "$"), is_v3, handler))

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path == "/":
            return self._root()
        if path == "/v2/info":
            return self._info()
        if path == "/oauth/token":
            return self.authority.token_endpoint(request)
        if path == "/oauth/authorize":
            return self.login.authorize(request)
        if path == "/token_keys" and request.method == "GET":
            return self.authority.token_keys(request)
        known_path = False
        for method, pattern, is_v3, handler in self._routes:
            match = pattern.match(path)
            if match is None:
                continue
            known_path = True
            if method != request.method:
                continue
            grant = access.authenticate(request, self.authority)
            if isinstance(grant, cferrors.CFError):
                return cferrors.v3(grant) if is_v3 else cferrors.v2(grant)
            return handler(request, grant, match.groupdict())
        if known_path and path.startswith("/v3"):
            return cferrors.v3(cferrors.NOT_FOUND)
        return cferrors.v2(cferrors.NOT_FOUND)

    def _root(self) -> Response:
        url = self.platform.api_url
        links = {
            "self": {"href": url},
            "cloud_controller_v2": {"href": f"{url}/v2", "meta": {"version": V2_VERSION}},
            "cloud_controller_v3": {"href": f"{url}/v3", "meta": {"version": V3_VERSION}},
            "network_policy_v0": None,
            "network_policy_v1": None,
            "login": {"href": self.platform.login_url or url},
            "uaa": {"href": url},
            "credhub": None,
            "routing": None,
            "logging": None,
            "log_cache": None,
            "log_stream": None,
            "app_ssh": None,
        }
        return v3_json(200, {"links": links})

    def _info(self) -> Response:
        url = self.platform.api_url
        return v2_json(
            200,
            {
                "name": "simulator",
                "build": "paas-billing",
                "support": "",
                "version": 2,
                "description": "Cloud Foundry API simulator",
                "authorization_endpoint": self.platform.login_url or url,
                "token_endpoint": url,
                "min_cli_version": None,
                "min_recommended_cli_version": None,
                "app_ssh_endpoint": None,
                "app_ssh_host_key_fingerprint": None,
                "app_ssh_oauth_client": None,
                "doppler_logging_endpoint": None,
                "api_version": V2_VERSION,
                "osbapi_version": "2.15",
                "routing_endpoint": None,
            },
        )
