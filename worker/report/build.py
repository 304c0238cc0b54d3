"""Weekly trend report over the tfpulse store (`tfpulse report`).

`build_report` reads three tables with pandas.read_sql (`read_frames`, the only I/O) and
hands the frames to `compute_report`, which is pure: the same store and the same `as_of`
give the same Report, and the renderers (worker.report.render, worker.report.html) turn
it into byte-identical Markdown, HTML and CSV. See docs/reports.md for what each section
means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from worker.report import calc, tables
from worker.report import permissions as perm

OCC_COLUMNS = ("repo", "run_id", "run_attempt", "job", "kb_id", "team", "category", "tags",
               "principal", "action", "resource", "first_seen", "template_id")
DEAD_COLUMNS = ("repo", "run_id", "run_attempt", "job", "kb_id", "signal", "seen_at")
TEMPLATE_COLUMNS = ("template_id", "template", "example", "occurrences", "first_seen", "last_seen")


@dataclass(frozen=True)
class Frames:
    """The raw rows a report is computed from (one DataFrame per store table)."""

    occurrences: pd.DataFrame
    templates: pd.DataFrame
    dead_ends: pd.DataFrame


@dataclass(frozen=True)
class Report:
    """Everything a renderer needs; `tables` is ordered as the report reads."""

    as_of: date
    weeks: int
    chronic_weeks: int
    window_start: date
    week_labels: tuple[str, ...]
    repo: str | None
    team: str | None
    top: int
    summary: dict[str, int | float]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def _engine(store: Any) -> Engine:
    """An Engine from an Engine, a store object with `.engine`, or a database URL."""
    if isinstance(store, str):
        return create_engine(store)
    return getattr(store, "engine", store)


def _read(engine: Engine, table: str, columns: tuple[str, ...], where: dict[str, str]) -> pd.DataFrame:
    if not inspect(engine).has_table(table):
        return pd.DataFrame(columns=list(columns))
    sql = f"SELECT {', '.join(columns)} FROM {table}"
    if where:
        sql += " WHERE " + " AND ".join(f"{column} = :{column}" for column in where)
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=where)


def read_frames(store: Any, *, repo: str | None = None, team: str | None = None) -> Frames:
    """Read the occurrences (whole history: needed for "new" and "regressed"), the
    unclassified templates and the dead-end attempts, filtered by repo and team in SQL."""
    engine = _engine(store)
    where = {k: v for k, v in (("repo", repo), ("team", team)) if v is not None}
    return Frames(
        occurrences=_read(engine, "occurrences", OCC_COLUMNS, where),
        templates=_read(engine, "unclassified_templates", TEMPLATE_COLUMNS, {}),
        dead_ends=_read(engine, "dead_end_attempts", DEAD_COLUMNS,
                        {"repo": repo} if repo is not None else {}),
    )


def kb_titles_of(kb: Mapping[str, Any], ids: list[str]) -> dict[str, str]:
    return {kb_id: tables.kb_field(kb, kb_id, "title") or kb_id for kb_id in ids}


def compute_report(frames: Frames, kb: Mapping[str, Any], *, weeks: int, as_of: date,
                   repo: str | None = None, team: str | None = None,
                   chronic_weeks: int | None = None, top: int = 20) -> Report:
    """The report from frames already read (pure). Dead ends carry no team: with a team
    filter they are kept for the repos that team's occurrences come from."""
    window = calc.Window(as_of, weeks)
    k = chronic_weeks or calc.default_chronic_weeks(weeks)
    occ = calc.add_age(frames.occurrences, "first_seen", window)
    occ["kb_id"] = occ["kb_id"].where(occ["kb_id"].notna() & (occ["kb_id"] != ""), None)
    occ["in_window"] = occ["age"] < weeks
    dead = calc.add_age(frames.dead_ends, "seen_at", window)
    if team is not None:
        dead = dead[dead["repo"].isin(set(occ["repo"]))]
    win, win_dead = occ[occ["in_window"]], dead[dead["age"] < weeks]
    classified = occ[occ["kb_id"].notna()]
    titles = kb_titles_of(kb, sorted(set(classified["kb_id"]) | set(dead["kb_id"])))
    result = {
        "weekly_totals": calc.weekly_totals(occ, window),
        "trend": calc.trend_wide(classified, window, titles),
        "weekly": calc.weekly_long(classified, window, titles),
        "lifecycle": calc.lifecycle(classified, window, k, titles),
        "permissions": perm.permission_errors(win, top),
        "least_privilege": perm.least_privilege(win),
        "state_locks": perm.state_locks(win),
        "unclassified": tables.unclassified_templates(win, frames.templates, top),
        "by_repo": tables.breakdown(occ, "repo"),
        "by_team": tables.breakdown(occ, "team"),
        "dead_ends": tables.dead_ends(win_dead, titles),
        "entries": tables.entries(win, kb, titles),
    }
    return Report(as_of=as_of, weeks=weeks, chronic_weeks=k, window_start=window.start,
                  week_labels=tuple(window.labels), repo=repo, team=team, top=top,
                  summary=tables.summary(win, win_dead), tables=result)


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
