"""The core pipeline: events in, occurrences out; prefilter and routing. No I/O.

    event ─> prefilter ─> normalize + blocks ─> aggregate (classify, count once, redact)

Most CI log lines are ordinary output. A line is only normalized and fed to the block
assembler when its job has a block open or when a cheap prefilter scan says it may
start one or show a dead end; everything else costs its share of one scan per chunk.

Sources (Kafka, files) call `process` per event with the event's source position, then
`take()` a Batch to write in one store transaction. The batch's positions never pass the
first line of a block still open, so a crash loses nothing (see model.Batch).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from itertools import accumulate, compress
from typing import Any, Protocol

from worker.core import matcher
from worker.core.aggregate import Aggregator
from worker.core.blocks import TRIGGER, BlockAssembler
from worker.core.classify import Classifier
from worker.core.prefilter import (
    LOUD,
    QUIET,
    LineFlags,
    LineScanner,
    RowFlags,
    inert_text,
    is_log_text,
    quiet_run,
)
from worker.core.versions import TRIGGER as VERSION_TRIGGER
from worker.knowledge.entry import KnowledgeBase
from worker.model import Batch, Event, JobKey, Match

# Bytes of a chunk whose lines are flagged at once while a block is open, at first and at
# most (doubling while the block stays open): most blocks close within a few lines, and
# what a window holds past its block's end is scanned for nothing, while one more window
# costs about what 800 more bytes do (on the realistic corpus: 23 MB scanned for the 17 MB
# of its open blocks, 43 MB with windows that grew to 256 KiB).
_WINDOW = (1 << 11, 1 << 13)


class RecordBatch(Protocol):
    """What process_batch reads of decoded records (decode/batch.py's DecodedBatch):
    parallel columns, row i being the i-th valid record of one source partition."""

    @property
    def jobs(self) -> Sequence[tuple[str, str, int, str]]: ...
    @property
    def messages(self) -> list[str]: ...
    @property
    def positions(self) -> Sequence[int]: ...
    @property
    def special(self) -> Mapping[int, Event]: ...  # rows that need the per-event path
    @property
    def errors(self) -> Sequence[Any]: ...  # records that did not decode
    @property
    def next_position(self) -> int: ...
    @property
    def numbered(self) -> bool: ...  # every row has a line_number

    def __len__(self) -> int: ...
    def latest(self) -> float: ...
    def time(self, i: int) -> float: ...
    def event(self, i: int) -> Event: ...
    def line_number(self, i: int) -> int | None: ...


class Pipeline:
    """Stateful per worker (open blocks per job); every method is pure computation."""

    def __init__(self, kb: KnowledgeBase, classifier: Classifier | None = None,
                 assembler: BlockAssembler | None = None,
                 repo_entries: Iterable[tuple[str, str]] = (),
                 max_jobs: int = BlockAssembler.max_jobs):
        self.kb = kb
        self.classifier = classifier or Classifier(kb)
        self.blocks = assembler or BlockAssembler(max_jobs=max_jobs)
        self.aggregate = Aggregator(kb, self.classifier, repo_entries, max_jobs)
        self._signals = self.aggregate.signals
        self._job_info = self.aggregate.job_info  # checked per event: a dict lookup, no call
        # One prefilter scan per chunk of lines flags those that may start a block or show
        # a dead end (offsets only, never confirmed: feeding a line is cheap).
        # Pattern 0 is the block trigger; every other one (version lines of core/versions.py,
        # dead-end signals) flags a line for aggregate.flagged.
        self._scanner = matcher.build([TRIGGER, VERSION_TRIGGER]
                                      + [r.pattern for _, r, _ in self._signals])
        self._lines = LineScanner()  # which lines an open block takes in without a feed
        self._next: dict[Hashable, int] = {}
        self._batch = Batch()
        # Latest event time per source partition: drives the idle timeout. Event time is
        # ordered within a partition only, so one fast partition must not close the
        # blocks of a slower one. The assembler reads it on each line (BlockAssembler.marks).
        self.watermarks: dict[Hashable, float] = {}
        self.blocks.marks = self.watermarks

    @property
    def keep_matches(self) -> bool:
        """Keep every classified block in `matches` (for `classify` and `kb test`)."""
        return self.aggregate.keep_matches

    @keep_matches.setter
    def keep_matches(self, keep: bool) -> None:
        self.aggregate.keep_matches = keep

    @property
    def matches(self) -> list[Match]:
        return self.aggregate.matches

    @matches.setter
    def matches(self, matches: list[Match]) -> None:
        self.aggregate.matches = matches

    # -- input -----------------------------------------------------------------------

    def process(self, event: Event, position: tuple[Hashable, int] | None = None) -> None:
        """Feed one event. position = (partition, offset) in its source, if any.

        The per-record hot path: an ordinary line costs one engine scan and a few dict
        lookups, nothing more.
        """
        job = JobKey(event.repo, event.run_id, event.run_attempt, event.job)
        part = position[0] if position is not None else None
        if event.timestamp > self.watermarks.get(part, 0.0):
            self.watermarks[part] = event.timestamp
        if job not in self._job_info:
            self.aggregate.remember(job, event)
        if event.kind == "job_end":
            self.aggregate.emit(self.blocks.end_job(job))
            self.aggregate.job_end(job, event)
        else:  # an empty message is a blank line: it counts, and may close a block
            self._feed_message(job, event, position)
        if position is not None:
            self._next[part] = position[1] + 1
        self._batch.events_ok += 1

    def process_text(self, job: JobKey, data: bytes, first_line: int, timestamp: float,
                     source: Hashable = None) -> int:
        """Feed whole lines of one job's raw log at once; returns the number of lines.

        The fast path for raw logs (see _feed_lines). Line i of the chunk has number
        first_line + i and position (source, number - 1).
        """
        if source is not None:
            self._set_watermark(source, timestamp)
        count = self._feed_lines(job, data, first_line, timestamp, source, None)
        if source is not None:
            self._next[source] = first_line - 1 + count
        self._batch.events_ok += count
        return count

    def process_batch(self, batch: RecordBatch, source: Hashable
                      ) -> list[tuple[int, Exception]]:
        """Feed decoded records of one source partition, in order; the fast path.

        One engine scan over all messages finds the rows that may start a block or show a
        dead end. Those rows, the special rows (job_end, aliased records) and the rows of
        jobs with a block open get the per-event path with a full Event; every other row
        costs nothing more when the records carry line numbers (the usual case), and a
        line-count update when they do not. Returns the rows that raised, with the error:
        the caller dead-letters them (the worker never crashes on a log line).
        """
        n = len(batch)
        if n:
            self._set_watermark(source, batch.latest())
        hits, signals = self._hit_rows(batch.messages)
        todo = sorted(hits.union(batch.special))
        full = self._full_rows(batch, todo)
        failed: list[tuple[int, Exception]] = []
        fed = 0
        rows = RowFlags(self._lines, batch.messages)
        for i in full:
            fed += 1
            try:
                if i not in batch.special and self._light(batch, i, source, rows, i in signals):
                    fed -= 1  # taken without an Event: counted below with the skipped rows
                    continue
                self.process(batch.event(i), (source, batch.positions[i]))
            except Exception as exc:  # noqa: BLE001 - reported to the caller, never fatal
                failed.append((i, exc))
                self.invalid((source, batch.positions[i]))
        self._batch.events_ok += n - fed
        self._batch.events_invalid += len(batch.errors)
        if batch.next_position > self._next.get(source, 0):
            self._next[source] = batch.next_position
        return failed

    def _light(self, batch: RecordBatch, i: int, source: Hashable, rows: RowFlags,
               signal: bool) -> bool:
        """Row i without a full Event, if it can be: an inert line that the job's open
        unframed block takes in, or a flagged TF_LOG line while no block is open (it
        starts none). Returns whether it was taken."""
        job = JobKey._make(batch.jobs[i])
        if job not in self._job_info:
            return False
        message, blocks = batch.messages[i], self.blocks
        taking = blocks.wants_text(job)
        if taking is not None:
            kind = rows.kind(i)
            if not kind:
                return False
        elif blocks.has_open(job) or not is_log_text(message):
            return False
        timestamp = batch.time(i)
        self.aggregate.emit(blocks.note(job, 1, timestamp, batch.line_number(i),
                                        (source, batch.positions[i])))
        if taking is not None:
            blocks.absorb(job, (inert_text(message, kind == LOUD),) if taking and kind != QUIET
                          else ())
        if signal:
            self.aggregate.flagged(job, message, timestamp)
        return True

    def _full_rows(self, batch: RecordBatch, todo: list[int]) -> Iterator[int]:
        """Rows for the per-event path, found lazily: a row fed may open or close a block,
        which decides for the rows after it. Skipped rows need no bookkeeping when their
        line numbers come with them; for records without line numbers the skipped rows
        still move their jobs' line counts on (block line numbers are counted per job), a
        run of them at once."""
        open_jobs, jobs, n = self.blocks.open_jobs, batch.jobs, len(batch)
        counting = not batch.numbered
        i, t = 0, 0
        while i < n:
            nxt = todo[t] if t < len(todo) else n
            if open_jobs and nxt > i:  # the first row of a job with a block open, in C
                nxt = next(compress(range(i, nxt), map(open_jobs.__contains__, jobs[i:nxt])),
                           nxt)
            if counting and nxt > i:
                self._skip_rows(batch, i, nxt)
            if nxt == n:
                return
            if t < len(todo) and todo[t] == nxt:
                t += 1
            yield nxt
            i = nxt + 1

    def _skip_rows(self, batch: RecordBatch, lo: int, hi: int) -> None:
        """Rows lo..hi-1, of jobs with no block open and no hit: their lines counted. The
        time skip() is given is the run's last: a job with no block open is never idle
        (flush_idle measures it against its own mark) unless events came without a source
        position, and then each row's own time is used."""
        jobs, messages, skip = batch.jobs[lo:hi], batch.messages[lo:hi], self.blocks.skip
        if None in self.watermarks:
            for k, (job, message) in enumerate(zip(jobs, messages, strict=True), lo):
                skip(JobKey._make(job), message.count("\n") + 1, batch.time(k))
            return
        if "\n" not in "".join(messages):
            first = jobs[0]  # mostly one job's burst: its count without a Counter
            counts = {first: hi - lo} if jobs.count(first) == hi - lo else Counter(jobs)
        else:
            counts = Counter()
            for job, message in zip(jobs, messages, strict=True):
                counts[job] += message.count("\n") + 1
        timestamp = batch.time(hi - 1)
        for job, count in counts.items():
            skip(JobKey._make(job), count, timestamp)

    def invalid(self, position: tuple[Hashable, int] | None = None) -> None:
        """A record that did not decode still moves the source position on."""
        if position is not None:
            self._next[position[0]] = position[1] + 1
        self._batch.events_invalid += 1

    def flush_idle(self) -> None:
        self.aggregate.emit(self.blocks.flush_idle(self.watermarks))

    def close(self) -> None:
        """End of input: close every open block (every job is over)."""
        self.aggregate.emit(self.blocks.flush_all())
        self.aggregate.forget_jobs()

    def take(self) -> Batch:
        """What was produced since the last take, with the positions safe to store."""
        batch, self._batch = self._batch, Batch()
        batch.occurrences, batch.dead_ends = self.aggregate.take()
        batch.outcomes = self.aggregate.take_outcomes()
        held = self.blocks.open_positions()
        for part, nxt in self._next.items():
            batch.positions[part] = min(nxt, held.get(part, nxt))
        return batch

    # -- internals -----------------------------------------------------------------------

    def advance_time(self, source: Hashable, timestamp: float) -> None:
        """Move a source partition's event time on to timestamp (never back): the Kafka
        adapter's clock for a quiet partition (sources/quietclock.py)."""
        self._set_watermark(source, timestamp)

    def _set_watermark(self, source: Hashable, timestamp: float) -> None:
        if timestamp > self.watermarks.get(source, 0.0):
            self.watermarks[source] = timestamp

    def _hit_rows(self, messages: list[str]) -> tuple[set[int], set[int]]:
        """Rows whose message the engine flags (block trigger, version line or dead-end
        signal), and those of them flagged for a version line or a dead-end signal."""
        if not messages:
            return set(), set()
        data = "\n".join(messages).encode("utf-8", "surrogatepass")
        hits = self._scanner.hits(data)
        if not hits:
            return set(), set()
        one_line_each = data.count(b"\n") == len(messages) - 1
        starts = None if one_line_each else list(accumulate(
            m.count("\n") + 1 for m in messages))
        rows: set[int] = set()
        signals: set[int] = set()
        line, pos = 0, 0
        for end, pattern in hits:
            line += data.count(b"\n", pos, max(end - 1, pos))
            pos = max(end - 1, pos)
            row = line if starts is None else bisect_right(starts, line)
            rows.add(row)
            if pattern:
                signals.add(row)
        return rows, signals

    def _feed_message(self, job: JobKey, event: Event, position: tuple[Hashable, int] | None
                      ) -> None:
        message = event.message
        if "\n" in message:  # a chunk of lines: skip through it as through a raw log
            self._feed_lines(job, message.encode("utf-8", "surrogatepass") + b"\n",
                             event.line_number, event.timestamp, None, position)
            return
        # Unconfirmed engine hits are enough here: feeding a line that starts nothing is
        # harmless, and confirming the trigger with RE2 cost more than the feed.
        flagged = self._scanner.offsets(message.encode("utf-8", "surrogatepass"))
        if not flagged and not self.blocks.has_open(job):
            self.blocks.skip(job, 1, event.timestamp)
            return
        closed = self.blocks.feed(job, message, event.timestamp, event.line_number, position)
        if closed:
            self.aggregate.emit(closed)
        if flagged:
            self.aggregate.flagged(job, message, event.timestamp)

    def _feed_lines(self, job: JobKey, data: bytes, number: int | None, timestamp: float,
                    source: Hashable, position: tuple[Hashable, int] | None) -> int:
        """Feed whole lines (each ending in a newline) of one job; returns their number.

        One engine scan over the chunk finds the lines that may start a block or show a
        dead end; only those, and the lines of the blocks they open, are decoded and fed.
        Everything else is counted with bytes.count (in C), and so are the inert lines
        that an open unframed block takes in (prefilter.py), in runs; TF_LOG lines the
        scan flagged are not fed either (they start nothing), in runs too. number: the first line's
        number, or None to let the assembler count. position: every line's source
        position (an event's), or None for (source, number - 1) per line (a raw log).
        """
        hits = self._scanner.hits(data)
        ends = [end for end, _ in hits]
        signals = [end for end, i in hits if i]
        pos, size, k, count = 0, len(data), 0, 0
        blocks, feed = self.blocks, self.blocks.feed
        flags: LineFlags | None = None
        window = _WINDOW[0]
        while pos < size:
            taking = blocks.wants_text(job)
            if taking is not None:  # an unframed block is open: take in its inert lines
                if flags is None or pos >= flags.end:
                    # a block still open at the end of the last window: a wider one
                    window = min(window * 2, _WINDOW[1]) if flags and pos == flags.end else (
                        _WINDOW[0])
                    far = data.find(b"\n", pos + window)
                    flags = self._lines.flags(data, pos, size if far < 0 else far + 1)
                end = flags.run_end(pos)
                if end > pos:
                    n = data.count(b"\n", pos, end) + (0 if data[end - 1] == 10 else 1)
                    line = number + count + n - 1 if number is not None else None
                    self.aggregate.emit(blocks.note(job, n, timestamp, line, self._at(
                        line, source, position)))
                    blocks.absorb(job, flags.texts(pos, end) if taking else ())
                    self._signal_lines(job, data, signals, pos, end, timestamp)
                    pos, count = end, count + n
                    continue
            elif not blocks.has_open(job):
                k = bisect_right(ends, pos, k)
                start = size if k == len(ends) else max(data.rfind(b"\n", pos, ends[k]) + 1, pos)
                skipped = data.count(b"\n", pos, start) + (
                    1 if start == size and not data.endswith(b"\n") else 0)
                if skipped:
                    blocks.skip(job, skipped, timestamp)
                    count += skipped
                pos = start
                if pos >= size:
                    break
                end, k = quiet_run(data, ends, k, pos)
                if end > pos:  # they start nothing: one note for them and the lines between
                    n = data.count(b"\n", pos, end) + (0 if data[end - 1] == 10 else 1)
                    line = number + count + n - 1 if number is not None else None
                    self.aggregate.emit(blocks.note(job, n, timestamp, line, self._at(
                        line, source, position)))
                    self._signal_lines(job, data, signals, pos, end, timestamp)
                    pos, count = end, count + n
                    continue
            nl = data.find(b"\n", pos)
            nl = size if nl < 0 else nl
            line = number + count if number is not None else None
            at = self._at(line, source, position)
            raw = data[pos:nl].decode("utf-8", "replace")
            closed = feed(job, raw, timestamp, line, at)
            if closed:
                self.aggregate.emit(closed)
            if signals and bisect_right(signals, nl + 1) > bisect_right(signals, pos):
                self.aggregate.flagged(job, raw, timestamp)
            pos, count = nl + 1, count + 1
        return count

    @staticmethod
    def _at(line: int | None, source: Hashable, position: tuple[Hashable, int] | None
            ) -> tuple[Hashable, int] | None:
        """The source position of a line of _feed_lines (see there)."""
        if line is None or position is not None:
            return position
        return (source, line - 1) if source is not None else None

    def _signal_lines(self, job: JobKey, data: bytes, ends: list[int], pos: int, end: int,
                      timestamp: float) -> None:
        """Versions and dead-end signals of the lines in data[pos:end] (lines not fed) that
        the engine flagged for one (ends: those hits' end offsets)."""
        k = bisect_right(ends, pos)
        while k < len(ends) and ends[k] <= end:
            start = max(data.rfind(b"\n", pos, ends[k] - 1) + 1, pos)
            nl = data.find(b"\n", start, end)
            nl = end if nl < 0 else nl
            self.aggregate.flagged(job, data[start:nl].decode("utf-8", "replace"), timestamp)
            k = bisect_right(ends, nl + 1, k)
            pos = nl + 1
