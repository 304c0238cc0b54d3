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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress
from operator import attrgetter
from typing import Any

import orjson

try:
    import hyperscan
except ImportError:  # pragma: no cover - optional (the `fast` extra), as for the matcher
    hyperscan = None  # type: ignore[assignment]

from worker.decode.contract import (
    MAX_DEPTH,
    MIN_TIME,
    PROVIDERS,
    DecodeError,
    DecodeOptions,
    epoch_time,
)
from worker.decode.record import decode_checked
from worker.decode.wire import (
    DECODE_ERRORS,
    DECODER,
    Wire,
    has_nul,
    shape_decoder,
    shape_of,
    text,
    wire_time,
)
from worker.model import Event

# The job of an event as a plain tuple: equal to, and hashed like, model.JobKey.
Job = tuple[str, str, int, str]
_IS_DATETIME, _IS_FLOAT = {datetime}.__contains__, {float}.__contains__
_NOT_OPENING = bytes(set(range(256)) - set(b"{[\n"))
_NUL = b"\\u0000"  # how JSON writes a NUL: a record with one takes decode_record's path


def _nul_finder() -> Any:
    """data -> whether it holds _NUL. Hyperscan's literal scan takes a fifth of the time
    of re's (which is faster than `in` on escape-heavy JSON); re without the package."""
    search = re.compile(re.escape(_NUL)).search
    if hyperscan is None:
        return lambda data: search(data) is not None
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[re.escape(_NUL)], ids=[0], flags=[hyperscan.HS_FLAG_SINGLEMATCH])

    def found(data: bytes) -> bool:
        hits: list[int] = []
        db.scan(data, match_event_handler=lambda *_: hits.append(1))
        return bool(hits)
    return found


_HAS_NUL = _nul_finder()
_DEEP = re.compile(rb"[{\[]{%d}" % (MAX_DEPTH + 1)).search  # on a chunk's `openings`


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
    _wires: list[Wire | None] = field(default_factory=list)
    _teams: Mapping[str, str] = field(default_factory=dict)  # repo -> team (the options')

    def __len__(self) -> int:
        return len(self.jobs)

    def time(self, i: int) -> float:
        stamp = self.stamps[i]
        return stamp if type(stamp) is float else stamp.timestamp()  # type: ignore[union-attr]

    def latest(self) -> float:
        """The latest event time in the batch (0.0 if empty)."""
        return self._extreme(max)

    def earliest(self) -> float:
        """The earliest event time in the batch (0.0 if empty)."""
        return self._extreme(min)

    def _extreme(self, pick: Any) -> float:
        if not self.stamps:
            return 0.0
        try:
            found = pick(self.stamps)  # all datetimes: compared in C
        except TypeError:  # datetimes and epoch numbers mixed: each kind apart, in C
            types = list(map(type, self.stamps))
            dates = compress(self.stamps, map(_IS_DATETIME, types))
            numbers = compress(self.stamps, map(_IS_FLOAT, types))
            return float(pick(pick(dates).timestamp(), pick(numbers)))
        return found if type(found) is float else found.timestamp()

    def event(self, i: int) -> Event:
        special = self.special.get(i)
        if special is not None:
            return special
        w = self._wires[i]
        assert w is not None
        repo, run_id, attempt, job = self.jobs[i]
        provider = w.provider if w.provider in PROVIDERS else "other"
        return Event(self.messages[i], self.time(i), repo, run_id, attempt, job, provider,
                     text(w.pipeline) or "", text(w.team) or self._teams.get(repo, ""),
                     w.line_number)

    def line_number(self, i: int) -> int | None:
        special = self.special.get(i)
        if special is not None:
            return special.line_number
        w = self._wires[i]
        return w.line_number if w is not None else None


