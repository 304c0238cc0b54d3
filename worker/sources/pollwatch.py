"""The poll watchdog: a failing or stuck Kafka poll is surfaced, and SIGTERM is bounded.

kafka-python can fail inside `poll` in two ways: it raises (the worker loop tells the
watch), or it never returns (a batch it cannot decompress makes its fetcher spin). A
thread checks once a second:

- a poll inside the client for longer than its timeout plus STUCK_GRACE is stuck: it
  counts as a failure (tfpulse_poll_errors_total{error="stuck"}, /readyz 503);
- failing for kafka_poll_failure_exit_seconds in a row: log, and end the process with
  the caller's `exit_now` (the CLI's Exit.UNAVAILABLE). Nothing is lost: inside `poll` nothing has been counted that is not
  stored with its positions (the store is the truth, a restart resumes from it);
- SHUTDOWN_DEADLINE seconds after SIGTERM the process exits whatever it is blocked in
  (a dead broker, a store being retried): same reasoning, non-zero exit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("tfpulse.consumer")

STUCK_GRACE = 15.0  # seconds past the poll timeout: a group join or a large fetch fits
SHUTDOWN_DEADLINE = 20.0  # SIGTERM to exit, at most; orchestrators kill at 30 s


class PollWatch:
    """State of the poll loop, shared by the worker thread and the watchdog thread."""

    def __init__(self, poll_timeout: float, exit_after: float,
                 on_failure: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic):
        self.poll_timeout, self.exit_after = poll_timeout, exit_after
        self._on_failure, self._clock = on_failure, clock
        self._lock = threading.Lock()
        self._entered: float | None = None  # in the client's poll since
        self._stuck_counted = False
        self.failing_since: float | None = None
        self.last_error = ""

    @contextmanager
    def polling(self) -> Iterator[None]:
        """Around one `consumer.poll`; an error raised in it is recorded, then re-raised."""
        with self._lock:
            self._entered, self._stuck_counted = self._clock(), False
        try:
            yield
        except Exception as exc:
            self._left()
            self.failed(f"{type(exc).__name__}")
            raise
        self._left()
        with self._lock:
            self.failing_since = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Around our own rebalance callbacks, which run inside `poll` and may wait on the
        store (which has its own bound): not the client being stuck."""
        with self._lock:
            entered, self._entered = self._entered, None
        try:
            yield
        finally:
            with self._lock:
                if entered is not None:
                    self._entered = self._clock()

    def _left(self) -> None:
        with self._lock:
            self._entered = None

    def failed(self, error: str) -> None:
        self._on_failure(error)
        with self._lock:
            self.last_error = error
            if self.failing_since is None:
                self.failing_since = self._clock()

    def check(self) -> None:
        """The watchdog's tick: count a stuck poll once as a failure."""
        with self._lock:
            entered, counted = self._entered, self._stuck_counted
        if entered is not None and not counted and \
                self._clock() - entered > self.poll_timeout + STUCK_GRACE:
            with self._lock:
                self._stuck_counted = True
            log.error("poll stuck inside the Kafka client", extra={
                "seconds": round(self._clock() - entered, 1)})
            self.failed("stuck")

    def problem(self) -> str | None:
        """Why the poll loop is not healthy (for /readyz), or None."""
        since = self.failing_since
        if since is None:
            return None
        return f"kafka poll failing for {self._clock() - since:.0f}s: {self.last_error}"

    def expired(self) -> bool:
        """Failing for longer than the configured bound."""
        since = self.failing_since
        return since is not None and self._clock() - since > self.exit_after


def start_watchdog(watch: PollWatch, stop: threading.Event,
                   exit_now: Callable[[], None]) -> threading.Thread:
    """The thread that turns a stuck poll or a slow shutdown into an exit (exit_now: the
    CLI's way out of the process, whatever thread is blocked where)."""
    def loop() -> None:
        stopping_since: float | None = None
        while True:
            time.sleep(1.0)
            watch.check()
            if watch.expired():
                log.error("kafka poll kept failing: exiting for a restart", extra={
                    "seconds": watch.exit_after, "error": watch.last_error})
                exit_now()
            if stop.is_set():
                stopping_since = stopping_since or time.monotonic()
                if time.monotonic() - stopping_since > SHUTDOWN_DEADLINE:
                    log.error("shutdown did not finish in time: exiting; the next start "
                              "resumes from the stored positions",
                              extra={"seconds": SHUTDOWN_DEADLINE})
                    exit_now()

    thread = threading.Thread(target=loop, name="poll-watchdog", daemon=True)
    thread.start()
    return thread

