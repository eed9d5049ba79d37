"""Finding the UAA from the Cloud Controller's address, as the cf CLI does.

`GET /` links.uaa.href first, else `GET /v2/info` token_endpoint (CF API spec §8.1). The
producer gets its tokens there; the API fetches the keys that verify users' tokens there.
Browsers are sent to sign in at links.login (else authorization_endpoint).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from shared import errors
from shared.transport import Transport


class RootLinks(BaseModel):
    """`GET /` (only what we use)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    links: dict[str, Any]


class V2Info(BaseModel):
    """`GET /v2/info` (only what we use)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    token_endpoint: str | None = None
    authorization_endpoint: str | None = None


def uaa_address(transport: Transport, api_address: str) -> str:
    """UAA's base address: `GET /` links.uaa.href, else `GET /v2/info` token_endpoint."""
    return _advertised(transport, api_address, "uaa", "token_endpoint")


def login_address(transport: Transport, api_address: str) -> str:
    """Where browsers sign in (the UAA's login pages, `/oauth/authorize`): `GET /`
    links.login.href, else `GET /v2/info` authorization_endpoint. A foundation may give
    browsers a different address from the one its services use (a public route beside an
    internal one); tokens are still fetched from `uaa_address`."""
    return _advertised(transport, api_address, "login", "authorization_endpoint")


def _advertised(transport: Transport, api_address: str, link: str, info_field: str) -> str:
    root = transport.get(api_address + "/")
    if root.status == 200:
        try:
            found = RootLinks.model_validate(orjson.loads(root.body)).links.get(link)
            if isinstance(found, dict) and isinstance(found.get("href"), str):
                return str(found["href"])
        except (orjson.JSONDecodeError, ValidationError):
            pass
    elif root.status == 429 or root.status >= 500:
        raise errors.CloudFoundryUnavailable(f"GET / answered {root.status}", root.retry_after)
    info = transport.get(api_address + "/v2/info")
    if info.status == 200:
        try:
            endpoint = getattr(V2Info.model_validate(orjson.loads(info.body)), info_field)
        except (orjson.JSONDecodeError, ValidationError):
            endpoint = None
        if endpoint:
            return str(endpoint)
    elif info.status == 429 or info.status >= 500:
        raise errors.CloudFoundryUnavailable(
            f"GET /v2/info answered {info.status}", info.retry_after
        )
    raise errors.CloudFoundryRefused(
        f"cannot find the {link} address: neither GET / links.{link} nor GET /v2/info "
        f"{info_field} at {api_address} (check CF_API_ADDRESS)"
    )
