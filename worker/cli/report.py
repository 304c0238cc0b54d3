"""`tfpulse report`: the weekly trend report from the store (Markdown, HTML or CSV)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from worker.cli.common import add_kb_and_store_args, open_kb_and_store
from worker.cli.exits import Exit

HELP = """\
Weekly trend report computed with pandas from the store: occurrences per entry per ISO
week with week-over-week change; new, chronic, gone-quiet and regressed failures; the
top permission errors with the least-privilege statement that would prevent them;
state-lock contention vs permission per repo; unclassified share and templates; by repo
and team; dead-end attempts. The same store and --as-of always give the same report.

formats: md (chat, pull request), html (one self-contained file with charts), csv (one
file per table in the --out folder).  Run it weekly: see docs/reports.md.
"""


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="weekly trend report (md, html, csv)", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weeks", type=int, default=8, help="weeks covered (default 8)")
    p.add_argument("--as-of", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
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

    kb, store = open_kb_and_store(args)
    fmt = args.format or format_of(args.out)
    if fmt == "csv" and args.out == "-":
        print("tfpulse report: --format csv needs --out FOLDER", file=sys.stderr)
        return Exit.USAGE
    as_of = args.as_of or date.today()
    written = write_report(store, kb, args.out, weeks=args.weeks, as_of=as_of, fmt=fmt,
                           repo=args.repo, team=args.team)
    if args.out != "-":
        print(f"report ({args.weeks} weeks to {as_of}) written: {', '.join(written)}",
              file=sys.stderr)
    return Exit.OK
