"""Finding the UAA from the Cloud Controller's address, as the cf CLI does.

`GET /` links.uaa.href first, else `GET /v2/info` token_endpoint (CF API spec §8.1). The
producer gets its tokens there; the API fetches the keys that verify users' tokens there.
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


def uaa_address(transport: Transport, api_address: str) -> str:
    """UAA's base address: `GET /` links.uaa.href, else `GET /v2/info` token_endpoint."""
    root = transport.get(api_address + "/")
    if root.status == 200:
        try:
            uaa = RootLinks.model_validate(orjson.loads(root.body)).links.get("uaa")
            if isinstance(uaa, dict) and isinstance(uaa.get("href"), str):
                return str(uaa["href"])
        except (orjson.JSONDecodeError, ValidationError):
            pass
    elif root.status == 429 or root.status >= 500:
        raise errors.CloudFoundryUnavailable(f"GET / answered {root.status}", root.retry_after)
    info = transport.get(api_address + "/v2/info")
    if info.status == 200:
        try:
            endpoint = V2Info.model_validate(orjson.loads(info.body)).token_endpoint
        except (orjson.JSONDecodeError, ValidationError):
            endpoint = None
        if endpoint:
            return endpoint
    elif info.status == 429 or info.status >= 500:
        raise errors.CloudFoundryUnavailable(
            f"GET /v2/info answered {info.status}", info.retry_after
        )
    raise errors.CloudFoundryRefused(
        f"cannot find UAA: neither GET / links.uaa nor GET /v2/info token_endpoint at "
        f"{api_address} (check CF_API_ADDRESS)"
    )
