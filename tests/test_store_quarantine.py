"""A data error caused by one occurrence or dead end quarantines that item and stores the
rest with the positions (SQLite and a real PostgreSQL); transient errors are not data
errors."""

from __future__ import annotations

import json

from sqlalchemy.exc import DataError, OperationalError

from tests.test_store import DYNAMO, LOCK, T0, occ
from worker.model import Batch, DeadEndAttempt, JobKey, Occurrence, Partition
from worker.store.store import is_data_error, open_store

pytest_plugins = ["tests.conftest_postgres"]


# Items no backend can store: the decoder refuses the records that would make them, so
# these stand for what a bug upstream might still let through.
EVERYWHERE_BAD = {
    "attempt_2e63": occ(LOCK, T0, run="1", attempt=2**63),
    "time_past_9999": occ(LOCK, 1e13, run="2"),
    "lone_surrogate": occ(DYNAMO, T0, run="3", repo="acme/\udc80"),
    "dead_end_attempt_2e64": DeadEndAttempt(JobKey("r", "4", 2**64, "j"), LOCK, "-lock=false", T0),
}
POSTGRES_BAD = {  # PostgreSQL's integer and text refuse these; SQLite stores them
    "attempt_2e31": occ(LOCK, T0, run="5", attempt=2**31),
    "nul_in_repo": occ(LOCK, T0, run="6", repo="acme\x00infra"),
}


def test_bad_items_are_quarantined_and_the_rest_stored(store_url: str) -> None:
    store = open_store(store_url)
    postgres = store.engine.dialect.name == "postgresql"
    good = [occ(LOCK, T0 + i, run=f"g{i}") for i in range(40)]
    good_dead = [DeadEndAttempt(JobKey("r", f"g{i}", 1, "j"), LOCK, "-lock=false", T0)
                 for i in range(5)]
    bad = {**EVERYWHERE_BAD, **POSTGRES_BAD}
    items = good[:20] + list(bad.values()) + good[20:]
    batch = Batch(occurrences=[i for i in items if not isinstance(i, DeadEndAttempt)],
                  dead_ends=good_dead + [i for i in items if isinstance(i, DeadEndAttempt)],
                  positions={Partition("ci-logs", 0): 1234})
    result = store.write(batch)
    quarantined = {id(q.item): q.reason for q in result.quarantined}
    expected_bad = bad if postgres else EVERYWHERE_BAD
    assert {name for name, item in bad.items() if id(item) in quarantined} == set(expected_bad)
    assert all(r.startswith("store: ") for r in quarantined.values())
    assert len(result.new_occurrences) == 40 + (0 if postgres else 2)
    assert len(result.new_dead_ends) == 5
    assert store.positions("ci-logs") == {0: 1234}
    assert sum(t.occurrences for t in store.totals()) == len(result.new_occurrences)
    again = store.write(batch)  # a replay: nothing new, the same items quarantined again
    assert not again.new_occurrences and len(again.quarantined) == len(result.quarantined)
    store.close()


def test_transient_errors_are_not_data_errors() -> None:
    refused = OperationalError("INSERT", {}, Exception("connection refused"))
    assert not is_data_error(refused)
    assert is_data_error(DataError("INSERT", {}, Exception("integer out of range")))
    assert is_data_error(OverflowError("Python int too large to convert to SQLite INTEGER"))
    assert not is_data_error(RuntimeError("a bug"))


def test_quarantined_items_make_valid_redacted_letters(tmp_path) -> None:
    from worker.sources.deadletter import letter_bytes, quarantine_letter

    store = open_store(f"sqlite:///{tmp_path / 'q.db'}")
    leaky = occ(LOCK, T0, run="7", attempt=2**63, repo="acme/\udc80")
    object.__setattr__(leaky, "text", "Error: x AKIAIOSFODNN7EXAMPLE \udc80")
    bad = list(EVERYWHERE_BAD.values())
    result = store.write(Batch(occurrences=[leaky] + [i for i in bad if isinstance(i, Occurrence)],
                               dead_ends=[i for i in bad if isinstance(i, DeadEndAttempt)]))
    store.close()
    assert len(result.quarantined) == 1 + len(EVERYWHERE_BAD)
    for q in result.quarantined:
        letter = json.loads(letter_bytes(quarantine_letter("ci-logs", q)))
        assert letter["reason"].startswith("store: ") and "AKIAIOSFODNN7EXAMPLE" not in str(letter)
