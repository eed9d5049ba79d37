"""Signed-in browsers, kept on the server: the cookie holds only a random session id.

A session holds the user's UAA access token (never sent to the browser), a CSRF token for
the sign-out form, and lasts until the token expires or DASHBOARD_SESSION_TTL passes,
whichever comes first. A sign-in in progress (`Pending`) holds the OAuth `state` and the
PKCE verifier for ten minutes and is used once. Both live in this process's memory: a
restart, or another replica, asks the user to sign in again (docs/dashboard.md).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

# Random bytes of a session id, a state and a CSRF token (256 bits).
TOKEN_BYTES = 32
# How long a sign-in may take from the redirect to the UAA until it comes back, in seconds.
PENDING_TTL = 600.0
# Most sessions and sign-ins in progress kept at once (the oldest go first).
MAX_SESSIONS = 20_000
MAX_PENDING = 20_000

V = TypeVar("V")


@dataclass(frozen=True)
class Session:
    """A signed-in browser."""

    token: str = field(repr=False)
    csrf: str = field(repr=False)
    expires_at: float


@dataclass(frozen=True)
class Pending:
    """A sign-in in progress: the PKCE verifier, and where to go once signed in."""

    verifier: str = field(repr=False)
    return_to: str
    expires_at: float


class _Expiring(Generic[V]):
    """Values by random key, each with its own expiry, at most `limit` of them; thread-safe."""

    def __init__(self, limit: int, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, value: V, expires_at: float) -> str:
        key = secrets.token_urlsafe(TOKEN_BYTES)
        with self._lock:
            self._items[key] = (expires_at, value)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] <= self._clock():
                del self._items[key]
                found = None
        return None if found is None else found[1]

    def pop(self, key: str) -> V | None:
        with self._lock:
            found = self._items.pop(key, None)
        if found is None or found[0] <= self._clock():
            return None
        return found[1]


class Sessions:
    """Sessions and sign-ins in progress."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self._ttl = ttl
        self._clock = clock
        self._sessions: _Expiring[Session] = _Expiring(MAX_SESSIONS, clock)
        self._pending: _Expiring[Pending] = _Expiring(MAX_PENDING, clock)

    def begin_sign_in(self, verifier: str, return_to: str) -> str:
        """The `state` of a new sign-in."""
        expires = self._clock() + PENDING_TTL
        return self._pending.add(Pending(verifier, return_to, expires), expires)

    def finish_sign_in(self, state: str) -> Pending | None:
        """The sign-in `state` began, once; None when unknown, used or expired."""
        return self._pending.pop(state)

    def start(self, token: str, token_expires_at: float) -> tuple[str, Session]:
        """A new session's id (for the cookie) and the session."""
        expires = min(token_expires_at, self._clock() + self._ttl)
        session = Session(token, secrets.token_urlsafe(TOKEN_BYTES), expires)
        return self._sessions.add(session, expires), session

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def end(self, session_id: str) -> None:
        self._sessions.pop(session_id)
