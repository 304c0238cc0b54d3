"""KafkaWorker.handle decodes a poll in chunks of DECODE_CHUNK_BYTES: splitting a poll,
even inside an open diagnostic block, changes nothing that is stored.

No broker is needed: handle() is given polls of records as kafka-python returns them
(value, key, timestamp, offset), and the store is then checked against the sample
stream's ground truth (tests/worker_harness.py), as the Kafka integration tests do.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from kafka import TopicPartition
from prometheus_client import CollectorRegistry

from tests import worker_harness as h
from worker.config import Config
from worker.knowledge.entry import KnowledgeBase
from worker.metrics.counters import Metrics
from worker.sources import kafka as source
from worker.store.store import open_store


class Record(NamedTuple):
    value: bytes
    key: bytes | None
    timestamp: int
    offset: int


@pytest.mark.parametrize("chunk_bytes", [source.DECODE_CHUNK_BYTES, 700])
def test_chunked_polls_store_the_truth(kb: KnowledgeBase, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       chunk_bytes: int) -> None:
    monkeypatch.setattr(source, "DECODE_CHUNK_BYTES", chunk_bytes)
    lines, truth = h.sample_subset(2500)
    url = f"sqlite:///{tmp_path / 'chunks.db'}"
    store = open_store(url)
    try:
        worker = source.KafkaWorker(Config(kafka_topic="t"), kb, store,
                                    Metrics(kb, CollectorRegistry()))
        tp = TopicPartition("t", 0)
        worker.assigned.add(tp)
        records = [Record(v, h.job_key(v), 1_764_000_000_000, k) for k, v in enumerate(lines)]
        for i in range(0, len(records), 400):  # polls of 400 records, each in chunks
            worker.handle({tp: records[i:i + 400]})
        assert store.positions("t") == {0: len(records)}
    finally:
        store.close()
    assert len(truth) > 5
    h.assert_truth(url, truth)
