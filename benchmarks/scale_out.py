#!/usr/bin/env python3
"""Scale out: one and two `tfpulse run` workers (one consumer group) on one PostgreSQL.

Produces the corpus once to a 6-partition topic; then, for each worker count (1, then 2),
starts that many workers in one consumer group on a fresh PostgreSQL database of one
server, and times them from the first stored position to the moment the store holds the
end offset of every partition. Reports the throughput of each configuration, each
worker's share (records it consumed, from its /metrics, and its CPU seconds), and what
PostgreSQL did: transactions, rows written, WAL and database size, peak connections.

    .venv/bin/python benchmarks/scale_out.py [--corpus EVENTS_JSONL | --lines N]
                                             [--lines-per-event N] [--workers 1 2]
                                             [--bootstrap HOST:PORT] [--store URL]

Without --bootstrap it starts a broker (tests/kafka_broker.py), without --store a
PostgreSQL server (tests/postgres_server.py), each in a temporary folder. --store must
name a database on a server where the user may CREATE DATABASE (one database per run).
The machine's cores are shared by the broker, PostgreSQL, the workers and this script:
on 2 cores, two workers compete with all of them. The last line printed is a JSON
summary (`{"benchmark": "scale_out", ...}`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import kafka_e2e as ke  # noqa: E402

from tests import worker_harness as h  # noqa: E402
from tests.conftest_kafka import kafka_admin_client  # noqa: E402
from tests.kafka_broker import KafkaBroker  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402
from worker.cli.produce import merge_lines  # noqa: E402


def _admin_url(url: str) -> str:
    """The same server, database `postgres` (CREATE DATABASE cannot run in the target)."""
    base, _, _db = url.rpartition("/")
    return f"{base}/postgres"


def _pg(url: str, sql: str, autocommit: bool = False) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=autocommit) as conn:
        cur = conn.execute(sql)
        return list(cur.fetchall()) if cur.description else []


class ConnectionWatch(threading.Thread):
    """Samples the connections to one database (pg_stat_activity) until stopped."""

    def __init__(self, admin: str, db: str):
        super().__init__(daemon=True)
        self.admin, self.db, self.peak = admin, db, 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                rows = _pg(self.admin, "SELECT count(*) FROM pg_stat_activity "
                                      f"WHERE datname = '{self.db}'")
                self.peak = max(self.peak, int(rows[0][0]))
            except Exception:  # noqa: BLE001 - a sample missed is no harm
                pass


def run_group(bootstrap: str, topic: str, ends: dict[int, int], server_url: str,
              n_workers: int, tmpdir: Path) -> dict[str, Any]:
    db = f"tfpulse_scale_{n_workers}_{uuid.uuid4().hex[:6]}"
    admin = _admin_url(server_url)
    _pg(admin, f"CREATE DATABASE {db}", autocommit=True)
    store = f"{server_url.rpartition('/')[0]}/{db}"
    lsn0 = _pg(admin, "SELECT pg_current_wal_lsn()")[0][0]
    group = f"scale-{uuid.uuid4().hex[:8]}"
    workers = [h.Worker(bootstrap, topic, group, store, tmpdir, f"w{n_workers}-{i}")
               for i in range(n_workers)]
    total = sum(ends.values())
    start: list[tuple[float, list[float], int]] = []
    watch = ConnectionWatch(admin, db)
    watch.start()

    def tick(pos: dict[int, int]) -> None:
        if pos and not start:
            start.append((time.monotonic(), [ke._cpu(w.pid) for w in workers],
                          sum(pos.values())))

    for w in workers:
        w.start()
    try:
        h.wait_caught_up(store, topic, ends, workers, timeout=3600, on_poll=tick)
        done = time.monotonic()
        cpu = [ke._cpu(w.pid) for w in workers]
        consumed = [h.metric(w.http("/metrics")[1], "tfpulse_events_total", 'result="ok"')
                    for w in workers]
        for w in workers:
            w.sample_rss()
        for w in workers:
            w.terminate(30)
    finally:
        watch.stop.set()
        for w in workers:
            w.cleanup()
    t0, cpu0, stored0 = start[0]
    secs = done - t0
    timed = total - stored0
    stat = _pg(store, "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted "
                      "FROM pg_stat_database WHERE datname = current_database()")[0]
    wal = _pg(admin, f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{lsn0}')")[0][0]
    size = _pg(store, "SELECT pg_database_size(current_database())")[0][0]
    per = [{"records_consumed": int(c), "cpu_seconds": round(b - a, 2),
            "peak_rss_mib": round(w.peak_rss_kb / 1024)}
           for w, c, a, b in zip(workers, consumed, cpu0, cpu, strict=True)]
    return {"workers": n_workers, "records": total, "timed_records": timed,
            "seconds": secs, "records_per_s": timed / secs,
            "records_per_worker_cpu_s": timed / max(sum(b - a for a, b in zip(cpu0, cpu,
                                                                               strict=True)),
                                                    1e-9),
            "per_worker": per,
            "postgres": {"transactions": int(stat[0]), "rows_inserted": int(stat[1]),
                         "rows_updated": int(stat[2]), "rows_deleted": int(stat[3]),
                         "wal_bytes": int(wal), "database_bytes": int(size),
                         "peak_connections": watch.peak,
                         "transactions_per_s": int(stat[0]) / secs}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=500_000)
    ap.add_argument("--lines-per-event", type=int, default=1, metavar="N")
    ap.add_argument("--corpus", type=Path, default=None, metavar="EVENTS_JSONL")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""))
    ap.add_argument("--store", default="", metavar="URL",
                    help="a PostgreSQL URL (postgresql+psycopg://…/db); default: start one")
    args = ap.parse_args()
    begun = ke.run_start()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tfpulse-scale-") as tmp:
        tmpdir = Path(tmp)
        broker = pg = None
        try:
            bootstrap = args.bootstrap
            if not bootstrap:
                broker = KafkaBroker(tmpdir / "kafka").start()
                bootstrap = broker.bootstrap
            server_url = args.store
            if not server_url:
                pg = PostgresServer()
                server_url = pg.start()
            from kafka.admin import NewTopic

            topic = f"scale-{uuid.uuid4().hex[:10]}"
            a = kafka_admin_client(bootstrap)
            try:
                a.create_topics([NewTopic(topic, ke.PARTITIONS, 1)])
            finally:
                a.close()
            if args.corpus is not None:
                counter = [0]
                h.produce(bootstrap, topic, merge_lines(ke._file_lines(args.corpus, counter),
                                                        args.lines_per_event),
                          flush_timeout=600)
                n_lines = counter[0]
            else:
                events, n_lines = ke.corpus(args.lines, args.lines_per_event)
                h.produce(bootstrap, topic, events, flush_timeout=600)
                del events
            ends = h.end_offsets(bootstrap, topic)
            n_records = sum(ends.values())
            lpr = n_lines / n_records
            print(f"produced {n_records:,} records ({n_lines:,} lines) to {ke.PARTITIONS} "
                  "partitions", flush=True)
            for n in args.workers:
                r = run_group(bootstrap, topic, ends, server_url, n, tmpdir)
                r["lines_per_s"] = r["records_per_s"] * lpr
                results.append(r)
                pgs = r["postgres"]
                print(f"{n} worker(s): {r['records_per_s']:,.0f} records/s "
                      f"({r['lines_per_s']:,.0f} lines/s) in {r['seconds']:.1f}s; "
                      f"{r['records_per_worker_cpu_s']:,.0f} records per worker CPU-s; "
                      "per worker: " + ", ".join(
                          f"{p['records_consumed']:,} records in {p['cpu_seconds']} CPU-s, "
                          f"{p['peak_rss_mib']} MiB" for p in r["per_worker"]), flush=True)
                print(f"  PostgreSQL: {pgs['transactions']:,} transactions "
                      f"({pgs['transactions_per_s']:.1f}/s), {pgs['rows_inserted']:,} rows "
                      f"inserted, {pgs['rows_updated']:,} updated, "
                      f"{pgs['wal_bytes'] / 1e6:.1f} MB WAL, database "
                      f"{pgs['database_bytes'] / 1e6:.1f} MB, peak "
                      f"{pgs['peak_connections']} connections", flush=True)
        finally:
            if pg is not None:
                pg.stop()
            if broker is not None:
                broker.stop()
    summary = ke.run_summary("scale_out", begun, lines=n_lines, records=n_records,
                             lines_per_record=lpr, runs=results)
    print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
