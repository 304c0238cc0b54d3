"""Read queries of what happened after failures: entry lifecycles, job outcomes, versions.

Plain SELECTs over the store's tables (store/schema.py), the same on SQLite and
PostgreSQL; the computations over their rows are pure (worker/core/lifecycle.py,
worker/report/history.py, whose row types they return). Store exposes each as a method.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, case, func, select

from worker.core.lifecycle import WEEK_SECONDS
from worker.report.history import DeadEndRow, OccurrenceRow, OutcomeRow
from worker.store import schema as s


@dataclass(frozen=True, slots=True)
class EntryWeeks:
    """The week ages (0 = the 7 days up to `now`) an entry was seen in: those of the last
    `weeks` weeks, and the age of its first occurrence."""

    kb_id: str
    ages: frozenset[int]


def entry_weeks(engine: Engine, now: datetime, weeks: int) -> list[EntryWeeks]:
    """Per classified entry seen up to `now`: its week ages (one GROUP BY, no rows shipped)."""
    t = s.occurrences
    week = timedelta(seconds=WEEK_SECONDS)
    bins = [func.sum(case((and_(t.c.first_seen > now - (a + 1) * week,
                                t.c.first_seen <= now - a * week), 1), else_=0))
            for a in range(weeks)]
    query = (select(t.c.kb_id, func.min(t.c.first_seen), *bins)
             .where(t.c.kb_id.is_not(None), t.c.first_seen <= now)
             .group_by(t.c.kb_id).order_by(t.c.kb_id))
    out = []
    with engine.connect() as conn:
        for kb_id, first, *counts in conn.execute(query):
            first_age = int((now - first).total_seconds() // WEEK_SECONDS)
            ages = {a for a, n in enumerate(counts) if n} | {first_age}
            out.append(EntryWeeks(kb_id, frozenset(ages)))
    return out


def _epoch(value: datetime) -> float:
    return value.timestamp()


def outcome_rows(engine: Engine, since: datetime | None = None,
                 until: datetime | None = None) -> list[OutcomeRow]:
    """job_outcomes rows (ended in [since, until] when given), as plain rows."""
    t = s.job_outcomes
    query = select(t.c.repo, t.c.run_id, t.c.run_attempt, t.c.job, t.c.pipeline, t.c.status,
                   t.c.ended_at, t.c.terraform_version, t.c.providers)
    if since is not None:
        query = query.where(t.c.ended_at >= since)
    if until is not None:
        query = query.where(t.c.ended_at <= until)
    with engine.connect() as conn:
        return [OutcomeRow(r, run, int(a), j, p, st, _epoch(end), v, prov)
                for r, run, a, j, p, st, end, v, prov in conn.execute(query)]


def occurrence_rows(engine: Engine, since: datetime | None = None,
                    until: datetime | None = None) -> list[OccurrenceRow]:
    """Classified occurrences (first line in [since, until] when given), as plain rows."""
    t = s.occurrences
    query = select(t.c.repo, t.c.run_id, t.c.run_attempt, t.c.job, t.c.kb_id,
                   t.c.first_seen).where(t.c.kb_id.is_not(None))
    if since is not None:
        query = query.where(t.c.first_seen >= since)
    if until is not None:
        query = query.where(t.c.first_seen <= until)
    with engine.connect() as conn:
        return [OccurrenceRow(r, run, int(a), j, k, _epoch(at))
                for r, run, a, j, k, at in conn.execute(query)]


def dead_end_rows(engine: Engine, since: datetime | None = None,
                  until: datetime | None = None) -> list[DeadEndRow]:
    t = s.dead_end_attempts
    query = select(t.c.repo, t.c.kb_id, t.c.signal, t.c.seen_at)
    if since is not None:
        query = query.where(t.c.seen_at >= since)
    if until is not None:
        query = query.where(t.c.seen_at <= until)
    with engine.connect() as conn:
        return [DeadEndRow(r, k, sig, _epoch(at)) for r, k, sig, at in conn.execute(query)]
