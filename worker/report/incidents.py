"""Storms: one KB entry failing in many repos within minutes is one incident (pure).

An expired organisation credential or a registry outage fails the same entry in every repo
at once. The storm rule is defined here, once: an entry storms while at least
`STORM_RULE.min_repos` distinct repos had it within `STORM_RULE.window`, and storm windows
that overlap (share an occurrence) are one incident. The FailureStorm alert
(dashboards/prometheus/alerts.yml, group tfpulse-storms) applies the same rule to
Prometheus counters, at processing time; here it runs on the store's event times.
tests/test_alert_rules.py checks that the alert's numbers are these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from worker.report.calc import Window, to_utc


@dataclass(frozen=True, slots=True)
class StormRule:
    """At least `min_repos` distinct repos with one entry within `window`."""

    window: timedelta
    min_repos: int

    def describe(self) -> str:
        minutes = int(self.window.total_seconds() // 60)
        return f"at least {self.min_repos} repos within {minutes} minutes"


STORM_RULE = StormRule(window=timedelta(minutes=15), min_repos=5)


@dataclass(frozen=True, slots=True)
class Incident:
    """One storm: its entry, first and last occurrence (event time), repos and teams hit."""

    kb_id: str
    start: datetime
    end: datetime
    repos: tuple[str, ...]
    teams: tuple[str, ...]
    occurrences: int


def entry_storms(times: Sequence[datetime], repos: Sequence[str],
                 rule: StormRule = STORM_RULE) -> list[tuple[int, int]]:
    """The storms of one entry as (first, last) indexes into its occurrences, which must
    be sorted by time. A trailing window (t - window, t] ending at an occurrence storms when
    it holds `min_repos` distinct repos; its occurrences belong to the storm, and windows
    that share an occurrence are one storm."""
    storms: list[tuple[int, int]] = []
    in_window: Counter[str] = Counter()
    left = 0
    for i, now in enumerate(times):
        in_window[repos[i]] += 1
        while times[left] <= now - rule.window:
            in_window[repos[left]] -= 1
            if not in_window[repos[left]]:
                del in_window[repos[left]]
            left += 1
        if len(in_window) < rule.min_repos:
            continue
        if storms and left <= storms[-1][1]:
            storms[-1] = (storms[-1][0], i)
        else:
            storms.append((left, i))
    return storms


def find_incidents(occurrences: pd.DataFrame, rule: StormRule = STORM_RULE) -> list[Incident]:
    """Every storm in the occurrences (columns kb_id, repo, first_seen, optional team),
    ordered by start then kb_id. Unclassified occurrences (no kb_id) never storm."""
    frame = occurrences[occurrences["kb_id"].notna() & (occurrences["kb_id"] != "")].copy()
    frame["first_seen"] = to_utc(frame["first_seen"])
    if "team" not in frame:
        frame["team"] = ""
    frame = frame.sort_values(["kb_id", "first_seen", "repo"], kind="mergesort")
    found = []
    for kb_id, group in frame.groupby("kb_id", sort=True):
        times = [t.to_pydatetime() for t in group["first_seen"]]
        repos, teams = list(group["repo"]), list(group["team"].fillna(""))
        for first, last in entry_storms(times, repos, rule):
            found.append(Incident(
                kb_id=str(kb_id), start=times[first], end=times[last],
                repos=tuple(sorted(set(repos[first:last + 1]))),
                teams=tuple(sorted(set(teams[first:last + 1]) - {""})),
                occurrences=last - first + 1))
    return sorted(found, key=lambda inc: (inc.start, inc.kb_id))


INCIDENT_COLUMNS = ["kb_id", "start", "end", "repos", "occurrences", "repo_list"]


def incidents_table(occurrences: pd.DataFrame, window: Window, *, repo: str | None = None,
                    team: str | None = None, rule: StormRule = STORM_RULE) -> pd.DataFrame:
    """The report's "Incidents" table: storms that overlap the window, newest first, from
    the occurrences up to its end (as_of). With a repo or team filter, the storms that hit
    it; `occurrences` must then hold every repo (a storm is only seen across repos)."""
    start, end = pd.Timestamp(window.start).tz_localize("UTC"), pd.Timestamp(window.end)
    seen = to_utc(occurrences["first_seen"])
    found = find_incidents(occurrences[seen < end], rule)  # nothing after as_of counts
    rows = []
    for inc in sorted(found, key=lambda i: (-i.start.timestamp(), i.kb_id)):
        if inc.end < start:
            continue
        if (repo is not None and repo not in inc.repos) or (team is not None and team not in inc.teams):
            continue
        rows.append((inc.kb_id, _when(inc.start), _when(inc.end), len(inc.repos),
                     inc.occurrences, ", ".join(inc.repos)))
    return pd.DataFrame(rows, columns=INCIDENT_COLUMNS)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")
