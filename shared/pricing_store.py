"""The pricing in PostgreSQL (migration 0010): each applied file, and the one in force.

`apply` stores a validated pricing file and makes its pricing the one in force, as a whole,
unless it is the very file already in force (then nothing changes) or it would change what was
in force during a closed month (then `errors.InvalidPricing` names each such change and
nothing changes). `load` gives the pricing in force to whoever prices usage: the reporter's
bills, `pricing show`, the HTTP API.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
import structlog
from psycopg2.extras import Json

from shared import closed_months, db, errors, pricing

log = structlog.get_logger()

# The named queries of sql/pricing.sql, read once at import.
QUERIES = db.load_queries("shared.sql", "pricing.sql")
# Advisory lock key held while the pricing changes or a month is closed (see `lock`).
PRICING_LOCK_KEY = 7_243_010


class InForce(NamedTuple):
    """The pricing in force and the applied file it came from."""

    file_id: int
    sha256: str
    file_name: str
    applied_at: datetime
    applied_by: str
    since: datetime
    pricing: pricing.Pricing


class Applied(NamedTuple):
    """What `apply` did: `changed` False when the file was already in force."""

    changed: bool
    file_id: int
    sha256: str
    applied_at: datetime


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def lock(cursor: db.Cursor) -> None:
    """Hold the pricing lock until the transaction ends (`bills close` takes it too)."""
    cursor.execute(QUERIES["lock"], {"key": PRICING_LOCK_KEY})


def apply(
    conn: db.Connection, content: bytes, file_name: str, validated: pricing.Pricing
) -> Applied:
    """Store the file and put its pricing in force, in one transaction under the lock."""
    digest = sha256(content)
    with db.transaction(conn) as cursor:
        lock(cursor)
        current = load(cursor)
        if current is not None and current.sha256 == digest:
            return Applied(False, current.file_id, digest, current.applied_at)
        old = current.pricing if current is not None else pricing.empty(validated.currency)
        refused = closed_months.changes(old, validated, closed(cursor))
        if refused:
            raise errors.InvalidPricing(refused)
        cursor.execute(
            QUERIES["insert_file"],
            {
                "file_name": file_name,
                "sha256": digest,
                "content": content.decode("utf-8-sig"),
                "pricing": Json(pricing.to_document(validated), dumps=_dumps),
            },
        )
        row = cursor.fetchone()
        if row is None:
            raise errors.DatabaseError("PostgreSQL stored the pricing file without an id")
        file_id, applied_at = row
        _replace_in_force(cursor, validated, file_id)
    log.info("pricing_applied", file_id=file_id, sha256=digest, file_name=file_name)
    return Applied(True, file_id, digest, _utc(applied_at))


def _dumps(document: Any) -> str:
    return orjson.dumps(document).decode()


def _replace_in_force(cursor: db.Cursor, validated: pricing.Pricing, file_id: int) -> None:
    cursor.execute(QUERIES["clear_in_force"])
    rates = [("currency", r.code, r.valid_from, r.rate) for r in validated.currency_rates]
    rates += [("vat", r.code, r.valid_from, r.rate) for r in validated.vat_rates]
    if rates:
        db.execute_values(cursor, QUERIES["insert_rates"], rates, "(%s, %s, %s, %s)")
    components: list[tuple[Any, ...]] = []
    for version in validated.plans:
        cursor.execute(
            QUERIES["insert_plan_version"],
            {
                **version.model_dump(exclude={"components"}),
                "resource_type": version.resource_type.value,
            },
        )
        version_id = _one(cursor)
        components += [
            (version_id, position, c.name, c.currency, c.vat, c.formula)
            for position, c in enumerate(version.components)
        ]
    if components:
        template = "(%s, %s, %s, %s, %s, %s)"
        db.execute_values(cursor, QUERIES["insert_components"], components, template)
    cursor.execute(QUERIES["set_in_force"], {"file_id": file_id, "currency": validated.currency})


def _one(cursor: db.Cursor) -> Any:
    row = cursor.fetchone()
    if row is None:
        raise errors.DatabaseError("PostgreSQL returned no row where one was expected")
    return row[0]


def load(cursor: db.Cursor) -> InForce | None:
    """The pricing in force, read in the cursor's transaction; None before any apply."""
    cursor.execute(QUERIES["in_force"])
    head = cursor.fetchone()
    if head is None:
        return None
    file_id, digest, file_name, applied_at, applied_by, currency, since = head
    cursor.execute(QUERIES["rates"])
    rates: dict[str, list[pricing.Rate]] = {"currency": [], "vat": []}
    for kind, code, valid_from, rate in cursor.fetchall():
        rates[kind].append(pricing.Rate(code=code, valid_from=_utc(valid_from), rate=rate))
    cursor.execute(QUERIES["components"])
    components: dict[int, list[pricing.Component]] = {}
    for version_id, name, component_currency, vat, text in cursor.fetchall():
        components.setdefault(version_id, []).append(
            pricing.Component(name=name, currency=component_currency, vat=vat, formula=text)
        )
    cursor.execute(QUERIES["plan_versions"])
    versions = [
        pricing.PlanVersion(
            resource_type=pricing.ResourceType(row[1]),
            service_plan_guid=row[2],
            name=row[3],
            valid_from=_utc(row[4]),
            memory_in_mb=row[5],
            storage_in_mb=row[6],
            number_of_nodes=row[7],
            components=tuple(components.get(row[0], ())),
        )
        for row in cursor.fetchall()
    ]
    loaded = pricing.Pricing(
        currency=currency,
        currency_rates=pricing.sort_rates(rates["currency"]),
        vat_rates=pricing.sort_rates(rates["vat"]),
        plans=pricing.sort_plans(versions),
    )
    return InForce(file_id, digest, file_name, _utc(applied_at), applied_by, _utc(since), loaded)


def closed(cursor: db.Cursor) -> list[closed_months.ClosedMonth]:
    """Every closed month, oldest first."""
    cursor.execute(QUERIES["closed_months"])
    return [
        closed_months.ClosedMonth(month, _utc(closed_at)) for month, closed_at in cursor.fetchall()
    ]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
