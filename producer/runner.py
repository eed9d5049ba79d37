"""The producer's loop: each kind polled on its own schedule, one page in hand at a time.

Single-threaded: a due time per kind, and while waiting the broker connection is serviced.
For one page: fetch after the cursor, plan (min-age cut, sequence numbers), publish and
wait for every confirm, and only then save the cursor. Failures are logged and retried:
the API with jittered backoff (transient) or on the default schedule (refused), the broker
and the database with bounded backoff. The cursor never passes an unconfirmed event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from producer import poller
from producer.confirms import Confirms
from producer.cursor import Cursor, CursorStore
from producer.metrics import ProducerMetrics
from producer.page import FetchedEvent
from producer.publisher import Publisher
from shared import errors
from shared.backoff import Backoff
from shared.shutdown import StopSignal
from shared.states import ApiVersion, EventKind

log = structlog.get_logger()

# Seconds between attempts to take the foundation lock that another producer holds.
LOCK_RETRY_SECONDS = 5.0
# Cap of the broker and database reconnect backoff, in seconds.
INFRA_BACKOFF_CAP_SECONDS = 30.0
# A refused call (bad credentials, 403) is retried no sooner than this, whatever the schedule.
MIN_REFUSED_RETRY_SECONDS = 1.0
# Longest single wait slice, so a stop request is noticed promptly.
WAIT_SLICE_SECONDS = 0.25


class EventSource(Protocol):
    """Where pages come from (the Cloud Controller client)."""

    def fetch(self, kind: EventKind, after_guid: str | None, limit: int) -> list[FetchedEvent]: ...

    def event(self, kind: EventKind, guid: str) -> FetchedEvent | None: ...


class Runner:
    """Polls both kinds of one foundation until stopped."""

    def __init__(
        self,
        *,
        foundation: str,
        api_version: ApiVersion,
        fetch_limit: int,
        timing: poller.Timing,
        database_url: str,
        cloud_controller: EventSource,
        publisher: Publisher,
        store: CursorStore,
        metrics: ProducerMetrics,
        stop: StopSignal,
    ) -> None:
        self._foundation = foundation
        self._version = api_version
        self._limit = fetch_limit
        self._timing = timing
        self._database_url = database_url
        self._cf = cloud_controller
        self._publisher = publisher
        self._store = store
        self._metrics = metrics
        self._stop = stop
        self._cursors: dict[EventKind, Cursor] = {}
        # A page sent but not yet confirmed, per kind: its confirms, its cursor, its size and
        # when it was sent.
        self._in_flight: dict[EventKind, tuple[Confirms, Cursor, int, float]] = {}
        # Per kind, the cursor guid when it is a purge-and-reseed row, None when it is not;
        # no entry until the first poll has looked (see _confirm_cursor).
        self._reseed_cursor: dict[EventKind, str | None] = {}
        self._api_backoff = {k: Backoff(cap=self._default_seconds()) for k in EventKind}
        self._infra_backoff = Backoff(cap=INFRA_BACKOFF_CAP_SECONDS)
        self._last_success = time.monotonic()

    def run(self) -> int:
        """Take the foundation lock, then poll until a stop is requested (main() saw to the
        schema before)."""
        self.prepare()
        due = dict.fromkeys(EventKind, 0.0)
        while not self._stop.requested:
            kind = min(due, key=due.__getitem__)
            delay = due[kind] - time.monotonic()
            if delay > 0:
                self._wait(min(delay, WAIT_SLICE_SECONDS))
                continue
            due[kind] = time.monotonic() + self.poll_once(kind)
        log.info("producer_stopping", foundation=self._foundation)
        self._settle_all()
        return 0

    def health_checks(self) -> dict[str, Callable[[], bool]]:
        """For /healthz: broker connection, database connection, a recent successful poll."""
        return {
            "broker": lambda: self._publisher.is_open,
            "database": self._store.healthy,
            "poll": self._polled_recently,
        }

    def prepare(self) -> None:
        """Connect to the broker (declaring the topology), take the lock."""
        self._retry("broker", self._publisher.connect)
        self._take_lock()

    def poll_once(self, kind: EventKind) -> float:
        """Poll one page of `kind`; return the seconds until this kind's next poll."""
        try:
            seconds = self._poll(kind)
        except errors.CloudFoundryUnavailable as exc:
            delay = self._api_backoff[kind].next_delay(exc.retry_after)
            log.warning(
                "cf_api_unavailable", kind=kind.value, error=str(exc), retry_in_s=round(delay, 3)
            )
            return delay
        except errors.CloudFoundryRefused as exc:
            delay = max(self._default_seconds(), MIN_REFUSED_RETRY_SECONDS)
            log.error("cf_api_refused", kind=kind.value, error=str(exc), retry_in_s=round(delay, 3))
            return delay
        except (errors.BrokerUnavailable, errors.PublishFailed) as exc:
            self._publisher.close()
            self._in_flight.clear()
            delay = self._infra_backoff.next_delay()
            log.warning(
                "broker_unavailable",
                kind=kind.value,
                error=str(exc),
                waiting_for="RabbitMQ to accept and confirm the page; cursor not moved",
                retry_in_s=round(delay, 3),
            )
            return delay
        except (errors.DatabaseUnavailable, errors.DatabaseError) as exc:
            log.warning("database_unavailable", kind=kind.value, error=str(exc))
            self._in_flight.clear()
            self._take_lock()
            return 0.0
        except Exception:  # the loop's edge: log with the traceback and keep going
            delay = self._api_backoff[kind].next_delay()
            log.exception("poll_failed", kind=kind.value, retry_in_s=round(delay, 3))
            return delay
        self._api_backoff[kind].reset()
        return seconds

    def _poll(self, kind: EventKind) -> float:
        """Fetch the page after the last page sent, send it, then settle the page before it.

        While the broker confirms one page the next is fetched; a page stays unsettled only
        when this kind is polled again at once (a full page with no minimum wait).
        """
        flight = self._in_flight.get(kind)
        position = flight[1] if flight is not None else self._cursors[kind]
        try:
            self._confirm_cursor(kind, position)
            events = self._cf.fetch(kind, position.after_guid, self._limit)
        except errors.CursorLost as lost:
            self._settle(kind)
            events = self._recover(kind, self._cursors[kind], lost)
            position = self._cursors[kind]
        except BaseException:
            self._settle(kind)
            raise
        now = datetime.now(UTC)
        source = poller.Source(self._foundation, kind, self._version)
        plan = poller.plan(
            events, position, source=source, now=now, fetch_limit=self._limit, timing=self._timing
        )
        for event in plan.implausible:
            log.warning(
                "implausible_created_at",
                kind=kind.value,
                guid=event.guid,
                created_at=repr(event.created_at_text)[:80],
                action="published anyway; the consumer dedupes or dead-letters it",
            )
        sent = None
        if plan.messages:
            sent = (self._publisher.send(plan.messages), plan.cursor, len(plan.messages))
            self._note_reseed_cursor(kind, events[len(plan.messages) - 1])
        self._settle(kind)
        if sent is not None:
            self._in_flight[kind] = (*sent, time.perf_counter())
            if plan.wait > timedelta(0):
                self._settle(kind)
        self._observe(kind, now)
        return plan.wait.total_seconds()

    def _settle(self, kind: EventKind) -> None:
        """Wait for the confirms of this kind's page in flight, then save its cursor."""
        flight = self._in_flight.pop(kind, None)
        if flight is None:
            return
        confirms, cursor, count, sent_at = flight
        self._publisher.wait(confirms)
        self._metrics.confirm_seconds.observe(time.perf_counter() - sent_at)
        self._store.save(kind, cursor)
        self._cursors[kind] = cursor
        self._metrics.published.labels(kind=kind.value).inc(count)
        self._infra_backoff.reset()
        log.debug("page_published", kind=kind.value, count=count, sequence=cursor.sequence)

    def _settle_all(self) -> None:
        """On stop: settle every page in flight; one that fails stays unsaved (resent later)."""
        for kind in list(self._in_flight):
            try:
                self._settle(kind)
            except errors.BillingError as exc:
                log.warning("page_not_settled", kind=kind.value, error=str(exc))
                self._in_flight.clear()

    def _confirm_cursor(self, kind: EventKind, position: Cursor) -> None:
        """Raise CursorLost when the cursor's reseed row was replaced by a later purge's.

        A purge re-emits a running process's (or an instance's) guid as a new row, so a
        cursor on a reseed row survives the next purge: after_guid would then skip the new
        snapshot's rows before it, silently. The row is the same only if its time is.
        """
        guid = position.after_guid
        if guid is None:
            return
        known = kind in self._reseed_cursor
        if known and self._reseed_cursor[kind] != guid:
            return
        now_held = self._cf.event(kind, guid)
        if not known and now_held is not None:
            # First poll since start: learn whether the saved cursor is a reseed row.
            self._note_reseed_cursor(kind, now_held)
            if self._reseed_cursor[kind] != guid:
                return
        if now_held is not None and now_held.created_at != position.last_created_at:
            log.warning(
                "cursor_reseeded",
                kind=kind.value,
                guid=guid,
                read_at=str(position.last_created_at),
                now_at=str(now_held.created_at),
                reason="a later purge and reseed re-emitted the cursor's guid",
            )
            raise errors.CursorLost(guid)

    def _note_reseed_cursor(self, kind: EventKind, last: FetchedEvent) -> None:
        reseed = last.created_at is not None and last.reseed_shaped
        self._reseed_cursor[kind] = last.guid if reseed else None

    def _recover(
        self, kind: EventKind, cursor: Cursor, lost: errors.CursorLost
    ) -> list[FetchedEvent]:
        """The API lost our guid: restart from its oldest event and record the gap."""
        log.error(
            "cursor_lost",
            kind=kind.value,
            lost_guid=lost.guid,
            last_created_at=str(cursor.last_created_at),
            action="restarting from the oldest event the API holds; recording a collection gap",
        )
        events = self._cf.fetch(kind, None, self._limit)
        restarted = poller.restart_after_lost(cursor)
        gap = poller.gap(
            cursor,
            events[0] if events else None,
            f"after_guid {lost.guid} unknown to the API (pruned or purged)",
        )
        self._store.record_gap(kind, gap, restarted)
        self._cursors[kind] = restarted
        log.warning("collection_gap_recorded", kind=kind.value, **gap.model_dump(mode="json"))
        return events

    def _take_lock(self) -> None:
        """Hold the foundation's advisory lock (waiting while another producer has it)."""
        waiting_logged = False
        self._cursors = {}
        while not self._stop.requested:
            try:
                if self._store.try_lock():
                    self._cursors = {kind: self._store.load(kind) for kind in EventKind}
                    log.info("foundation_lock_acquired", foundation=self._foundation)
                    self._infra_backoff.reset()
                    return
                if not waiting_logged:
                    log.warning(
                        "waiting_for_foundation_lock",
                        foundation=self._foundation,
                        reason="another producer for this foundation is running",
                    )
                    waiting_logged = True
                self._wait(LOCK_RETRY_SECONDS)
            except (errors.DatabaseUnavailable, errors.DatabaseError) as exc:
                delay = self._infra_backoff.next_delay()
                log.warning("database_unavailable", error=str(exc), retry_in_s=round(delay, 3))
                self._wait(delay)

    def _retry(self, what: str, action: Callable[[], object]) -> None:
        while not self._stop.requested:
            try:
                action()
                self._infra_backoff.reset()
                return
            except (errors.BrokerUnavailable, errors.DatabaseUnavailable) as exc:
                delay = self._infra_backoff.next_delay()
                log.warning("waiting_for", what=what, error=str(exc), retry_in_s=round(delay, 3))
                self._wait(delay)

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop.requested:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._publisher.idle(min(remaining, WAIT_SLICE_SECONDS))

    def _observe(self, kind: EventKind, now: datetime) -> None:
        self._last_success = time.monotonic()
        self._metrics.last_poll.labels(kind=kind.value).set(time.time())
        created = self._cursors[kind].last_created_at
        if created is not None:
            lag = (now - created).total_seconds()
            self._metrics.cursor_lag.labels(kind=kind.value).set(lag)

    def _polled_recently(self) -> bool:
        allowed = max(3 * self._default_seconds(), 300.0)
        return time.monotonic() - self._last_success < allowed

    def _default_seconds(self) -> float:
        return self._timing.default_schedule.total_seconds()
