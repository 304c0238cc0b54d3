"""The history queries on SQLite and on a real PostgreSQL: job outcomes stored once in the
batch transaction, their rows, entry week ages, and one replay of the sample into
PostgreSQL checked against the generator's truth."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.cli.main import main
from worker.core.lifecycle import gauge_state
from worker.model import Batch, DeadEndAttempt, JobInfo, JobKey, JobOutcome, Occurrence
from worker.report import history as h
from worker.store.store import open_store

pytest_plugins = ["tests.conftest_postgres"]

ROOT = Path(__file__).parent.parent
T0 = 1_793_000_000.0
LOCK = "terraform/state-lock-dynamodb-held"
INFO = JobInfo(provider="gitlab", pipeline="terraform-ci", team="platform")


def job(run: str, attempt: int = 1) -> JobKey:
    return JobKey("acme/infra-live", run, attempt, "tf:plan")


def outcome(run: str, attempt: int, status: str, ts: float, version: str = "1.5.7"
            ) -> JobOutcome:
    return JobOutcome(job(run, attempt), status, ts, INFO, "terraform", version,
                      "hashicorp/aws=5.31.0")


def failure(run: str, attempt: int, ts: float) -> Occurrence:
    return Occurrence(job(run, attempt), LOCK, ts, INFO, "state_error", ("state-lock",),
                      {}, "Error: Error acquiring the state lock")


def test_outcomes_are_stored_once_with_the_batch(store) -> None:
    batch = Batch(occurrences=[failure("1", 1, T0)],
                  dead_ends=[DeadEndAttempt(job("2"), LOCK, "Rerun with -lock=false", T0 + 50)],
                  outcomes=[outcome("1", 1, "failure", T0 + 10),
                            outcome("1", 2, "success", T0 + 40),
                            outcome("2", 1, "failure", T0 + 100)],
                  positions={("ci-logs", 0): 9})
    batch.occurrences.append(failure("2", 1, T0 + 60))
    store.write(batch)
    again = Batch(outcomes=[outcome("1", 1, "success", T0 + 999)], positions={("ci-logs", 0): 9})
    store.write(again)  # a redelivered job_end changes nothing
    rows = sorted(store.outcome_rows(), key=lambda r: (r.run_id, r.run_attempt))
    assert [(r.run_id, r.run_attempt, r.status, r.pipeline, r.version, r.providers)
            for r in rows] == [
        ("1", 1, "failure", "terraform-ci", "1.5.7", "hashicorp/aws=5.31.0"),
        ("1", 2, "success", "terraform-ci", "1.5.7", "hashicorp/aws=5.31.0"),
        ("2", 1, "failure", "terraform-ci", "1.5.7", "hashicorp/aws=5.31.0")]
    assert [r.ended_at for r in rows] == pytest.approx([T0 + 10, T0 + 40, T0 + 100])
    assert store.positions("ci-logs") == {0: 9}
    facts = {f.occurrence.run_id: f for f in h.next_facts(store.occurrence_rows(), rows)}
    assert facts["1"].retry and facts["1"].to_green == pytest.approx(30)
    assert facts["2"].next_green is None  # no later job of tf:plan
    assert facts["1"].recurred and not facts["2"].recurred  # run 2 is another run, 1 min on
    (dead,) = h.dead_ends_observed(store.dead_end_rows(), store.occurrence_rows())
    assert (dead.attempts, dead.came_back) == (1, 1)  # run 2's error came 10 s after it
    since = datetime.fromtimestamp(T0 + 20, UTC)
    assert len(store.outcome_rows(since=since)) == 2
    assert len(store.occurrence_rows(since=since)) == 1


def test_entry_weeks(store) -> None:
    week = 7 * 86400
    store.write(Batch(occurrences=[failure("1", 1, T0 - 5 * week), failure("2", 1, T0 - 10),
                                   failure("3", 1, T0 + 3600)]))  # the last is after `now`
    (weeks,) = store.entry_weeks(datetime.fromtimestamp(T0, UTC), 8)
    assert (weeks.kb_id, set(weeks.ages)) == (LOCK, {0, 5})
    assert gauge_state(set(weeks.ages)) == "regressed"


@pytest.mark.postgres
def test_sample_replayed_into_postgresql_equals_the_truth(pg_store_url: str) -> None:
    truth = json.loads((ROOT / "examples" / "sample-ci-stream.truth.json").read_text())
    assert main(["replay", str(ROOT / "examples" / "sample-ci-stream.jsonl.gz"), "--store",
                 pg_store_url, "--top", "0", "--no-progress"]) == 0
    store = open_store(pg_store_url)
    try:
        assert len(store.outcome_rows()) == truth["jobs"]["total"]
        facts = h.next_facts(store.occurrence_rows(), store.outcome_rows())
        per = h.per_entry(facts)
        for kb_id, t in truth["next"]["per_entry"].items():
            s = per[kb_id]
            assert (s.occurrences, s.retry_resolved, s.recurred_7d, s.reached_green) == (
                t["occurrences"], t["retry_resolved"], t["recurred_7d"], t["reached_green"])
        now = datetime.fromisoformat(truth["lifecycle_as_of"].replace("Z", "+00:00"))
        states = {w.kb_id: gauge_state(set(w.ages)) for w in store.entry_weeks(now, 8)}
        assert states == {k: e["lifecycle"] for k, e in truth["entries"].items()}
        observed = {(d.kb_id, d.signal): d.came_back for d in h.dead_ends_observed(
            store.dead_end_rows(), store.occurrence_rows())}
        assert observed == {(w["kb_id"], w["dead_end"]): w["came_back"]
                            for w in truth["dead_end_commands"]["observed"].values()}
    finally:
        store.close()


def test_a_quarantined_outcome_becomes_a_letter_of_its_own_kind() -> None:
    from worker.sources.deadletter import quarantine_letter
    from worker.store.store import Quarantined

    letter = quarantine_letter("file:/x", Quarantined(outcome("1", 1, "failure", T0), "store: X"))
    assert (letter["kind"], letter["status"], letter["kb_id"]) == ("job_outcome", "failure", None)
    assert letter["job"]["run_id"] == "1" and "text" not in letter
