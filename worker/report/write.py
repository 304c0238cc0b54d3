"""Build a report from the store and write it: Markdown, HTML (one file) or CSV (a folder)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from worker.knowledge.entry import KnowledgeBase
from worker.report.build import Report, compute_report
from worker.report.history import claimed_fail_rates
from worker.report.html import render_html
from worker.report.read import read_frames
from worker.report.render import render_markdown, write_csv


def build_report(engine: Any, kb_titles: Mapping[str, Any], *, weeks: int = 8,
                 as_of: date | None = None, repo: str | None = None, team: str | None = None,
                 chronic_weeks: int | None = None, top: int = 20) -> Report:
    """Read the store and compute the weekly report.

    engine: a SQLAlchemy Engine, an object with `.engine` (the Store) or a database URL.
    kb_titles: kb_id -> KB info (object or mapping with title/signature, tags, category,
    root_cause, workaround). as_of defaults to today's UTC date; pass it for reproducible
    output. chronic_weeks (K) defaults to ceil(weeks / 2); top caps the ranked tables.
    """
    as_of = as_of or datetime.now(UTC).date()
    frames = read_frames(engine, repo=repo, team=team)
    return compute_report(frames, kb_titles, weeks=weeks, as_of=as_of, repo=repo, team=team,
                          chronic_weeks=chronic_weeks, top=top)


def kb_info(kb: KnowledgeBase) -> dict[str, dict[str, Any]]:
    """What the report shows of each entry."""
    info = {}
    rates = claimed_fail_rates(kb)
    for e in kb:
        best = e.workarounds()[0] if e.workarounds() else {}
        info[e.id] = {"title": short_title(e.title), "tags": list(e.tags), "category": e.category,
                      "family": e.family or "", "fallback": e.fallback, "status": e.status,
                      "root_cause": e.data.get("root_cause", ""),
                      "workaround": best.get("action", ""),
                      "success_rate": _rate(best.get("success_rate")),
                      "dead_end_rates": {sig: rate for (kb_id, sig), rate in rates.items()
                                         if kb_id == e.id}}
    return info


def _rate(value: Any) -> float | None:
    return None if value is None else float(value)


def write_report(store: Any, kb: KnowledgeBase, out: str, *, weeks: int, as_of: date,
                 fmt: str | None = None, repo: str | None = None,
                 team: str | None = None) -> list[str]:
    fmt = fmt or format_of(out)
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


def short_title(text: str, width: int = 120) -> str:
    """A title that fits a table cell, cut at a word boundary (never mid-word)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    return text[:width].rsplit(" ", 1)[0].rstrip(" ,;:") + " …"


def format_of(out: str) -> str:
    """The format an --out path asks for: by suffix, a folder means CSV, else Markdown."""
    suffix = Path(out).suffix.lower()
    return {".html": "html", ".htm": "html", ".md": "md", ".csv": "csv"}.get(
        suffix, "csv" if out != "-" and Path(out).is_dir() else "md")
