"""What happened next, versions and lifecycles: every figure against the generator's truth.

The sample stream (examples/generate_sample_stream.py) records what followed each
occurrence, the versions each job printed, the storm and each entry's lifecycle; one
replay into a temporary SQLite store is checked against it.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from worker.cli.main import main
from worker.core.lifecycle import GAUGE_STATES, ages_of, gauge_state
from worker.knowledge.loader import load_kb
from worker.metrics.collector import LifecycleCollector, NextCollector
from worker.report import history as h
from worker.report.build import compute_report
from worker.report.read import read_frames
from worker.report.write import kb_info
from worker.store.store import Store, open_store

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "examples" / "sample-ci-stream.jsonl.gz"
TRUTH = json.loads((ROOT / "examples" / "sample-ci-stream.truth.json").read_text())
END = TRUTH["window"]["end"]


def epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'sample.db'}"
    assert main(["replay", str(SAMPLE), "--store", url, "--top", "0", "--no-progress"]) == 0
    return url


@pytest.fixture(scope="module")
def store(url: str) -> Iterator[Store]:
    store = open_store(url)
    yield store
    store.close()


# -- lifecycle ---------------------------------------------------------------------------


def test_lifecycle_gauge_equals_the_truth(store: Store) -> None:
    collector = LifecycleCollector(store, clock=lambda: epoch(END), cache_seconds=0)
    got = collector.states()
    want = {kb_id: e["lifecycle"] for kb_id, e in TRUTH["entries"].items()}
    assert got == want
    assert {"new", "regressed", "chronic", "dormant"} <= set(want.values())
    reg = CollectorRegistry()
    reg.register(collector)
    text = generate_latest(reg).decode()
    regressed = [k for k, v in want.items() if v == "regressed"]
    assert f'tfpulse_entry_lifecycle{{kb_id="{regressed[0]}",state="regressed"}} 1.0' in text
    assert f'tfpulse_entry_lifecycle{{kb_id="{regressed[0]}",state="chronic"}} 0.0' in text
    assert text.count("tfpulse_entry_lifecycle{") == len(want) * len(GAUGE_STATES)


@pytest.mark.parametrize(("ages", "state"), [
    ({0}, "new"),
    ({0, 3}, "regressed"),  # back after two quiet weeks
    ({0, 2, 3}, None),  # one quiet week is no regression; 3 of 8 weeks is not chronic
    ({0, 1, 2, 3}, "chronic"),
    ({1, 2, 4, 6}, "chronic"),  # seen last week still counts
    ({2}, "dormant"),  # quiet for two weeks, whatever came before
    ({5, 6, 7, 8, 9}, "dormant"),
    (set(), None),
])
def test_gauge_state_rule(ages: set[int], state: str | None) -> None:
    assert gauge_state(ages) == state


def test_ages_are_seven_day_weeks_ending_now() -> None:
    now = 1_000_000.0
    assert ages_of([now, now - 1, now - 7 * 86400 + 1, now - 7 * 86400, now + 5], now) == {0, 1}


# -- what happened next -------------------------------------------------------------------



@pytest.fixture(scope="module")
def facts(store: Store) -> list[h.NextFact]:
    return h.next_facts(store.occurrence_rows(), store.outcome_rows())


def test_every_job_end_is_stored_once_with_its_status(store: Store, url: str,
                                                      tmp_path: Path) -> None:
    rows = store.outcome_rows()
    assert len(rows) == TRUTH["jobs"]["total"]
    assert sum(r.green for r in rows) == TRUTH["jobs"]["success"]
    assert sum(r.status == "failure" for r in rows) == TRUTH["jobs"]["failure"]
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        ends = [line for line in fh if '"job_end"' in line]
    again = tmp_path / "job-ends.jsonl"
    again.write_text("".join(ends), encoding="utf-8")
    assert main(["replay", str(again), "--store", url, "--top", "0", "--no-progress"]) == 0
    assert store.outcome_rows() == rows  # a redelivered job_end changes nothing


def test_the_next_job_of_every_occurrence(facts: list[h.NextFact]) -> None:
    want = {tuple(r[:5]): r[5:] for r in TRUTH["next"]["occurrences"]}
    got = {(f.occurrence.repo, f.occurrence.run_id, f.occurrence.run_attempt, f.occurrence.job,
            f.occurrence.kb_id): f for f in facts}
    assert sorted(got) == sorted(want)
    for key, (green, after, retry) in want.items():
        f = got[key]
        assert f.next_green == green, key
        assert f.retry == retry, key
        assert (f.after is None) == (after is None), key
        if after is not None:
            assert f.after == pytest.approx(after, abs=1e-3), key
    assert any(f.retry for f in facts) and any(f.next_green is False for f in facts)


def _same(summary: h.Summary, truth: dict) -> None:
    assert summary.occurrences == truth["occurrences"]
    assert summary.with_next == truth["with_next"]
    assert summary.next_green == truth["next_green"]
    assert summary.retry_resolved == truth["retry_resolved"]
    assert summary.recurred_7d == truth["recurred_7d"]
    assert summary.reached_green == truth["reached_green"]
    assert summary.retry_share == pytest.approx(truth["retry_share"])
    assert summary.recurred_share == pytest.approx(truth["recurred_share"])
    for name in ("ttg_median", "ttg_p90"):
        if truth[name] is None:
            assert getattr(summary, name) is None
        else:
            assert getattr(summary, name) == pytest.approx(truth[name], abs=1e-3), name


def test_time_to_green_retries_and_recurrences_per_entry_and_family(
        facts: list[h.NextFact]) -> None:
    entries = h.per_entry(facts)
    assert sorted(entries) == sorted(TRUTH["next"]["per_entry"])
    for kb_id, truth in TRUTH["next"]["per_entry"].items():
        _same(entries[kb_id], truth)
    kb = load_kb(None)
    families = h.per_family(facts, {e.id: e.family for e in kb})
    assert sorted(families) == sorted(TRUTH["next"]["per_family"])
    for family, truth in TRUTH["next"]["per_family"].items():
        _same(families[family], truth)


def test_observed_dead_end_fail_rates(store: Store) -> None:
    got = {(d.kb_id, d.signal): d for d in h.dead_ends_observed(
        store.dead_end_rows(), store.occurrence_rows())}
    want = TRUTH["dead_end_commands"]["observed"]
    assert sorted(got) == sorted((w["kb_id"], w["dead_end"]) for w in want.values())
    for w in want.values():
        d = got[(w["kb_id"], w["dead_end"])]
        assert (d.attempts, d.came_back) == (w["attempts"], w["came_back"]), w
        assert d.fail_rate == pytest.approx(w["observed_fail_rate"])
    # The sample covers both ends of the scale: a dead end that (nearly) always failed, and
    # one whose run never came back (the generator's seed decides which, exactly 1.0 or not).
    assert any(d.fail_rate >= 0.9 for d in got.values())
    assert any(d.fail_rate == 0.0 for d in got.values())


# -- versions -------------------------------------------------------------------------------


def test_versions_per_entry_and_the_entries_seen_only_on_old_versions(store: Store) -> None:
    per = h.versions_of(store.occurrence_rows(), store.outcome_rows())
    truth = TRUTH["versions"]
    assert {k: dict(v) for k, v in per.items()} == truth["per_entry"]
    assert dict(h.failures_per_version(per)) == truth["terraform"]
    assert h.newest(per) == truth["newest_terraform"]
    assert h.only_old_versions(per) == truth["only_old_versions"]
    aws = {}
    for row in store.outcome_rows():
        aws.setdefault(row.providers.split(",")[0], 0)
    assert "hashicorp/aws=5.31.0" in aws and "hashicorp/aws=5.82.2" in aws


def test_what_happened_next_gauges(store: Store) -> None:
    # the whole sample: 100 days back from a day after its end
    # computed once, on the first scrape: every get_sample_value below collects again
    collector = NextCollector(store, clock=lambda: epoch(END) + 86400, days=100,
                              cache_seconds=3600)
    reg = CollectorRegistry()
    reg.register(collector)
    value = reg.get_sample_value
    for kb_id, t in TRUTH["next"]["per_entry"].items():
        labels = {"kb_id": kb_id}
        assert value("tfpulse_entry_retry_resolved_ratio", labels) == pytest.approx(
            t["retry_share"]), kb_id
        assert value("tfpulse_entry_recurred_ratio", labels) == pytest.approx(
            t["recurred_share"]), kb_id
        p90 = value("tfpulse_entry_time_to_green_seconds", {**labels, "quantile": "0.9"})
        assert p90 == (None if t["ttg_p90"] is None else pytest.approx(t["ttg_p90"], abs=1e-3))
    for w in TRUTH["dead_end_commands"]["observed"].values():
        assert value("tfpulse_dead_end_observed_fail_ratio", {
            "kb_id": w["kb_id"], "dead_end": w["dead_end"]}) == pytest.approx(
            w["observed_fail_rate"])


# -- the report and `kb stats --observed` ---------------------------------------------------


def test_report_sections_show_the_truth(url: str) -> None:
    report = compute_report(read_frames(url), kb_info(load_kb(None)), weeks=8,
                            as_of=date(2026, 11, 22))
    nxt = report.tables["what_next"].set_index("kb_id")
    truth = TRUTH["next"]["per_entry"]
    assert sorted(nxt.index) == sorted(truth)
    for kb_id, t in truth.items():
        row = nxt.loc[kb_id]
        assert row["occurrences"] == t["occurrences"]
        assert row["retry_pct"] == round(100 * t["retry_share"], 1), kb_id
        assert row["recurred_7d_pct"] == round(100 * t["recurred_share"], 1), kb_id
        if t["ttg_median"] is not None:
            assert row["ttg_median_h"] == round(t["ttg_median"] / 3600, 1), kb_id
    fam = report.tables["what_next_family"].set_index("family")
    assert {f: int(fam.loc[f, "occurrences"]) for f in fam.index} == {
        f: t["occurrences"] for f, t in TRUTH["next"]["per_family"].items()}
    versions = report.tables["versions"].set_index("terraform_version")["occurrences"]
    assert versions.to_dict() == TRUTH["versions"]["terraform"]
    assert list(report.tables["old_versions"]["kb_id"]) == TRUTH["versions"]["only_old_versions"]
    dead = report.tables["dead_ends_observed"]
    want = TRUTH["dead_end_commands"]["observed"]
    assert {(r.kb_id, r.dead_end): (r.tries, r.came_back, r.claimed_fail_pct)
            for r in dead.itertuples()} == {
        (w["kb_id"], w["dead_end"]): (w["attempts"], w["came_back"],
                                      round(100 * w["claimed_fail_rate"], 1))
        for w in want.values()}


def test_kb_stats_observed_puts_claims_beside_outcomes(url: str, capsys) -> None:
    capsys.readouterr()
    assert main(["kb", "stats", "--observed", "--store", url, "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    entries = {e["kb_id"]: e for e in got["entries"]}
    assert sorted(entries) == sorted(TRUTH["next"]["per_entry"])
    kb = load_kb(None)
    for kb_id, t in TRUTH["next"]["per_entry"].items():
        e = entries[kb_id]
        assert (e["occurrences"], e["retry_resolved"], e["recurred_7d"], e["next_green"]) == (
            t["occurrences"], t["retry_resolved"], t["recurred_7d"], t["next_green"]), kb_id
        best = kb.get(kb_id).workarounds()[0].get("success_rate")
        assert e["claimed_success_rate"] == best
    dead = {(d["kb_id"], d["dead_end"]): d for d in got["dead_ends"]}
    for w in TRUTH["dead_end_commands"]["observed"].values():
        d = dead[(w["kb_id"], w["dead_end"])]
        assert d["claimed_fail_rate"] == w["claimed_fail_rate"]
        assert d["observed_fail_rate"] == pytest.approx(w["observed_fail_rate"])
    assert main(["kb", "stats", "--observed", "--store", url]) == 0
    text = capsys.readouterr().out
    assert "dead ends tried: claimed fail_rate beside observed" in text
    top = max(TRUTH["next"]["per_entry"].items(), key=lambda kv: kv[1]["occurrences"])[0]
    assert top in text


def test_the_storm_is_in_the_store_as_the_truth_says(store: Store) -> None:
    (storm,) = TRUTH["incidents"]
    lo, hi = storm["start_epoch"] - 1e-3, storm["end_epoch"] + 1e-3
    rows = [o for o in store.occurrence_rows() if o.kb_id == storm["kb_id"] and lo <= o.at <= hi]
    assert len(rows) == storm["occurrences"] == len(storm["repos"]) >= 10
    assert sorted(o.repo for o in rows) == storm["repos"]
    assert hi - lo < 30 * 60  # one entry, many repos, within minutes
