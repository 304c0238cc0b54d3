"""`tfpulse replay` and `tfpulse stats`: the pipeline over files, and what the store holds."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from worker.cli.common import (
    add_kb_args,
    add_store_args,
    load_kb_or_exit,
    open_store_or_exit,
    settle_heap,
)
from worker.cli.exits import Exit
from worker.core.pipeline import Pipeline
from worker.decode.record import DecodeOptions
from worker.knowledge.loader import KnowledgeBase
from worker.metrics.counters import Metrics, StoreCollector
from worker.metrics.endpoints import Exporter
from worker.sources.files import Input, open_input, read_batches, read_chunks
from worker.store.store import EntryTotal, Store

log = logging.getLogger("tfpulse.replay")
BATCH_EVENTS = 20_000

REPLAY_HELP = """\
Run the whole pipeline (decode, normalize, blocks, classify, count) over files into the
store: JSONL events as the worker consumes them from Kafka (gzip is fine), or raw CI
logs (one job per file). Resumable: the position in each file is stored with the counts
in one transaction, and a second run over the same files counts nothing twice.

The embedded default: `tfpulse replay examples/sample-ci-stream.jsonl.gz --top 10`.
"""


def register(sub: Any) -> None:
    p = sub.add_parser("replay", help="run the pipeline over JSONL events or raw logs",
                       description=REPLAY_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="print the N most recurring failures afterwards (0: none)")
    p.add_argument("--report", metavar="PATH", default=None,
                   help="also write the weekly report (.html, .md or a folder for CSV)")
    p.add_argument("--weeks", type=int, default=8, help="weeks in the report (default 8)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--metrics-address", metavar="HOST:PORT", default=None,
                   help="serve /metrics, /healthz, /readyz while replaying (e.g. 127.0.0.1:9464)")
    p.add_argument("--serve", action="store_true",
                   help="with --metrics-address: keep serving after the replay until SIGTERM")
    add_store_args(p)
    add_kb_args(p)
    p.set_defaults(func=run_replay)

    s = sub.add_parser("stats", help="per-entry totals from the store",
                       description="Per KB entry: occurrences (one per job run attempt), "
                                   "first seen and last seen (event time).")
    s.add_argument("--format", choices=["text", "json"], default="text")
    add_store_args(s)
    s.set_defaults(func=run_stats)


def run_replay(args: argparse.Namespace) -> int:
    kb = load_kb_or_exit(args)
    store = open_store_or_exit(args.store)
    pipeline = Pipeline(kb, repo_entries=store.repo_entries())
    settle_heap()
    totals = {"events": 0, "invalid": 0, "new": 0}
    missing = [p for p in args.files if p != "-" and not Path(p).is_file()]
    if missing:
        print(f"tfpulse replay: no such file: {', '.join(missing)}", file=sys.stderr)
        return Exit.USAGE
    metrics, exporter = _serve_metrics(args.metrics_address, kb, store)
    started = time.perf_counter()
    for path in args.files:
        _replay_file(path, pipeline, store, totals, not args.no_progress, metrics)
    secs = time.perf_counter() - started  # first read to last write: start-up left out
    print(f"replayed {totals['events']:,} events ({totals['invalid']:,} invalid) from "
          f"{len(args.files)} file(s) in {secs:.2f}s ({totals['events'] / max(secs, 1e-9):,.0f} "
          f"events/s): {totals['new']:,} new occurrence(s) stored in {args.store}",
          file=sys.stderr)
    if args.top:
        print_top(store, kb, args.top)
    if args.report:
        from worker.cli.report import write_report
        as_of = latest_day(store) or date.today()
        write_report(store, kb, args.report, weeks=args.weeks, as_of=as_of)
        print(f"weekly report ({args.weeks} weeks to {as_of}) written to {args.report}",
              file=sys.stderr)
    if exporter is not None:
        if args.serve:
            _wait_for_signal()
        exporter.stop()
    store.close()
    return Exit.OK


def _serve_metrics(address: str | None, kb: KnowledgeBase, store: Store
                   ) -> tuple[Metrics | None, Exporter | None]:
    if not address:
        return None, None
    metrics = Metrics(kb)
    metrics.registry.register(StoreCollector(store, kb))
    exporter = Exporter(metrics.registry, address,
                        lambda: (store.ping(), "ok" if store.ping() else "store unreachable"))
    print(f"serving /metrics on http://{address.replace('0.0.0.0', '127.0.0.1')}/metrics",
          file=sys.stderr)
    return metrics, exporter.start()


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print("replay done; serving metrics until SIGTERM or Ctrl-C", file=sys.stderr)
    stop.wait()


def _replay_file(path: str, pipeline: Pipeline, store: Store, totals: dict[str, int],
                 show: bool, metrics: Metrics | None = None) -> None:
    inp = open_input(path)
    start = store.positions(inp.source).get(0, 0) if path != "-" else 0
    if start:
        log.info("resuming", extra={"file": path, "line": start})
    bar = tqdm(unit=" lines", unit_scale=True, desc=Path(path).name, mininterval=0.5,
               disable=not show or not sys.stderr.isatty(), leave=False)
    with bar:
        if inp.jsonl:
            _replay_events(inp, start, pipeline, store, totals, bar, metrics)
        else:
            for first, data in read_chunks(inp, start):
                bar.update(pipeline.process_text(inp.job, data, first, inp.timestamp,
                                                 inp.source))
                _flush(pipeline, store, totals, True, metrics)
        pipeline.close()
        _flush(pipeline, store, totals, False, metrics)
    inp.close()


def _replay_events(inp: Input, start: int, pipeline: Pipeline, store: Store,
                   totals: dict[str, int], bar: Any, metrics: Metrics | None) -> None:
    pending = 0
    for batch in read_batches(inp, DecodeOptions(), start=start):
        for position, reason, _raw in batch.errors:
            log.warning("invalid event", extra={"file": inp.path, "line": position + 1,
                                                "reason": reason})
        for row, exc in pipeline.process_batch(batch, inp.source):
            log.error("event failed in the pipeline", extra={
                "file": inp.path, "line": batch.positions[row] + 1,
                "error": f"{type(exc).__name__}: {exc}"})
        pending += len(batch) + len(batch.errors)
        if pending >= BATCH_EVENTS:
            _flush(pipeline, store, totals, True, metrics)
            bar.update(pending)
            pending = 0


def _flush(pipeline: Pipeline, store: Store, totals: dict[str, int], idle: bool,
           metrics: Metrics | None) -> None:
    if idle:
        pipeline.flush_idle()
    batch = pipeline.take()
    batch.positions = {(str(src), 0): pos for src, pos in batch.positions.items()}
    result = store.write(batch)
    totals["events"] += batch.events_ok + batch.events_invalid
    totals["invalid"] += batch.events_invalid
    totals["new"] += len(result.new_occurrences)
    if metrics is not None:
        metrics.events.labels("ok").inc(batch.events_ok)
        metrics.events.labels("invalid").inc(batch.events_invalid)
        metrics.counted(result.new_occurrences)
        metrics.dead_end_attempts([d.kb_id for d in result.new_dead_ends])


def print_top(store: Store, kb: KnowledgeBase, n: int) -> None:
    rows = store.top(n)
    if not rows:
        print("No Terraform failures in the store yet.")
        return
    print(f"Top {len(rows)} recurring Terraform failures (one occurrence = one job run attempt)")
    print(f"{'count':>6}  {'first seen':<10}  {'last seen':<10}  {'tags':<28}  entry")
    for row in rows:
        entry = kb.get(row.kb_id)
        tags = ",".join(t for t in (entry.tags if entry else ()) if t in (
            "permission", "state-lock", "credentials", "backend", "provider", "network",
            "quota", "throttling", "syntax", "config", "timeout", "conflict"))
        print(f"{row.occurrences:>6}  {row.first_seen:%Y-%m-%d}  {row.last_seen:%Y-%m-%d}  "
              f"{tags[:28]:<28}  {row.kb_id}")
    unclassified = store.unclassified_total()
    if unclassified:
        print(f"{unclassified:>6}  unclassified Terraform errors (mine them: tfpulse report)")


def latest_day(store: Store) -> date | None:
    totals = store.totals()
    return max((t.last_seen for t in totals), default=None).date() if totals else None  # type: ignore[union-attr]


def run_stats(args: argparse.Namespace) -> int:
    store = open_store_or_exit(args.store)
    totals = store.totals()
    if args.format == "json":
        sys.stdout.write(orjson.dumps([_stat(t) for t in totals]).decode() + "\n")
        return Exit.OK
    if not totals:
        print(f"No occurrences in {args.store} yet: run `tfpulse replay` or `tfpulse run`.")
        return Exit.OK
    print(f"{'occurrences':>11}  {'first_seen':<20}  {'last_seen':<20}  kb_id")
    for t in totals:
        print(f"{t.occurrences:>11}  {_rfc3339(t.first_seen):<20}  {_rfc3339(t.last_seen):<20}  "
              f"{t.kb_id}")
    return Exit.OK


def _stat(t: EntryTotal) -> dict[str, Any]:
    return {"kb_id": t.kb_id, "occurrences": t.occurrences,
            "first_seen": _rfc3339(t.first_seen), "last_seen": _rfc3339(t.last_seen)}


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
