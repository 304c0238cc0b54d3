"""Every dashboard query runs against the real thing: Prometheus scraping a real worker, and
the PostgreSQL store that worker wrote.

A real Prometheus (`/usr/bin/prometheus`, Debian package, installed by `make deps`)
scrapes a real worker, `tfpulse replay - --store <PostgreSQL> --metrics-address ... --serve`,
every second and loads `dashboards/prometheus/alerts.yml`. Then every PromQL target of every
Grafana panel, with the variables replaced as in the table at the top of
docs/operations.md, goes through `/api/v1/query` (and `/api/v1/query_range` for the time
series panels): it must be valid, and return data unless the panel is in ALLOWED_EMPTY.
Every SQL target runs with SQLAlchemy against the same store.

The worker reads the sample stream (examples/sample-ci-stream.jsonl.gz, decompressed) from
stdin, fed by the test one replay batch (20,000 events) at a time, and the next batch goes
in only once Prometheus has scraped the counts of the previous one. Counters move only
while the worker counts: replaying the file in one go takes ~3 s, often over before
Prometheus (which starts scraping a new target up to 5 s after start-up) has scraped it
once, and then every `increase()` is 0 and the `... > 0` panels are empty. Batch by batch,
Prometheus sees every step, so the increases are there on every run.

A missing Prometheus is a failure, not a skip (as for promtool in test_alert_rules.py).
"""

from __future__ import annotations

import gzip
import json
import math
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from tests import prometheus_server
from tests.conftest_postgres import fresh_database
from tests.prometheus_server import PrometheusServer
from worker.knowledge.loader import load_kb
from worker.metrics.collector import LifecycleCollector
from worker.report.incidents import STORM_RULE
from worker.sources.replay import BATCH_EVENTS  # the replay writes and counts per batch
from worker.store.store import open_store

