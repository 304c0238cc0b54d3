"""`tfpulse report`: the weekly trend report from the store (Markdown, HTML or CSV)."""

from __future__ import annotations

import argparse
import difflib
import sys
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from worker.cli.common import add_kb_and_store_args, load_kb_or_exit, open_store_or_exit
from worker.cli.exits import Exit
from worker.store import schema
from worker.store.store import Store

HELP = """\
Weekly trend report computed with pandas from the store: occurrences per entry per ISO
week with week-over-week change; new, chronic, gone-quiet and regressed failures; the
top permission errors with the least-privilege statement that would prevent them;
state-lock contention vs permission per repo; unclassified share and templates; by repo
and team; dead-end attempts. The same store and --as-of always give the same report.

formats: md (chat, pull request), html (one self-contained file with charts), csv (one
file per table in the --out folder).  Run it weekly: see docs/reports.md.

examples:
  tfpulse report --store sqlite:///tfpulse-demo.db --out weekly.html
  tfpulse report --weeks 4 --as-of 2024-03-31 --repo acme/infra      one repo, one month
  tfpulse report --format csv --out report-csv/                        every table, all rows
"""


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="weekly trend report (md, html, csv)", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weeks", type=int, default=8, help="weeks covered (default 8)")
    p.add_argument("--as-of", type=_day, default=None, metavar="YYYY-MM-DD",
                   help="last day covered (default: today, UTC)")
    p.add_argument("--format", choices=["md", "html", "csv"], default=None,
                   help="default: from the --out suffix, else md")
    p.add_argument("--out", default="-", metavar="PATH",
                   help="file (md, html) or folder (csv); '-' prints to stdout")
    p.add_argument("--repo", default=None, help="only this repository")
    p.add_argument("--team", default=None, help="only this team")
    add_kb_and_store_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from worker.report.write import format_of, write_report  # pandas, matplotlib: on use

    kb = load_kb_or_exit(args)
    store = open_store_or_exit(args.store, create=False, command="report")
    for column, value in (("repo", args.repo), ("team", args.team)):
        problem = unknown(store, column, value)
        if problem:
            print(f"tfpulse report: {problem}", file=sys.stderr)
            return Exit.USAGE
    if args.weeks < 1:
        print("tfpulse report: --weeks must be 1 or more", file=sys.stderr)
        return Exit.USAGE
    fmt = args.format or format_of(args.out)
    if fmt == "csv" and args.out == "-":
        print("tfpulse report: --format csv needs --out FOLDER", file=sys.stderr)
        return Exit.USAGE
    as_of = args.as_of or datetime.now(UTC).date()
    written = write_report(store, kb, args.out, weeks=args.weeks, as_of=as_of, fmt=fmt,
                           repo=args.repo, team=args.team)
    if args.out != "-":
        print(f"report ({args.weeks} weeks to {as_of}) written: {', '.join(written)}",
              file=sys.stderr)
    return Exit.OK


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day: {text!r} (expected YYYY-MM-DD)") from None


def unknown(store: Store, column: str, value: str | None) -> str | None:
    """Why --repo/--team `value` selects nothing (with the closest names), or None."""
    if value is None:
        return None
    col = schema.occurrences.c[column]
    with store.engine.connect() as conn:
        names = sorted(str(v) for (v,) in conn.execute(select(col).distinct()) if v)
    if value in names:
        return None
    close = difflib.get_close_matches(value, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else \
        f"; the store has {len(names)} {column}(s)" + (f", e.g. {', '.join(names[:3])}"
                                                      if names else "")
    return f"no occurrences with {column} {value!r} in this store{hint}"
