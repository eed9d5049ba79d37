"""The Cloud Controller's usage-event lists (v2 and v3), keyset-paged by after_guid.

Authenticates with a token source (renewed once per call on a 401), and translates
answers into the project's errors: a lost after_guid is CursorLost, 429/5xx and network
trouble are CloudFoundryUnavailable, the rest CloudFoundryRefused.
"""

from __future__ import annotations

from producer import page
from producer.metrics import ProducerMetrics
from producer.uaa import TokenSource
from shared import errors
from shared.states import ApiVersion, EventKind
from shared.transport import Reply, Transport

# List path per (API version, kind).
PATHS = {
    (ApiVersion.V2, EventKind.APP): "/v2/app_usage_events",
    (ApiVersion.V2, EventKind.SERVICE): "/v2/service_usage_events",
    (ApiVersion.V3, EventKind.APP): "/v3/app_usage_events",
    (ApiVersion.V3, EventKind.SERVICE): "/v3/service_usage_events",
}
# Page-size parameter per API version.
LIMIT_PARAMETER = {ApiVersion.V2: "results-per-page", ApiVersion.V3: "per_page"}


class CloudController:
    """Fetches one page of usage events after a guid."""

    def __init__(
        self,
        transport: Transport,
        api_address: str,
        tokens: TokenSource,
        version: ApiVersion,
        metrics: ProducerMetrics,
    ) -> None:
        self._transport = transport
        self._api = api_address
        self._tokens = tokens
        self._version = version
        self._metrics = metrics

    def fetch(self, kind: EventKind, after_guid: str | None, limit: int) -> list[page.FetchedEvent]:
        """Events strictly after `after_guid` (from the oldest when None), in API order."""
        params: dict[str, str | int] = {LIMIT_PARAMETER[self._version]: limit}
        if after_guid is not None:
            params["after_guid"] = after_guid
        url = self._api + PATHS[(self._version, kind)]
        try:
            reply = self._get(url, params)
        except errors.CloudFoundryUnavailable:
            self._metrics.api_errors.labels(kind=kind.value, status="0").inc()
            raise
        if reply.status == 200:
            events = page.parse_page(self._version, reply.body)
            self._metrics.fetched.labels(kind=kind.value).inc(len(events))
            return events
        self._metrics.api_errors.labels(kind=kind.value, status=str(reply.status)).inc()
        raise self._translate(reply, kind, after_guid)

    def event(self, kind: EventKind, guid: str) -> page.FetchedEvent | None:
        """The event with this guid as the API holds it now, or None when it holds none."""
        url = f"{self._api}{PATHS[(self._version, kind)]}/{guid}"
        reply = self._get(url, {})
        if reply.status == 200:
            return page.parse_event(self._version, reply.body)
        if reply.status == 404:
            return None
        self._metrics.api_errors.labels(kind=kind.value, status=str(reply.status)).inc()
        raise self._translate(reply, kind, None)

    def _get(self, url: str, params: dict[str, str | int]) -> Reply:
        reply = self._transport.get(url, params=params, headers=self._auth(self._tokens.token()))
        if reply.status != 401:
            return reply
        # An expired or revoked token: renew once and retry this call.
        return self._transport.get(url, params=params, headers=self._auth(self._tokens.renew()))

    def _translate(self, reply: Reply, kind: EventKind, after_guid: str | None) -> Exception:
        body = page.parse_error(reply.body)
        what = f"GET {PATHS[(self._version, kind)]} answered {reply.status} ({body.text()[:200]})"
        if after_guid is not None and self._is_lost_cursor(reply.status, body, after_guid):
            return errors.CursorLost(after_guid)
        if reply.status == 429 or reply.status >= 500:
            return errors.CloudFoundryUnavailable(what, retry_after=reply.retry_after)
        if reply.status == 401:
            return errors.AuthenticationFailed(f"{what}: a fresh token was refused too")
        if reply.status == 403:
            return errors.CloudFoundryRefused(
                f"{what}: grant the client cloud_controller.admin_read_only "
                "(or admin; global_auditor cannot read v2 app events)"
            )
        return errors.CloudFoundryRefused(what)

    @staticmethod
    def _is_lost_cursor(status: int, body: page.ErrorBody, after_guid: str) -> bool:
        if status == 400:  # v2: CF-BadQueryParameter "The query parameter is invalid: <guid>"
            return body.error_code == "CF-BadQueryParameter" and after_guid in (
                body.description or ""
            )
        if status == 422:  # v3: "After guid filter must be a valid ... usage event guid."
            return any("after guid" in str(e.get("detail", "")).lower() for e in body.errors)
        return False

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"Authorization": f"bearer {token}"}
