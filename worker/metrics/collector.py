"""Collectors read at scrape time: the store-backed gauges (first seen, last seen,
occurrences per entry, lifecycle state) and the store's retry state.

The gauges are read from the store on every scrape (cached a few seconds), so a restart
or a second worker never resets or doubles them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from worker.core.lifecycle import GAUGE_STATES, GAUGE_WEEKS, gauge_state
from worker.knowledge.entry import KnowledgeBase
from worker.report import history as h
from worker.store.retry import OUTAGE


class StoreCollector(Collector):
    """First seen, last seen and occurrences per entry, read from the store on scrape."""

    def __init__(self, store: Any, kb: KnowledgeBase, cache_seconds: float = 5.0):
        self._store, self._kb, self._ttl = store, kb, cache_seconds
        self._cached: tuple[float, list[Any]] = (0.0, [])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        occ = GaugeMetricFamily("tfpulse_failure_occurrences", "Occurrences per KB entry, "
                                "from the store (all workers, all time)", labels=["kb_id"])
        first = GaugeMetricFamily("tfpulse_failure_first_seen_timestamp_seconds",
                                  "Event time of the entry's first occurrence",
                                  labels=["kb_id"])
        last = GaugeMetricFamily("tfpulse_failure_last_seen_timestamp_seconds",
                                 "Event time of the entry's latest occurrence", labels=["kb_id"])
        totals = {t.kb_id: t for t in self._totals()}
        for entry in self._kb:
            t = totals.pop(entry.id, None)
            occ.add_metric([entry.id], t.occurrences if t else 0)
            if t:
                first.add_metric([entry.id], t.first_seen.timestamp())
                last.add_metric([entry.id], t.last_seen.timestamp())
        yield occ
        yield first
        yield last

    def _totals(self) -> list[Any]:
        stamp, rows = self._cached
        if time.monotonic() - stamp > self._ttl:
            try:
                rows = self._store.totals()
            except Exception:  # a scrape must not fail because the store blinked
                return rows
            self._cached = (time.monotonic(), rows)
        return rows


class LifecycleCollector(Collector):
    """tfpulse_entry_lifecycle{kb_id,state}: 1 for the entry's current state (new,
    regressed, chronic, dormant; docs/design.md), 0 for the other three; entries never
    seen have no series. Weeks are the 7-day weeks ending at the scrape (`clock`)."""

    def __init__(self, store: Any, clock: Callable[[], float] = time.time,
                 cache_seconds: float = 30.0):
        self._store, self._clock, self._ttl = store, clock, cache_seconds
        self._cached: tuple[float, dict[str, str | None]] = (-float("inf"), {})

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "tfpulse_entry_lifecycle", "1 for the KB entry's lifecycle state (new, regressed, "
            "chronic, dormant), from the store; 0 for the others", labels=["kb_id", "state"])
        for kb_id, state in sorted(self._states().items()):
            for name in GAUGE_STATES:
                gauge.add_metric([kb_id, name], 1 if state == name else 0)
        yield gauge

    def states(self) -> dict[str, str | None]:
        """kb_id -> current state (None: seen lately, but not chronic), read afresh."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        return {w.kb_id: gauge_state(set(w.ages))
                for w in self._store.entry_weeks(now, GAUGE_WEEKS)}

    def _states(self) -> dict[str, str | None]:
        stamp, states = self._cached
        if time.monotonic() - stamp > self._ttl:
            try:
                states = self.states()
            except Exception:  # a scrape must not fail because the store blinked
                return states
            self._cached = (time.monotonic(), states)
        return states


class NextCollector(Collector):
    """What happened next, per entry, over the last `days` (docs/design.md): the share
    resolved by a plain retry, the share that recurred within a week, the median and p90
    time to green, and per dead end the observed fail rate. Recomputed from the store's
    rows at most every `cache_seconds` (the rows of a month, not a counter)."""

    def __init__(self, store: Any, clock: Callable[[], float] = time.time, days: float = 28,
                 cache_seconds: float = 300.0):
        self._store, self._clock, self._days, self._ttl = store, clock, days, cache_seconds
        self._cached: tuple[float, list[GaugeMetricFamily]] = (-float("inf"), [])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stamp, families = self._cached
        if time.monotonic() - stamp > self._ttl:
            try:
                families = self.families()
            except Exception:  # a scrape must not fail because the store blinked
                pass
            else:
                self._cached = (time.monotonic(), families)
        yield from families

    def families(self) -> list[GaugeMetricFamily]:
        now = datetime.fromtimestamp(self._clock(), UTC)
        since = now - timedelta(days=self._days)
        occ = self._store.occurrence_rows(since, now)
        facts = h.next_facts(occ, self._store.outcome_rows(since, now))
        retry = GaugeMetricFamily("tfpulse_entry_retry_resolved_ratio", "Share of the entry's "
                                  "occurrences a plain retry resolved (the same run's next "
                                  "attempt green)", labels=["kb_id"])
        recur = GaugeMetricFamily("tfpulse_entry_recurred_ratio", "Share of the entry's "
                                  "occurrences followed by another in the same repo, another "
                                  "run, within 7 days", labels=["kb_id"])
        ttg = GaugeMetricFamily("tfpulse_entry_time_to_green_seconds", "Time from a failed "
                                "job to the next green job of the same repo, pipeline and job",
                                labels=["kb_id", "quantile"])
        for kb_id, s in h.per_entry(facts).items():
            retry.add_metric([kb_id], s.retry_share)
            recur.add_metric([kb_id], s.recurred_share)
            for q, value in (("0.5", s.ttg_median), ("0.9", s.ttg_p90)):
                if value is not None:
                    ttg.add_metric([kb_id, q], value)
        dead = GaugeMetricFamily("tfpulse_dead_end_observed_fail_ratio", "Share of the tries of "
                                 "a dead end after which the error came back within 7 days",
                                 labels=["kb_id", "dead_end"])
        for d in h.dead_ends_observed(self._store.dead_end_rows(since, now), occ):
            dead.add_metric([d.kb_id, d.signal[:200]], d.fail_rate)
        return [retry, recur, ttg, dead]


class OutageCollector(Collector):
    """The store's retries (store/retry.py OUTAGE) and whether one is under way."""

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        yield CounterMetricFamily("tfpulse_store_retries", "Store transactions retried after "
                                  "a transient error (connection refused or lost, lock held)",
                                  value=OUTAGE.retries)
        yield GaugeMetricFamily("tfpulse_store_unavailable", "1 while a store transaction is "
                                "failing and being retried", value=int(OUTAGE.since is not None))
