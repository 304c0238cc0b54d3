"""Prometheus metrics of one process: counters, gauges and the label caps.

Counters count what this process wrote (only occurrences the store accepted as new, so
a redelivered record never counts twice); first seen, last seen and total occurrences
come from the store (collector.py). Label values are bounded: kb_id by the KB, repo and team
by a cap, past which values fold into `other` (counted by tfpulse_label_overflow_total).
tfpulse_failures also carries the occurrence's own `permission` and `state_lock` (its entry's
tags plus those its tag rules earned), so alerts and panels select on the failure itself,
and `shadow` ("true" for an entry with status: shadow, read from the KB when counted): the
alert rules leave shadow="true" out, panels may show it. Promoting an entry starts a new
series with shadow="false", so only what happens after promotion can alert.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from worker import __version__
from worker.knowledge.entry import KnowledgeBase
from worker.metrics.collector import OutageCollector
from worker.model import Batch, DeadEndAttempt, Occurrence

OTHER = "other"
# Tags that become boolean labels of tfpulse_failures: (label, tag). Each at most doubles
# an entry's series, and only for entries that occur both with and without the tag.
FLAG_TAGS = (("permission", "permission"), ("state_lock", "state-lock"))
LAG_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 6 * 3600, 86400, 7 * 86400)


class LabelCap:
    """Admit the first `cap` distinct values; fold the rest into 'other'."""

    def __init__(self, name: str, cap: int, overflow: Counter):
        self.name, self.cap, self._overflow = name, cap, overflow
        self._admitted: set[str] = set()

    def __call__(self, value: str) -> str:
        value = value or ""
        if value in self._admitted:
            return value
        if len(self._admitted) < self.cap:
            self._admitted.add(value)
            return value
        self._overflow.labels(self.name).inc()
        return OTHER


class Metrics:
    """Every tfpulse metric, on its own registry (tests build one each)."""

    def __init__(self, kb: KnowledgeBase, registry: CollectorRegistry | None = None,
                 max_repos: int = 100, max_teams: int = 30, runbook_base: str = ""):
        self.registry = reg = registry or CollectorRegistry()
        self.failures = Counter("tfpulse_failures", "Failure occurrences counted (one per KB "
                                "entry per job run attempt); permission and state_lock are the "
                                "occurrence's own tags, tag rules included; shadow=\"true\": "
                                "the entry is on trial and never alerts",
                                ["kb_id", "category", "family", *(n for n, _ in FLAG_TAGS),
                                 "shadow", "repo", "team"], registry=reg)
        self.unclassified = Counter("tfpulse_unclassified_failures", "Terraform errors that no "
                                    "KB entry matched, per job run attempt", ["repo", "team"],
                                    registry=reg)
        self.dead_ends = Counter("tfpulse_dead_end_attempts", "Known dead ends seen being "
                                 "tried after the entry occurred in the repo", ["kb_id"],
                                 registry=reg)
        self.events = Counter("tfpulse_events", "Events consumed, by result", ["result"],
                              registry=reg)
        self.consumer_lag = Gauge("tfpulse_consumer_lag_records", "Records behind the end of "
                                  "the partition", ["topic", "partition"], registry=reg)
        self.event_lag = Histogram("tfpulse_event_lag_seconds", "From the event time of a "
                                   "failure to the moment it was counted", buckets=LAG_BUCKETS,
                                   registry=reg)
        self.poll_errors = Counter("tfpulse_poll_errors", "Kafka polls that raised, or stayed "
                                   "inside kafka-python past their timeout (error=\"stuck\")",
                                   ["error"], registry=reg)
        self.dead_letter_envelopes = Counter(
            "tfpulse_dead_letter_envelopes", "Dead letters sent as a bounded envelope because "
            "the record could not be produced whole", registry=reg)
        reg.register(OutageCollector())
        self.overflow = Counter("tfpulse_label_overflow", "Label values folded into 'other' "
                                "by the cardinality cap", ["label"], registry=reg)
        kb_entries = Gauge("tfpulse_knowledge_base_entries", "Entries in the loaded knowledge "
                           "base", registry=reg)
        build = Gauge("tfpulse_build_info", "Version of tfpulse and of the KB",
                      ["version", "kb_version"], registry=reg)
        info = Gauge("tfpulse_knowledge_base_entry_info", "One series per KB entry, value 1: join "
                     "on kb_id for its title and runbook; tags are the entry's own (select lock "
                     "and permission errors on tfpulse_failures_total's labels, which include "
                     "tag rules); shadow=\"true\": an entry on trial, never alerted on",
                     ["kb_id", "category", "title", "tags", *(n for n, _ in FLAG_TAGS),
                      "shadow", "runbook_url"], registry=reg)
        self.repo_cap = LabelCap("repo", max_repos, self.overflow)
        self.team_cap = LabelCap("team", max_teams, self.overflow)
        self._family = {e.id: e.family or "" for e in kb}  # the label rolls entries up
        self._shadow = {e.id: str(e.shadow).lower() for e in kb}
        kb_entries.set(len(kb))
        build.labels(__version__, kb.version).set(1)
        for result in ("ok", "invalid", "dead_lettered"):
            self.events.labels(result)
        for entry in kb:
            self.dead_ends.labels(entry.id)
            info.labels(entry.id, entry.category, entry.title[:120], "," + ",".join(entry.tags)
                        + ",", *flags(entry.tags), str(entry.shadow).lower(),
                        f"{runbook_base}{entry.id}" if runbook_base else "").set(1)

    def committed(self, batch: Batch, new_occurrences: list[Occurrence],
                  new_dead_ends: list[DeadEndAttempt]) -> None:
        """A batch written to the store: its events, and what the store took as new."""
        self.events.labels("ok").inc(batch.events_ok)
        self.events.labels("invalid").inc(batch.events_invalid)
        self.counted(new_occurrences)
        self.dead_end_attempts([d.kb_id for d in new_dead_ends])

    def counted(self, occurrences: list[Occurrence], now: float | None = None) -> None:
        """Occurrences the store accepted as new."""
        now = time.time() if now is None else now
        for occ in occurrences:
            repo, team = self.repo_cap(occ.job.repo), self.team_cap(occ.info.team)
            if occ.kb_id is None:
                self.unclassified.labels(repo, team).inc()
            else:
                self.failures.labels(occ.kb_id, occ.category or "",
                                     self._family.get(occ.kb_id, ""), *flags(occ.tags),
                                     self._shadow.get(occ.kb_id, "false"), repo, team).inc()
            self.event_lag.observe(max(0.0, now - occ.timestamp))

    def dead_end_attempts(self, kb_ids: list[str]) -> None:
        for kb_id in kb_ids:
            self.dead_ends.labels(kb_id).inc()


def flags(tags: tuple[str, ...]) -> tuple[str, ...]:
    """The FLAG_TAGS label values of an occurrence: "true" or "false" each."""
    return tuple(str(tag in tags).lower() for _, tag in FLAG_TAGS)
