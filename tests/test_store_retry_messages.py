"""A store retry warning is one line: the driver's error class and its first line."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from worker.store.retry import OUTAGE, describe, with_retries


def locked_error(tmp_path: Path) -> OperationalError:
    """A real SQLAlchemy error for a SQLite file another connection holds locked."""
    db = tmp_path / "s.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{db}", connect_args={"timeout": 0})
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": 1})
    except OperationalError as exc:
        return exc
    finally:
        holder.close()
        engine.dispose()
    raise AssertionError("the insert was not refused")


def test_the_warning_has_no_link_and_no_sql(tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    error = locked_error(tmp_path)
    assert "sqlalche.me" in str(error) and "\n" in str(error)  # what SQLAlchemy prints
    calls = []

    def transaction() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return "done"

    with caplog.at_level(logging.WARNING, logger="tfpulse.retry"):
        assert with_retries(transaction) == "done"
    [record] = [r for r in caplog.records if r.name == "tfpulse.retry"]
    shown = f"{record.getMessage()} {record.__dict__['error']}"
    assert record.__dict__["error"] == "OperationalError: database is locked"
    assert "sqlalche.me" not in shown and "\n" not in shown and "INSERT" not in shown
    assert OUTAGE.last_error == "OperationalError: database is locked"


def test_an_error_without_a_driver_error_is_its_class_and_first_line() -> None:
    assert describe(TimeoutError("pool full\n(Background on this error at: x)")) \
        == "TimeoutError: pool full"
    assert describe(ConnectionError()) == "ConnectionError"
