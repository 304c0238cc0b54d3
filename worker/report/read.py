"""Read what a report is computed from: four store tables, with pandas.read_sql.

The only I/O of the report; filtered by repo and team in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

OCC_COLUMNS = ("repo", "run_id", "run_attempt", "job", "kb_id", "team", "category", "tags",
               "principal", "action", "resource", "fields", "first_seen", "template_id")
DEAD_COLUMNS = ("repo", "run_id", "run_attempt", "job", "kb_id", "signal", "seen_at")
OUTCOME_COLUMNS = ("repo", "run_id", "run_attempt", "job", "pipeline", "status", "ended_at",
                   "terraform_version", "providers")
TEMPLATE_COLUMNS = ("template_id", "template", "example", "occurrences", "first_seen", "last_seen")
STORM_COLUMNS = ("kb_id", "repo", "team", "first_seen")


@dataclass(frozen=True)
class Frames:
    """The raw rows a report is computed from (one DataFrame per store table)."""

    occurrences: pd.DataFrame
    templates: pd.DataFrame
    dead_ends: pd.DataFrame
    outcomes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(OUTCOME_COLUMNS)))
    # Every repo's occurrences when the others are filtered by repo or team (a storm is
    # only seen across repos); None: `occurrences` already holds them all.
    storm_occurrences: pd.DataFrame | None = None


def _engine(store: Any) -> Engine:
    """An Engine from an Engine, a store object with `.engine`, or a database URL."""
    if isinstance(store, str):
        return create_engine(store)
    return getattr(store, "engine", store)


def _read(engine: Engine, table: str, columns: tuple[str, ...], where: dict[str, str]) -> pd.DataFrame:
    if not inspect(engine).has_table(table):
        return pd.DataFrame(columns=list(columns))
    sql = f"SELECT {', '.join(columns)} FROM {table}"
    if where:
        sql += " WHERE " + " AND ".join(f"{column} = :{column}" for column in where)
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=where)


def read_frames(store: Any, *, repo: str | None = None, team: str | None = None) -> Frames:
    """Read the occurrences (whole history: needed for "new" and "regressed"), the
    unclassified templates and the dead-end attempts, filtered by repo and team in SQL."""
    engine = _engine(store)
    where = {k: v for k, v in (("repo", repo), ("team", team)) if v is not None}
    return Frames(
        occurrences=_read(engine, "occurrences", OCC_COLUMNS, where),
        templates=_read(engine, "unclassified_templates", TEMPLATE_COLUMNS, {}),
        dead_ends=_read(engine, "dead_end_attempts", DEAD_COLUMNS,
                        {"repo": repo} if repo is not None else {}),
        outcomes=_read(engine, "job_outcomes", OUTCOME_COLUMNS, where),
        storm_occurrences=_read(engine, "occurrences", STORM_COLUMNS, {}) if where else None,
    )
