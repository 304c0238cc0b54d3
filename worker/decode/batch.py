"""Decode many records at once: the worker's hot path, columns instead of objects.

`decode.decode_record` builds one Event per record and checks it field by field in
Python: about 3 µs, more than everything else the pipeline does with an ordinary line.
Here msgspec parses and type-checks a whole chunk of newline-separated records in C into
small structs, and only three columns are kept for each: its job, message and event time.
A full Event is built later, and only for the few lines the pipeline looks at.

The result is the same as `decode_record`'s, record by record, because anything unusual
takes that path instead: a record that msgspec refuses (so the error names the same
reason), one that uses an alias (`log`, `@timestamp`, `ci`, …) or a `type` (job_end),
an empty or null job field, a plain-text record, and a record over max_event_bytes. tests/test_decode_batch.py checks the equality on hostile variants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Annotated, Any

import msgspec

from worker.decode.contract import (
    ALIASES,
    CONTROL_FIELDS,
    PROVIDERS,
    AwareTime,
    DecodeError,
    DecodeOptions,
    epoch_time,
)
from worker.decode.record import decode_record
from worker.model import Event

# The job of an event as a plain tuple: equal to, and hashed like, model.JobKey.
Job = tuple[str, str, int, str]


# A non-empty string; an empty one, null or another type sends the record to decode_record.
_Text = Annotated[str, msgspec.Meta(min_length=1)]


class _Wire(msgspec.Struct, gc=False):  # only scalars: no cycles for the GC to look for
    """The canonical event shape, as msgspec checks it (unknown fields are skipped)."""

    message: str
    timestamp: AwareTime | int | float | None = None
    provider: str | None = None
    repo: _Text = "unknown"
    run_id: _Text | int = "unknown"
    run_attempt: int = 1
    job: _Text = "unknown"
    pipeline: str | None = None
    team: str | None = None
    line_number: int | None = None


# Every other name the event contract gives meaning to (an alias such as `log`, `@timestamp`
# or `ci`, and `type`/`status` of job_end) is declared with a type no value can have: a
# record that uses one fails here, in C, and takes decode_record's path. msgspec matches
# keys after unescaping them, so `"\u006cog"` is caught too.
_NEVER = Annotated[int, msgspec.Meta(ge=1, le=0)]
_OTHER_NAMES = sorted({n for names in ALIASES.values() for n in names} - set(ALIASES)
                      | set(CONTROL_FIELDS))
_Checked = msgspec.defstruct(
    "_Checked", [(f"other_{i}", _NEVER, msgspec.field(default=None, name=name))
                 for i, name in enumerate(_OTHER_NAMES)], bases=(_Wire,), gc=False)
_DECODER: Any = msgspec.json.Decoder(_Checked)  # decodes _Wire (sub)instances
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError)


@dataclass(slots=True)
class DecodedBatch:
    """Records of one source partition, decoded. Row i is the i-th valid record.

    jobs, messages, stamps and positions are parallel columns. `event(i)` builds the full
    Event of row i. `special` holds the rows decoded by decode_record (job_end events and
    non-canonical records): the pipeline gives those the per-event path. `errors` lists
    the records that are not valid events: (position, reason, raw bytes).
    """

    jobs: list[Job] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    # Event times as parsed, converted to epoch seconds on use (time(i), latest()): most
    # rows are never looked at, and datetime.timestamp() costs more than the parse.
    stamps: list[datetime | float] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    special: dict[int, Event] = field(default_factory=dict)
    errors: list[tuple[int, str, bytes]] = field(default_factory=list)
    next_position: int = 0  # the source position after the last record read
    numbered: bool = True  # every row has a line_number
    _wires: list[_Wire | None] = field(default_factory=list)
    _teams: Mapping[str, str] = field(default_factory=dict)  # repo -> team (the options')

    def __len__(self) -> int:
        return len(self.jobs)

    def time(self, i: int) -> float:
        stamp = self.stamps[i]
        return stamp if type(stamp) is float else stamp.timestamp()  # type: ignore[union-attr]

    def latest(self) -> float:
        """The latest event time in the batch (0.0 if empty)."""
        if not self.stamps:
            return 0.0
        try:
            latest = max(self.stamps)  # all datetimes: compared in C
        except TypeError:  # datetimes and epoch numbers mixed
            return max(self.time(i) for i in range(len(self.stamps)))
        return latest if type(latest) is float else latest.timestamp()  # type: ignore[union-attr]

    def event(self, i: int) -> Event:
        special = self.special.get(i)
        if special is not None:
            return special
        w = self._wires[i]
        assert w is not None
        repo, run_id, attempt, job = self.jobs[i]
        provider = w.provider if w.provider in PROVIDERS else "other"
        return Event(self.messages[i], self.time(i), repo, run_id, attempt, job, provider,
                     w.pipeline or "", w.team or self._teams.get(repo, ""), w.line_number)


def decode_lines(data: bytes, first: int, record_time: float | Sequence[float],
                 opts: DecodeOptions, keys: Sequence[bytes | None] | None = None
                 ) -> DecodedBatch:
    """Newline-separated records (JSONL lines, or Kafka values without raw newlines).

    first: the source position of the first line; line k has position first + k.
    record_time: the default event time, one for all or one per line (Kafka timestamps).
    keys: per line, the Kafka record key (for plain-text records); None for files.
    Blank lines are skipped (they are neither events nor invalid), as read_records does.
    """
    count = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    batch = DecodedBatch(next_position=first + count, _teams=opts.teams)
    fast = opts.canonical  # a custom alias table: decode_record for every record
    if fast and b"\n\n" not in data and data[:1] != b"\n" and (
            len(data) <= opts.max_event_bytes
            or max(map(len, data.split(b"\n"))) <= opts.max_event_bytes):
        try:  # the whole chunk in one call: the common case
            wires = _DECODER.decode_lines(data)
            if len(wires) == count:
                _add_rows(batch, wires, range(first, first + count), record_time)
                return batch
        except _DECODE_ERRORS:
            pass  # some line is not canonical: sort them out one by one
    run: list[tuple[int, _Wire]] = []  # consecutive canonical lines, added at once
    for k, line in enumerate(data.split(b"\n")[:count]):
        if not line.strip():
            continue
        if fast and len(line) <= opts.max_event_bytes:
            try:
                run.append((k, _DECODER.decode(line)))
                continue
            except _DECODE_ERRORS:
                pass
        _add_run(batch, run, first, record_time)
        run = []
        time = record_time if isinstance(record_time, float) else record_time[k]
        try:
            event = decode_record(line, keys[k] if keys else None, time, opts)
        except DecodeError as exc:
            batch.errors.append((first + k, str(exc), line))
            continue
        _add_event(batch, event, first + k)
    _add_run(batch, run, first, record_time)
    return batch


def _add_run(batch: DecodedBatch, run: list[tuple[int, _Wire]], first: int,
             record_time: float | Sequence[float]) -> None:
    if run:
        times = record_time if isinstance(record_time, float) else [
            record_time[k] for k, _ in run]
        _add_rows(batch, [w for _, w in run], [first + k for k, _ in run], times)


def decode_values(values: Sequence[bytes | None], keys: Sequence[bytes | None],
                  record_times: Sequence[float], opts: DecodeOptions) -> DecodedBatch:
    """Kafka record values, with their keys and timestamps; a row's position is the index
    of its record in values (the caller maps indexes to offsets)."""
    try:
        data = b"\n".join(values)  # type: ignore[arg-type]  # None: TypeError
    except TypeError:
        data = None
    if data is not None and data.count(b"\n") == len(values) - 1:
        batch = decode_lines(data, 0, record_times, opts, keys)
        if len(batch) + len(batch.errors) == len(values):  # no blank value skipped
            return batch
    batch = DecodedBatch(next_position=len(values), _teams=opts.teams)
    for k, value in enumerate(values):  # a value with raw newlines, None or blank
        try:
            event = decode_record(value, keys[k], record_times[k], opts)
        except DecodeError as exc:
            batch.errors.append((k, str(exc), value or b""))
            continue
        _add_event(batch, event, k)
    return batch


def _add_event(batch: DecodedBatch, event: Event, position: int) -> None:
    """A row decoded by decode_record: the pipeline gives it the per-event path."""
    batch.special[len(batch.jobs)] = event
    batch.numbered = batch.numbered and event.line_number is not None
    batch.jobs.append((event.repo, event.run_id, event.run_attempt, event.job))
    batch.messages.append(event.message)
    batch.stamps.append(event.timestamp)
    batch.positions.append(position)
    batch._wires.append(None)


_JOB = attrgetter("repo", "run_id", "run_attempt", "job")
_RUN_ID = itemgetter(1)
_MESSAGE = attrgetter("message")
_TIMESTAMP = attrgetter("timestamp")
_LINE_NUMBER = attrgetter("line_number")


def _add_rows(batch: DecodedBatch, wires: list[_Wire], positions: Sequence[int],
              record_time: float | Sequence[float]) -> None:
    """Append rows from checked structs (msgspec checked every type epoch_time accepts).

    Columns are pulled with map(attrgetter) so that the loops run in C; the rare rows
    that need a fix (a numeric run_id, an epoch or missing timestamp) are fixed after."""
    jobs = list(map(_JOB, wires))
    if int in set(map(type, map(_RUN_ID, jobs))):  # "run_id": 123 is common; as text
        jobs = [j if type(j[1]) is str else (j[0], str(j[1]), j[2], j[3]) for j in jobs]
    stamps: list[datetime | float] = list(map(_TIMESTAMP, wires))
    if set(map(type, stamps)) != {datetime}:
        times = [record_time] * len(stamps) if isinstance(record_time, float) else record_time
        stamps = [t if type(t) is datetime else epoch_time(t, d)
                  for t, d in zip(stamps, times, strict=True)]
    batch.jobs.extend(jobs)
    batch.messages.extend(map(_MESSAGE, wires))
    batch.stamps.extend(stamps)
    batch.positions.extend(positions)
    batch._wires.extend(wires)
    if batch.numbered and None in map(_LINE_NUMBER, wires):
        batch.numbered = False