pytestmark = [pytest.mark.prometheus, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
TFPULSE = ROOT / ".venv" / "bin" / "tfpulse"
SAMPLE = ROOT / "examples" / "sample-ci-stream.jsonl.gz"
TRUTH = json.loads((ROOT / "examples" / "sample-ci-stream.truth.json").read_text())
DASHBOARDS = sorted((ROOT / "dashboards" / "grafana").glob("*.json"))
RULES = ROOT / "dashboards" / "prometheus" / "alerts.yml"

REPLAY_DONE = "replay done; serving metrics"
MIN_SCRAPES = 20          # successful scrapes before the panels are queried
SCRAPE_TIMEOUT = 60.0     # first scrape of a new target: up to ~5 s after Prometheus starts
REPLAY_TIMEOUT = 120.0
SETTLE_TIMEOUT = 60.0

# docs/operations.md, "Dashboard query substitutions".
PROMQL_SUBSTITUTIONS = {"$__rate_interval": "5m", "$__range": "1d", "$repo": ".*", "$team": ".*"}
SQL_SUBSTITUTIONS = {"${repo:regex}": ".*", "${team:regex}": ".*"}
TIME_FILTER = re.compile(r"\$__timeFilter\(\s*(\w+)\s*\)")
DOC_TIME_FILTER = r"\1 > now() - interval '30 days'"

# Panels that may legitimately return nothing for a replay of the sample stream.
ALLOWED_EMPTY = {
    # First occurrences in the sample are at most 2026-11-17 (event time): never "this week"
    # when the test runs after 2026-11-24, and the sample's dates are fixed.
    ("tfpulse-overview", "New this week"),
    # tfpulse_consumer_lag_records is set by the Kafka consumer (`tfpulse run`); a replay has
    # no partitions, so the gauge has no series.
    ("tfpulse-overview", "Consumer lag"),
    # 24 repos and 24 teams in the sample, under the caps (100 repos, 30 teams): nothing is
    # folded, so tfpulse_label_overflow_total{label=...} is never created.
    ("tfpulse-overview", 'Label values folded into "other"'),
}

# Panels whose result must contain a positive value: counted occurrences, consumed events.
# (Prometheus scraped while the replay counted, so increase()/rate() over the test's whole
# history is > 0 for them.)
MUST_BE_POSITIVE = {
    ("tfpulse-overview", "Top recurring entries"),
    ("tfpulse-overview", "Recurrence over time"),
    ("tfpulse-overview", "Failures by category"),
    ("tfpulse-overview", "Unclassified share"),
    ("tfpulse-overview", "Classified and unclassified failures"),
    ("tfpulse-overview", "Workers up"),
    ("tfpulse-overview", "Events by result"),
    ("tfpulse-overview", "Event lag p95"),
    ("tfpulse-permissions-locks", "Permission errors by repo"),
    ("tfpulse-permissions-locks", "Permission errors by team"),
    ("tfpulse-permissions-locks", "Permission errors per entry and repo"),
    ("tfpulse-permissions-locks", "Lock errors by repo"),
    ("tfpulse-permissions-locks", "Lock errors by team"),
    ("tfpulse-permissions-locks", "Lock errors per entry and repo"),
    ("tfpulse-permissions-locks", "Known dead ends tried"),
    # The replay puts the whole sample into Prometheus within minutes: as Prometheus sees
    # it, every entry of 5 or more repos storms (test_storms_as_prometheus_sees_the_replay).
    ("tfpulse-overview", "Storms in progress"),
    ("tfpulse-overview", "Repos in a storm"),
    ("tfpulse-overview", "Repos per entry (15m)"),
    # Every entry seen has a state (old ones: dormant).
    ("tfpulse-overview", "Entries per lifecycle state"),
    ("tfpulse-overview", "Entry lifecycle"),
}

SAMPLE_START = datetime.fromisoformat(TRUTH["window"]["start"].replace("Z", "+00:00"))
SAMPLE_END = datetime.fromisoformat(TRUTH["window"]["end"].replace("Z", "+00:00"))


# ---------------------------------------------------------------------- the dashboards
@dataclass(frozen=True)
class Target:
    dashboard: str      # file stem, e.g. tfpulse-overview
    panel: str
    ref: str
    query: str          # expr or rawSql as in the JSON
    is_sql: bool
    range: bool         # a time series panel (Grafana runs a range query)

    @property
    def key(self) -> tuple[str, str]:
        return (self.dashboard, self.panel)

    @property
    def id(self) -> str:
        return f"{self.dashboard.removeprefix('tfpulse-')}/{self.panel}/{self.ref}"


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _uid(ds: Any) -> str:
    return ds.get("uid", "") if isinstance(ds, dict) else str(ds or "")


def load_targets() -> list[Target]:
    out = []
    for path in DASHBOARDS:
        dash = json.loads(path.read_text())
        for panel in _panels(dash["panels"]):
            for t in panel.get("targets", []):
                uid = _uid(t.get("datasource")) or _uid(panel.get("datasource"))
                if "rawSql" in t:
                    assert uid == "tfpulse-store", (path.name, panel["title"], uid)
                    out.append(Target(path.stem, panel["title"], t["refId"], t["rawSql"], True,
                                      False))
                elif "expr" in t:
                    assert uid == "prometheus", (path.name, panel["title"], uid)
                    out.append(Target(path.stem, panel["title"], t["refId"], t["expr"], False,
                                      panel.get("type") == "timeseries" or bool(t.get("range"))))
    return out


TARGETS = load_targets()
PROMQL = [t for t in TARGETS if not t.is_sql]
SQL = [t for t in TARGETS if t.is_sql]


def promql(expr: str) -> str:
    for var, value in PROMQL_SUBSTITUTIONS.items():
        expr = expr.replace(var, value)
    assert "$" not in expr, f"a Grafana variable the docs do not list is left: {expr}"
    return expr


def sql(raw: str, time_filter: str = DOC_TIME_FILTER) -> str:
    for var, value in SQL_SUBSTITUTIONS.items():
        raw = raw.replace(var, value)
    raw = TIME_FILTER.sub(time_filter, raw)
    assert "$" not in raw.replace("$'", ""), f"a Grafana macro the docs do not list is left: {raw}"
    return raw


def test_the_dashboards_have_queries() -> None:
    """Guards the parametrization below: no dashboard silently parses to nothing."""
    assert {p.stem for p in DASHBOARDS} == {"tfpulse-overview", "tfpulse-permissions-locks"}
    assert len(PROMQL) >= 20 and len(SQL) == 4
    keys = {t.key for t in TARGETS}
    assert keys >= ALLOWED_EMPTY and keys >= MUST_BE_POSITIVE


# ---------------------------------------------------------------------- the live stack
@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    stderr: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            self.stderr.append(line)
            if REPLAY_DONE in line:
                self.done.set()

    def log(self) -> str:
        return "".join(self.stderr[-60:])


@dataclass
class Live:
    prom: PrometheusServer
    engine: Engine
    started: float      # unix time Prometheus started
    results: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def live_store_url(postgres_url: str) -> Iterator[str]:
    """A fresh database for this module, as `pg_store_url` does per test (the worker and
    Prometheus are started once and shared by every panel's test)."""
    with fresh_database(postgres_url) as url:
        yield url


def _wait(what: str, cond: Any, timeout: float, interval: float = 0.5,
          diag: Any = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{diag()}")


def _sample_batches() -> list[bytes]:
    lines = gzip.decompress(SAMPLE.read_bytes()).splitlines(keepends=True)
    return [b"".join(lines[i:i + BATCH_EVENTS]) for i in range(0, len(lines), BATCH_EVENTS)]


@pytest.fixture(scope="module")
def live(live_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    if prometheus_server.find_binary() is None:
        pytest.fail("prometheus not found (/usr/bin/prometheus): run `make deps` (installs "
                    "the Debian package `prometheus`)")
    worker_port = prometheus_server.free_port()
    prom = PrometheusServer([f"127.0.0.1:{worker_port}"], [RULES],
                            directory=tmp_path_factory.mktemp("prometheus"))
    worker: Worker | None = None
    engine = create_engine(live_store_url)
    try:
        started = time.time()
        prom.start()
        proc = subprocess.Popen(
            [str(TFPULSE), "replay", "-", "--store", live_store_url, "--top", "0",
             "--no-progress", "--metrics-address", f"127.0.0.1:{worker_port}", "--serve"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        worker = Worker(proc)
        threading.Thread(target=worker.read, daemon=True).start()
        assert proc.stdin is not None

        def diag() -> str:
            return f"worker:\n{worker.log()}\nprometheus:\n{prom.log()}"

        def scraped(expr: str, want: float) -> bool:
            if proc.poll() is not None:
                pytest.fail(f"worker exited {proc.returncode}:\n{diag()}")
            return (prom.scalar(expr) or 0) >= want

        # Every counter at 0 in Prometheus before the first event, then batch by batch.
        _wait("the first scrape of the worker", lambda: scraped('up{job="tfpulse"}', 1),
              SCRAPE_TIMEOUT, 0.2, diag)
        events = 0
        for batch in _sample_batches():
            proc.stdin.write(batch)
            proc.stdin.flush()
            events += batch.count(b"\n")
            if events % BATCH_EVENTS == 0:  # the last, partial batch is counted at EOF
                _wait(f"Prometheus to scrape {events} events",
                      lambda n=events: scraped("sum(tfpulse_events_total)", n),
                      SCRAPE_TIMEOUT, 0.2, diag)
        proc.stdin.close()
        _wait("the replay to finish", lambda: worker.done.is_set() or proc.poll() is not None,
              REPLAY_TIMEOUT, 0.2, diag)
        assert worker.done.is_set(), f"worker exited {proc.returncode}:\n{diag()}"

        # Enough scrapes for the windows, and one after the last batch with fresh store
        # gauges (the store collector caches for 5 s, the lifecycle one for 30 s): every
        # classified occurrence counted, every entry seen with a lifecycle.
        scrapes = 'sum(sum_over_time(up{job="tfpulse"}[1h]))'
        want = TRUTH["occurrences_total"]
        _wait(f"{MIN_SCRAPES} scrapes, all {events} events and {want} occurrences",
              lambda: scraped(scrapes, MIN_SCRAPES)
              and prom.scalar("sum(tfpulse_events_total)") == events
              and prom.scalar("sum(tfpulse_failure_occurrences)") == want
              and prom.scalar("count(max by (kb_id) (tfpulse_entry_lifecycle))")
              == len(TRUTH["entries"]),
              SETTLE_TIMEOUT, 0.5, diag)
        live = Live(prom, engine, started)
        yield live
        print("\n" + "\n".join(f"{k}: {v}" for k, v in sorted(live.results.items())))
    finally:
        engine.dispose()
        code = None
        if worker is not None:
            if worker.proc.stdin is not None and not worker.proc.stdin.closed:
                worker.proc.stdin.close()
            worker.proc.send_signal(signal.SIGTERM)
            try:
                code = worker.proc.wait(30)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait(10)
        prom.stop()
        if worker is not None:
            assert code == 0, f"worker exited {code} on SIGTERM:\n{worker.log()}"


# ---------------------------------------------------------------------- PromQL panels
def _values(result: list[dict[str, Any]]) -> list[float]:
    out = []
    for series in result:
        samples = series["values"] if "values" in series else [series["value"]]
        out += [float(v) for _, v in samples]
    return out


def _check_result(target: Target, body: dict[str, Any], kind: str) -> int:
    assert body.get("status") == "success", f"{kind} failed: {body}"
    result = body["data"]["result"]
    if target.key not in ALLOWED_EMPTY:
        assert result, f"{kind} returned no series"
        values = _values(result)
        assert any(not math.isnan(v) for v in values), f"{kind}: only NaN: {result}"
        if target.key in MUST_BE_POSITIVE:
            assert any(v > 0 for v in values), f"{kind}: nothing > 0: {result}"
    return len(result)


@pytest.mark.parametrize("target", PROMQL, ids=[t.id for t in PROMQL])
def test_promql_panel(live: Live, target: Target) -> None:
    expr = promql(target.query)
    body = live.prom.query(expr)
    n = _check_result(target, body, f"instant query {expr!r}")
    note = f"{n} series (instant)"
    if target.range:
        now = time.time()
        body = live.prom.query_range(expr, live.started, now, 1)
        n = _check_result(target, body, f"range query {expr!r}")
        note += f", {n} series (range)"
    live.results[target.id] = note


def test_promql_panel_details(live: Live) -> None:
    """What the sample stream must show, beyond "has data"."""
    prom = live.prom
    entries = len(TRUTH["entries"])

    def instant(title: str, ref: str = "A") -> list[dict[str, Any]]:
        [t] = [t for t in PROMQL if t.panel == title and t.ref == ref]
        body = prom.query(promql(t.query))
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    assert len(instant("Top recurring entries")) == 10
    top = sorted(TRUTH["entries"].items(), key=lambda kv: -kv[1]["occurrences"])[:10]
    got = {s["metric"]["kb_id"]: float(s["value"][1]) for s in instant("Top recurring entries")}
    assert min(got.values()) == top[-1][1]["occurrences"]
    for ref in "ABC":
        assert len(instant("First and last seen", ref)) == entries, ref
    first = {s["metric"]["kb_id"]: float(s["value"][1]) for s in instant("First and last seen", "B")}
    for kb_id, truth in TRUTH["entries"].items():
        assert first[kb_id] == pytest.approx(truth["first_seen_epoch"] * 1000, abs=1), kb_id
    assert [float(s["value"][1]) for s in instant("Workers up", "A")] == [1.0]
    assert [float(s["value"][1]) for s in instant("Workers up", "B")] == [1.0]
    assert {s["metric"]["result"] for s in instant("Events by result")} == {
        "ok", "invalid", "dead_lettered"}
    [kb_entries] = instant("Versions and knowledge base", "B")
    assert float(kb_entries["value"][1]) >= entries
    # "New this week" is empty for the sample (see ALLOWED_EMPTY); with the age limit
    # widened past the sample's start its join must list every entry seen, titled.
    [t] = [t for t in PROMQL if t.panel == "New this week"]
    assert "604800" in t.query
    wide = prom.query(promql(t.query).replace("604800", str(365 * 86400)))["data"]["result"]
    assert len(wide) == entries
    assert all(s["metric"].get("title") and s["metric"].get("category") for s in wide)


def _store_counts(live: Live, where: str, by: str) -> dict[tuple[str, ...], float]:
    rows = _run_sql(live, f"SELECT {by}, count(*) FROM occurrences WHERE {where} GROUP BY {by}")
    return {tuple(r[:-1]): float(r[-1]) for r in rows}


def _by(result: list[dict[str, Any]], *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(s["metric"].get(k, "") for k in labels): float(s["value"][1]) for s in result}


def test_range_panels_count_every_job_run(live: Live) -> None:
    """The `$__range` panels count job runs exactly as the store does: Prometheus saw every
    series born during this test, and the panels (like the recording rules) count a series
    born inside the range from its first value, where increase() alone would miss one run
    per series (and show 0 runs for a repo that failed once)."""
    def instant(title: str) -> list[dict[str, Any]]:
        [t] = [t for t in PROMQL if t.panel == title]
        body = live.prom.query(promql(t.query))
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    for title, tag in (("Permission errors per entry and repo", "permission"),
                       ("Lock errors per entry and repo", "state-lock")):
        want = _store_counts(live, f"tags LIKE '%,{tag},%'", "kb_id, repo, team")
        assert want
        assert _by(instant(title), "kb_id", "repo", "team") == want, title
    want = _store_counts(live, "kb_id IS NOT NULL", "category")
    assert _by(instant("Failures by category"), "category") == want
    assert sum(want.values()) == TRUTH["occurrences_total"]
    [(unclassified, total)] = _run_sql(
        live, "SELECT count(*) FILTER (WHERE kb_id IS NULL), count(*) FROM occurrences")
    assert unclassified == TRUTH["unclassified"]["occurrences"]
    [share] = instant("Unclassified share")
    assert float(share["value"][1]) == pytest.approx(unclassified / total)


def test_grafana_variables_have_values(live: Live) -> None:
    """The `repo` and `team` variables: label_values(tfpulse_failures_total{...}, label)."""
    for path in DASHBOARDS:
        for var in json.loads(path.read_text())["templating"]["list"]:
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", var["definition"])
            assert m, var["definition"]
            selector, label = promql(m.group(1)), m.group(2)
            body = live.prom.api(f"label/{label}/values", **{"match[]": selector})
            assert body["status"] == "success", body
            known = set(TRUTH["teams"]) if label == "repo" else set(TRUTH["teams"].values())
            assert body["data"] and set(body["data"]) <= known, (path.name, label, body["data"])


def test_rules_load_and_evaluate(live: Live) -> None:
    """alerts.yml loads into a real Prometheus and every rule evaluates without error."""
    groups = live.prom.api("rules")["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert {g["name"] for g in groups} >= {"tfpulse-recording"}
    assert rules
    _wait("every rule evaluated once",  # never evaluated: lastEvaluation 0001-01-01T...
          lambda: all(not r.get("lastEvaluation", "0001").startswith("0001")
                      for g in live.prom.api("rules")["data"]["groups"] for r in g["rules"]),
          15, 0.5)
    for g in live.prom.api("rules")["data"]["groups"]:
        for r in g["rules"]:
            assert r["health"] == "ok", (r["name"], r.get("lastError"))
    recorded = live.prom.query("kb_id_repo:tfpulse_failures:increase1d")
    assert recorded["status"] == "success" and recorded["data"]["result"]
    total = live.prom.scalar("sum(kb_id_repo:tfpulse_failures:increase1d)")
    assert total == TRUTH["occurrences_total"]


def test_lock_and_permission_rules_count_the_occurrences_tags(live: Live) -> None:
    """The recording rules behind RecurringStateLockError and RecurringPermissionError count,
    per entry and repo, the job runs the store tags `state-lock` / `permission`: the
    occurrence's tags, tag rules included. The sample has such runs of entries that do not
    carry the tag themselves (which a join on the entries' info series would miss)."""
    kb = load_kb()
    earned = 0
    for record, tag in (("kb_id_repo:tfpulse_state_lock_failures:increase6h", "state-lock"),
                        ("kb_id_repo:tfpulse_permission_failures:increase1d", "permission")):
        want = _store_counts(live, f"tags LIKE '%,{tag},%'", "kb_id, repo")
        assert want, tag

        def recorded(rule: str = record) -> dict[tuple[str, ...], float]:
            return _by(live.prom.query(rule)["data"]["result"], "kb_id", "repo")

        # Rules run every second: wait for one evaluation after the last scrape.
        _wait(f"{record} to match the store", lambda r=recorded, w=want: r() == w, 15, 0.5)
        assert recorded() == want, record
        earned += sum(n for (kb_id, _), n in want.items() if not kb.get(kb_id).has_tag(tag))
        live.results[record] = f"{len(want)} series, {sum(want.values()):.0f} job runs"
    assert earned > 0, "no occurrence in the sample earned its tag by a tag rule"


def test_storms_as_prometheus_sees_the_replay(live: Live) -> None:
    """The storm rules at processing time. The replay counts the sample's eight weeks
    within a few minutes of the test's start, well inside the rules' 15-minute window, so
    Prometheus sees every entry that failed in at least STORM_RULE.min_repos repos as a
    storm: the storm panels, the recording rules and the FailureStorm alert (its `repos`
    annotation expanded by a real Prometheus) name exactly those entries and repos of the
    store. (The report's incidents use event times: tests/test_incidents.py.)"""
    window = STORM_RULE.window.total_seconds()
    assert time.time() - live.started < window, "the test ran past the storm window"
    repos: dict[str, set[str]] = {}
    for kb_id, repo in _run_sql(live, "SELECT DISTINCT kb_id, repo FROM occurrences "
                                      "WHERE kb_id IS NOT NULL"):
        repos.setdefault(kb_id, set()).add(repo)
    want = {kb_id: r for kb_id, r in repos.items() if len(r) >= STORM_RULE.min_repos}
    assert want and len(want) < len(repos)

    def storms() -> dict[str, str]:
        alerts = live.prom.api("alerts")["data"]["alerts"]
        return {a["labels"]["kb_id"]: a["annotations"]["repos"] for a in alerts
                if a["labels"]["alertname"] == "FailureStorm" and a["state"] == "firing"}

    expected = {kb_id: ", ".join(sorted(r)) for kb_id, r in want.items()}
    _wait("FailureStorm to fire for the store's entries of 5+ repos",
          lambda: storms() == expected, 15, 0.5, lambda: f"{storms()}\n!=\n{expected}")

    def instant(title: str) -> list[dict[str, Any]]:
        [t] = [t for t in PROMQL if t.panel == title]
        body = live.prom.query(promql(t.query))
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    assert _by(instant("Storms in progress"), "kb_id") == {
        (kb_id,): float(len(r)) for kb_id, r in want.items()}
    assert set(_by(instant("Repos in a storm"), "kb_id", "repo")) == {
        (kb_id, repo) for kb_id, r in want.items() for repo in r}
    # The quiet ones are not storms, but their repos are counted all the same.
    counted = _by(live.prom.query("kb_id:tfpulse_failure_repos:count15m")["data"]["result"], "kb_id")
    assert counted == {(kb_id,): float(len(r)) for kb_id, r in repos.items()}
    live.results["FailureStorm"] = f"{len(want)} of {len(repos)} entries (5+ repos)"


def test_lifecycle_panels_and_the_regressed_alert_follow_the_truth(live: Live) -> None:
    """The replay's lifecycle gauge is as of the sample's last event, whatever today's
    date: the lifecycle panels show each entry's state as the store gives it at that time
    (worker.core.lifecycle through the collector), with titles, and EntryRegressed is pending
    (for: 2m) or firing for exactly the regressed entries."""
    store = open_store(live.engine.url.render_as_string(hide_password=False))
    try:
        latest = max(t.last_seen.timestamp() for t in store.totals())
        states = LifecycleCollector(store, clock=lambda: latest, cache_seconds=0).states()
    finally:
        store.close()
    want = {kb_id: state for kb_id, state in states.items() if state}
    assert "regressed" in want.values() and len(want) > len(TRUTH["entries"]) / 2

    def instant(title: str) -> list[dict[str, Any]]:
        [t] = [t for t in PROMQL if t.panel == title]
        body = live.prom.query(promql(t.query))
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    table = instant("Entry lifecycle")
    assert {s["metric"]["kb_id"]: s["metric"]["state"] for s in table} == want
    assert all(s["metric"].get("title") for s in table)
    counts = {s["metric"]["state"]: float(s["value"][1]) for s in instant("Entries per lifecycle state")}
    assert counts == {state: float(list(want.values()).count(state)) for state in set(want.values())}
    regressed = {kb_id for kb_id, state in want.items() if state == "regressed"}

    def alerted() -> set[str]:
        return {a["labels"]["kb_id"] for a in live.prom.api("alerts")["data"]["alerts"]
                if a["labels"]["alertname"] == "EntryRegressed"}

    _wait("EntryRegressed for every regressed entry", lambda: alerted() == regressed, 15, 0.5,
          lambda: f"{sorted(alerted())}\n!=\n{sorted(regressed)}")
    live.results["EntryRegressed"] = f"{len(regressed)} entries pending or firing"


# ---------------------------------------------------------------------- SQL panels
def _run_sql(live: Live, query: str) -> list[Any]:
    with live.engine.connect() as conn:
        return list(conn.execute(text(query)).all())


@pytest.mark.parametrize("target", SQL, ids=[t.id for t in SQL])
def test_sql_panel(live: Live, target: Target) -> None:
    # As the docs substitute $__timeFilter: the last 30 days before now().
    rows = _run_sql(live, sql(target.query))
    newest = SAMPLE_END.date()
    if date.today() - newest < timedelta(days=30):
        assert rows, "no rows in the last 30 days, though the sample has events in them"
    # As Grafana expands it for a time range over the sample's window: always has data.
    start, end = SAMPLE_START.isoformat(), (SAMPLE_END + timedelta(seconds=1)).isoformat()
    window = rf"\1 BETWEEN '{start}' AND '{end}'"
    all_rows = _run_sql(live, sql(target.query, window))
    assert all_rows, "no rows for the sample's whole window"
    assert len(all_rows) >= len(rows)
    live.results[target.id] = (f"{len(rows)} rows (last 30 days), {len(all_rows)} rows "
                               f"(sample window {SAMPLE_START:%Y-%m-%d}..{SAMPLE_END:%Y-%m-%d})")


def test_sql_panels_agree_with_the_store(live: Live) -> None:
    """The permission and state-lock filters select what the KB tags say."""
    [(perm,)] = _run_sql(live, "SELECT count(*) FROM occurrences WHERE tags LIKE '%,permission,%'")
    [(lock,)] = _run_sql(live, "SELECT count(*) FROM occurrences WHERE tags LIKE '%,state-lock,%'")
    assert perm > 0 and lock > 0
    [t] = [t for t in SQL if t.panel == "Denied principals, actions and resources"]
    start, end = SAMPLE_START.isoformat(), (SAMPLE_END + timedelta(seconds=1)).isoformat()
    rows = _run_sql(live, sql(t.query, rf"\1 BETWEEN '{start}' AND '{end}'"))
    assert sum(r.occurrences for r in rows) == perm
    now = datetime.now(UTC)
    assert all(r.last_seen <= now for r in rows)
