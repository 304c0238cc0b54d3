"""A job log backfilled into a live partition (its event times days behind its
neighbours') counts exactly as it does alone: the idle timeout measures how far the
partition's event time moved on since the job's last line, so a neighbour's later time
never cuts a block that is still being written."""

from __future__ import annotations

import orjson

from worker.core.blocks import BlockAssembler
from worker.core.pipeline import Pipeline
from worker.decode.batch import decode_lines
from worker.decode.contract import DecodeOptions
from worker.knowledge.entry import KnowledgeBase

LIVE = 1_796_000_000.0  # 2026-12-01
OLD = LIVE - 3 * 86_400  # the backfilled job ran three days earlier
ENTRY = "aws/expired-token"


def _event(message: str, stamp: float, repo: str, job: str) -> bytes:
    return orjson.dumps({"message": message, "timestamp": stamp, "repo": repo, "run_id": "1",
                         "job": job})


def _backfill(kb: KnowledgeBase) -> list[bytes]:
    lines = kb.entries[ENTRY].examples[0].text.splitlines()  # an unframed diagnostic
    return [_event(line, OLD + k, "acme/old", "plan") for k, line in enumerate(lines)]


def _run(kb: KnowledgeBase, records: list[bytes], per_poll: int) -> list[tuple[str, ...]]:
    pipeline = Pipeline(kb, assembler=BlockAssembler(idle_seconds=600.0))
    for first in range(0, len(records), per_poll):
        chunk = b"\n".join(records[first:first + per_poll])
        assert not pipeline.process_batch(decode_lines(chunk, first, 0.0, DecodeOptions()), "p")
        pipeline.flush_idle()  # after every poll, as the Kafka worker does
    pipeline.close()
    return sorted((o.job.repo, o.kb_id or "unclassified:" + o.template)
                  for o in pipeline.take().occurrences)


def test_a_backfilled_job_counts_as_it_does_alone(kb: KnowledgeBase) -> None:
    alone = _run(kb, _backfill(kb), 3)
    assert alone == [("acme/old", ENTRY)]
    records, second = [], 0
    for line in _backfill(kb):  # each backfilled line between live ones, a second apart
        records.append(line)
        for job in ("apply", "plan", "test"):
            second += 1
            records.append(_event(f"aws_instance.web: Still creating... [{second}s elapsed]",
                                  LIVE + second, "acme/live", job))
    assert _run(kb, records, 3) == alone


def test_a_job_silent_while_its_partition_moves_on_is_still_closed(kb: KnowledgeBase) -> None:
    records = _backfill(kb)[:1]  # an error line, then only other jobs' lines for an hour
    records += [_event("ok", LIVE + s, "acme/live", "plan") for s in range(0, 3600, 60)]
    pipeline = Pipeline(kb, assembler=BlockAssembler(idle_seconds=600.0))
    pipeline.process_batch(decode_lines(b"\n".join(records[:2]), 0, 0.0, DecodeOptions()), "p")
    pipeline.flush_idle()
    assert pipeline.blocks.has_open(next(iter(pipeline.blocks.open_jobs)))
    rest = b"\n".join(records[2:])
    pipeline.process_batch(decode_lines(rest, 2, 0.0, DecodeOptions()), "p")
    pipeline.flush_idle()
    assert not pipeline.blocks.open_jobs
    assert pipeline.take().occurrences  # the block was closed by the timeout and counted
