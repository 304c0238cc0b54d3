"""Replay files through the pipeline into the store: the file source's driver.

JSONL events are decoded a chunk at a time and fed as batches; a raw log is fed as whole
chunks of lines. Every BATCH_EVENTS events (and at the end of each file) the pipeline's
batch goes through the commit path shared with Kafka, with the file's position, so a
second replay of the same file resumes where the first stopped and counts nothing twice.

A bad record never stops a replay: a line that does not decode, a row the pipeline
fails on, and an item the store quarantines are each written to the dead-letter file
(sources/deadletter.py) and counted; the letters are made durable before the positions
past them are stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from worker.core.pipeline import Pipeline
from worker.decode.contract import DecodeOptions
from worker.metrics.counters import Metrics
from worker.sources.commit import commit
from worker.sources.deadletter import DeadLetterFile, quarantine_letter, record_letter
from worker.sources.files import Input, open_input, read_batches, read_chunks
from worker.store.store import Store

log = logging.getLogger("tfpulse.replay")
BATCH_EVENTS = 20_000  # events per store transaction


@dataclass
class ReplayTotals:
    events: int = 0
    invalid: int = 0
    new: int = 0  # occurrences the store took as new
    dead_lettered: int = 0  # records refused and items quarantined, in the dead-letter file


@dataclass
class _Run:
    """One file's replay: where it goes and what it counts."""

    inp: Input
    pipeline: Pipeline
    store: Store
    totals: ReplayTotals
    metrics: Metrics | None
    dead: DeadLetterFile | None


def replay_file(path: str, pipeline: Pipeline, store: Store, totals: ReplayTotals,
                progress: Callable[[int], object], metrics: Metrics | None = None,
                dead: DeadLetterFile | None = None) -> None:
    """Feed one file (or "-") from its stored position on; progress(n) after n events.
    dead: where refused records go (None: logged and counted only)."""
    inp = open_input(path)
    run = _Run(inp, pipeline, store, totals, metrics, dead)
    start = store.positions(inp.partition.source).get(0, 0) if path != "-" else 0
    if start:
        log.info("resuming", extra={"file": path, "line": start})
    if inp.jsonl:
        _replay_events(run, start, progress)
    else:
        for first, data in read_chunks(inp, start):
            progress(pipeline.process_text(inp.job, data, first, inp.timestamp, inp.partition))
            _commit(run, True)
    pipeline.close()
    _commit(run, False)
    inp.close()


def _replay_events(run: _Run, start: int, progress: Callable[[int], object]) -> None:
    inp, pipeline, pending = run.inp, run.pipeline, 0
    # The "at most a day ahead" rule needs a clock: the adapter's, read once per chunk.
    opts = DecodeOptions(clock=time.time)
    for batch in read_batches(inp, opts, start=start):
        for position, reason, raw in batch.errors:
            log.warning("invalid event", extra={"file": inp.path, "line": position + 1,
                                                "reason": reason, "bytes": len(raw)})
            _dead_letter(run, record_letter(inp.partition.source, position + 1, reason, raw,
                                            opts.max_event_bytes))
        for row, exc in pipeline.process_batch(batch, inp.partition):
            line = batch.positions[row] + 1
            reason = f"pipeline error: {type(exc).__name__}"
            log.error("event failed in the pipeline", extra={
                "file": inp.path, "line": line, "error": type(exc).__name__})
            _dead_letter(run, record_letter(inp.partition.source, line, reason, None, 0))
        pending += len(batch) + len(batch.errors)
        if pending >= BATCH_EVENTS:
            _commit(run, True)
            progress(pending)
            pending = 0


def _dead_letter(run: _Run, letter: dict[str, object]) -> None:
    run.totals.dead_lettered += 1
    if run.dead is not None:
        run.dead.write(letter)


def _commit(run: _Run, idle: bool) -> None:
    if idle:
        run.pipeline.flush_idle()
    if run.dead is not None:
        run.dead.flush()
    batch, result = commit(run.pipeline, run.store, run.metrics)
    for q in result.quarantined:  # commit() logged each
        _dead_letter(run, quarantine_letter(run.inp.partition.source, q))
    if result.quarantined and run.dead is not None:
        run.dead.flush()
    run.totals.events += batch.events_ok + batch.events_invalid
    run.totals.invalid += batch.events_invalid
    run.totals.new += len(result.new_occurrences)
