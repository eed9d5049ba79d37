"""Signed-in browsers and sign-ins in progress, kept in the browser's cookies, sealed.

A session holds the user's UAA access token, a CSRF token for the sign-out form, when it was
issued and when it ends: when the token expires or DASHBOARD_SESSION_TTL has passed since
sign-in, whichever comes first (a TTL lowered later counts too). A sign-in in progress
(`Pending`) holds the OAuth `state`, the PKCE verifier and the page to come back to, for ten
minutes. Both are sealed (`sealing`: encrypted and authenticated with a key every replica
shares), so any replica, and a restarted one, reads them, and the browser reads neither.
Nothing is kept on the server: signing out clears the cookie (docs/dashboard.md says what a
copied cookie is then still worth).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec

from tenant_api.dashboard.sealing import Sealer

# Random bytes of a state and a CSRF token (256 bits).
TOKEN_BYTES = 32
# How long a sign-in may take from the redirect to the UAA until it comes back, in seconds.
PENDING_TTL = 600
# Seconds a cookie's issue time may be ahead of this replica's clock (replicas' clocks).
CLOCK_LEEWAY = 60
# Longest sealed session a browser is given, in characters: browsers keep 4096 bytes of a
# cookie's name and value, and the name takes up to 17 (`__Host-pb_session`).
MAX_COOKIE_CHARS = 4000
# The sealed values' purposes (bound to them: a sign-in cookie is no session cookie).
SESSION_PURPOSE, PENDING_PURPOSE = "session", "signin"


class CookieTooLarge(ValueError):
    """The sealed session would not fit in a cookie (a UAA token of many claims)."""

    def __init__(self, chars: int) -> None:
        super().__init__(f"the session is {chars} characters sealed; at most {MAX_COOKIE_CHARS}")
        self.chars = chars


@dataclass(frozen=True)
class Session:
    """A signed-in browser."""

    token: str = field(repr=False)
    csrf: str = field(repr=False)
    expires_at: float


@dataclass(frozen=True)
class Pending:
    """A sign-in in progress: the PKCE verifier, where to go once signed in, and whether its
    ten minutes have passed."""

    verifier: str = field(repr=False)
    return_to: str
    expired: bool


class _SessionBody(msgspec.Struct, array_like=True, frozen=True):
    issued_at: int
    expires_at: int
    csrf: bytes
    token: list[bytes]  # the JWT's three parts decoded (a quarter smaller), or its text


class _PendingBody(msgspec.Struct, array_like=True, frozen=True):
    issued_at: int
    state: str
    verifier: str
    return_to: str


B = TypeVar("B", _SessionBody, _PendingBody)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def pack_token(token: str) -> list[bytes]:
    """A JWT as its three parts' bytes when they encode back to exactly the same text; else
    the text itself."""
    parts = token.split(".")
    if len(parts) == 3:
        try:
            raw = [base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in parts]
        except ValueError:
            raw = []
        if raw and ".".join(_b64(r) for r in raw) == token:
            return raw
    return [token.encode("utf-8")]


def unpack_token(packed: list[bytes]) -> str | None:
    if len(packed) == 3:
        return ".".join(_b64(part) for part in packed)
    if len(packed) == 1:
        return packed[0].decode("utf-8", "replace")
    return None


class Sessions:
    """Sessions and sign-ins in progress as sealed cookie values; thread-safe, stateless."""

    def __init__(self, sealer: Sealer, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self._sealer = sealer
        self._ttl = ttl
        self._clock = clock

    def begin_sign_in(self, verifier: str, return_to: str) -> tuple[str, str]:
        """A new sign-in's `state`, and the cookie value that holds it."""
        state = secrets.token_urlsafe(TOKEN_BYTES)
        body = _PendingBody(int(self._clock()), state, verifier, return_to)
        return state, self._sealer.seal(PENDING_PURPOSE, msgspec.msgpack.encode(body))

    def finish_sign_in(self, cookie: str | None, state: str | None) -> Pending | None:
        """The sign-in this browser's cookie holds, if it began with `state`; None when the
        cookie is missing, forged, sealed with another key, or began another sign-in."""
        body = self._open(cookie, PENDING_PURPOSE, _PendingBody)
        if body is None or not state or not secrets.compare_digest(body.state, state):
            return None
        now = self._clock()
        expired = not body.issued_at - CLOCK_LEEWAY <= now < body.issued_at + PENDING_TTL
        return Pending(body.verifier, body.return_to, expired)

    def start(self, token: str, token_expires_at: float) -> tuple[str, Session]:
        """A new session's cookie value, and the session. CookieTooLarge when it would not
        fit in a cookie."""
        now = int(self._clock())
        expires = int(min(token_expires_at, now + self._ttl))
        csrf = secrets.token_bytes(TOKEN_BYTES)
        body = _SessionBody(now, expires, csrf, pack_token(token))
        cookie = self._sealer.seal(SESSION_PURPOSE, msgspec.msgpack.encode(body))
        if len(cookie) > MAX_COOKIE_CHARS:
            raise CookieTooLarge(len(cookie))
        return cookie, Session(token, _b64(csrf), float(expires))

    def get(self, cookie: str | None) -> Session | None:
        """The session a cookie holds; None when it is forged, sealed with another key, or
        over (its end, or DASHBOARD_SESSION_TTL since it began, has passed)."""
        body = self._open(cookie, SESSION_PURPOSE, _SessionBody)
        if body is None:
            return None
        now = self._clock()
        ends = min(body.expires_at, body.issued_at + self._ttl)
        token = unpack_token(body.token)
        if token is None or not body.issued_at - CLOCK_LEEWAY <= now < ends:
            return None
        return Session(token, _b64(body.csrf), float(ends))

    def _open(self, cookie: str | None, purpose: str, kind: type[B]) -> B | None:
        if not cookie:
            return None
        plain = self._sealer.open(purpose, cookie)
        if plain is None:
            return None
        try:
            return msgspec.msgpack.decode(plain, type=kind)
        except msgspec.DecodeError:  # sealed by us, but not this shape: an older format
            return None
