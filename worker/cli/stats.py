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


# -- `tfpulse kb stats --observed`: the KB's claims beside the store's outcomes -----------


def add_observed_args(p: Any) -> None:
    p.add_argument("--observed", action="store_true",
                   help="put the KB's claimed success_rate and dead-end fail_rate beside "
                        "what the store saw happen next (needs --store)")
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="with --observed: json for scripts")
    add_store_args(p)


def observed(store: Store, kb: KnowledgeBase) -> tuple[list[Any], list[Any]]:
    """Per entry seen and per dead end tried: claimed beside observed (report/history.py)."""
    from worker.report import history as h

    occurrences = store.occurrence_rows()
    facts = h.next_facts(occurrences, store.outcome_rows())
    return (h.entry_claims(kb, h.per_entry(facts)),
            h.dead_end_claims(kb, h.dead_ends_observed(store.dead_end_rows(), occurrences)))


def run_observed(args: argparse.Namespace, kb: KnowledgeBase) -> int:
    store = open_store_or_exit(args.store, create=False, command="kb stats --observed")
    entries, dead_ends = observed(store, kb)
    if args.format == "json":
        sys.stdout.write(orjson.dumps({"entries": [_entry_json(r) for r in entries],
                                       "dead_ends": [_dead_end_json(r) for r in dead_ends]},
                                      option=orjson.OPT_INDENT_2).decode() + "\n")
        return Exit.OK
    print(f"store: {args.store}: what happened next, beside what the KB claims")
    print("claimed = best workaround's success_rate; green = next job of the same repo, "
          "pipeline and job passed;\nretry = a plain retry passed (a flake); recur = back in "
          "the same repo within 7 days; ttg = time to green")
    print(f"{'occ':>5}  {'claimed':>7}  {'green':>5}  {'retry':>5}  {'recur':>5}  "
          f"{'ttg p50':>8}  {'ttg p90':>8}  kb_id")
    for r in entries:
        o = r.observed
        print(f"{o.occurrences:>5}  {_pct(r.claimed_success):>7}  {_pct(o.green_share):>5}  "
              f"{_pct(o.retry_share):>5}  {_pct(o.recurred_share):>5}  "
              f"{_duration(o.ttg_median):>8}  {_duration(o.ttg_p90):>8}  {r.kb_id}")
    print("\ndead ends tried: claimed fail_rate beside observed (the error came back within "
          "7 days)")
    print(f"{'tries':>5}  {'claimed':>7}  {'observed':>8}  kb_id: dead end")
    for d in dead_ends:
        print(f"{d.observed.attempts:>5}  {_pct(d.claimed_fail_rate):>7}  "
              f"{_pct(d.observed.fail_rate):>8}  {d.kb_id}: {d.dead_end}")
    if not entries and not dead_ends:
        print("No occurrences in this store yet: run `tfpulse replay` or `tfpulse run`.")
    return Exit.OK


def _entry_json(r: Any) -> dict[str, Any]:
    o = r.observed
    return {"kb_id": r.kb_id, "family": r.family, "occurrences": o.occurrences,
            "claimed_success_rate": r.claimed_success, "observed_green_share": o.green_share,
            "with_next": o.with_next, "next_green": o.next_green,
            "retry_resolved": o.retry_resolved, "retry_share": o.retry_share,
            "recurred_7d": o.recurred_7d, "recurred_share": o.recurred_share,
            "reached_green": o.reached_green, "ttg_median_seconds": o.ttg_median,
            "ttg_p90_seconds": o.ttg_p90}


def _dead_end_json(r: Any) -> dict[str, Any]:
    return {"kb_id": r.kb_id, "dead_end": r.dead_end, "claimed_fail_rate": r.claimed_fail_rate,
            "attempts": r.observed.attempts, "came_back": r.observed.came_back,
            "observed_fail_rate": r.observed.fail_rate}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _duration(seconds: float | None) -> str:
    """4m, 3.5h, 2.1d: time to green at a glance."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
