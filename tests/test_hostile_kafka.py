"""The hostile-records suite through the real broker (tests/hostile_records.py).

Every kind of hostile record, and every hostile-looking valid one, produced in order into
one partition between two valid errors, read by ONE worker run: the worker never exits,
both valid errors count, every hostile record is in `<topic>.dlq` (whole or as an
envelope) with a reason of its category, and tfpulse_events_total{result="dead_lettered"}
equals the number of hostile records sent. A record that stopped the partition would keep
the second valid error from ever counting.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests import worker_harness as h
from tests.hostile_records import HOSTILE, TOLERATED

if "tests.conftest_kafka" not in sys.modules:
    pytest_plugins = ["tests.conftest_kafka"]

pytestmark = pytest.mark.kafka

T0 = 1793527200.0  # 2026-11-01T10:00:00Z


def _category(reason: str) -> str:
    return reason.split(": ", 1)[0]


def test_every_hostile_kind_through_the_broker(kafka_broker: Any, kafka_topic: Any,
                                               tmp_path: Path) -> None:
    assert len(HOSTILE) >= 60
    topic = kafka_topic(partitions=1)
    first = h.error_job("acme/valid", "1", "plan", T0)
    # The second valid error is an hour ahead of the wall clock (within the decoder's
    # day) and comes in a later poll: its event time closes, by the idle timeout, the
    # blocks that the valid-looking records left open in jobs that never end (a block is
    # idle once its partition moved idle_seconds past the latest time of the poll that fed
    # it), so the stored position reaches the end.
    later = int(time.time()) + 3600
    last = h.error_job("acme/valid", "2", "plan", later)
    records: list[tuple[Any, ...]] = [*first]
    offset_of: dict[int, Any] = {}
    for kind in [*HOSTILE, *TOLERATED]:
        if kind.category:
            offset_of[len(records)] = kind
        records.append((kind.key, kind.value, kind.headers))
    h.produce_in_order(kafka_broker.bootstrap, topic, records, tmp_path)
    assert h.end_offsets(kafka_broker.bootstrap, topic) == {0: len(records)}
    store = f"sqlite:///{tmp_path / 'store.db'}"
    w = h.Worker(kafka_broker.bootstrap, topic, f"tfpulse-hostile-{uuid.uuid4().hex[:8]}",
                 store, tmp_path)
    try:
        w.start()
        h.metrics_when(w, "tfpulse_events_total", 'result="dead_lettered"', len(HOSTILE), 240)
        h.produce_in_order(kafka_broker.bootstrap, topic, last, tmp_path)
        records.extend(last)
        h.wait_caught_up(store, topic, {0: len(records)}, [w], 240)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(later))
        assert h.stats(store).get("aws/expired-token") == (2, "2026-11-01T10:00:00Z", stamp)
        _, text = h.metrics_when(w, "tfpulse_events_total", 'result="dead_lettered"',
                                 len(HOSTILE))
        w.check_alive()
        assert w.terminate(30) == 0
    finally:
        w.cleanup()
    dlq = h.read_all(kafka_broker.bootstrap, f"{topic}.dlq", len(HOSTILE), timeout=90)
    reasons: dict[int, str] = {}
    for r in dlq:
        headers = dict(r.headers)
        offset = int(headers["tfpulse-source"].decode().rsplit("/", 1)[1])
        reasons[offset] = headers.get("tfpulse-reason", b"").decode()
        if headers.get("tfpulse-envelope") == b"1":
            assert json.loads(r.value)["offset"] == offset
    missing = [k.name for off, k in offset_of.items() if off not in reasons]
    assert not missing, f"not dead-lettered: {missing}"
    wrong = {k.name: reasons[off] for off, k in offset_of.items()
             if _category(reasons[off]) != k.category}
    assert not wrong, f"dead-lettered with a reason of another category: {wrong}"
    assert len(dlq) == len(HOSTILE) and set(reasons) == set(offset_of)
    assert h.metric(text, "tfpulse_events_total", 'result="dead_lettered"') == len(HOSTILE)
    ok = len(first) + len(last) + len(TOLERATED)
    assert h.metric(text, "tfpulse_events_total", 'result="ok"') == ok
