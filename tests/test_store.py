"""The store on SQLite and on a real PostgreSQL: dedupe, event-time aggregates, offsets,
concurrent writers and the schema-version guard."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from worker.model import Batch, DeadEndAttempt, JobInfo, JobKey, Occurrence
from worker.store import schema as store_schema
from worker.store.store import EntryTotal, SchemaVersionError, StoreError, open_store

pytest_plugins = ["tests.conftest_postgres"]

T0 = 1_793_000_000.0  # 2026-10-26T…Z
LOCK = "terraform/state-lock-held"
DYNAMO = "policy/terraform-state-lock-dynamodb-permission-denied"


def occ(
    kb_id: str | None,
    ts: float,
    repo: str = "acme/infra-live",
    run: str = "100",
    attempt: int = 1,
    job: str = "plan",
    template_id: str = "",
    **fields: str,
) -> Occurrence:
    return Occurrence(
        job=JobKey(repo, run, attempt, job),
        kb_id=kb_id,
        timestamp=ts,
        info=JobInfo(provider="github_actions", pipeline="terraform", team="platform"),
        category="auth_error" if kb_id else None,
        tags=("permission", "state-lock", "aws") if kb_id else (),
        fields=fields,
        text=f"Error: {kb_id or template_id}",
        template="Error: <*> failed" if template_id else "",
        template_id=template_id,
    )


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def test_same_batch_twice_counts_once(store) -> None:
    dead = DeadEndAttempt(JobKey("acme/infra-live", "101", 1, "plan"), DYNAMO, "-lock=false", T0)
    batch = Batch(
        occurrences=[occ(DYNAMO, T0, action="dynamodb:PutItem"), occ(LOCK, T0 + 5)],
        dead_ends=[dead],
        positions={("ci-logs", 0): 10},
    )
    first = store.write(batch)
    assert {o.kb_id for o in first.new_occurrences} == {DYNAMO, LOCK}
    assert first.new_dead_ends == [dead]

    again = store.write(batch)
    assert again.new_occurrences == [] and again.new_dead_ends == []
    assert [(t.kb_id, t.occurrences) for t in store.totals()] == [(DYNAMO, 1), (LOCK, 1)]


def test_same_entry_twice_in_one_job_once_but_retry_counts_again(store) -> None:
    result = store.write(Batch(occurrences=[occ(LOCK, T0 + 9), occ(LOCK, T0)]))
    assert [o.timestamp for o in result.new_occurrences] == [T0]  # the earliest is kept
    store.write(Batch(occurrences=[occ(LOCK, T0 + 60, attempt=2)]))
    [total] = store.totals()
    assert (total.occurrences, total.first_seen, total.last_seen) == (2, utc(T0), utc(T0 + 60))


def test_first_and_last_seen_follow_event_time_not_write_order(store) -> None:
    for ts, run in [(T0 + 500, "3"), (T0 + 100, "1"), (T0 + 900, "9"), (T0 + 300, "2")]:
        store.write(Batch(occurrences=[occ(LOCK, ts, run=run)]))
    [total] = store.totals()
    assert total == EntryTotal(LOCK, 4, utc(T0 + 100), utc(T0 + 900))
    assert total.first_seen.tzinfo is not None and total.first_seen.utcoffset().total_seconds() == 0


def test_fractional_event_times_round_trip(store) -> None:
    store.write(Batch(occurrences=[occ(LOCK, T0 + 0.123)]))
    assert store.totals()[0].first_seen == utc(T0 + 0.123)


def test_unclassified_templates_count_new_occurrences_only(store) -> None:
    a1 = occ(None, T0 + 50, run="1", template_id="tpl-a")
    a2 = occ(None, T0 + 10, run="2", template_id="tpl-a")
    b1 = occ(None, T0 + 30, run="1", template_id="tpl-b")
    store.write(Batch(occurrences=[a1, b1]))
    store.write(Batch(occurrences=[a1, a2]))  # a1 redelivered: not counted again
    store.write(Batch(occurrences=[occ(DYNAMO, T0)]))

    assert store.unclassified_total() == 3
    assert [t.kb_id for t in store.totals()] == [DYNAMO]
    with store.engine.connect() as conn:
        rows = conn.execute(
            store_schema.unclassified_templates.select().order_by("template_id")
        ).all()
    got = [(r.template_id, r.occurrences, r.first_seen, r.last_seen, r.template) for r in rows]
    assert got == [
        ("tpl-a", 2, utc(T0 + 10), utc(T0 + 50), "Error: <*> failed"),
        ("tpl-b", 1, utc(T0 + 30), utc(T0 + 30), "Error: <*> failed"),
    ]


def test_occurrence_row_columns(store) -> None:
    store.write(
        Batch(occurrences=[occ(DYNAMO, T0, principal="arn:aws:iam::1:role/ci", action="x:Y")])
    )
    with store.engine.connect() as conn:
        row = conn.execute(store_schema.occurrences.select()).one()
    assert row.entry_key == DYNAMO and row.kb_id == DYNAMO
    assert row.tags == ",permission,state-lock,aws,"
    assert (row.principal, row.action, row.resource) == ("arn:aws:iam::1:role/ci", "x:Y", None)
    assert (row.team, row.provider, row.pipeline) == ("platform", "github_actions", "terraform")
    assert row.first_seen == utc(T0)


def test_offsets_round_trip(store) -> None:
    assert store.positions("ci-logs") == {}
    store.write(Batch(positions={("ci-logs", 0): 10, ("ci-logs", 3): 7, ("file:/x.jsonl", 0): 99}))
    store.write(Batch(positions={("ci-logs", 0): 25}))
    assert store.positions("ci-logs") == {0: 25, 3: 7}
    assert store.positions("file:/x.jsonl") == {0: 99}
    big = 2**40  # Kafka offsets are 64-bit
    store.write(Batch(positions={("ci-logs", 3): big}))
    assert store.positions("ci-logs")[3] == big


def test_totals_top_and_repo_entries(store) -> None:
    batch = Batch(
        occurrences=[occ("b/two", T0 + i, run=str(i)) for i in range(2)]
        + [occ("c/three", T0 + i, run=str(i), repo="acme/payments-infra") for i in range(3)]
        + [occ("a/one", T0)]
    )
    store.write(batch)
    assert [(t.kb_id, t.occurrences) for t in store.totals()] == [
        ("a/one", 1),
        ("b/two", 2),
        ("c/three", 3),
    ]
    assert [t.kb_id for t in store.top(2)] == ["c/three", "b/two"]
    assert store.repo_entries() == {
        ("acme/infra-live", "a/one"),
        ("acme/infra-live", "b/two"),
        ("acme/payments-infra", "c/three"),
    }
    assert store.ping()


def test_large_batch_is_chunked(store) -> None:
    many = [occ(LOCK, T0 + i, run=str(i)) for i in range(1500)]
    assert len(store.write(Batch(occurrences=many)).new_occurrences) == 1500
    assert store.totals()[0].occurrences == 1500


def _concurrent_writer(url: str, partition: int, start: threading.Event) -> int:
    """Writes 60 small batches; half of its runs overlap with the other writer's."""
    st = open_store(url)
    start.wait(30)
    new = 0
    for i in range(60):
        run = str(i if i % 2 == 0 else 1000 * partition + i)  # even runs: shared by both
        batch = Batch(
            occurrences=[occ(LOCK, T0 + i, run=run), occ(None, T0 + i, run=run, template_id="t")],
            positions={("ci-logs", partition): i + 1},
        )
        new += len(st.write(batch).new_occurrences)
    st.close()
    return new


