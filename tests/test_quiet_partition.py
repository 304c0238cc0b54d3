"""A partition that goes quiet after a job's last lines: its open block is still counted.

Real shippers send no `job_end`. Without one, the block a job's last lines opened would
stay open (and its partition's position held back) until later traffic moved the
partition's event time on; the Kafka adapter moves a quiet partition's time with the wall
clock instead (sources/quietclock.py)."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests import worker_harness as h
from worker.sources.quietclock import QuietClock

if "tests.conftest_kafka" not in sys.modules:
    pytest_plugins = ["tests.conftest_kafka"]

LOCK = ["Acquiring state lock. This may take a few moments...", "╷",
        "│ Error: Error acquiring the state lock", "│",
        "│ Error message: ConditionalCheckFailedException: The conditional request failed",
        "│ Lock Info:", "│   ID:        0f001320-6483-073c-e490-715a2a048ab9"]


def test_the_clock_moves_a_quiet_partition_on_by_the_wall_time_since() -> None:
    wall = [100.0]
    clock = QuietClock(clock=lambda: wall[0])
    clock.saw("p0", 5_000.0)
    clock.saw("p1", 7_000.0)
    wall[0] = 130.0
    clock.saw("p1", 7_010.0)  # p1 had records in this poll: its own time, nothing added
    assert dict(clock.times()) == {"p0": 5_030.0, "p1": 7_010.0}
    clock.forget(["p0"])
    assert dict(clock.times()) == {"p1": 7_010.0}


@pytest.mark.kafka
def test_a_block_left_open_by_the_last_lines_is_counted_once_the_partition_is_quiet(
        kafka_broker: Any, kafka_topic: Any, tmp_path: Path) -> None:
    topic = kafka_topic(partitions=1)
    t0 = time.time()
    # A framed diagnostic without its closing `╵`, no job_end, nothing after it.
    lines = [json.dumps({"repo": "acme/quiet", "run_id": "1", "job": "plan", "line_number": i,
                         "timestamp": t0 + i, "message": m}).encode()
             for i, m in enumerate(["Terraform v1.5.7", *LOCK], 1)]
    h.produce(kafka_broker.bootstrap, topic, lines)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    w = h.Worker(kafka_broker.bootstrap, topic, f"quiet-{uuid.uuid4().hex[:8]}", store,
                 tmp_path, env={"TFPULSE_BLOCK_IDLE_SECONDS": "3"}).start()
    try:
        h.wait_caught_up(store, topic, {0: len(lines)}, [w], timeout=90)
        from worker.store.store import open_store
        s = open_store(store)
        try:
            totals = {t.kb_id: t.occurrences for t in s.totals()}
        finally:
            s.close()
        assert totals == {"terraform/state-lock-dynamodb-held": 1}, totals
        assert w.terminate(30) == 0
    finally:
        w.cleanup()
