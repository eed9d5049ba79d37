"""The API as a UAA client: the authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636).

`authorize_url` is where a browser is sent to sign in, with a `state` that `sessions` ties to
that browser and a PKCE challenge; `exchange` trades the code the UAA sends back for the
user's access token, with the client's own credentials. The UAA is found from
CF_API_ADDRESS as the producer and the token keys find it (`shared.discovery`); browsers are
sent to its login address (links.login), which a foundation may publish under another name.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import orjson
import structlog
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from shared import discovery, errors
from shared.transport import Transport

log = structlog.get_logger()

# Where the UAA sends the browser back, under the dashboard's address.
CALLBACK_PATH = "/auth/callback"
# Random bytes of a PKCE verifier (64 characters once encoded; RFC 7636 asks 43 to 128).
VERIFIER_BYTES = 48


class TokenReply(BaseModel):
    """`POST <uaa>/oauth/token` (only what is used)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    access_token: SecretStr


class CodeRefused(errors.InvalidToken):
    """The UAA refused the sign-in's code (expired, used, or not this client's)."""


def new_verifier() -> str:
    return secrets.token_urlsafe(VERIFIER_BYTES)


def challenge(verifier: str) -> str:
    """The S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class UaaClient:
    """The dashboard's UAA client; thread-safe (the UAA address is found once)."""

    def __init__(
        self,
        transport: Transport,
        api_address: str,
        client_id: str,
        client_secret: SecretStr,
        dashboard_url: str,
    ) -> None:
        self._transport = transport
        self._api = api_address
        self._client_id = client_id
        self._secret = client_secret
        self.redirect_uri = dashboard_url.rstrip("/") + CALLBACK_PATH
        self._uaa: str | None = None
        self._login: str | None = None

    def authorize_url(self, state: str, verifier: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": self.redirect_uri,
                "state": state,
                "code_challenge": challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{self._login_address()}/oauth/authorize?{query}"

    def exchange(self, code: str, verifier: str) -> str:
        """The user's access token for a code. CodeRefused when the UAA refuses the code,
        CloudFoundryRefused when it refuses this client, CloudFoundryUnavailable when it
        cannot answer."""
        url = self._address() + "/oauth/token"
        reply = self._transport.post_form(
            url,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            },
            auth=(self._client_id, self._secret.get_secret_value()),
        )
        if reply.status == 400:
            log.warning("sign_in_code_refused", status=reply.status)
            raise CodeRefused("the UAA refused the sign-in; sign in again")
        if reply.status == 401:
            log.error("dashboard_client_refused", client_id=self._client_id)
            raise errors.CloudFoundryRefused(
                "the UAA refused the dashboard's client (check DASHBOARD_CLIENT_ID and "
                "DASHBOARD_CLIENT_SECRET)"
            )
        if reply.status != 200:
            raise errors.CloudFoundryUnavailable(f"POST {url} answered {reply.status}")
        try:
            token = TokenReply.model_validate(orjson.loads(reply.body)).access_token
        except (orjson.JSONDecodeError, ValidationError):
            raise errors.CloudFoundryUnavailable(f"POST {url} answered no token") from None
        return token.get_secret_value()

    def _address(self) -> str:
        """Where the API itself reaches the UAA (tokens)."""
        if self._uaa is None:
            self._uaa = discovery.uaa_address(self._transport, self._api).rstrip("/")
        return self._uaa

    def _login_address(self) -> str:
        """Where browsers reach the UAA's sign-in pages (links.login)."""
        if self._login is None:
            self._login = discovery.login_address(self._transport, self._api).rstrip("/")
        return self._login
