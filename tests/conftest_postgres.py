"""Pytest fixtures for a real PostgreSQL (register with pytest_plugins).

`postgres_url`: one server per test session — TFPULSE_TEST_PG_URL when set (CI service,
docker-compose), else a private one started by scripts/postgres-server and stopped at
the end. `pg_store_url`: a fresh, empty database per test, dropped afterwards, so tests
never see each other's rows. `store_url` / `store`: a store test's backend, SQLite and
PostgreSQL each in turn.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests import postgres_server
from worker.store.store import Store, open_store


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("TFPULSE_TEST_PG_URL")
    if url:
        yield url
        return
    if not postgres_server.available():
        pytest.fail("no PostgreSQL installed: run `make deps` (or set TFPULSE_TEST_PG_URL)")
    server = postgres_server.PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


def _admin_conninfo(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


@contextmanager
def fresh_database(postgres_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the server, dropped afterwards."""
    name = "tfpulse_t_" + uuid.uuid4().hex[:12]
    admin = _admin_conninfo(postgres_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_store_url(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url


# Every store test runs on both backends (the PostgreSQL case needs the server above).
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tfpulse.db'}"
    url: str = request.getfixturevalue("pg_store_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    st = open_store(store_url)
    yield st
    st.close()
