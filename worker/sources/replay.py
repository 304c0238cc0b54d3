"""Replay files through the pipeline into the store: the file source's driver.

JSONL events are decoded a chunk at a time and fed as batches; a raw log is fed as whole
chunks of lines. Every BATCH_EVENTS events (and at the end of each file) the pipeline's
batch goes through the commit path shared with Kafka, with the file's position, so a
second replay of the same file resumes where the first stopped and counts nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from worker.core.pipeline import Pipeline
from worker.decode.contract import DEFAULT_OPTIONS
from worker.metrics.counters import Metrics
from worker.sources.commit import commit
from worker.sources.files import Input, open_input, read_batches, read_chunks
from worker.store.store import Store

log = logging.getLogger("tfpulse.replay")
BATCH_EVENTS = 20_000  # events per store transaction


@dataclass
class ReplayTotals:
    events: int = 0
    invalid: int = 0
    new: int = 0  # occurrences the store took as new


def replay_file(path: str, pipeline: Pipeline, store: Store, totals: ReplayTotals,
                progress: Callable[[int], object], metrics: Metrics | None = None) -> None:
    """Feed one file (or "-") from its stored position on; progress(n) after n events."""
    inp = open_input(path)
    start = store.positions(inp.partition.source).get(0, 0) if path != "-" else 0
    if start:
        log.info("resuming", extra={"file": path, "line": start})
    if inp.jsonl:
        _replay_events(inp, start, pipeline, store, totals, progress, metrics)
    else:
        for first, data in read_chunks(inp, start):
            progress(pipeline.process_text(inp.job, data, first, inp.timestamp, inp.partition))
            _commit(pipeline, store, totals, True, metrics)
    pipeline.close()
    _commit(pipeline, store, totals, False, metrics)
    inp.close()


def _replay_events(inp: Input, start: int, pipeline: Pipeline, store: Store,
                   totals: ReplayTotals, progress: Callable[[int], object],
                   metrics: Metrics | None) -> None:
    pending = 0
    for batch in read_batches(inp, DEFAULT_OPTIONS, start=start):
        for position, reason, _raw in batch.errors:
            log.warning("invalid event", extra={"file": inp.path, "line": position + 1,
                                                "reason": reason})
        for row, exc in pipeline.process_batch(batch, inp.partition):
            log.error("event failed in the pipeline", extra={
                "file": inp.path, "line": batch.positions[row] + 1,
                "error": f"{type(exc).__name__}: {exc}"})
        pending += len(batch) + len(batch.errors)
        if pending >= BATCH_EVENTS:
            _commit(pipeline, store, totals, True, metrics)
            progress(pending)
            pending = 0


def _commit(pipeline: Pipeline, store: Store, totals: ReplayTotals, idle: bool,
            metrics: Metrics | None) -> None:
    if idle:
        pipeline.flush_idle()
    batch, result = commit(pipeline, store, metrics)
    totals.events += batch.events_ok + batch.events_invalid
    totals.invalid += batch.events_invalid
    totals.new += len(result.new_occurrences)