def test_concurrent_writers_count_exactly_once(store, store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Manager().Event()
    with ctx.Pool(2) as pool:
        results = [pool.apply_async(_concurrent_writer, (store_url, p, start)) for p in (1, 2)]
        start.set()
        new = [r.get(timeout=300) for r in results]

    runs = 30 + 30 * 2  # 30 shared even runs, 30 odd runs per writer
    assert sum(new) == 2 * runs  # every row was new for exactly one writer
    [total] = store.totals()
    assert (total.occurrences, total.first_seen, total.last_seen) == (runs, utc(T0), utc(T0 + 59))
    assert store.unclassified_total() == runs
    with store.engine.connect() as conn:
        count = conn.execute(store_schema.unclassified_templates.select()).one().occurrences
    assert count == runs
    assert store.positions("ci-logs") == {1: 60, 2: 60}


def test_newer_schema_version_is_refused(store_url: str) -> None:
    st = open_store(store_url)
    with st.engine.begin() as conn:
        conn.execute(
            update(store_schema.meta)
            .where(store_schema.meta.c.key == "schema_version")
            .values(value=str(store_schema.SCHEMA_VERSION + 1))
        )
    st.close()
    with pytest.raises(SchemaVersionError, match="upgrade tfpulse"):
        open_store(store_url)


def test_reopen_keeps_data(store_url: str) -> None:
    st = open_store(store_url)
    st.write(Batch(occurrences=[occ(LOCK, T0)], positions={("ci-logs", 0): 5}))
    st.close()
    st = open_store(store_url)
    assert [t.occurrences for t in st.totals()] == [1] and st.positions("ci-logs") == {0: 5}
    st.close()


def test_unsupported_url_is_explained(tmp_path) -> None:
    with pytest.raises(StoreError, match="sqlite:///PATH or postgresql"):
        open_store("mysql://localhost/x")
    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path}/missing/tfpulse.db")
