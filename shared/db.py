"""PostgreSQL access: connections, transactions, named queries; psycopg2 errors translated here."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import IO, Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from shared import errors

Connection = psycopg2.extensions.connection
Cursor = psycopg2.extensions.cursor

# A named-query header line in a .sql file: `-- name: insert_app_events`.
_QUERY_HEADER = re.compile(r"^-- name: (?P<name>[a-z_][a-z0-9_]*)\s*$", re.M)
# Seconds to wait for a TCP connection to PostgreSQL before calling it unavailable.
CONNECT_TIMEOUT_SECONDS = 5
# SQLSTATE classes of an OperationalError that mean the server cannot serve now (connection
# exception, insufficient resources, operator intervention, system error). psycopg2 files
# other refusals under OperationalError too (54: an index row too large), which blame the
# statement, not the server.
UNAVAILABLE_CLASSES = ("08", "53", "57", "58")


def connect(
    url: str, *, application_name: str = "paas-billing", readonly: bool = False
) -> Connection:
    """Open a connection (autocommit off); raise DatabaseUnavailable when it cannot."""
    try:
        conn = psycopg2.connect(
            url,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name=application_name,
            # What the bytes this project sends are (the consumer's COPY data), whatever the
            # database's own encoding.
            client_encoding="UTF8",
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
    except psycopg2.Error as exc:
        raise errors.DatabaseUnavailable(
            f"cannot connect to PostgreSQL: {_first_line(exc)}"
        ) from exc
    if readonly:
        conn.set_session(readonly=True)
    return conn


def check_url(url: str) -> None:
    """Raise ConfigError, quoting nothing of the URL, when libpq cannot parse DATABASE_URL
    (an unknown query option, a malformed percent-encoding). Nothing is connected."""
    try:
        psycopg2.extensions.parse_dsn(url)
    except psycopg2.Error:
        raise errors.ConfigError(
            "libpq cannot parse it (an unknown query option?); options such as "
            "?sslmode=require are allowed"
        ) from None


@contextmanager
def transaction(conn: Connection) -> Iterator[Cursor]:
    """A cursor in a transaction: commit on success, roll back on error, errors translated."""
    try:
        with conn.cursor() as cursor:
            yield cursor
        conn.commit()
    except psycopg2.Error as exc:
        _rollback_quietly(conn)
        raise translate(exc) from exc
    except BaseException:
        _rollback_quietly(conn)
        raise


def translate(exc: psycopg2.Error) -> errors.BillingError:
    """Map a psycopg2 error to the project's errors: lost connections are 'unavailable'."""
    code = exc.pgcode or ""
    if isinstance(exc, psycopg2.extensions.QueryCanceledError):
        # A statement timeout is an OperationalError to psycopg2, but the server is fine.
        text = f"PostgreSQL cancelled a statement: {_first_line(exc)}"
        return errors.DatabaseError(text, code)
    if isinstance(exc, psycopg2.extensions.TransactionRollbackError):
        # A deadlock or serialization failure: also an OperationalError to psycopg2, but only
        # this transaction was given up, and running it again may succeed.
        text = f"PostgreSQL rolled back a transaction: {_first_line(exc)}"
        return errors.DatabaseError(text, code)
    if isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError) and (
        not code or code[:2] in UNAVAILABLE_CLASSES
    ):
        return errors.DatabaseUnavailable(f"PostgreSQL connection failed: {_first_line(exc)}")
    return errors.DatabaseError(f"PostgreSQL refused a statement: {_first_line(exc)}", code)


def copy_or_refusal(cursor: Cursor, sql: str, data: IO[bytes]) -> errors.DatabaseError | None:
    """Run a COPY ... FROM STDIN; return PostgreSQL's refusal instead of raising it (so that
    the caller can roll back to a savepoint). A lost connection still raises."""
    try:
        cursor.copy_expert(sql, data)
    except psycopg2.Error as exc:
        error = translate(exc)
        if not isinstance(error, errors.DatabaseError):
            raise error from exc
        error.__cause__ = exc
        return error
    return None


def execute_or_refusal(
    cursor: Cursor, sql: str, params: dict[str, Any] | None = None
) -> errors.DatabaseError | None:
    """Run a statement; return PostgreSQL's refusal instead of raising it (so that the caller
    can roll back to a savepoint). A lost connection still raises."""
    try:
        cursor.execute(sql, params)
    except psycopg2.Error as exc:
        error = translate(exc)
        if not isinstance(error, errors.DatabaseError):
            raise error from exc
        error.__cause__ = exc
        return error
    return None


def is_closed(conn: Connection) -> bool:
    """True when the connection is closed or broken and must be replaced."""
    return bool(conn.closed)


def close_quietly(conn: Connection | None) -> None:
    """Close a connection, ignoring errors from one that is already broken."""
    if conn is None:
        return
    with contextlib.suppress(psycopg2.Error):
        conn.close()


def execute_values(cursor: Cursor, sql: str, rows: list[tuple[Any, ...]], template: str) -> None:
    """Run a multi-row VALUES statement (`VALUES %s` in the SQL) in one round trip."""
    psycopg2.extras.execute_values(cursor, sql, rows, template=template, page_size=len(rows) or 1)


def load_queries(package: str, filename: str) -> dict[str, str]:
    """Read the `-- name: x` blocks of a .sql file shipped in `package` into {name: sql}."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    headers = list(_QUERY_HEADER.finditer(text))
    queries: dict[str, str] = {}
    for index, header in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        queries[header.group("name")] = text[header.end() : end].strip()
    return queries


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _rollback_quietly(conn: Connection) -> None:
    try:
        if not conn.closed:
            conn.rollback()
    except psycopg2.Error:
        pass
