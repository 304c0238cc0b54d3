"""The weekly trend report, computed from frames already read (pure).

`compute_report` is pure: the same frames and the same `as_of` give the same Report, and
the renderers (worker.report.render, worker.report.html) turn it into byte-identical
Markdown, HTML and CSV. Reading the store is report/read.py; building and writing a
report file, report/write.py. See docs/reports.md for what each section means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from worker.report import calc, fixfirst, incidents, nexttables, tables
from worker.report import permissions as perm
from worker.report.read import Frames


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
    notices: tuple[str, ...] = ()  # stale data, partial week: shown above everything


def kb_titles_of(kb: Mapping[str, Any], ids: list[str]) -> dict[str, str]:
    return {kb_id: tables.kb_field(kb, kb_id, "title") or kb_id for kb_id in ids}


SHADOW_MARK = " (shadow)"


def mark_shadow(frames: dict[str, pd.DataFrame], kb: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Every entry id shown gets a mark when the entry is shadow (on trial, never alerts):
    the status is the KB's (read now), not the store's, so a promotion shows at once."""
    shadow = {kb_id for kb_id in kb if tables.kb_field(kb, kb_id, "status") == "shadow"}
    if not shadow:
        return frames
    marked = {}
    for name, frame in frames.items():
        frame = frame.copy()
        for column in ("kb_id", "top_entry"):
            if column in frame.columns:
                frame[column] = frame[column].map(
                    lambda v: f"{v}{SHADOW_MARK}" if v in shadow else v)
        marked[name] = frame
    return marked


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
    first_day = calc.first_day_of(occ)
    titles = kb_titles_of(kb, sorted(set(classified["kb_id"]) | set(dead["kb_id"])))
    result = {
        "fix_first": fixfirst.fix_first(win, window, titles,
                                        lambda kb_id: tables.kb_field(kb, kb_id, "workaround")),
        "incidents": incidents.incidents_table(
            frames.occurrences if frames.storm_occurrences is None else frames.storm_occurrences,
            window, repo=repo, team=team),
        "weekly_totals": calc.weekly_totals(occ, window),
        "trend": calc.trend_wide(classified, window, titles, first_day),
        "weekly": calc.weekly_long(classified, window, titles, first_day),
        "lifecycle": calc.lifecycle(classified, window, k, titles),
        "permissions": perm.permission_errors(win, top),
        "least_privilege": perm.least_privilege(win),
        "state_locks": perm.state_locks(win),
        "unclassified": tables.unclassified_templates(win, frames.templates, top),
        "by_family": tables.by_family(occ, kb),
        "by_repo": tables.breakdown(occ, "repo", calc.has_data(window, 1, first_day)),
        "by_team": tables.breakdown(occ, "team", calc.has_data(window, 1, first_day)),
        "dead_ends": tables.dead_ends(win_dead, titles),
        **nexttables.next_tables(win, frames.outcomes, win_dead, kb, titles,
                                 window.end.timestamp(), top),
        "entries": tables.entries(win, kb, titles),
    }
    return Report(as_of=as_of, weeks=weeks, chronic_weeks=k, window_start=window.start,
                  week_labels=tuple(window.labels), repo=repo, team=team, top=top,
                  summary=tables.summary(win, win_dead), tables=mark_shadow(result, kb),
                  notices=fixfirst.notices(occ, window))
