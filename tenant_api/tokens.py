"""Who is asking: a UAA access token from the Authorization header, verified.

The token must be a JWT signed RS256 with the UAA key its header names, unexpired, and an
access token (a UAA refresh token, whose jti ends in `-r`, is refused as the Cloud
Controller refuses it). The header's own `alg` is only compared with RS256, never used to
pick an algorithm. The claims are read through one schema (`Claims`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from shared import errors
from tenant_api.token_keys import ALGORITHM, MAX_KID_LENGTH

# Largest token accepted, in characters (UAA tokens are 1-4 KB).
MAX_TOKEN_LENGTH = 16_384
# Seconds of clock difference with the UAA tolerated on exp, nbf and iat.
LEEWAY_SECONDS = 5
# Scopes that read every org (CONTRACT "HTTP API").
GLOBAL_READ_SCOPES = frozenset(
    {
        "cloud_controller.admin",
        "cloud_controller.admin_read_only",
        "cloud_controller.global_auditor",
    }
)


class KeySource(Protocol):
    def key(self, kid: str) -> rsa.RSAPublicKey: ...


class Claims(BaseModel):
    """The claims of a UAA access token that the API uses."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    exp: float
    jti: str | None = None
    scope: tuple[str, ...] = ()
    user_id: str | None = None
    user_name: str | None = None
    client_id: str | None = None
    cid: str | None = None

    @field_validator("scope", mode="before")
    @classmethod
    def _scopes(cls, value: object) -> object:
        return value.split() if isinstance(value, str) else value


@dataclass(frozen=True)
class Caller:
    """A verified token's holder. `subject` is whom the Cloud Controller knows them as: the
    user id, or the client id of a client-credentials token."""

    subject: str
    user_id: str | None
    client_id: str | None
    scopes: frozenset[str]
    token: str = field(repr=False)
    user_name: str | None = None  # what the dashboard calls them
    expires_at: float | None = None  # the token's exp (seconds since the epoch)

    @property
    def reads_every_org(self) -> bool:
        return bool(self.scopes & GLOBAL_READ_SCOPES)


def bearer(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive)."""
    if not header:
        raise errors.InvalidToken("no bearer token: send Authorization: Bearer <UAA access token>")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise errors.InvalidToken("the Authorization header is not 'Bearer <token>'")
    if len(token) > MAX_TOKEN_LENGTH:
        raise errors.InvalidToken(f"the token is longer than {MAX_TOKEN_LENGTH} characters")
    return token


def verify(token: str, keys: KeySource) -> Caller:
    """The caller a token stands for; InvalidToken saying why it does not verify."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise errors.InvalidToken("the token is not a JWT") from None
    if header.get("alg") != ALGORITHM:
        raise errors.InvalidToken(f"the token is not signed {ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise errors.InvalidToken("the token names no signing key (kid)")
    key = keys.key(kid)
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise errors.InvalidToken("the token has expired") from None
    except jwt.InvalidSignatureError:
        raise errors.InvalidToken("the token's signature does not verify") from None
    except jwt.InvalidTokenError as exc:
        raise errors.InvalidToken(f"the token is not acceptable: {exc}") from None
    return _caller(payload, token)


def _caller(payload: dict[str, object], token: str) -> Caller:
    try:
        claims = Claims.model_validate(payload)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise errors.InvalidToken(f"the token's claim {where} is malformed") from None
    if claims.jti is not None and claims.jti.endswith("-r"):
        raise errors.InvalidToken("a refresh token is not an access token")
    client_id = claims.client_id or claims.cid
    subject = claims.user_id or client_id
    if not subject:
        raise errors.InvalidToken("the token names neither a user nor a client")
    return Caller(
        subject,
        claims.user_id,
        client_id,
        frozenset(claims.scope),
        token,
        claims.user_name,
        claims.exp,
    )
