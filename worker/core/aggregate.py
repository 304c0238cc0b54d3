"""From closed blocks to occurrences: classify, count once, redact, template; dead ends.

The pipeline routes lines and closes blocks; this stage turns each closed block into at
most one Occurrence per job run attempt and entry (the dedupe key; the store's primary
key makes it hold across batches and restarts), with its secrets redacted and, when no
entry matched, the template that groups it with its recurrences. A block opened on a
closing line (Block.tail) is counted only when nothing of its job was counted before it. It
also recognises the KB's dead-end signals in the lines the prefilter flags, counted only in
repos where their entry already occurred.

This is where a job's metadata enters what is kept: occurrences and dead ends carry the
job's public key and info (redact.public_job: no credentials, no over-long values), the
form every store key, report and metric label sees. It is worked out once per job.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import re2

from worker.core import matcher
from worker.core.blocks import BlockAssembler
from worker.core.classify import Classifier
from worker.core.redact import public_info, public_job, redact
from worker.core.template import template_of
from worker.core.versions import JobVersions
from worker.knowledge.entry import KnowledgeBase
from worker.model import (
    Block,
    DeadEndAttempt,
    Event,
    JobInfo,
    JobKey,
    JobOutcome,
    Match,
    Occurrence,
    occurrence_key,
)

# What CIs call a job's end, in the store's few words: a status is stored, so it never
# carries the event's own text (it may hold anything), only one of these.
STATUSES = {
    "success": "success", "succeeded": "success", "passed": "success", "ok": "success",
    "green": "success", "failure": "failure", "failed": "failure", "error": "failure",
    "errored": "failure", "red": "failure", "cancelled": "cancelled",
    "canceled": "cancelled", "aborted": "cancelled", "skipped": "skipped",
    "timed_out": "timed_out", "timedout": "timed_out", "timeout": "timed_out",
}


def job_status(text: str | None) -> str:
    """success, failure, cancelled, skipped, timed_out; `unknown` when the event said
    nothing, `other` for any other word."""
    if not text:
        return "unknown"
    return STATUSES.get(text.strip().lower().replace("-", "_").replace(" ", "_"), "other")


class Aggregator:
    """Occurrences and dead-end attempts of the current batch; `take()` hands them over."""

    def __init__(self, kb: KnowledgeBase, classifier: Classifier,
                 repo_entries: Iterable[tuple[str, str]] = (), max_jobs: int = BlockAssembler.max_jobs):
        self.classifier = classifier
        self._masks = kb.masks
        # Dead-end signals: (kb_id, compiled RE2 regex, the dead end's action).
        self.signals: list[tuple[str, Any, str]] = [
            (entry.id, re2.compile(sig.regex), sig.action or sig.regex)
            for entry in kb.entries.values() for sig in entry.dead_end_signals]
        # Which signal a flagged line shows: a scan of its own, as confirming the
        # pipeline's trigger (a long case-insensitive alternation) on every flagged line
        # cost more than the rest.
        self._signal_scanner = matcher.build([r.pattern for _, r, _ in self.signals])
        self._repo_entries: set[tuple[str, str]] = set(repo_entries)
        # Per job, from its first event: its public key and info (what is stored and
        # exported). The pipeline checks membership per event.
        self.job_info: OrderedDict[JobKey, tuple[JobKey, JobInfo]] = OrderedDict()
        self._max_jobs = max_jobs
        self._seen: set[tuple[str, str, int, str, str]] = set()
        # The jobs (bounded like job_info) with an occurrence counted: a tail block of one
        # of them repeats that failure (Block.tail).
        self._counted: OrderedDict[JobKey, None] = OrderedDict()
        self._occurrences: list[Occurrence] = []
        self._dead_ends: list[DeadEndAttempt] = []
        self._outcomes: list[JobOutcome] = []
        # Per job still running: the versions it printed (bounded like job_info).
        self._versions: OrderedDict[JobKey, JobVersions] = OrderedDict()
        self.matches: list[Match] = []  # every classified block, for `classify`
        self.keep_matches = False

    def remember(self, job: JobKey, event: Event) -> None:
        """What a job's first event says of it, carried onto its occurrences."""
        self.job_info[job] = (public_job(job),
                              public_info(JobInfo(event.provider, event.pipeline, event.team)))
        if len(self.job_info) > self._max_jobs:
            self.job_info.popitem(last=False)

    def emit(self, blocks: list[Block]) -> None:
        for block in blocks:
            if block.tail and block.job in self._counted:
                continue
            match = self.classifier.classify(block)
            if match is None:
                continue
            self._count(block.job)
            if self.keep_matches:
                self.matches.append(match)
            job, info = self._public(block.job)
            if match.kb_id is not None and occurrence_key(job, match.kb_id) in self._seen:
                continue  # classified: known without redacting and templating the text
            occ = self._occurrence(match, job, info)
            if occ.key in self._seen:
                continue
            self._seen.add(occ.key)
            self._occurrences.append(occ)
            if occ.kb_id is not None:
                self._repo_entries.add((job.repo, occ.kb_id))

    def _count(self, job: JobKey) -> None:
        self._counted[job] = None
        self._counted.move_to_end(job)
        if len(self._counted) > self._max_jobs:
            self._counted.popitem(last=False)

    def forget_jobs(self) -> None:
        """Every job is over (end of input): no later block repeats their failures."""
        self._counted.clear()

    def flagged(self, job: JobKey, raw: str, timestamp: float) -> None:
        """A line the prefilter flagged: the versions it names, the dead ends it shows."""
        if "v" in raw:  # every version line has " v1.2.3"; error lines mostly too, cheap
            versions = self._versions.get(job)
            if versions is None:
                versions = self._versions[job] = JobVersions()
                if len(self._versions) > self._max_jobs:
                    self._versions.popitem(last=False)
            versions.see(raw)
        self.dead_end_signals(job, raw, timestamp)

    def job_end(self, job: JobKey, event: Event) -> None:
        """A job_end event: the job's outcome, with the versions it printed."""
        self._counted.pop(job, None)
        public, info = self._public(job)
        # classify and kb test keep the versions for the matches they print (versions_of)
        v = (self._versions.get(job) if self.keep_matches else self._versions.pop(job, None)
             ) or JobVersions()
        self._outcomes.append(JobOutcome(public, job_status(event.status), event.timestamp, info,
                                         v.tool,
                                         v.version, v.providers_text))

    def versions_of(self, job: JobKey) -> JobVersions | None:
        """The versions a job printed (a match's block.job), while it is remembered."""
        return self._versions.get(job)

    def take_outcomes(self) -> list[JobOutcome]:
        found, self._outcomes = self._outcomes, []
        return found

    def dead_end_signals(self, job: JobKey, raw: str, timestamp: float) -> None:
        """A flagged line: the dead ends it shows, of entries already seen in its repo."""
        if not self.signals:
            return
        hits = self._signal_scanner.scan(raw)  # confirmed hits
        if not hits:
            return
        public = self._public(job)[0]
        for pid in hits:
            kb_id, _regex, signal = self.signals[pid]
            if (public.repo, kb_id) in self._repo_entries:
                self._dead_ends.append(DeadEndAttempt(public, kb_id, signal, timestamp))

    def take(self) -> tuple[list[Occurrence], list[DeadEndAttempt]]:
        """What was found since the last take; the dedupe of a batch starts afresh (the
        store's keys dedupe across batches)."""
        found = self._occurrences, self._dead_ends
        self._occurrences, self._dead_ends = [], []
        self._seen.clear()
        return found

    def _public(self, job: JobKey) -> tuple[JobKey, JobInfo]:
        """A job's public key and info; worked out anew for a job seen without events
        (raw logs) or forgotten (max_jobs)."""
        known = self.job_info.get(job)
        return known if known is not None else (public_job(job), JobInfo())

    def _occurrence(self, match: Match, job: JobKey, info: JobInfo) -> Occurrence:
        block = match.block
        text = redact(block.text)
        template, template_id = ("", "") if match.kb_id else template_of(
            tuple(redact(line) for line in block.lines[:3]), self._masks)
        fields = {k: redact(v) for k, v in match.fields.items()}
        return Occurrence(job, match.kb_id, block.timestamp, info, match.category,
                          match.tags, fields, text, template, template_id)