def decode_lines(data: bytes, first: int, record_time: float | Sequence[float],
                 opts: DecodeOptions, keys: Sequence[bytes | None] | None = None
                 ) -> DecodedBatch:
    """Newline-separated records (JSONL lines, or Kafka values without raw newlines).

    first: the source position of the first line; line k has position first + k.
    record_time: the default event time, one for all or one per line (Kafka timestamps).
    keys: per line, the Kafka record key (for plain-text records); None for files.
    Blank lines are skipped (they are neither events nor invalid), as read_records does;
    a line over max_event_bytes is refused even if blank.
    """
    return _decode_lines(data, data.translate(None, _NOT_OPENING), first, record_time, opts,
                         keys)


def _decode_lines(data: bytes, openings: bytes, first: int,
                  record_time: float | Sequence[float], opts: DecodeOptions,
                  keys: Sequence[bytes | None] | None) -> DecodedBatch:
    """decode_lines, given data's opening brackets and newlines (data.translate(None,
    _NOT_OPENING)): a few KiB that answer the per-line questions in C, in one pass."""
    count = openings.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    latest = opts.latest_time()
    fast = opts.canonical  # a custom alias table: decode_record for every record
    # No line nests deeper than MAX_DEPTH if none has more opening brackets: no run of
    # more than MAX_DEPTH of them between two newlines of `openings`.
    shallow = _DEEP(openings) is None
    careful = _HAS_NUL(data)  # check each line's text fields (rare)
    # A blank line leaves two newlines next to each other in `openings` too (so do other
    # lines without brackets, which then take the per-line way, as a blank one does).
    if fast and shallow and not careful and b"\n\n" not in openings and openings[:1] != b"\n" \
            and _lines_within(data, opts.max_event_bytes):
        wires = _decode_chunk(data)
        if wires is not None and len(wires) == count:
            batch = DecodedBatch(next_position=first + count, _teams=opts.teams)
            _add_rows(batch, wires, range(first, first + count), record_time)
            if batch.earliest() >= MIN_TIME and batch.latest() <= latest:
                return batch
            careful = True
    batch = _decode_each(data, count, first, record_time, opts, keys, latest, shallow, careful)
    if not careful and not (batch.earliest() >= MIN_TIME and batch.latest() <= latest):
        # some canonical line's time is out of bounds (rare): again, checking each line
        batch = _decode_each(data, count, first, record_time, opts, keys, latest, shallow, True)
    return batch


def _lines_within(data: bytes, limit: int) -> bool:
    """No line of data is longer than limit bytes: the line at pos is not iff a newline
    lies in data[pos:pos + limit + 1]; past the last one there, the next line starts (a
    few searches in C per chunk instead of splitting it)."""
    pos, end = 0, len(data)
    while end - pos > limit:
        nl = data.rfind(b"\n", pos, pos + limit + 1)
        if nl < 0:
            return False
        pos = nl + 1
    return True


def _decode_chunk(data: bytes) -> list[Wire] | None:
    """Every line of data as a struct, in one call: records of the shape the last chunk
    had (a stream keeps its shape), canonical ones, or records of the first one's shipper
    shape (wire.py); None if some line is none of these (or no event)."""
    last = _LAST[0]
    if last is not None:
        try:
            return last.decode_lines(data)
        except DECODE_ERRORS:
            pass
    nl = data.find(b"\n")
    for decoder in (DECODER, _shape_decoder(data if nl < 0 else data[:nl])):
        if decoder is not None and decoder is not last:
            try:
                wires = decoder.decode_lines(data)
            except DECODE_ERRORS:
                continue
            _LAST[0] = decoder
            return wires
    return None


_LAST: list[Any] = [None]  # the decoder of the last chunk decoded whole: a cache only


def _decode_one(line: bytes) -> Wire | None:
    """One line as a struct, canonical or of its own shipper shape; None if neither."""
    try:
        return DECODER.decode(line)
    except DECODE_ERRORS:
        pass
    decoder = _shape_decoder(line)
    if decoder is None:
        return None
    try:
        return decoder.decode(line)
    except DECODE_ERRORS:
        return None


