"""The event table: keyset pages, late commits, purge and prune."""

from __future__ import annotations

import pytest

from simulator.clock import ManualClock
from simulator.rows import ServiceContext, ServiceRow
from simulator.store import Table, UnknownGuid

CTX = ServiceContext(
    "org",
    "space",
    "dev",
    "si",
    "db",
    "managed_service_instance",
    "plan",
    "small",
    "svc",
    "postgres",
    "broker",
    "broker-guid",
)


def row(n: int, created: int = 1000) -> ServiceRow:
    return ServiceRow(f"guid-{n}", created + n, "CREATED", CTX)


def guids(rows: list[ServiceRow]) -> list[str]:
    return [r.guid for r in rows]


def test_store_page_after_guid_is_strictly_after_in_id_order() -> None:
    table: Table[ServiceRow] = Table(ManualClock(0).now)
    table.extend(row(n) for n in range(10))
    total, page = table.page("guid-3", 0, 4)
    assert total == 6 and guids(page) == ["guid-4", "guid-5", "guid-6", "guid-7"]
    total, page = table.page(None, 8, 4)
    assert total == 10 and guids(page) == ["guid-8", "guid-9"]
    _, page = table.page("guid-3", 0, 2, descending=True)
    assert guids(page) == ["guid-9", "guid-8"]
    with pytest.raises(UnknownGuid):
        table.page("nope", 0, 1)


def test_store_late_row_is_invisible_until_its_commit_time() -> None:
    clock = ManualClock(100.0)
    table: Table[ServiceRow] = Table(clock.now)
    table.extend(row(n) for n in range(3))
    table.append(row(3), visible_at=103.0)
    table.append(row(4))
    total, page = table.page("guid-2", 0, 10)
    assert total == 1 and guids(page) == ["guid-4"]
    with pytest.raises(UnknownGuid):
        table.page("guid-3", 0, 10)
    clock.advance(3)
    total, page = table.page("guid-2", 0, 10)
    assert total == 2 and guids(page) == ["guid-3", "guid-4"]


def test_store_prune_keeps_the_newest_row_even_when_old() -> None:
    table: Table[ServiceRow] = Table(ManualClock(0).now)
    table.extend(row(n) for n in range(5))
    assert table.prune(cutoff=1003) == 3
    assert guids(table.page(None, 0, 10)[1]) == ["guid-3", "guid-4"]
    with pytest.raises(UnknownGuid):
        table.get("guid-0")
    assert table.prune(cutoff=10**9) == 1
    assert guids(table.page(None, 0, 10)[1]) == ["guid-4"]
    assert table.page("guid-4", 0, 10) == (0, [])


def test_store_purge_forgets_every_cursor_and_keeps_the_id_sequence() -> None:
    table: Table[ServiceRow] = Table(ManualClock(0).now)
    table.extend(row(n) for n in range(3))
    table.purge([row(7), row(8)])
    with pytest.raises(UnknownGuid):
        table.get("guid-1")
    assert guids(table.page(None, 0, 10)[1]) == ["guid-7", "guid-8"]
    assert table.append(row(9)) == 6  # ids continue after the truncated rows
