"""Authorization codes of the UAA's authorization-code flow (RFC 6749 §4.1, PKCE RFC 7636).

The login page (`simulator.login`) issues a code when a user signs in; the client exchanges
it once at `/oauth/token` (`grant_type=authorization_code`) with the same `redirect_uri`, its
own credentials and, when the authorization request carried a `code_challenge`, the
`code_verifier`. A code lives five minutes, as on a real UAA, and is gone once redeemed, even
when the exchange fails.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

# How long a code may wait to be exchanged, in seconds (UAA: 5 minutes).
CODE_TTL = 300.0
# PKCE methods UAA accepts.
CHALLENGE_METHODS = ("S256", "plain")


@dataclass(frozen=True)
class Code:
    """What a code was issued for."""

    client_id: str
    redirect_uri: str
    username: str
    scopes: frozenset[str]
    challenge: str | None
    method: str
    expires_at: float


class Refused(Exception):
    """The code cannot be exchanged; the message is the `error_description`."""


class Codes:
    """Issued, not yet redeemed codes; thread-safe."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._codes: dict[str, Code] = {}
        self._lock = threading.Lock()

    def issue(self, code: Code) -> str:
        value = secrets.token_urlsafe(24)
        with self._lock:
            now = self._clock()
            self._codes = {k: c for k, c in self._codes.items() if c.expires_at > now}
            self._codes[value] = code
        return value

    def redeem(self, value: str, client_id: str, redirect_uri: str, verifier: str | None) -> Code:
        """The code's grant, once; Refused saying why otherwise."""
        with self._lock:
            code = self._codes.pop(value, None)
        if code is None or code.expires_at <= self._clock():
            raise Refused("Invalid authorization code")
        if code.client_id != client_id:
            raise Refused("Invalid authorization code: issued to another client")
        if code.redirect_uri != redirect_uri:
            raise Refused("Redirect URI mismatch.")
        if code.challenge is not None and not _verified(code.challenge, code.method, verifier):
            raise Refused("Invalid code verifier")
        return code


def _verified(challenge: str, method: str, verifier: str | None) -> bool:
    if not verifier:
        return False
    if method == "plain":
        return hmac.compare_digest(challenge, verifier)
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(challenge, expected)
