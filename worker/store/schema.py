"""Table definitions of the tfpulse store (SQLAlchemy Core, SQLite and PostgreSQL).

Kept apart from store.py so that the schema can be read in one screen: reports and
Grafana dashboards query these tables directly, so their names and columns are a
contract. Any change that an older tfpulse could misread bumps SCHEMA_VERSION. How a
database is opened (SQLite pragmas, the psycopg driver), how the schema is created and
checked live here too (the retry policy in retry.py); store.py holds the API
and its statements.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator

from worker.store.retry import with_retries

SCHEMA_VERSION = 1


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both databases.

    PostgreSQL stores it as timestamptz (so Grafana's $__timeFilter works); SQLite has no
    time zones, so the value is stored as naive UTC text (fixed width, so text order is
    time order) and made aware again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite aggregates (min/max) may come back as text
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()


def _job_run_attempt() -> list[Column[Any]]:
    """The job run attempt a row belongs to: the first part of its primary key."""
    return [Column("repo", String, primary_key=True), Column("run_id", String, primary_key=True),
            Column("run_attempt", Integer, primary_key=True),
            Column("job", String, primary_key=True)]


meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

occurrences = Table(
    "occurrences",
    metadata,
    *_job_run_attempt(),
    # kb_id, or "unclassified:" + template_id: one row per entry per job run attempt.
    Column("entry_key", String, primary_key=True),
    Column("kb_id", String, nullable=True),
    Column("team", String, nullable=False, default=""),
    Column("provider", String, nullable=False, default=""),
    Column("pipeline", String, nullable=False, default=""),
    Column("category", String, nullable=True),
    # ",permission,state-lock,aws,": LIKE '%,permission,%' finds a tag without a join.
    Column("tags", String, nullable=False, default=""),
    Column("principal", Text, nullable=True),
    Column("action", String, nullable=True),
    Column("resource", Text, nullable=True),
    Column("fields", Text, nullable=False, default="{}"),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("template_id", String, nullable=False, default=""),
)
Index("ix_occurrences_kb_id", occurrences.c.kb_id)
Index("ix_occurrences_first_seen", occurrences.c.first_seen)

unclassified_templates = Table(
    "unclassified_templates",
    metadata,
    Column("template_id", String, primary_key=True),
    Column("template", Text, nullable=False),
    Column("example", Text, nullable=False),
    Column("occurrences", BigInteger, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
)

dead_end_attempts = Table(
    "dead_end_attempts",
    metadata,
    *_job_run_attempt(),
    Column("kb_id", String, primary_key=True),
    Column("signal", String, primary_key=True),
    Column("seen_at", UTCDateTime, nullable=False),
)

# One row per job_end: how the job ended and the versions it printed (docs/design.md,
# "What happened next"). Occurrences join it on the job key.
job_outcomes = Table(
    "job_outcomes",
    metadata,
    *_job_run_attempt(),
    Column("provider", String, nullable=False, default=""),
    Column("pipeline", String, nullable=False, default=""),
    Column("team", String, nullable=False, default=""),
    Column("status", String(64), nullable=False),
    Column("ended_at", UTCDateTime, nullable=False),
    Column("tool", String(16), nullable=False, default=""),  # terraform | opentofu | ""
    Column("terraform_version", String(64), nullable=False, default=""),
    Column("providers", Text, nullable=False, default=""),  # "hashicorp/aws=5.31.0,…"
)
Index("ix_job_outcomes_job", job_outcomes.c.repo, job_outcomes.c.pipeline, job_outcomes.c.job,
      job_outcomes.c.ended_at)

offsets = Table(
    "offsets",
    metadata,
    Column("source", String, primary_key=True),  # Kafka topic, or "file:<path>"
    Column("partition", Integer, primary_key=True),
    Column("position", BigInteger, nullable=False),
)


_SQLITE_BUSY_MS = 10_000
_PG_SCHEMA_LOCK = 0x7466_7075_6C73  # advisory lock id ("tfpuls") around create_all


class StoreError(Exception):
    """The store cannot be used as asked; the message says what to do."""


class SchemaVersionError(StoreError):
    """The store was written by a newer tfpulse than this one."""


# -- engine and schema -------------------------------------------------------------------


def create_store_engine(url: str) -> Engine:
    """An engine for a store URL: psycopg 3 for PostgreSQL, WAL and busy_timeout for SQLite."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    if backend != "sqlite":
        raise StoreError(f"unsupported store URL {url!r}: use sqlite:///PATH or postgresql://…")
    database = parsed.database or ""
    if database not in ("", ":memory:") and not database.startswith("file:"):
        parent = Path(database).expanduser().resolve().parent
        if not parent.is_dir():
            raise StoreError(f"cannot create {database}: directory {parent} does not exist")
    engine = create_engine(parsed)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is too late).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a crash keeps whole txns
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Writers take the write lock up front: a deferred transaction that later upgrades
    # fails with SQLITE_BUSY at once instead of waiting on busy_timeout.
    immediate = conn.get_execution_options().get("tfpulse_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def prepare_schema(engine: Engine) -> None:
    """Create missing tables and record the schema version; refuse a newer store."""

    def transaction() -> None:
        with engine.execution_options(tfpulse_write=True).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
            found = _stored_version(conn)
            if found is not None and found > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"the store at {engine.url.render_as_string(hide_password=True)} has schema "
                    f"version {found}, but this tfpulse only knows up to {SCHEMA_VERSION}: "
                    "upgrade tfpulse, or pass --store with a new database"
                )
            metadata.create_all(conn)
            if found != SCHEMA_VERSION:
                # Versions so far only added tables; a future non-additive change adds its
                # migration step here, before the version is bumped.
                conn.execute(meta.delete().where(meta.c.key == "schema_version"))
                conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))

    with_retries(transaction)


def _stored_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("meta"):
        return None
    value = conn.execute(
        select(meta.c.value).where(meta.c.key == "schema_version")
    ).scalar_one_or_none()
    return int(value) if value is not None else None
