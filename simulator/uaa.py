"""A small UAA: the token endpoint and the token checks the Cloud Controller makes.

Access tokens are RS256 JWTs signed with the key ring's signing key (`simulator.keys`, listed
at `/token_keys`), with the claims a real UAA writes. The Cloud Controller side checks a
token by its signature, whoever minted it, and its expiry by the simulator's clock (a test's
clock may be a manual one); refresh tokens are never accepted as access tokens.
"""

from __future__ import annotations

import base64
import hmac
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from simulator import codes
from simulator.accounts import Client, User
from simulator.exchange import Request, Response, plain_json
from simulator.keys import KeyRing

# How long refresh tokens live (cf-deployment: 30 days).
REFRESH_TTL = 2_592_000.0


@dataclass(frozen=True)
class Grant:
    """What a token stands for."""

    scopes: frozenset[str]
    subject: str  # user id, or client id for client_credentials
    client_id: str
    expires_at: float
    username: str | None = None
    grant_type: str | None = None  # as the token's claim says; None: from the username


class TokenAuthority:
    """Issues and checks tokens; thread-safe."""

    def __init__(
        self,
        clients: list[Client],
        users: list[User],
        ttl: float,
        clock: Callable[[], float],
        issuer: str,
        keys: KeyRing,
    ) -> None:
        self._clients = {c.client_id: c for c in clients}
        self._users = {u.username: u for u in users}
        self._ttl = ttl
        self._clock = clock
        self.issuer = issuer
        self.keys = keys
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._lock = threading.Lock()
        self.codes = codes.Codes(clock)

    # ------------------------------------------------------------------ checking
    def check(self, token: str) -> Grant | None:
        """The grant behind an access token, or None if badly signed, a refresh token or
        expired. Tokens issued here are remembered, so the usual check is a lookup."""
        with self._lock:
            grant = self._access.get(token)
        if grant is None:
            grant = _grant_of(self.keys.verify(token))
        if grant is None or grant.expires_at <= self._clock():
            return None
        return grant

    def now(self) -> float:
        return self._clock()

    def client(self, client_id: str) -> Client | None:
        return self._clients.get(client_id)

    def sign_in(self, username: str, password: str) -> User | None:
        """The user whose password this is (the login page), or None."""
        user = self._users.get(username)
        if user is None or not hmac.compare_digest(user.password, password):
            return None
        return user

    def user_guids(self) -> dict[str, str]:
        """username -> user id, for roles given by username."""
        return {u.username: u.user_id for u in self._users.values()}

    def token_keys(self, _request: Request) -> Response:
        """`GET /token_keys`: the public keys, unauthenticated as on a real UAA."""
        return plain_json(200, self.keys.listing())

    # ------------------------------------------------------------------ the endpoint
    def token_endpoint(self, request: Request) -> Response:
        if request.method != "POST":
            return plain_json(
                405,
                {
                    "error": "method_not_allowed",
                    "error_description": f"Request method '{request.method}' not supported",
                },
            )
        if request.raw_query:
            return plain_json(
                406,
                {
                    "error": "query_string_not_allowed",
                    "error_description": "Parameters must be passed in the body of the request",
                },
            )
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        client = self._client(request, form)
        if client is None:
            return _bad_credentials()
        grant_type = form.get("grant_type", "")
        if grant_type not in client.grants:
            return plain_json(
                401,
                {
                    "error": "invalid_client",
                    "error_description": f"Unauthorized grant type: {grant_type}",
                },
            )
        if grant_type == "client_credentials":
            scopes = _narrow(client.scopes, form.get("scope"))
            return self._issue(Grant(scopes, client.client_id, client.client_id, 0.0), False)
        if grant_type == "password":
            user = self._users.get(form.get("username", ""))
            if user is None or not hmac.compare_digest(user.password, form.get("password", "")):
                return _bad_credentials()
            allowed = tuple(s for s in client.scopes if s in user.groups)
            scopes = _narrow(allowed, form.get("scope"))
            return self._issue(
                Grant(scopes, user.user_id, client.client_id, 0.0, user.username), True
            )
        if grant_type == "authorization_code":
            return self._code_grant(client, form)
        return self._refresh_grant(client, form.get("refresh_token", ""))

    def _code_grant(self, client: Client, form: dict[str, str]) -> Response:
        try:
            code = self.codes.redeem(
                form.get("code", ""),
                client.client_id,
                form.get("redirect_uri", ""),
                form.get("code_verifier"),
            )
        except codes.Refused as exc:
            return plain_json(400, {"error": "invalid_grant", "error_description": str(exc)})
        user = self._users[code.username]
        grant = Grant(
            code.scopes, user.user_id, client.client_id, 0.0, user.username, "authorization_code"
        )
        return self._issue(grant, True)

    def _client(self, request: Request, form: dict[str, str]) -> Client | None:
        client_id, secret = form.get("client_id"), form.get("client_secret", "")
        auth = request.header("authorization") or ""
        if auth[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
            except ValueError:
                return None
            client_id, _, secret = decoded.partition(":")
        client = self._clients.get(client_id or "")
        if client is None or not hmac.compare_digest(client.secret, secret):
            return None
        return client

    def _refresh_grant(self, client: Client, refresh_token: str) -> Response:
        with self._lock:
            grant = self._refresh.get(refresh_token)
        expired = grant is None or grant.expires_at <= self._clock()
        if grant is None or expired or grant.client_id != client.client_id:
            return plain_json(
                401,
                {
                    "error": "invalid_token",
                    "error_description": "Invalid refresh token (expired or unknown)",
                },
            )
        return self._issue(grant, True, refresh_token)

    def _issue(
        self, grant: Grant, with_refresh: bool, refresh_token: str | None = None
    ) -> Response:
        now = self._clock()
        jti = uuid.uuid4().hex
        access = Grant(
            grant.scopes,
            grant.subject,
            grant.client_id,
            now + self._ttl,
            grant.username,
            grant.grant_type,
        )
        token = self._jwt(jti, access, now)
        body: dict[str, object] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": max(int(self._ttl) - 1, 0),
            "scope": " ".join(sorted(grant.scopes)),
            "jti": jti,
        }
        with self._lock:
            self._access[token] = access
            if with_refresh:
                if refresh_token is None:
                    refresh = Grant(
                        grant.scopes,
                        grant.subject,
                        grant.client_id,
                        now + REFRESH_TTL,
                        grant.username,
                    )
                    refresh_token = self._jwt(jti + "-r", refresh, now)
                    self._refresh[refresh_token] = refresh
                body["refresh_token"] = refresh_token
        return plain_json(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _jwt(self, jti: str, grant: Grant, now: float) -> str:
        claims: dict[str, object] = {
            "jti": jti,
            "sub": grant.subject,
            "scope": sorted(grant.scopes),
            "client_id": grant.client_id,
            "cid": grant.client_id,
            "azp": grant.client_id,
            "grant_type": grant.grant_type
            or ("client_credentials" if grant.username is None else "password"),
            "iat": int(now),
            "exp": int(grant.expires_at),
            "iss": self.issuer,
            "zid": "uaa",
            "aud": sorted({s.split(".")[0] for s in grant.scopes} | {grant.client_id}),
        }
        if grant.username is not None:
            claims.update(user_id=grant.subject, user_name=grant.username, origin="uaa")
        return self.keys.sign(claims, self.issuer.removesuffix("/oauth/token") + "/token_keys")


def _grant_of(claims: dict[str, object] | None) -> Grant | None:
    """What a verified token stands for; None for a refresh token or odd claims."""
    if claims is None or str(claims.get("jti", "")).endswith("-r"):
        return None
    scopes, exp, client = claims.get("scope"), claims.get("exp"), claims.get("client_id")
    subject = claims.get("user_id") or client
    if not isinstance(scopes, list) or not isinstance(exp, int | float):
        return None
    if not isinstance(client, str) or not isinstance(subject, str):
        return None
    name = claims.get("user_name")
    return Grant(
        frozenset(str(s) for s in scopes),
        subject,
        client,
        float(exp),
        name if isinstance(name, str) else None,
    )


def _narrow(scopes: tuple[str, ...], requested: str | None) -> frozenset[str]:
    if not requested:
        return frozenset(scopes)
    return frozenset(s for s in requested.split() if s in scopes)


def _bad_credentials() -> Response:
    return plain_json(
        401,
        {"error": "unauthorized", "error_description": "Bad credentials"},
        {
            "WWW-Authenticate": 'Basic realm="UAA/client", error="unauthorized", '
            'error_description="Bad credentials"'
        },
    )
