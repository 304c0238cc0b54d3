"""`tfpulse produce`: stream JSONL events into Kafka (demos, load tests, the compose stack)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import orjson

from worker.file_source import open_binary


def register(sub: Any) -> None:
    p = sub.add_parser("produce", help="send JSONL events to a Kafka topic",
                       description="Send JSONL events (gzip is fine) to Kafka, keyed "
                                   "repo/run_id/job so each job stays ordered on one partition.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--bootstrap-servers", default="127.0.0.1:9092", metavar="HOST:PORT")
    p.add_argument("--topic", default="ci-logs")
    p.add_argument("--rate", type=float, default=0.0,
                   help="events per second (0: as fast as possible)")
    p.set_defaults(func=run)


def job_key(line: bytes) -> bytes | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    repo = obj.get("repo") or obj.get("repository") or "unknown"
    run = obj.get("run_id") or obj.get("pipeline_id") or obj.get("build_id") or "unknown"
    job = obj.get("job") or obj.get("job_name") or "unknown"
    return f"{repo}/{run}/{job}".encode()


def run(args: argparse.Namespace) -> int:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=args.bootstrap_servers.split(","), acks="all",
                             linger_ms=20, batch_size=256 * 1024, retries=10,
                             max_request_size=16 * 1024 * 1024)
    sent = 0
    start = time.monotonic()
    for path in args.files:
        with open_binary(path) as fh:
            for line in fh:
                line = line.rstrip(b"\n")
                if not line:
                    continue
                producer.send(args.topic, key=job_key(line), value=line)
                sent += 1
                if args.rate and sent % 100 == 0:
                    ahead = sent / args.rate - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
    producer.flush()
    producer.close()
    print(f"produced {sent:,} events to {args.topic} in {time.monotonic() - start:.1f}s",
          file=sys.stderr)
    return 0
