"""`tfpulse stats`: per-entry totals from the store; the top list `replay` prints."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import orjson
from sqlalchemy import func, select

from worker.cli.common import add_store_args, open_store_or_exit
from worker.cli.exits import Exit
from worker.knowledge.entry import KnowledgeBase
from worker.knowledge.schema import FAILURE_KINDS
from worker.store import schema
from worker.store.store import Store

EXAMPLES = """\
examples:
  tfpulse stats --store sqlite:///tfpulse-demo.db      the store `make demo` writes
  tfpulse stats --sort last_seen --top 5                the five most recently seen
  tfpulse stats --since 2024-03-01 --format json        counts from a day on, for scripts
"""
SORTS = {  # --sort: key and whether the largest comes first
    "occurrences": (lambda r: (-r.occurrences, r.kb_id or "")),
    "last_seen": (lambda r: (-r.last_seen.timestamp(), r.kb_id or "")),
    "first_seen": (lambda r: (r.first_seen.timestamp(), r.kb_id or "")),
    "kb_id": (lambda r: (r.kb_id is None, r.kb_id or "")),
}


@dataclass(frozen=True)
class Row:
    kb_id: str | None  # None: the unclassified errors, all templates together
    occurrences: int
    first_seen: datetime
    last_seen: datetime


def register(sub: Any) -> None:
    s = sub.add_parser("stats", help="per-entry totals from the store",
                       description="Per KB entry: occurrences (one per job run attempt), "
                                   "first seen and last seen (event time), and the "
                                   "unclassified errors. Reads the store, never creates one.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--format", choices=["text", "json"], default="text",
                   help="json: a list of {kb_id, occurrences, first_seen, last_seen}")
    s.add_argument("--sort", choices=list(SORTS), default="occurrences",
                   help="order of the rows (default: occurrences, most first)")
    s.add_argument("--top", type=int, default=0, metavar="N", help="only the first N rows")
    s.add_argument("--since", type=_day, default=None, metavar="YYYY-MM-DD",
                   help="count only occurrences from this day on (UTC)")
    s.add_argument("--unclassified", action="store_true",
                   help="json: add the unclassified errors as a row with kb_id null "
                        "(text always shows them)")
    add_store_args(s)
    s.set_defaults(func=run_stats)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day: {text!r} (expected YYYY-MM-DD)") from None


def rows(store: Store, since: date | None = None) -> list[Row]:
    """Every entry seen (and the unclassified errors, kb_id None), from `since` on."""
    t = schema.occurrences
    query = select(t.c.kb_id, func.count(), func.min(t.c.first_seen), func.max(t.c.first_seen))
    if since is not None:
        query = query.where(t.c.first_seen >= datetime.combine(since, time(), UTC))
    with store.engine.connect() as conn:
        found = conn.execute(query.group_by(t.c.kb_id)).all()
    return [Row(kb, int(n), first, last) for kb, n, first, last in found]


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
              f"{tags[:28]:<28}  {row.kb_id}" + (" (shadow)" if entry and entry.shadow else ""))
    unclassified = store.unclassified_total()
    if unclassified:
        print(f"{unclassified:>6}  unclassified Terraform errors (draft entries for them: "
              "tfpulse kb draft)")


def latest_day(store: Store) -> date | None:
    totals = store.totals()
    return max((t.last_seen for t in totals), default=None).date() if totals else None  # type: ignore[union-attr]


def run_stats(args: argparse.Namespace) -> int:
    store = open_store_or_exit(args.store, create=False, command="stats")
    found = sorted(rows(store, args.since), key=SORTS[args.sort])
    if args.top:
        found = found[:args.top]
    if args.format == "json":
        shown = [r for r in found if r.kb_id is not None or args.unclassified]
        sys.stdout.write(orjson.dumps([_stat(r) for r in shown]).decode() + "\n")
        return Exit.OK
    since = f" since {args.since}" if args.since else ""
    print(f"store: {args.store}{since} (another store: --store URL or $TFPULSE_STORE)")
    if not found:
        print(f"No occurrences{since} in this store: run `tfpulse replay` or `tfpulse run` "
              "to fill it.")
        return Exit.OK
    print(f"{'occurrences':>11}  {'first_seen':<20}  {'last_seen':<20}  kb_id")
    for r in found:
        print(f"{r.occurrences:>11}  {_rfc3339(r.first_seen):<20}  {_rfc3339(r.last_seen):<20}  "
              f"{r.kb_id or '(unclassified: see the templates in tfpulse report)'}")
    return Exit.OK


def _stat(r: Row) -> dict[str, Any]:
    return {"kb_id": r.kb_id, "occurrences": r.occurrences,
            "first_seen": _rfc3339(r.first_seen), "last_seen": _rfc3339(r.last_seen)}


def _rfc3339(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
