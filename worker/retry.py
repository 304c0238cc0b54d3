"""Retrying an action through a short outage: one loop, policies named where they apply.

The store's policy is in store/retry.py, the dead-letter producer's in
sources/kafka_dlq.py.
An action is retried only while `transient(error)` says the error may pass (a restarting
database, a lock held by another writer); anything else is raised at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("tfpulse.retry")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from first_delay, capped at max_delay, for up to give_up_after
    seconds of waiting in all."""

    first_delay: float = 0.05
    max_delay: float = 10.0
    give_up_after: float = 180.0

    def delays(self) -> Iterator[float]:
        waited, delay = 0.0, self.first_delay
        while waited + delay <= self.give_up_after:
            yield delay
            waited += delay
            delay = min(self.max_delay, delay * 2)


def retry(action: Callable[[], T], what: str, policy: RetryPolicy,
          transient: Callable[[BaseException], bool],
          sleep: Callable[[float], None] = time.sleep,
          on_retry: Callable[[BaseException], None] | None = None,
          describe: Callable[[BaseException], str] | None = None) -> T:
    """action(), again after each transient error while the policy allows; then raise.

    on_retry(error) is told of each transient error before the wait (a metric, the
    readiness state); the caller learns of the recovery from the return. describe(error)
    is the error as the warning shows it (default: its class and first line).
    """
    for attempt, delay in enumerate(policy.delays(), start=1):
        try:
            return action()
        except Exception as exc:
            if not transient(exc):
                raise
            if on_retry is not None:
                on_retry(exc)
            log.warning(f"{what} failed, retrying", extra={
                "attempt": attempt, "in_seconds": delay, "error": (describe or one_line)(exc)})
        sleep(delay)
    return action()  # the last attempt: its error is the caller's


def one_line(exc: BaseException) -> str:
    """An error's class and the first line of its message, at most 200 characters."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__
