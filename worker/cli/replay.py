"""`tfpulse replay`: the whole pipeline over files into the store (the embedded default)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

from tqdm import tqdm

from worker.cli.common import add_kb_and_store_args, open_kb_and_store, settle_heap
from worker.cli.exits import Exit
from worker.cli.inputs import CONTENT_ERRORS, reason, unreadable
from worker.cli.stats import latest_day, print_top
from worker.core.pipeline import Pipeline
from worker.knowledge.entry import KnowledgeBase
from worker.metrics.collector import LifecycleCollector, NextCollector, StoreCollector
from worker.metrics.counters import Metrics
from worker.metrics.endpoints import Exporter
from worker.sources.deadletter import DeadLetterFile
from worker.sources.replay import ReplayTotals, replay_file
from worker.store.store import Store

REPLAY_HELP = """\
Run the whole pipeline (decode, normalize, blocks, classify, count) over files into the
store: JSONL events as the worker consumes them from Kafka (gzip is fine), or raw CI
logs (one job per file). Resumable: the position in each file is stored with the counts
in one transaction, and a second run over the same files counts nothing twice.

A bad record never stops a replay: a line that is not a valid event (and an item the
store refuses for its values) is written with its reason to the dead-letter file (JSON
lines, appended to, created only when needed) and counted in the summary.

Raw logs take their event time from the timestamps at the start of their lines (GitHub
Actions, GitLab, Jenkins timestamper, ISO); the file's modification time only when the
lines have none.

examples:
  tfpulse replay examples/sample-ci-stream.jsonl.gz --top 10      the embedded default
  tfpulse replay events-*.jsonl.gz --store postgresql://tfpulse@db:5432/tfpulse
  tfpulse replay job-1234.log --report weekly.html                 a raw log, then the report
"""
DEFAULT_DEAD_LETTER = "tfpulse-dead-letters.jsonl"


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
    p.add_argument("--dead-letter", metavar="PATH", default=DEFAULT_DEAD_LETTER,
                   help="where refused records go, one JSON object per line with its reason "
                        f"(default {DEFAULT_DEAD_LETTER}, appended to, created when needed)")
    p.add_argument("--metrics-address", metavar="HOST:PORT", default=None,
                   help="serve /metrics, /healthz, /readyz while replaying (e.g. 127.0.0.1:9464)")
    p.add_argument("--serve", action="store_true",
                   help="with --metrics-address: keep serving after the replay until SIGTERM")
    add_kb_and_store_args(p)
    p.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    problems = [problem for path in args.files if (problem := unreadable(path))]
    if problems:  # before the store is opened: a typo never creates an empty store
        for problem in problems:
            print(f"tfpulse replay: {problem}", file=sys.stderr)
        return Exit.USAGE
    kb, store = open_kb_and_store(args)
    pipeline = Pipeline(kb, repo_entries=store.repo_entries())
    settle_heap()
    totals = ReplayTotals()
    metrics, exporter = _serve_metrics(args.metrics_address, kb, store)
    started = time.perf_counter()
    dead = DeadLetterFile(args.dead_letter)
    try:
        for path in args.files:
            with _progress_bar(path, not args.no_progress) as bar:
                try:
                    replay_file(path, pipeline, store, totals, bar.update, metrics, dead)
                except CONTENT_ERRORS as exc:  # what was read before is stored and resumable
                    print(f"tfpulse replay: {path} {reason(exc)}", file=sys.stderr)
                    store.close()
                    return Exit.USAGE
    finally:
        dead.close()
    secs = time.perf_counter() - started  # first read to last write: start-up left out
    print(f"replayed {totals.events:,} events ({totals.invalid:,} invalid) from "
          f"{len(args.files)} file(s) in {secs:.2f}s ({totals.events / max(secs, 1e-9):,.0f} "
          f"events/s): {totals.new:,} new occurrence(s) stored in {args.store}",
          file=sys.stderr)
    if totals.dead_lettered:
        print(f"{totals.dead_lettered:,} dead letter(s) written to {args.dead_letter}",
              file=sys.stderr)
    if args.top:
        print_top(store, kb, args.top)
    if args.report:
        from worker.report.write import write_report

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
    # A replayed stream is history: its lifecycle is as of its latest event, not today.
    metrics.registry.register(LifecycleCollector(store, clock=lambda: _latest(store)))
    metrics.registry.register(NextCollector(store, clock=lambda: _latest(store)))
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


def _progress_bar(path: str, show: bool) -> Any:
    return tqdm(unit=" lines", unit_scale=True, desc=Path(path).name, mininterval=0.5,
                disable=not show or not sys.stderr.isatty(), leave=False)


def _latest(store: Store) -> float:
    """Event time of the store's latest occurrence (0 when empty)."""
    return max((t.last_seen.timestamp() for t in store.totals()), default=0.0)
