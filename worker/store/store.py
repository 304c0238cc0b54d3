"""The store: occurrences, unclassified templates, dead ends, job outcomes and offsets.

One SQLAlchemy Core module over SQLite (default, zero set-up) and PostgreSQL (several
workers). A Batch is written in ONE transaction together with the source positions it
reached, so a crash at any instant either keeps both or neither; the primary key of an
occurrence (repo, run_id, run_attempt, job, entry_key) makes a redelivered record count
never twice. The tables are in store_schema.py.

An error that the values of one occurrence or dead end cause (a data error: a number out
of a column's range, a NUL in PostgreSQL text, an unencodable string) must not stop the
stream: the write isolates the items that cause it, halving the failing group inside
savepoints of the same transaction, stores everything else with the positions, and
hands the offending items back as `quarantined` with their reason. Transient errors
(no connection, lock contention) are retried by store/retry.py; `is_data_error` tells
the two apart, in one place.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    case,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from worker.config import DEFAULTS
from worker.model import Batch, DeadEndAttempt, JobOutcome, Occurrence
from worker.store import history
from worker.store import schema as s
from worker.store.retry import transient, with_retries
from worker.store.schema import (
    SchemaVersionError,
    StoreError,
    create_store_engine,
    prepare_schema,
)

__all__ = [
    "EntryTotal",
    "Quarantined",
    "SchemaVersionError",
    "Store",
    "StoreError",
    "WriteResult",
    "is_data_error",
    "open_store",
    "to_datetime",
]

DEFAULT_URL = DEFAULTS.store  # the `store` key of worker/config.py


@dataclass(frozen=True, slots=True)
class Quarantined:
    """An item the store refused for its values; the adapters dead-letter it."""

    item: Occurrence | DeadEndAttempt | JobOutcome
    reason: str  # the error's class and first line, no bound parameters


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write added: the caller counts metrics from these, never from the batch.
    quarantined: what it could not store (data errors), each with its reason."""

    new_occurrences: list[Occurrence]
    new_dead_ends: list[DeadEndAttempt]
    quarantined: list[Quarantined] = field(default_factory=list)


def is_data_error(exc: BaseException) -> bool:
    """Did the values written cause this error (so retrying cannot help, and isolating
    the item that caused it can)? Transient errors (store/retry.py) never are."""
    if transient(exc):
        return False
    if isinstance(exc, DataError | IntegrityError):
        return True
    if isinstance(exc, StatementError):  # raised while binding a parameter
        exc = exc.orig if exc.orig is not None else exc
    return isinstance(exc, ValueError | OverflowError | TypeError)  # UnicodeEncodeError too


