"""Plain data passed between pipeline stages.

Every stage takes and returns these frozen dataclasses; none of them knows about Kafka,
files or SQL. Times are epoch seconds (float, UTC) because they are compared and stored
far more often than they are printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class JobKey(NamedTuple):
    """One job run attempt: the unit inside which an error counts once."""

    repo: str
    run_id: str
    run_attempt: int
    job: str


class Partition(NamedTuple):
    """What a stored position belongs to: a Kafka topic partition, or a file (number 0)."""

    source: str  # the topic, or "file:<absolute path>"
    number: int = 0


@dataclass(slots=True)
class Event:
    """One decoded CI log event (see DESIGN.md, event contract).

    Not frozen, unlike the other stages' data: one is built per consumed record, and a
    frozen dataclass's __init__ (object.__setattr__ per field) costs three times as much.
    Treat it as immutable all the same.
    """

    message: str
    timestamp: float
    repo: str = "unknown"
    run_id: str = "unknown"
    run_attempt: int = 1
    job: str = "unknown"
    provider: str = "other"
    pipeline: str = ""
    team: str = ""
    line_number: int | None = None
    kind: str = "log"  # "log" or "job_end"
    status: str | None = None


@dataclass(frozen=True, slots=True)
class JobInfo:
    """What is known about a job besides its key; carried onto its occurrences."""

    provider: str = "other"
    pipeline: str = ""
    team: str = ""


@dataclass(frozen=True, slots=True)
class Block:
    """One Terraform diagnostic rebuilt from a job's log lines (normalized text)."""

    job: JobKey
    lines: tuple[str, ...]
    line: int  # 1-based position of the first line in the job stream
    timestamp: float  # event time of the first line
    framed: bool = False
    truncated: bool = False  # True when the size cap cut the block short
    certain: bool = True  # starts like a Terraform diagnostic ("Error: …"); False for
    # blocks opened on a weaker hint ("AccessDenied…"), kept only when the KB knows them
    tail: bool = False  # opened on a closing line (blocks.TAIL): counted only when nothing
    # of its job was counted before it (aggregate.Aggregator.emit)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True, slots=True)
class Match:
    """The classification of one block. kb_id None means unclassified."""

    block: Block
    kb_id: str | None
    category: str | None = None
    tags: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)
    also_matched: tuple[str, ...] = ()  # other entries that matched, lower priority


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One KB entry (or one unclassified template) in one job run attempt.

    For unclassified failures kb_id is None and template holds the masked text that
    groups them; the dedupe key then uses the template's digest.
    """

    job: JobKey
    kb_id: str | None
    timestamp: float
    info: JobInfo = JobInfo()
    category: str | None = None
    tags: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)
    text: str = ""  # redacted block text
    template: str = ""  # masked text, for unclassified grouping
    template_id: str = ""  # digest of template

    @property
    def key(self) -> tuple[str, str, int, str, str]:
        entry = self.kb_id if self.kb_id is not None else "unclassified:" + self.template_id
        return occurrence_key(self.job, entry)


def occurrence_key(job: JobKey, entry: str) -> tuple[str, str, int, str, str]:
    """The dedupe key: one job run attempt and one entry (kb_id or unclassified template)."""
    return (job.repo, job.run_id, job.run_attempt, job.job, entry)


@dataclass(frozen=True, slots=True)
class DeadEndAttempt:
    """A known dead end (e.g. `-lock=false`) seen in a job, tied to the entry it belongs to."""

    job: JobKey
    kb_id: str
    signal: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """How a job ended (its `job_end` event) and the versions it printed on the way."""

    job: JobKey
    status: str  # success, failure, cancelled, skipped, timed_out, other, unknown
    timestamp: float  # event time of the job_end
    info: JobInfo = JobInfo()
    tool: str = ""  # "terraform" or "opentofu", when the job printed its version
    version: str = ""
    providers: str = ""  # "hashicorp/aws=5.31.0,hashicorp/random=3.6.3"


@dataclass(slots=True)
class Batch:
    """What one stretch of input produced, written to the store in one transaction.

    positions: for each source partition (Partition("ci-logs", 3), Partition("file:/x.jsonl")),
    the position from which a restarted consumer must read again: it never passes the
    first line of a block still open, so nothing in flight is lost on a crash; what is
    read twice is dropped by the store's occurrence keys.
    """

    occurrences: list[Occurrence] = field(default_factory=list)
    dead_ends: list[DeadEndAttempt] = field(default_factory=list)
    outcomes: list[JobOutcome] = field(default_factory=list)
    positions: dict[Any, int] = field(default_factory=dict)  # Partition -> next position
    events_ok: int = 0
    events_invalid: int = 0
