"""`tfpulse report`: the weekly trend report from the store (Markdown, HTML or CSV)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from worker.cli.common import add_kb_args, add_store_args, load_kb_or_exit, open_store_or_exit
from worker.cli.exits import Exit
from worker.knowledge.entry import KnowledgeBase

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
    add_store_args(p)
    add_kb_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kb = load_kb_or_exit(args)
    store = open_store_or_exit(args.store)
    fmt = args.format or _format_of(args.out)
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


def _format_of(out: str) -> str:
    suffix = Path(out).suffix.lower()
    return {".html": "html", ".htm": "html", ".md": "md", ".csv": "csv"}.get(
        suffix, "csv" if out != "-" and Path(out).is_dir() else "md")


def kb_info(kb: KnowledgeBase) -> dict[str, dict[str, Any]]:
    """What the report shows of each entry."""
    info = {}
    for e in kb:
        best = e.workarounds()[0] if e.workarounds() else {}
        info[e.id] = {"title": e.title, "tags": list(e.tags), "category": e.category,
                      "root_cause": e.data.get("root_cause", ""),
                      "workaround": best.get("action", "")}
    return info


def write_report(store: Any, kb: KnowledgeBase, out: str, *, weeks: int, as_of: date,
                 fmt: str | None = None, repo: str | None = None,
                 team: str | None = None) -> list[str]:
    from worker.report.build import build_report
    from worker.report.html import render_html
    from worker.report.render import render_markdown, write_csv

    fmt = fmt or _format_of(out)
    report = build_report(store, kb_info(kb), weeks=weeks, as_of=as_of, repo=repo, team=team)
    if fmt == "csv":
        return [str(p) for p in write_csv(report, out)]
    text = render_html(report) if fmt == "html" else render_markdown(report)
    if out == "-":
        sys.stdout.write(text)
        return ["-"]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text, encoding="utf-8")
    return [out]
