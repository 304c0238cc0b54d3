"""The store's retry policy: the only retry around a store transaction.

A transaction is retried on errors that pass by themselves: lock contention (SQLite's
"database is locked", PostgreSQL deadlocks and serialization failures) and a database
that is restarting or unreachable for a while (connection refused or dropped). Errors
in the data or the SQL are raised at once: retrying them only delays the failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from worker.retry import RetryPolicy, retry

T = TypeVar("T")

# Lock contention clears in milliseconds; a restarting PostgreSQL in seconds to a minute:
# 50 ms doubling to 10 s between attempts, for up to three minutes in all.
STORE_RETRY = RetryPolicy(first_delay=0.05, max_delay=10.0, give_up_after=180.0)
_TRANSIENT_SQLSTATES = ("40001", "40P01", "57P01", "57P02", "57P03")  # serialization,
# deadlock, admin shutdown, crash shutdown, cannot connect now


def transient(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):  # a file: only contention passes
        message = str(exc.orig).lower()
        return "database is locked" in message or "database is busy" in message
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return sqlstate in _TRANSIENT_SQLSTATES or sqlstate.startswith("08")  # 08: connection


def with_retries(transaction: Callable[[], T], what: str = "store transaction") -> T:
    """Run a transaction, again on transient errors, as STORE_RETRY allows."""
    return retry(transaction, what, STORE_RETRY, transient)
