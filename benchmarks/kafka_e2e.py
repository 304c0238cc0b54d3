#!/usr/bin/env python3
"""End-to-end throughput of `tfpulse run`: Kafka topic -> worker -> SQLite store.

Produces the sample stream (regenerated in memory, see tests/worker_harness.py) repeated
until the corpus holds at least --lines log lines (each copy gets its own run ids, so every
copy counts), to a fresh 6-partition topic; starts one worker; times it from its first
stored position to the moment the store holds the end offset of every partition. Prints
events/s, lines/s and the worker's peak RSS (VmHWM).

    .venv/bin/python benchmarks/kafka_e2e.py [--lines 500000] [--lines-per-event N]
                                             [--bootstrap HOST:PORT]

--lines-per-event N merges up to N consecutive lines of one job into one event (what
`tfpulse produce --lines-per-event` and a batching log shipper send; the event contract
allows a chunk of lines per message). The default, 1, is one record per log line.

Without --bootstrap (or KAFKA_BOOTSTRAP_SERVERS) it starts its own broker with
tests/kafka_broker.py in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import worker_harness as h  # noqa: E402
from tests.conftest_kafka import kafka_admin_client  # noqa: E402
from tests.kafka_broker import KafkaBroker  # noqa: E402
from worker.cli.produce import merge_lines  # noqa: E402


def corpus_file(path: Path, per_event: int = 1) -> tuple[list[bytes], int]:
    """The benchmark corpus (generate_corpus.py's events.jsonl: ~0.5% error lines)."""
    with open(path, "rb") as fh:
        lines = [line.rstrip(b"\n") for line in fh if line.strip()]
    return list(merge_lines(lines, per_event)), len(lines)


def corpus(min_lines: int, per_event: int = 1) -> tuple[list[bytes], int]:
    """The sample CI stream (error-dense: a demo of eight weeks of failures), repeated."""
    lines, _ = h.sample_subset(10**9)  # the whole stream
    base = [json.loads(x) for x in lines]
    out: list[bytes] = []
    n_lines = 0
    copy = 0
    while n_lines < min_lines:
        for e in base:
            e2 = dict(e, run_id=f"{e['run_id']}-c{copy}")
            out.append(json.dumps(e2, ensure_ascii=False, sort_keys=True).encode())
            if "message" in e2:
                n_lines += str(e2["message"]).count("\n") + 1
        copy += 1
    return list(merge_lines(out, per_event)), n_lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=500_000)
    ap.add_argument("--lines-per-event", type=int, default=1, metavar="N")
    ap.add_argument("--corpus", type=Path, default=None, metavar="EVENTS_JSONL",
                    help="produce this JSONL corpus (e.g. benchmarks/corpus/1000000/"
                         "events.jsonl) instead of the repeated sample stream")
    ap.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tfpulse-bench-") as tmp:
        tmpdir = Path(tmp)
        broker = None
        bootstrap = args.bootstrap
        if not bootstrap:
            broker = KafkaBroker(tmpdir / "kafka").start()
            bootstrap = broker.bootstrap
        try:
            run(bootstrap, tmpdir, args.lines, args.lines_per_event, args.corpus)
            return 0
        finally:
            if broker is not None:
                broker.stop()


def run(bootstrap: str, tmpdir: Path, min_lines: int, per_event: int = 1,
        corpus_path: Path | None = None) -> dict[str, float]:
    """Produce, consume, print; returns events, lines, seconds and peak RSS (MiB)."""
    from kafka.admin import NewTopic

    t0 = time.monotonic()
    events, n_lines = (corpus_file(corpus_path, per_event) if corpus_path
                       else corpus(min_lines, per_event))
    print(f"corpus: {len(events):,} events, {n_lines:,} log lines "
          f"({time.monotonic() - t0:.1f}s to build)", flush=True)
    topic = f"bench-{uuid.uuid4().hex[:10]}"
    admin = kafka_admin_client(bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 6, 1)])
    finally:
        admin.close()
    t0 = time.monotonic()
    h.produce(bootstrap, topic, events)
    ends = h.end_offsets(bootstrap, topic)
    print(f"produced {sum(ends.values()):,} records in {time.monotonic() - t0:.1f}s", flush=True)
    store = f"sqlite:///{tmpdir / 'bench.db'}"
    w = h.Worker(bootstrap, topic, f"bench-{uuid.uuid4().hex[:8]}", store, tmpdir, "bench")
    w.start()
    try:
        started: list[float] = []

        def first(pos: dict[int, int]) -> None:
            if pos and not started:
                started.append(time.monotonic())

        launched = time.monotonic()
        h.wait_caught_up(store, topic, ends, [w], timeout=1800, on_poll=first)
        done = time.monotonic()
        w.sample_rss()
        begin = started[0] if started else launched
        secs = done - begin
        totals = h.stats(store)
        w.terminate(30)
    finally:
        w.cleanup()
    n_events = sum(ends.values())
    print(f"worker: {n_events:,} events / {n_lines:,} lines in {secs:.1f}s "
          f"(first stored position -> last offset stored; {done - launched:.1f}s incl. start-up)")
    print(f"throughput: {n_events / secs:,.0f} events/s, {n_lines / secs:,.0f} lines/s")
    print(f"peak RSS (VmHWM): {w.peak_rss_kb / 1024:.0f} MiB")
    print(f"occurrences stored: {sum(n for n, _, _ in totals.values()):,} "
          f"in {len(totals)} KB entries")
    return {"events": n_events, "lines": n_lines, "seconds": secs,
            "rss_mib": w.peak_rss_kb / 1024}


if __name__ == "__main__":
    sys.exit(main())
