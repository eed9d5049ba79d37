"""`paas-billing COMMAND [ARGS]`: dispatches to the process or tool the command names."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from shared import metrics

# command -> (module with `main(argv) -> int`, one-line description for --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "producer": ("producer.main", "poll the CF API and publish usage events in API order"),
    "consumer": ("consumer.main", "store usage events from RabbitMQ in PostgreSQL"),
    "reporter": ("reporter.main", "answer usage report requests from RabbitMQ"),
    "api": ("tenant_api.main", "serve usage reports over HTTP to UAA-authenticated users"),
    "migrate": ("paas_billing.migrate_command", "create or upgrade the database schema"),
    "import": ("paas_billing.import_command", "import the original collector's event history"),
    "report": ("reporter.client", "request a usage report and print it"),
    "simulate": ("simulator.main", "run the built-in Cloud Foundry API simulator"),
    "demo": ("paas_billing.demo", "run the whole system locally, without Docker"),
    "dead-letters": ("consumer.dead_letter_command", "list or replay dead-lettered events"),
    "pricing": ("paas_billing.pricing_command", "apply a pricing file, or show the one in force"),
    "bill": ("reporter.bill_client", "request a bill and print it"),
    "bills": ("paas_billing.bills_command", "close a month: store every org's bill of it"),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name.ljust(width)}  {text}" for name, (_, text) in COMMANDS.items()]
    return (
        "usage: paas-billing COMMAND [ARGS...]\n"
        "       paas-billing --version\n\n"
        "Meters a Cloud Foundry platform. Commands:\n"
        + "\n".join(lines)
        + "\n\nEach command is configured by environment variables; "
        "`paas-billing COMMAND --help` says which.\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage(), end="")
        return 0 if args else 2
    if args[0] in ("-V", "--version", "version"):
        print(f"paas-billing {metrics.version()}")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"paas-billing: unknown command {command!r}\n\n{usage()}", end="", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    entry: Callable[[list[str]], int] = module.main
    return entry(rest)
