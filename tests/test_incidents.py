"""Storms are one incident: the report's incident detection (worker/report/incidents.py).

The same situations as the promtool tests of the FailureStorm alert
(dashboards/prometheus/storms_test.yml): a storm, independent recurrences, one repo short,
a retry loop; plus the window's boundary, merging, and the report's filters. Event times.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from worker.cli.main import main
from worker.model import Batch, JobInfo, JobKey, Occurrence
from worker.report.build import compute_report
from worker.report.calc import Window
from worker.report.incidents import STORM_RULE, Incident, StormRule, find_incidents, incidents_table
from worker.report.read import read_frames
from worker.report.render import render_markdown
from worker.report.write import build_report
from worker.store.store import open_store

T0 = datetime(2024, 6, 11, 9, 0, tzinfo=UTC)  # Tuesday of 2024-W24
TOKEN, LOCK, RATE = "aws/expired-token", "terraform/state-lock-dynamodb-held", "providers/github-api-rate-limit"
REPOS = [f"acme/repo-{c}" for c in "abcdefghij"]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def frame(rows: list[tuple[str | None, str, float]], team: str = "platform") -> pd.DataFrame:
    """(kb_id, repo, minutes after T0) rows as the store gives them."""
    return pd.DataFrame({"kb_id": [r[0] for r in rows], "repo": [r[1] for r in rows],
                         "team": [team] * len(rows), "first_seen": [at(r[2]) for r in rows]})


def test_the_rule_is_five_repos_within_fifteen_minutes() -> None:
    assert (STORM_RULE.window, STORM_RULE.min_repos) == (timedelta(minutes=15), 5)
    assert STORM_RULE.describe() == "at least 5 repos within 15 minutes"


def test_a_storm_is_one_incident_with_its_repos() -> None:
    # An earlier lone failure (2h before) is not part of it; a retry inside it is.
    rows = [(TOKEN, REPOS[0], -120.0), (TOKEN, REPOS[0], 0), (TOKEN, REPOS[0], 1),
            (TOKEN, REPOS[1], 2), (TOKEN, REPOS[2], 3), (TOKEN, REPOS[3], 5),
            (TOKEN, REPOS[4], 8), (TOKEN, REPOS[5], 10)]
    assert find_incidents(frame(rows)) == [Incident(
        kb_id=TOKEN, start=at(0), end=at(10), repos=tuple(REPOS[:6]), teams=("platform",),
        occurrences=7)]


def test_independent_recurrences_are_no_incident() -> None:
    # The same entry in 10 repos, one every 20 minutes, some of them again and again.
    rows = [(LOCK, repo, 20.0 * i) for i, repo in enumerate(REPOS)]
    rows += [(LOCK, REPOS[0], 35), (LOCK, REPOS[0], 95), (LOCK, REPOS[1], 36)]
    # A retry loop: one repo, 20 runs in 10 minutes.
    rows += [(RATE, REPOS[2], 300 + i / 2) for i in range(20)]
    assert find_incidents(frame(rows)) == []


def test_one_repo_short_and_the_window_boundary() -> None:
    # 4 repos within 10 minutes, the 5th exactly 15 minutes after the first: the window is
    # (t - 15m, t], so the first has left it.
    short = [(TOKEN, REPOS[i], m) for i, m in enumerate([0, 2, 5, 9, 15])]
    assert find_incidents(frame(short)) == []
    # ... one second earlier it is a storm.
    inside = short[:4] + [(TOKEN, REPOS[4], 15 - 1 / 60)]
    [incident] = find_incidents(frame(inside))
    assert (incident.start, incident.end, len(incident.repos)) == (at(0), at(15 - 1 / 60), 5)


def test_five_repos_of_five_entries_and_unclassified_failures_are_no_storm() -> None:
    rows = [(f"entry/{i}", REPOS[i], float(i)) for i in range(5)]
    rows += [(None, REPOS[i], float(i)) for i in range(6)] + [("", REPOS[7], 3.0)]
    assert find_incidents(frame(rows)) == []


def test_overlapping_windows_merge_and_separate_bursts_do_not() -> None:
    burst = [(TOKEN, REPOS[i], float(i)) for i in range(5)]  # 0..4 min
    # A second wave that shares the first one's window: one incident, 9 repos.
    wave = [(TOKEN, REPOS[5 + i], 14.0 + i) for i in range(4)]
    [one] = find_incidents(frame(burst + wave))
    assert (one.start, one.end, len(one.repos), one.occurrences) == (at(0), at(17), 9, 9)
    # The same burst again 40 minutes later: two incidents.
    again = [(TOKEN, REPOS[i], 40.0 + i) for i in range(5)]
    first, second = find_incidents(frame(burst + again))
    assert (first.start, first.end, second.start, second.end) == (at(0), at(4), at(40), at(44))
    # A stricter rule (here: 6 repos) is honoured.
    assert find_incidents(frame(burst), StormRule(timedelta(minutes=15), 6)) == []


def test_the_table_keeps_the_window_and_the_filters() -> None:
    window = Window(date(2024, 6, 12), 1)  # 2024-W24 up to Wednesday 2024-06-12
    rows = [(TOKEN, REPOS[i], float(i)) for i in range(5)]  # Tuesday
    rows += [(LOCK, REPOS[5 + i], 60.0 + i) for i in range(5)]
    rows += [(TOKEN, REPOS[i], -8 * 24 * 60.0 + i) for i in range(5)]  # the week before
    rows += [(RATE, REPOS[i], 2 * 24 * 60.0 + i) for i in range(5)]  # after as_of
    table = incidents_table(frame(rows), window)
    assert [tuple(r) for r in table.itertuples(index=False)] == [
        (LOCK, "2024-06-11 10:00:00Z", "2024-06-11 10:04:00Z", 5, 5, ", ".join(REPOS[5:10])),
        (TOKEN, "2024-06-11 09:00:00Z", "2024-06-11 09:04:00Z", 5, 5, ", ".join(REPOS[:5])),
    ]
    assert list(incidents_table(frame(rows), window, repo=REPOS[6])["kb_id"]) == [LOCK]
    assert list(incidents_table(frame(rows), window, team="platform")["kb_id"]) == [LOCK, TOKEN]
    assert incidents_table(frame(rows), window, team="data").empty


def _store_with_a_storm(url: str) -> None:
    """5 repos of 5 teams hit by one entry within 4 minutes, and a lone failure elsewhere."""
    occurrences = [
        Occurrence(JobKey(repo, f"run-{i}", 1, "plan"), TOKEN, at(i).timestamp(),
                   JobInfo(provider="github_actions", pipeline="terraform", team=f"team-{i}"),
                   "auth_error", ("permission", "credentials", "aws"), {}, text=TOKEN)
        for i, repo in enumerate(REPOS[:5])]
    occurrences.append(Occurrence(JobKey(REPOS[7], "run-x", 1, "plan"), LOCK, at(90).timestamp(),
                                  JobInfo(provider="github_actions", pipeline="terraform",
                                          team="team-7"),
                                  "state_error", ("state-lock",), {}, text=LOCK))
    store = open_store(url)
    try:
        store.write(Batch(occurrences=occurrences))
    finally:
        store.close()


def test_the_report_lists_the_storm_also_when_filtered_to_one_repo_or_team(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/storm.db"
    _store_with_a_storm(url)
    as_of = date(2024, 6, 12)
    report = build_report(url, {}, weeks=2, as_of=as_of)
    [row] = [tuple(r) for r in report.tables["incidents"].itertuples(index=False)]
    assert row == (TOKEN, "2024-06-11 09:00:00Z", "2024-06-11 09:04:00Z", 5, 5,
                   ", ".join(REPOS[:5]))
    md = render_markdown(report)
    assert "## Incidents" in md and f"| {TOKEN} | 2024-06-11 09:00:00Z |" in md
    # One repo (or team) alone never has 5 repos: the storm is found across the store.
    frames = read_frames(url, team="team-3")
    assert set(frames.occurrences["repo"]) == {REPOS[3]}
    for scope in ({"repo": REPOS[3]}, {"team": "team-3"}):
        filtered = build_report(url, {}, weeks=2, as_of=as_of, **scope)
        assert list(filtered.tables["incidents"]["kb_id"]) == [TOKEN], scope
    assert build_report(url, {}, weeks=2, as_of=as_of, repo=REPOS[7]).tables["incidents"].empty
    # The pure path with every repo in `occurrences` finds it as well.
    same = compute_report(read_frames(url), {}, weeks=2, as_of=as_of)
    assert same.tables["incidents"].equals(report.tables["incidents"])


# ---------------------------------------------------------------------- the sample stream
ROOT = Path(__file__).resolve().parent.parent
TRUTH = json.loads((ROOT / "examples" / "sample-ci-stream.truth.json").read_text())


@pytest.fixture(scope="module")
def sample_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sample') / 'sample.db'}"
    assert main(["replay", str(ROOT / "examples" / "sample-ci-stream.jsonl.gz"), "--store", url,
                 "--top", "0", "--no-progress"]) == 0
    return url


def test_the_sample_streams_storm_is_found_as_the_generator_made_it(sample_url: str) -> None:
    """The generator's truth (examples/generate_sample_stream.py, `incidents`) against the
    incidents found in the replayed store: the same storms, repos, start, end and count,
    and nothing else in eight weeks of ordinary failures."""
    want = TRUTH["incidents"]
    assert want, "the sample stream has no storm"
    found = find_incidents(read_frames(sample_url).occurrences)
    assert [{"kb_id": i.kb_id, "repos": list(i.repos), "occurrences": i.occurrences,
             "start_epoch": round(i.start.timestamp(), 3), "end_epoch": round(i.end.timestamp(), 3)}
            for i in found] == [
        {k: t[k] for k in ("kb_id", "repos", "occurrences", "start_epoch", "end_epoch")}
        for t in want]
    report = build_report(sample_url, {}, weeks=8, as_of=date(2026, 11, 22))
    [row] = [tuple(r) for r in report.tables["incidents"].itertuples(index=False)]
    start = datetime.fromtimestamp(want[0]["start_epoch"], UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    assert row[:2] == (want[0]["kb_id"], start) and row[3:5] == (len(want[0]["repos"]), want[0]["occurrences"])
