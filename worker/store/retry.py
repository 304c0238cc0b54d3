"""The store's retry policy: the only retry around a store transaction.

A transaction is retried on errors that pass by themselves: lock contention (SQLite's
"database is locked", PostgreSQL deadlocks and serialization failures) and a database
that is restarting or unreachable for a while (connection refused or dropped). Errors
in the data or the SQL are raised at once: retrying them only delays the failure.

While a transaction is being retried the store counts as down (`OUTAGE`): the worker's
/readyz answers 503 at once and tfpulse_store_retries_total counts each retry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from worker.retry import RetryPolicy, one_line, retry

T = TypeVar("T")

# Lock contention clears in milliseconds; a restarting or failing-over PostgreSQL in
# seconds to minutes (a managed database's failover or minor upgrade: 1-5 minutes).
# 50 ms doubling to 10 s between attempts, for up to ten minutes in all: 2.5 times the
# 4-minute outage the fault test holds, and still a bounded wait, past which the worker
# exits non-zero for its orchestrator to restart (and alert on). Nothing is lost either
# way: the batch's positions are written in the same transaction as its counts.
# Past kafka_max_poll_interval_ms (5 min) the group reassigns the partitions meanwhile;
# that re-reads from the stored positions and counts nothing twice.
STORE_RETRY = RetryPolicy(first_delay=0.05, max_delay=10.0, give_up_after=600.0)
_TRANSIENT_SQLSTATES = ("40001", "40P01", "57P01", "57P02", "57P03")  # serialization,
# deadlock, admin shutdown, crash shutdown, cannot connect now


class Outage:
    """Whether a store transaction is failing right now, and how many retries so far
    (per process: read by /readyz and the metrics collector, at request time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None  # time.monotonic() of the first failed attempt
        self.last_error = ""
        self.retries = 0

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self.retries += 1
            self.last_error = describe(exc)
            if self.since is None:
                self.since = time.monotonic()

    def ended(self) -> None:
        with self._lock:
            self.since = None


OUTAGE = Outage()


def describe(exc: BaseException) -> str:
    """One line for a log or /readyz: the driver's error class and its first line, without
    SQLAlchemy's wrapping (`(sqlite3.OperationalError) `, the SQL, the parameters and its
    "Background on this error at: https://sqlalche.me/..." link)."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return one_line(orig)


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
    try:
        return retry(transaction, what, STORE_RETRY, transient, on_retry=OUTAGE.failed,
                     describe=describe)
    finally:  # a success ends the outage; so does giving up (the caller exits or moves on)
        OUTAGE.ended()