def _reason(exc: BaseException) -> str:
    """The error's class and its first line; SQLAlchemy's bound parameters left out."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"store: {type(orig).__name__}: {first[:200]}"


@dataclass(frozen=True, slots=True)
class EntryTotal:
    """Per-KB-entry aggregate: occurrences and first/last seen by event time (aware UTC)."""

    kb_id: str
    occurrences: int
    first_seen: datetime
    last_seen: datetime


def to_datetime(epoch: float) -> datetime:
    """Event times travel as epoch seconds; the store keeps aware UTC datetimes."""
    return datetime.fromtimestamp(epoch, tz=UTC)


def open_store(url: str = DEFAULT_URL) -> Store:
    """Open (and create or check the schema of) the store at a SQLAlchemy URL.

    `postgresql://` and `postgres://` use the psycopg 3 driver; `sqlite:///path` a file
    in WAL mode so readers (reports, /metrics) never block the writer.
    """
    engine = create_store_engine(url)
    try:
        prepare_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)


class Store:
    """Reads and writes the tables of store_schema; safe for several writer processes."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(tfpulse_write=True)

    @property
    def engine(self) -> Engine:
        """For read-only SQL such as pandas.read_sql in the reports."""
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    def ping(self) -> bool:
        """True when the database answers (used by the health endpoint)."""
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except DBAPIError:
            return False

    # -- writing -----------------------------------------------------------------------

    def write(self, batch: Batch) -> WriteResult:
        """Write a batch and its positions in one transaction; return only what was new,
        and what was quarantined for a data error (module docstring)."""
        occurrences = _unique_occurrences(batch.occurrences)
        dead_ends = _unique_dead_ends(batch.dead_ends)
        outcomes = _unique_outcomes(batch.outcomes)
        positions = sorted(batch.positions.items())

        def transaction() -> WriteResult:
            bad: list[Quarantined] = []
            with self._writer.begin() as conn:
                new_occ = _isolating(conn, occurrences, _insert_with_templates, bad)
                new_dead = _isolating(conn, dead_ends, _insert_dead_ends, bad)
                _isolating(conn, outcomes, _insert_outcomes, bad)
                _upsert_positions(conn, positions)
            return WriteResult(new_occ, new_dead, bad)

        return with_retries(transaction)

    # -- reading -----------------------------------------------------------------------

    def positions(self, source: str) -> dict[int, int]:
        """Stored positions of one source, by partition: where a restarted reader resumes."""
        t = s.offsets
        query = select(t.c.partition, t.c.position).where(t.c.source == source)
        with self._engine.connect() as conn:
            return {int(p): int(pos) for p, pos in conn.execute(query)}

    def totals(self) -> list[EntryTotal]:
        """Every classified entry seen, sorted by kb_id."""
        return self._entry_totals(lambda q, count: q.order_by(s.occurrences.c.kb_id))

    def top(self, n: int) -> list[EntryTotal]:
        """The n most frequent classified entries (ties by kb_id)."""
        return self._entry_totals(
            lambda q, count: q.order_by(count.desc(), s.occurrences.c.kb_id).limit(n)
        )

    def unclassified_total(self) -> int:
        """Unclassified occurrences (one per template per job run attempt)."""
        t = s.occurrences
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(t.c.kb_id.is_(None))).scalar_one())

    def repo_entries(self) -> set[tuple[str, str]]:
        """(repo, kb_id) pairs seen: a dead-end signal in a repo belongs to these entries."""
        t = s.occurrences
        query = select(t.c.repo, t.c.kb_id).where(t.c.kb_id.is_not(None)).distinct()
        with self._engine.connect() as conn:
            return {(repo, kb_id) for repo, kb_id in conn.execute(query)}

    def entry_weeks(self, now: datetime, weeks: int) -> list[history.EntryWeeks]:
        """Per entry seen up to `now`, the week ages it was seen in (store/history.py)."""
        return history.entry_weeks(self._engine, now, weeks)

    def outcome_rows(self, since: datetime | None = None, until: datetime | None = None
                     ) -> list[history.OutcomeRow]:
        """Job outcomes ended in [since, until] (store/history.py)."""
        return history.outcome_rows(self._engine, since, until)

    def occurrence_rows(self, since: datetime | None = None, until: datetime | None = None
                        ) -> list[history.OccurrenceRow]:
        """Classified occurrences first seen in [since, until] (store/history.py)."""
        return history.occurrence_rows(self._engine, since, until)

    def dead_end_rows(self, since: datetime | None = None, until: datetime | None = None
                      ) -> list[history.DeadEndRow]:
        """Dead-end attempts seen in [since, until] (store/history.py)."""
        return history.dead_end_rows(self._engine, since, until)

    def _entry_totals(self, shape: Callable[[Any, Any], Any]) -> list[EntryTotal]:
        t = s.occurrences
        count = func.count().label("occurrences")
        query = (
            select(t.c.kb_id, count, func.min(t.c.first_seen), func.max(t.c.first_seen))
            .where(t.c.kb_id.is_not(None))
            .group_by(t.c.kb_id)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(shape(query, count)).all()
        return [EntryTotal(kb, int(n), first, last) for kb, n, first, last in rows]


# -- statements -----------------------------------------------------------------------


def _insert_for(dialect: str) -> Any:
    """The dialect's INSERT (both have ON CONFLICT)."""
    return pg_dialect.insert if dialect == "postgresql" else sqlite_dialect.insert


def _unique_occurrences(items: Iterable[Occurrence]) -> list[Occurrence]:
    """One per key (the earliest), sorted by key so concurrent writers lock rows in order."""
    best: dict[tuple[str, str, int, str, str], Occurrence] = {}
    for occ in items:
        seen = best.get(occ.key)
        if seen is None or occ.timestamp < seen.timestamp:
            best[occ.key] = occ
    return [best[k] for k in sorted(best)]


def _dead_end_key(d: DeadEndAttempt) -> tuple[str, str, int, str, str, str]:
    return (d.job.repo, d.job.run_id, d.job.run_attempt, d.job.job, d.kb_id, d.signal)


def _unique_dead_ends(items: Iterable[DeadEndAttempt]) -> list[DeadEndAttempt]:
    best: dict[tuple[str, str, int, str, str, str], DeadEndAttempt] = {}
    for d in items:
        seen = best.get(_dead_end_key(d))
        if seen is None or d.timestamp < seen.timestamp:
            best[_dead_end_key(d)] = d
    return [best[k] for k in sorted(best)]


def _occurrence_row(occ: Occurrence) -> dict[str, Any]:
    repo, run_id, run_attempt, job, entry_key = occ.key
    return {
        "repo": repo,
        "run_id": run_id,
        "run_attempt": run_attempt,
        "job": job,
        "entry_key": entry_key,
        "kb_id": occ.kb_id,
        "team": occ.info.team,
        "provider": occ.info.provider,
        "pipeline": occ.info.pipeline,
        "category": occ.category,
        "tags": "," + ",".join(occ.tags) + "," if occ.tags else "",
        "principal": occ.fields.get("principal"),
        "action": occ.fields.get("action"),
        "resource": occ.fields.get("resource"),
        "fields": json.dumps(dict(occ.fields), sort_keys=True, ensure_ascii=False),
        "first_seen": to_datetime(occ.timestamp),
        "text": occ.text,
        "template_id": occ.template_id,
    }


_OCC_KEY = ("repo", "run_id", "run_attempt", "job", "entry_key")
_DEAD_END_KEY = ("repo", "run_id", "run_attempt", "job", "kb_id", "signal")


def _isolating(conn: Connection, items: list[Any], insert: Callable[[Connection, list[Any]], list[Any]],
               bad: list[Quarantined]) -> list[Any]:
    """insert(conn, items), returning what was new. On a data error, roll the group back to
    its savepoint and try each half, down to the single items that cause it (added to
    bad): a handful of savepoints for one bad item in thousands."""
    if not items:
        return []
    try:
        with conn.begin_nested():
            return insert(conn, items)
    except Exception as exc:
        if not is_data_error(exc):
            raise
        if len(items) == 1:
            bad.append(Quarantined(items[0], _reason(exc)))
            return []
    half = len(items) // 2
    return (_isolating(conn, items[:half], insert, bad)
            + _isolating(conn, items[half:], insert, bad))


def _insert_with_templates(conn: Connection, items: list[Occurrence]) -> list[Occurrence]:
    """Occurrences, and their templates' counts for the unclassified ones that were new."""
    new = _insert_occurrences(conn, items)
    _upsert_templates(conn, [o for o in new if o.kb_id is None])
    return new


def _insert_occurrences(conn: Connection, items: list[Occurrence]) -> list[Occurrence]:
    if not items:
        return []
    t = s.occurrences
    inserted = _insert_new(conn, t, _OCC_KEY, [_occurrence_row(o) for o in items])
    return [o for o in items if o.key in inserted]


def _insert_new(conn: Connection, t: Any, key: tuple[str, ...], rows: list[dict[str, Any]]
                ) -> set[tuple[Any, ...]]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING key; the keys of the rows that were new.

    One statement, executed with many parameter sets (SQLAlchemy's insertmanyvalues
    batches them): built per table and dialect once, so it is compiled once. A
    `.values(rows)` statement was compiled again on every write (a fifth of the worker's
    time in a profile)."""
    stmt = _new_rows_statement(conn.dialect.name, t, key)
    return {tuple(row) for row in conn.execute(stmt, rows)}


@functools.cache
def _new_rows_statement(dialect: str, t: Any, key: tuple[str, ...]) -> Any:
    return (_insert_for(dialect)(t).on_conflict_do_nothing(index_elements=list(key))
            .returning(*(t.c[c] for c in key)))


def _upsert_templates(conn: Connection, new: list[Occurrence]) -> None:
    """Count each newly inserted unclassified occurrence once on its template."""
    groups: dict[str, list[Occurrence]] = {}
    for occ in new:
        groups.setdefault(occ.template_id, []).append(occ)
    if not groups:
        return
    rows = []
    for template_id in sorted(groups):
        occs = sorted(groups[template_id], key=lambda o: o.timestamp)
        rows.append(
            {
                "template_id": template_id,
                "template": occs[0].template,
                "example": occs[0].text,
                "occurrences": len(occs),
                "first_seen": to_datetime(occs[0].timestamp),
                "last_seen": to_datetime(occs[-1].timestamp),
            }
        )
    conn.execute(_templates_upsert(conn.dialect.name), rows)


@functools.cache
def _templates_upsert(dialect: str) -> Any:
    """Built once, executed with many rows (compiled once, as _new_rows_statement)."""
    t = s.unclassified_templates
    stmt = _insert_for(dialect)(t)
    new_row = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[t.c.template_id],
        set_={
            "occurrences": t.c.occurrences + new_row.occurrences,
            "first_seen": case(
                (new_row.first_seen < t.c.first_seen, new_row.first_seen),
                else_=t.c.first_seen,
            ),
            "last_seen": case(
                (new_row.last_seen > t.c.last_seen, new_row.last_seen),
                else_=t.c.last_seen,
            ),
        },
    )


def _insert_dead_ends(conn: Connection, items: list[DeadEndAttempt]) -> list[DeadEndAttempt]:
    if not items:
        return []
    rows = [dict(zip(_DEAD_END_KEY, _dead_end_key(d), strict=True),
                 seen_at=to_datetime(d.timestamp)) for d in items]
    inserted = _insert_new(conn, s.dead_end_attempts, _DEAD_END_KEY, rows)
    return [d for d in items if _dead_end_key(d) in inserted]


def _outcome_key(o: JobOutcome) -> tuple[str, str, int, str]:
    return (o.job.repo, o.job.run_id, o.job.run_attempt, o.job.job)


def _unique_outcomes(items: Iterable[JobOutcome]) -> list[JobOutcome]:
    """One per job (the first job_end read), sorted by key like the other rows."""
    best: dict[tuple[str, str, int, str], JobOutcome] = {}
    for o in items:
        best.setdefault(_outcome_key(o), o)
    return [best[k] for k in sorted(best)]


def _insert_outcomes(conn: Connection, items: list[JobOutcome]) -> list[JobOutcome]:
    """A redelivered job_end changes nothing: the first one stored stands."""
    if not items:
        return []
    rows = [dict(zip(_OCC_KEY[:4], _outcome_key(o), strict=True), provider=o.info.provider,
                 pipeline=o.info.pipeline, team=o.info.team, status=o.status,
                 ended_at=to_datetime(o.timestamp), tool=o.tool, terraform_version=o.version,
                 providers=o.providers) for o in items]
    inserted = _insert_new(conn, s.job_outcomes, _OCC_KEY[:4], rows)
    return [o for o in items if _outcome_key(o) in inserted]


def _upsert_positions(conn: Connection, positions: list[tuple[tuple[str, int], int]]) -> None:
    """Last writer wins: the consumer hands the position it must resume from."""
    if not positions:
        return
    rows = [{"source": src, "partition": part, "position": pos} for (src, part), pos in positions]
    conn.execute(_positions_upsert(conn.dialect.name), rows)


@functools.cache
def _positions_upsert(dialect: str) -> Any:
    t = s.offsets
    stmt = _insert_for(dialect)(t)
    return stmt.on_conflict_do_update(index_elements=[t.c.source, t.c.partition],
                                      set_={"position": stmt.excluded.position})
