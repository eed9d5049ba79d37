"""The UAA's token verification keys, by `kid`: fetched from `<uaa>/token_keys`, cached.

The UAA is found from CF_API_ADDRESS as the producer finds it (`shared.discovery`). A token
naming a kid the cache does not hold makes the keys be fetched again (a rotation), at most
once per refetch interval, so tokens with made-up kids cannot hammer the UAA. Only RSA keys
for RS256 are kept: whatever a token's header says, it is verified as RS256.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
import orjson
import structlog
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, ValidationError

from shared import discovery, errors
from shared.transport import Transport

log = structlog.get_logger()

# The one algorithm tokens are verified with.
ALGORITHM = "RS256"
# Longest kid accepted (UAA's are short names such as `key-1`).
MAX_KID_LENGTH = 200
# Least seconds between two fetches while no key could be had at all.
EMPTY_REFETCH_SECONDS = 1.0


class KeyListing(BaseModel):
    """`GET <uaa>/token_keys`: JWKs (UAA adds `value`, the PEM, which is not used)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    keys: list[dict[str, Any]]


class UnknownKey(errors.InvalidToken):
    """The token names a key the UAA does not list."""


class TokenKeys:
    """RSA public keys by kid; thread-safe."""

    def __init__(
        self,
        transport: Transport,
        api_address: str,
        refetch_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._api = api_address
        self._interval = refetch_interval
        self._clock = clock
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._fetched_at: float | None = None
        self._keys_url: str | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> rsa.RSAPublicKey:
        """The key named `kid`; UnknownKey when the UAA does not list it; the transport's
        CloudFoundryUnavailable when the keys cannot be fetched and none is cached."""
        found = self._keys.get(kid)
        if found is not None:
            return found
        with self._lock:  # one fetch at a time; the others then find its result
            found = self._keys.get(kid)
            if found is None and self._may_fetch():
                self._fetch()
                found = self._keys.get(kid)
        if found is None and not self._keys:
            raise errors.CloudFoundryUnavailable("the UAA's token keys could not be fetched yet")
        if found is None:
            shown = kid[:MAX_KID_LENGTH]
            raise UnknownKey(f"the token names key {shown!r}, which the UAA does not list")
        return found

    def ready(self) -> bool:
        """Health: keys are cached, or can be fetched now."""
        if self._keys:
            return True
        try:
            with self._lock:
                if self._may_fetch():
                    self._fetch()
        except errors.BillingError:
            return False
        return bool(self._keys)

    def _may_fetch(self) -> bool:
        last = self._fetched_at
        interval = self._interval if self._keys else min(self._interval, EMPTY_REFETCH_SECONDS)
        return last is None or self._clock() - last >= interval

    def _fetch(self) -> None:
        self._fetched_at = self._clock()
        url = self._url()
        reply = self._transport.get(url)
        if reply.status != 200:
            raise errors.CloudFoundryUnavailable(f"GET {url} answered {reply.status}")
        try:
            listing = KeyListing.model_validate(orjson.loads(reply.body))
        except (orjson.JSONDecodeError, ValidationError):
            raise errors.CloudFoundryUnavailable(f"GET {url} answered no key list") from None
        keys: dict[str, rsa.RSAPublicKey] = {}
        for jwk in listing.keys:
            kid, usable = jwk.get("kid"), _rsa_key(jwk)
            if isinstance(kid, str) and usable is not None:
                keys[kid] = usable
            else:
                log.warning("token_key_skipped", kid=str(kid), kty=str(jwk.get("kty")))
        self._keys = keys  # replaced whole: a key the UAA dropped no longer verifies
        log.info("token_keys_fetched", url=url, kids=sorted(keys))

    def _url(self) -> str:
        if self._keys_url is None:
            uaa = discovery.uaa_address(self._transport, self._api)
            self._keys_url = uaa.rstrip("/") + "/token_keys"
        return self._keys_url


def _rsa_key(jwk: dict[str, Any]) -> rsa.RSAPublicKey | None:
    """An RSA key meant for RS256 signatures, or None for any other key."""
    if jwk.get("kty") != "RSA" or jwk.get("alg", ALGORITHM) != ALGORITHM:
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    try:
        key = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
    except jwt.PyJWKError:
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None
