"""Bearer tokens for the Cloud Controller: a static CF_TOKEN, or grants from UAA.

UAA is found through the API (`shared.discovery`).
A token is cached until `expires_in` minus a margin; renew() replaces it after a 401.
The password grant keeps its refresh token and falls back to a full grant when that fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import orjson
import structlog
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from producer import settings
from shared import discovery, errors
from shared.transport import Reply, Transport

log = structlog.get_logger()

# Renew this long before expiry at most (seconds) ...
MAX_RENEW_MARGIN_SECONDS = 60.0
# ... and at most this fraction of the token's lifetime (short-lived tokens).
RENEW_MARGIN_FRACTION = 0.2
# The cf CLI's public client used by the password grant.
PASSWORD_CLIENT = ("cf", "")


class TokenSource(Protocol):
    def token(self) -> str: ...

    def renew(self) -> str: ...


class TokenResponse(BaseModel):
    """`POST /oauth/token` 200 body (only what we use)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    access_token: SecretStr
    token_type: str = "bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: float | None = None
    refresh_token: SecretStr | None = None


class StaticToken:
    """CF_TOKEN as given: nothing to renew."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token

    def renew(self) -> str:
        raise errors.AuthenticationFailed(
            "the API refused CF_TOKEN (expired or missing scopes): set a fresh CF_TOKEN, or "
            "unset it and set CF_CLIENT_ID/CF_CLIENT_SECRET so tokens can be renewed"
        )


def renew_margin(expires_in: float) -> float:
    """Seconds before expiry at which a token is renewed."""
    return min(MAX_RENEW_MARGIN_SECONDS, expires_in * RENEW_MARGIN_FRACTION)


class UaaTokens:
    """Tokens from UAA with one grant (client credentials or password), cached and renewed."""

    def __init__(
        self,
        transport: Transport,
        api_address: str,
        form: dict[str, str],
        client: tuple[str, str],
        fix_hint: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._api = api_address
        self._form = form
        self._client = client
        self._fix_hint = fix_hint
        self._clock = clock
        self._token_url: str | None = None
        self._access: str | None = None
        self._renew_at = 0.0
        self._refresh: str | None = None

    def token(self) -> str:
        if self._access is None or self._clock() >= self._renew_at:
            return self.renew()
        return self._access

    def renew(self) -> str:
        self._access = None
        if self._refresh is not None:
            try:
                return self._obtain({"grant_type": "refresh_token", "refresh_token": self._refresh})
            except errors.AuthenticationFailed:
                log.info("uaa_refresh_refused", action="full grant")
                self._refresh = None
        return self._obtain(self._form)

    def _obtain(self, form: dict[str, str]) -> str:
        reply = self._transport.post_form(self._url(), form, auth=self._client)
        if reply.status != 200:
            raise self._refusal(reply, form["grant_type"])
        try:
            answer = TokenResponse.model_validate(orjson.loads(reply.body))
        except (orjson.JSONDecodeError, ValidationError):
            raise errors.CloudFoundryUnavailable(
                "UAA returned a malformed token response"
            ) from None
        lifetime = answer.expires_in if answer.expires_in is not None else 600.0
        self._access = answer.access_token.get_secret_value()
        self._renew_at = self._clock() + lifetime - renew_margin(lifetime)
        if answer.refresh_token is not None:
            self._refresh = answer.refresh_token.get_secret_value()
        log.info("uaa_token_obtained", grant=form["grant_type"], expires_in=lifetime)
        return self._access

    def _refusal(self, reply: Reply, grant: str) -> errors.BillingError:
        if reply.status == 429 or reply.status >= 500:
            return errors.CloudFoundryUnavailable(
                f"UAA answered {reply.status} to the {grant} grant", retry_after=reply.retry_after
            )
        if reply.status in (400, 401, 403):
            return errors.AuthenticationFailed(
                f"UAA refused the {grant} grant ({reply.status}): {self._fix_hint}"
            )
        return errors.CloudFoundryRefused(f"UAA answered {reply.status} to the {grant} grant")

    def _url(self) -> str:
        if self._token_url is None:
            uaa = discovery.uaa_address(self._transport, self._api)
            self._token_url = uaa.rstrip("/") + "/oauth/token"
            log.info("uaa_discovered", token_url=self._token_url)
        return self._token_url


def token_source(config: settings.ProducerSettings, transport: Transport) -> TokenSource:
    """The token source the contract's order of preference picks."""
    method = settings.auth_method(config)
    api = config.cf_api_address
    if method is settings.AuthMethod.STATIC_TOKEN:
        assert config.cf_token is not None
        return StaticToken(config.cf_token.get_secret_value())
    if method is settings.AuthMethod.CLIENT_CREDENTIALS:
        assert config.cf_client_id is not None and config.cf_client_secret is not None
        return UaaTokens(
            transport,
            api,
            {"grant_type": "client_credentials"},
            (config.cf_client_id, config.cf_client_secret.get_secret_value()),
            "check CF_CLIENT_ID and CF_CLIENT_SECRET",
        )
    assert config.cf_username is not None and config.cf_password is not None
    return UaaTokens(
        transport,
        api,
        {
            "grant_type": "password",
            "username": config.cf_username,
            "password": config.cf_password.get_secret_value(),
        },
        PASSWORD_CLIENT,
        "check CF_USERNAME and CF_PASSWORD",
    )