def _shape_decoder(line: bytes) -> Any:
    """The decoder of one record's shape; None if it is no JSON object or a control record."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    shape = shape_of(obj) if isinstance(obj, dict) else None
    return None if shape is None else shape_decoder(shape)


def _maybe_deep(line: bytes) -> bool:
    return line.count(b"{") + line.count(b"[") > MAX_DEPTH


def _decode_each(data: bytes, count: int, first: int, record_time: float | Sequence[float],
                 opts: DecodeOptions, keys: Sequence[bytes | None] | None, latest: float,
                 shallow: bool, careful: bool) -> DecodedBatch:
    """decode_lines line by line: canonical lines still go in runs through msgspec.

    shallow: no line nests deeper than MAX_DEPTH. careful: check each canonical line's
    time and text fields here (else the caller checks the batch's times at once)."""
    batch = DecodedBatch(next_position=first + count, _teams=opts.teams)
    fast = opts.canonical
    run: list[tuple[int, Wire]] = []  # consecutive canonical lines, added at once
    for k, line in enumerate(data.split(b"\n")[:count]):
        size = len(line)
        if size <= opts.max_event_bytes and not line.strip():
            continue
        time = record_time if isinstance(record_time, float) else record_time[k]
        if fast and size <= opts.max_event_bytes and (shallow or not _maybe_deep(line)):
            w = _decode_one(line)
            if w is not None and (not careful or (
                    MIN_TIME <= wire_time(w, time) <= latest and not has_nul(w))):
                run.append((k, w))
                continue
        _add_run(batch, run, first, record_time)
        run = []
        try:
            event = decode_checked(line, keys[k] if keys else None, time, opts, latest)
        except DecodeError as exc:
            batch.errors.append((first + k, str(exc), line))
            continue
        _add_event(batch, event, first + k)
    _add_run(batch, run, first, record_time)
    return batch


def _add_run(batch: DecodedBatch, run: list[tuple[int, Wire]], first: int,
             record_time: float | Sequence[float]) -> None:
    if run:
        times = record_time if isinstance(record_time, float) else [
            record_time[k] for k, _ in run]
        _add_rows(batch, [w for _, w in run], [first + k for k, _ in run], times)


def decode_values(values: Sequence[bytes | None], keys: Sequence[bytes | None],
                  record_times: Sequence[float], opts: DecodeOptions) -> DecodedBatch:
    """Kafka record values, with their keys and timestamps; a row's position is the index
    of its record in values (the caller maps indexes to offsets)."""
    # A null or empty value takes the per-record way: an empty one would leave the joined
    # lines one short of the values (and a blank line is skipped by decode_lines).
    if all(values):
        data = b"\n".join(values)  # type: ignore[arg-type]  # no None: all() said so
        openings = data.translate(None, _NOT_OPENING)
        if openings.count(b"\n") == len(values) - 1:
            batch = _decode_lines(data, openings, 0, record_times, opts, keys)
            if len(batch) + len(batch.errors) == len(values):  # no blank value skipped
                return batch
    batch = DecodedBatch(next_position=len(values), _teams=opts.teams)
    latest = opts.latest_time()
    for k, value in enumerate(values):  # a value with raw newlines, None or blank
        try:
            event = decode_checked(value, keys[k], record_times[k], opts, latest)
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
_MESSAGE = attrgetter("message")
_TIMESTAMP = attrgetter("timestamp")
_LINE_NUMBER = attrgetter("line_number")


def _add_rows(batch: DecodedBatch, wires: list[Wire], positions: Sequence[int],
              record_time: float | Sequence[float]) -> None:
    """Append rows from checked structs (msgspec checked every type epoch_time accepts).

    Columns are pulled with map(attrgetter) so that the loops run in C; the rare rows
    that need a fix (a numeric run_id, an epoch or missing timestamp) are fixed after."""
    jobs = list(map(_JOB, wires))
    # integer ids (`"run_id": 123`, `"job": 4821`) as text: fixed once per distinct job
    # (a chunk holds a few), each row then looked up in C
    distinct = set(jobs)
    if any(type(v) is int for j in distinct for v in (j[0], j[1], j[3])):
        as_text = {j: (text(j[0]), text(j[1]), j[2], text(j[3])) for j in distinct}
        jobs = list(map(as_text.__getitem__, jobs))
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
