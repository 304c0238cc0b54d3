"""The one commit path of every source: take the batch, write it with its positions, count.

Kafka and files both call `commit` after feeding the pipeline. The order is the promise
of the design: the store gets the occurrences, dead ends and the positions to resume
from in ONE transaction (store.write, which retries transient errors itself); only what
the store accepted as new is counted in the metrics, so a redelivered record never
counts twice. Kafka's own copy of the offsets (for lag tools, best effort) is written
last, by the `after_write` hook.

An occurrence or dead end that the store refuses for its values (a data error) does not
fail the commit: it comes back in `WriteResult.quarantined` with its reason, everything
else is stored with the positions, and the caller dead-letters it
(sources/deadletter.quarantine_letter). A transient store error is retried inside
store.write and raised if it outlasts the policy; nothing is committed then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from worker.core.pipeline import Pipeline
from worker.metrics.counters import Metrics
from worker.model import Batch
from worker.store.store import Store, WriteResult

log = logging.getLogger("tfpulse.commit")


def commit(pipeline: Pipeline, store: Store, metrics: Metrics | None = None, *,
           keep: Callable[[Any], bool] | None = None,
           after_write: Callable[[Mapping[Any, int]], None] | None = None
           ) -> tuple[Batch, WriteResult]:
    """Write what the pipeline produced since the last commit; returns it and what was new
    (and what the store quarantined, which the caller dead-letters).

    keep: which partitions' positions to write (a Kafka worker writes only those it
    still owns). after_write: called with the written positions after the transaction.
    """
    batch = pipeline.take()
    if keep is not None:
        batch.positions = {part: pos for part, pos in batch.positions.items() if keep(part)}
    result = store.write(batch)
    for q in result.quarantined:  # logged here, so that none goes unnoticed
        log.error("quarantined: the store refused an item for its values", extra={
            "kb_id": getattr(q.item, "kb_id", None), "run_attempt": q.item.job.run_attempt,
            "reason": q.reason})
    if metrics is not None:
        metrics.committed(batch, result.new_occurrences, result.new_dead_ends)
    if after_write is not None:
        after_write(batch.positions)
    return batch, result
