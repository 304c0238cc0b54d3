"""`tfpulse produce`: stream JSONL events into Kafka (demos, load tests, the compose stack)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from worker.cli.exits import Exit
from worker.cli.inputs import CONTENT_ERRORS, reason, unreadable
from worker.config import DEFAULTS
from worker.decode.contract import record_key_of
from worker.sources.files import open_binary


def register(sub: Any) -> None:
    p = sub.add_parser("produce", help="send JSONL events to a Kafka topic",
                       description="Send JSONL events (gzip is fine) to Kafka, keyed "
                                   "repo/run_id/job so each job stays ordered on one partition.",
                       epilog="examples:\n"
                              "  tfpulse produce examples/sample-ci-stream.jsonl.gz\n"
                              "  tfpulse produce events.jsonl --bootstrap-servers kafka:9092 "
                              "--topic ci-logs --rate 500\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--bootstrap-servers", default=DEFAULTS.kafka_bootstrap_servers,
                   metavar="HOST:PORT")
    p.add_argument("--topic", default=DEFAULTS.kafka_topic)
    p.add_argument("--rate", type=float, default=0.0,
                   help="events per second (0: as fast as possible)")
    p.add_argument("--lines-per-event", type=int, default=1, metavar="N",
                   help="merge up to N consecutive log lines of one job into one event, "
                        "as a shipper that batches a job's log does (default 1: as read)")
    p.set_defaults(func=run)


def job_key(line: bytes) -> bytes | None:
    obj = _parsed(line)
    return record_key_of(obj) if obj is not None else None


def _parsed(line: bytes) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def merge_lines(lines: Iterable[bytes], per_event: int) -> Iterator[bytes]:
    """Consecutive log events of one job merged into events of up to per_event lines.

    The event contract lets a message carry several lines, and a shipper that batches a
    job's log sends far fewer, larger records, which is what a Kafka consumer in Python
    needs to keep up. The merged event keeps the first line's fields (timestamp,
    line_number) and joins the messages with newlines; order within a job is kept. A
    job_end, or anything that is not a plain log event, first flushes its job's pending
    lines and is passed on unchanged.
    """
    if per_event <= 1:
        yield from lines
        return
    pending: dict[bytes | None, list[dict[str, Any]]] = {}
    for line in lines:
        obj = _parsed(line)
        key = record_key_of(obj) if obj is not None else None
        if obj is None or "type" in obj or type(obj.get("message")) is not str:
            if key in pending:
                yield _merged(pending.pop(key))
            yield line
            continue
        group = pending.setdefault(key, [])
        group.append(obj)
        if len(group) >= per_event:
            yield _merged(pending.pop(key))
    for group in pending.values():
        yield _merged(group)


def _merged(group: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({**group[0], "message": "\n".join(e["message"] for e in group)})


def run(args: argparse.Namespace) -> int:
    problems = [problem for path in args.files if (problem := unreadable(path))]
    if problems:  # before connecting: a typo is said at once
        for problem in problems:
            print(f"tfpulse produce: {problem}", file=sys.stderr)
        return Exit.USAGE
    producer = _connect(args.bootstrap_servers)
    if producer is None:
        return Exit.USAGE
    sent = 0
    start = time.monotonic()
    path = ""
    try:
        for path in args.files:
            sent += _send_file(producer, args, path, start, sent)
    except CONTENT_ERRORS as exc:  # a file that breaks off: what was sent stays sent
        print(f"tfpulse produce: {path} {reason(exc)} (the events read before it were sent)",
              file=sys.stderr)
        return Exit.USAGE
    finally:
        producer.flush()
        producer.close()
    print(f"produced {sent:,} events to {args.topic} in {time.monotonic() - start:.1f}s",
          file=sys.stderr)
    return Exit.OK


def _connect(servers: str) -> Any:
    """A producer, or None after saying (in one line, no client logging) why the brokers
    cannot be reached."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    client_log = logging.getLogger("kafka")
    level = client_log.level
    if not logging.getLogger("tfpulse").isEnabledFor(logging.DEBUG):
        client_log.setLevel(logging.CRITICAL)  # its reconnect errors: one line below instead
    try:
        return KafkaProducer(bootstrap_servers=servers.split(","), acks="all",
                             linger_ms=20, batch_size=256 * 1024, retries=10,
                             max_request_size=16 * 1024 * 1024,
                             bootstrap_timeout_ms=10_000)
    except KafkaError as exc:
        print(f"tfpulse produce: no Kafka broker reachable at {servers} ({type(exc).__name__}); "
              "check --bootstrap-servers HOST:PORT", file=sys.stderr)
        return None
    finally:
        client_log.setLevel(level)


def _send_file(producer: Any, args: argparse.Namespace, path: str, start: float,
               before: int) -> int:
    """Send one file's events (paced by --rate over the whole run); how many were sent."""
    sent = 0
    with open_binary(path) as fh:
        lines = (line.rstrip(b"\n") for line in fh if line.strip())
        for line in merge_lines(lines, args.lines_per_event):
            producer.send(args.topic, key=job_key(line), value=line)
            sent += 1
            if args.rate and (before + sent) % 100 == 0:
                ahead = (before + sent) / args.rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    return sent
