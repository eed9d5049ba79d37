"""`paas-billing demo`: the whole system without Docker, in one terminal.

Starts the simulator, producer, consumer(s), reporter and HTTP API as child processes against
PostgreSQL and RabbitMQ (DATABASE_URL and AMQP_URL when set, else the local servers), shows
a live line of events fetched and stored, prints a first report and a first bill once the
simulated history is in, how to call the API as each demo user and the dashboard's address
(`demo_users`), and stops everything cleanly on Ctrl-C. The demo database gets the sample
pricing of the simulator's marketplace (`demo_pricing.json`). What it creates, empties and
keeps is in DESCRIPTION.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import orjson
import psycopg2
from psycopg2 import sql
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from paas_billing import children, demo_users, progress
from reporter import client, report_render
from shared import amqp, db, errors, migrate, pricing_file, pricing_store, settings, topology
from shared import logging as shared_logging
from simulator import accounts

# The local services of a development machine (trust auth, guest/guest).
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432"
LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/%2f"
# The database the demo recreates on every run.
DEMO_DATABASE = "paas_billing_demo"
# Minimum event age for the demo's producer: above the simulator's late-commit delay (3s).
DEMO_RECORD_MIN_AGE = "10s"
# The sample pricing of the simulator's marketplace, shipped in this package.
DEMO_PRICING = "demo_pricing.json"
_QUERIES = db.load_queries("paas_billing.sql", "demo.sql")


DESCRIPTION = f"""Run the simulator, producer, consumers, reporter and HTTP API as child
processes (no Docker); Ctrl-C stops them all.

Where: DATABASE_URL and AMQP_URL when set, else PostgreSQL at {LOCAL_POSTGRES} (trust) and
RabbitMQ at {LOCAL_AMQP} (guest).

What it creates, empties and keeps:
  - without DATABASE_URL it DROPS and recreates the database {DEMO_DATABASE}; with it, it uses
    that database as it is (it must hold no usage events) and never drops it;
  - it migrates the database and puts the sample pricing in force;
  - it declares the queues in AMQP_URL's vhost and EMPTIES usage_events and
    usage_events.dead_letters there;
  - it writes the children's logs to a new folder under the temporary directory;
  - after it stops it KEEPS the database, the queues and the logs, for a look (it says
    where); remove them yourself when done."""


class DemoSettings(BaseSettings):
    """The demo's environment: where to run, the local servers when unset."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    database_url: settings.PostgresUrl | None = None
    amqp_url: settings.AmqpUrl = Field(default=LOCAL_AMQP)

    def demo_database_url(self) -> str:
        return self.database_url or f"{LOCAL_POSTGRES}/{DEMO_DATABASE}"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paas-billing demo",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--events", type=int, default=20_000, metavar="N", help="size of the simulated history"
    )
    p.add_argument(
        "--consumers", type=int, default=2, metavar="N", help="how many consumers to run"
    )
    p.add_argument("--seed", type=int, default=1, metavar="N", help="seed of the history")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = settings.load(DemoSettings)
    shared_logging.configure("WARNING")
    database_url = config.demo_database_url()
    try:
        if config.database_url is None:
            recreate_local_database()
        prepare(database_url, config.amqp_url)
        applied = apply_pricing(database_url)
    except (psycopg2.Error, OSError, errors.BillingError) as exc:
        print(f"demo: cannot prepare the database or the broker: {exc}".strip(), file=sys.stderr)
        return 1
    print(
        f"demo: sample pricing in force ({DEMO_PRICING}, sha256 {applied.sha256[:12]}); "
        f"DATABASE_URL={shared_logging.redact_text(database_url)} paas-billing pricing show"
    )
    logs = Path(tempfile.mkdtemp(prefix="paas-billing-demo-"))
    print(f"demo: logs in {logs}")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda _s, _f: stop.set())
    signal.signal(signal.SIGTERM, lambda _s, _f: stop.set())
    running = children.Children(logs)
    try:
        return run(args, database_url, config.amqp_url, running, stop)
    finally:
        codes = running.stop_all()
        print(f"\ndemo: stopped ({', '.join(f'{k} {v}' for k, v in codes.items())})")
        print(
            f"demo: kept for a look: the database ({shared_logging.redact_text(database_url)}), "
            f"the queues of {shared_logging.redact_text(config.amqp_url)} and the logs in "
            f"{logs}; remove them when done"
        )


