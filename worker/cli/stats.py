"""`tfpulse stats`: per-entry totals from the store; the top list `replay` prints."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from typing import Any

import orjson

from worker.cli.common import add_store_args, open_store_or_exit
from worker.cli.exits import Exit
from worker.knowledge.entry import KnowledgeBase
from worker.knowledge.schema import FAILURE_KINDS
from worker.store.store import EntryTotal, Store


def register(sub: Any) -> None:
    s = sub.add_parser("stats", help="per-entry totals from the store",
                       description="Per KB entry: occurrences (one per job run attempt), "
                                   "first seen and last seen (event time).")
    s.add_argument("--format", choices=["text", "json"], default="text")
    add_store_args(s)
    s.set_defaults(func=run_stats)


def print_top(store: Store, kb: KnowledgeBase, n: int) -> None:
    rows = store.top(n)
    if not rows:
        print("No Terraform failures in the store yet.")
        return
    print(f"Top {len(rows)} recurring Terraform failures (one occurrence = one job run attempt)")
    print(f"{'count':>6}  {'first seen':<10}  {'last seen':<10}  {'tags':<28}  entry")
    for row in rows:
        entry = kb.get(row.kb_id)
        tags = ",".join(t for t in (entry.tags if entry else ()) if t in FAILURE_KINDS)
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
