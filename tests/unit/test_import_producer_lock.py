"""The import takes the producer's own per-foundation lock: the two queries name one key."""

from __future__ import annotations

import re

from shared import db

# The key expression of a per-foundation producer lock.
KEY = re.compile(r"hashtextextended\('paas-billing-producer/' \|\| %\(foundation\)s, 0\)")


def test_import_producer_lock_is_the_producers_lock() -> None:
    producer = db.load_queries("producer.sql", "cursor.sql")
    importing = db.load_queries("paas_billing.sql", "import.sql")
    assert KEY.search(producer["try_lock"]) and KEY.search(producer["unlock"])
    assert KEY.search(importing["producer_lock"]) and KEY.search(importing["producer_unlock"])
    assert "pg_try_advisory_lock(" in producer["try_lock"]
    assert "pg_try_advisory_lock(" in importing["producer_lock"]
