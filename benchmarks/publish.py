"""Publish throughput of the producer's publisher: N pre-built messages, events/s.

    python benchmarks/publish.py --events 50000 --batch 100 [--amqp-url URL] [--pika-publish]

--pika-publish sends every message through pika's own basic_publish, as the publisher does
on a pika version shared.amqp_frames was not tested with. Uses a throwaway vhost on the local
broker (rabbitmqctl) unless --amqp-url is given, and prints one line per run. Messages look
like v2 app usage events (about 1 KB each).
"""

from __future__ import annotations

import argparse
import subprocess
import time
import uuid

import msgspec
import orjson

from producer.publisher import Publisher
from shared import events
from shared.states import ApiVersion, EventKind


def resource(guid: str) -> dict[str, object]:
    return {
        "metadata": {
            "guid": guid,
            "url": f"/v2/app_usage_events/{guid}",
            "created_at": "2026-06-08T16:41:33Z",
        },
        "entity": {
            "state": "STARTED",
            "previous_state": "STOPPED",
            "memory_in_mb_per_instance": 564,
            "previous_memory_in_mb_per_instance": 564,
            "instance_count": 1,
            "previous_instance_count": 1,
            "app_guid": str(uuid.uuid4()),
            "app_name": "my-app",
            "space_guid": str(uuid.uuid4()),
            "space_name": "dev",
            "org_guid": str(uuid.uuid4()),
            "buildpack_guid": str(uuid.uuid4()),
            "buildpack_name": "ruby_buildpack",
            "package_state": "STAGED",
            "previous_package_state": "UNKNOWN",
            "parent_app_guid": str(uuid.uuid4()),
            "parent_app_name": "my-app",
            "process_type": "web",
            "task_name": None,
            "task_guid": None,
        },
    }


def messages(count: int) -> list[events.Message]:
    out = []
    for sequence in range(1, count + 1):
        guid = str(uuid.uuid4())
        raw = msgspec.Raw(orjson.dumps(resource(guid)))
        out.append(events.Message("default", EventKind.APP, ApiVersion.V2, sequence, guid, raw))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--amqp-url", default=None)
    parser.add_argument(
        "--pika-publish",
        action="store_true",
        help="publish through pika's own basic_publish, not shared.amqp_frames' frames",
    )
    args = parser.parse_args()
    vhost = None
    url = args.amqp_url
    if url is None:
        vhost = f"bench_{uuid.uuid4().hex[:8]}"
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
            check=True,
        )
        url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    try:
        batch = messages(args.events)
        publisher = Publisher(url, hand_written=False if args.pika_publish else None)
        publisher.connect()
        started = time.perf_counter()
        for start in range(0, len(batch), args.batch):
            publisher.wait(publisher.send(batch[start : start + args.batch]))
        elapsed = time.perf_counter() - started
        publisher.close()
        print(
            f"published and confirmed {args.events} events in batches of {args.batch}: "
            f"{elapsed:.2f}s, {args.events / elapsed:,.0f} events/s"
        )
    finally:
        if vhost is not None:
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=True)


if __name__ == "__main__":
    main()