def recreate_local_database() -> None:
    """Drop and create the local demo database (only when DATABASE_URL is not set)."""
    admin = psycopg2.connect(f"{LOCAL_POSTGRES}/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        name = sql.Identifier(DEMO_DATABASE)
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
    admin.close()


def prepare(database_url: str, amqp_url: str) -> None:
    """Migrate the database (refusing one that holds events) and empty the demo's queues."""
    migrate.apply(database_url)
    conn = db.connect(database_url, application_name="paas-billing-demo")
    try:
        with db.transaction(conn) as cursor:
            cursor.execute(_QUERIES["stored_counts"])
            held = cursor.fetchone() or (0, 0)
    finally:
        db.close_quietly(conn)
    if any(held):
        raise errors.ConfigError(
            f"the database already holds {held[0]} app and {held[1]} service usage events; "
            "give the demo an empty one (or unset DATABASE_URL for a local demo database)"
        )
    connection = amqp.connect(amqp_url, name="paas-billing-demo")
    try:
        channel = connection.channel()
        topology.declare_events(channel)
        channel.queue_purge(topology.EVENTS_QUEUE)
        channel.queue_purge(topology.DEAD_LETTER_QUEUE)
    finally:
        amqp.close_quietly(connection)


def apply_pricing(database_url: str) -> pricing_store.Applied:
    """Put the sample pricing in force: per-second apps, tasks and staging in USD billed in
    GBP, hourly service plans with storage (docs/pricing.md explains it)."""
    content = resources.files("paas_billing").joinpath(DEMO_PRICING).read_bytes()
    conn = db.connect(database_url, application_name="paas-billing-demo")
    try:
        return pricing_store.apply(conn, content, DEMO_PRICING, pricing_file.parse(content))
    finally:
        db.close_quietly(conn)


def run(
    args: argparse.Namespace,
    database_url: str,
    amqp_url: str,
    running: children.Children,
    stop: threading.Event,
) -> int:
    ready = running.logs / "simulator.url"
    running.start(
        "simulator",
        "simulator",
        {},
        "--port",
        "0",
        "--ready-file",
        str(ready),
        "--events",
        str(args.events),
        "--seed",
        str(args.seed),
        "--live-rate",
        "1",
        "--users",
        str(demo_users.users_file(running.logs)),
    )
    if not progress.wait_for(lambda: ready.exists() and ready.read_text().strip(), stop, running):
        return 1
    cf_url = ready.read_text().strip()
    print(f"demo: simulator at {cf_url}")
    base = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "INFO"}
    ports = {name: free_port() for name in ("producer", "consumer", "api")}
    running.start(
        "producer",
        "producer",
        {
            **base,
            "METRICS_PORT": str(ports["producer"]),
            "CF_API_ADDRESS": cf_url,
            "CF_CLIENT_ID": "paas-billing",
            "CF_CLIENT_SECRET": "paas-billing-secret",
            "COLLECTOR_RECORD_MIN_AGE": DEMO_RECORD_MIN_AGE,
            "COLLECTOR_MIN_WAIT_TIME": "0s",
            "COLLECTOR_DEFAULT_SCHEDULE": "2s",
            "COLLECTOR_FETCH_LIMIT": "100",
        },
    )
    for index in range(args.consumers):
        env = {**base, "METRICS_PORT": str(ports["consumer"])} if index == 0 else base
        running.start(f"consumer-{index + 1}", "consumer", env)
    running.start("reporter", "reporter", base)
    api_env = {"DATABASE_URL": database_url, "CF_API_ADDRESS": cf_url, "LOG_LEVEL": "INFO"}
    running.start("api", "tenant_api", {**api_env, **dashboard_env(ports["api"]),
                                         "API_HOST": "127.0.0.1",
                                         "API_PORT": str(ports["api"])})  # fmt: skip
    meter = progress.Meter(database_url, ports["producer"])
    if not meter.until_stored(args.events, stop, running):
        return 0 if stop.is_set() else 1
    window, org = print_first_report(amqp_url)
    print_first_bill(amqp_url, window)
    if org is not None:
        demo_users.make_billing_manager(cf_url, org)
        print(
            "\n" + demo_users.instructions(cf_url, f"http://127.0.0.1:{ports['api']}", org, window)
        )
    meter.until_stopped(stop, running)
    return 0 if stop.is_set() else 1


def dashboard_env(port: int) -> dict[str, str]:
    """The API's dashboard settings: the simulator's dashboard client, this address."""
    return {
        "DASHBOARD_CLIENT_ID": accounts.DASHBOARD_CLIENT[0],
        "DASHBOARD_CLIENT_SECRET": accounts.DASHBOARD_CLIENT[1],
        "DASHBOARD_URL": f"http://127.0.0.1:{port}",
    }


def print_first_report(amqp_url: str) -> tuple[tuple[str, str], str | None]:
    """Print usage per org over the last 31 days; the window and the first org named."""
    now = datetime.now(UTC).replace(microsecond=0)
    window = ((now - timedelta(days=31)).isoformat(), now.isoformat())
    body = orjson.dumps({"from": window[0], "to": window[1], "group_by": "org"})
    reply = client.call(amqp_url, body, timeout=60)
    if reply is None or reply.get("status") != "ok":
        print(f"\ndemo: the first report failed: {reply}", file=sys.stderr)
        return window, None
    print("\n\nFirst report: usage per org over the last 31 days\n")
    print(report_render.render(reply["report"], "table"))
    orgs = [row["org_guid"] for row in reply["report"]["rows"] if row.get("org_guid")]
    return window, (orgs[0] if orgs else None)


def print_first_bill(amqp_url: str, window: tuple[str, str]) -> None:
    """Print each org's bill figures over the same window (`paas-billing bill` shows lines)."""
    body = orjson.dumps({"type": "bill", "from": window[0], "to": window[1]})
    reply = client.call(amqp_url, body, timeout=60)
    if reply is None or reply.get("status") != "ok":
        print(f"\ndemo: the first bill failed: {reply}", file=sys.stderr)
        return
    bill = reply["bill"]
    print(f"First bill: the same 31 days at the sample prices, in {bill['currency']}\n")
    for org in bill["orgs"]:
        print(f"  org {org['org_guid']}: ex VAT {org['ex_vat']}  VAT {org['vat']}  "
              f"inc VAT {org['inc_vat']}  ({len(org['lines'])} lines)")  # fmt: skip
    totals = bill["totals"]
    print(f"  total: ex VAT {totals['ex_vat']}  VAT {totals['vat']}  inc VAT {totals['inc_vat']}")
    for warning in bill["warnings"][:5]:
        print(f"  warning: {warning['message']}")
    print(f"  lines: paas-billing bill --from {window[0][:10]} --to {window[1][:10]}\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
