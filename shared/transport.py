"""HTTP to the Cloud Controller and UAA: one requests.Session, errors translated here.

The producer fetches usage events through it; the API fetches UAA keys and users' roles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
import structlog
import urllib3

from shared import errors

log = structlog.get_logger()

# Seconds to wait for a TCP connection, then for the response. Together well under two AMQP
# heartbeats (60 s), since the broker connection is not serviced during a request.
CONNECT_TIMEOUT_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 30.0
# Connections kept per host (requests' default); threads beyond it open throw-away ones.
DEFAULT_POOL_SIZE = 10


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: status, body, and Retry-After in seconds when the server sent one."""

    status: int
    body: bytes
    retry_after: float | None


class Transport:
    """GET and form POST with the user agent and TLS choice; connection problems raise
    CloudFoundryUnavailable naming the address."""

    def __init__(
        self, user_agent: str, *, verify_tls: bool = True, pool_size: int = DEFAULT_POOL_SIZE
    ) -> None:
        self._session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers["User-Agent"] = user_agent
        self._session.headers["Accept"] = "application/json"
        self._session.verify = verify_tls
        # requests re-reads the proxy environment on every call (about 1 ms each); read it
        # once per host instead (HTTP(S)_PROXY and NO_PROXY still apply).
        self._session.trust_env = False
        self._proxies: dict[str, dict[str, str]] = {}
        if not verify_tls:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            log.warning("tls_verification_disabled", setting="CF_SKIP_SSL_VALIDATION")

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        return self._send("GET", url, params=params, headers=headers)

    def post_form(
        self,
        url: str,
        form: Mapping[str, str],
        *,
        auth: tuple[str, str] | None = None,
    ) -> Reply:
        return self._send("POST", url, data=form, auth=auth)

    def close(self) -> None:
        self._session.close()

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Reply:
        origin = url.split("/", 3)[:3]
        key = "/".join(origin)
        proxies = self._proxies.get(key)
        if proxies is None:
            proxies = self._proxies[key] = requests.utils.get_environ_proxies(key)
        try:
            response = self._session.request(
                method,
                url,
                proxies=proxies,
                params=params,
                headers=headers,
                data=data,
                auth=auth,
                timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
                allow_redirects=False,
            )
            body = response.content
        except requests.RequestException as exc:
            raise errors.CloudFoundryUnavailable(
                f"{method} {url.split('?')[0]} failed: {type(exc).__name__}{_tls_reason(exc)}"
            ) from exc
        return Reply(response.status_code, body, retry_after(response.headers.get("Retry-After")))


def _tls_reason(exc: requests.RequestException) -> str:
    """Why a TLS handshake failed, e.g. an untrusted certificate (empty for other errors)."""
    if not isinstance(exc, requests.exceptions.SSLError):
        return ""
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return " (the CF API's TLS certificate is not trusted; CF_SKIP_SSL_VALIDATION is off)"
    return " (TLS handshake failed)"


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
