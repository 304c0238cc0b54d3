"""End-to-end checks of the real Kafka broker used by the tests (scripts/kafka-broker).

Runs against the broker of the session fixture ``kafka_broker`` (tests/conftest_kafka.py):
a local KRaft broker started on a free loopback port, or the external broker named by
KAFKA_BOOTSTRAP_SERVERS (then the restart test is skipped, with the reason).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter, defaultdict
from typing import Any, NamedTuple

import pytest

# Load the fixtures when tests/conftest.py has not (via pytest_plugins or `import *`).
if "tests.conftest_kafka" not in sys.modules:
    pytest_plugins = ["tests.conftest_kafka"]

pytestmark = pytest.mark.kafka

CONSUME_DEADLINE_S = 60


def _producer(bootstrap: str) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="tfpulse-test-producer",
        acks="all",
        retries=10,
        linger_ms=5,
        request_timeout_ms=15000,
        max_block_ms=30000,
    )


def _consumer(bootstrap: str, topic: str, group: str) -> Any:
    from kafka import KafkaConsumer

    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=f"{group}-consumer",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
        request_timeout_ms=30000,
        max_poll_records=500,
    )


# Keys and values are encoded here rather than with (de)serializer callables, whose
# interface differs between kafka-python 2.x and 3.x.
def _produce(producer: Any, topic: str, records: list[tuple[str, str]]) -> list[Any]:
    futures = [producer.send(topic, key=k.encode(), value=v.encode()) for k, v in records]
    producer.flush(timeout=60)
    return [f.get(timeout=60) for f in futures]


class _Record(NamedTuple):
    partition: int
    offset: int
    key: str
    value: str


def _consume(bootstrap: str, topic: str, group: str, expected: int) -> list[_Record]:
    """Read until `expected` records arrived, then a little longer to catch extras."""
    raw: list[Any] = []
    consumer = _consumer(bootstrap, topic, group)
    try:
        deadline = time.monotonic() + CONSUME_DEADLINE_S
        while len(raw) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=1000).values():
                raw.extend(batch)
        # Anything beyond `expected` would be a duplicate: the iterator stops after
        # consumer_timeout_ms of silence.
        raw.extend(consumer)
        if raw:
            consumer.commit()
    finally:
        consumer.close()
    return [_Record(r.partition, r.offset, r.key.decode(), r.value.decode()) for r in raw]


def _keyed_records(prefix: str, n: int, keys: int) -> list[tuple[str, str]]:
    return [(f"key-{i % keys:03d}", f"{prefix}-{i:05d}") for i in range(n)]


def test_produce_and_consume_1000_keyed_records(kafka_broker: Any, kafka_topic: Any) -> None:
    topic = kafka_topic(partitions=6)
    records = _keyed_records("v", 1000, keys=50)

    producer = _producer(kafka_broker.bootstrap)
    try:
        metadata = _produce(producer, topic, records)
    finally:
        producer.close(timeout=10)

    assert len(metadata) == 1000
    # Every record got its own offset, and all six partitions were used.
    assert len({(m.partition, m.offset) for m in metadata}) == 1000
    assert {m.partition for m in metadata} == set(range(6))
    # Same key -> same partition.
    key_partition: dict[str, set[int]] = defaultdict(set)
    for (key, _), m in zip(records, metadata, strict=True):
        key_partition[key].add(m.partition)
    assert all(len(parts) == 1 for parts in key_partition.values())

    group = f"tfpulse-test-{uuid.uuid4().hex[:8]}"
    got = _consume(kafka_broker.bootstrap, topic, group, expected=1000)

    assert len(got) == 1000
    assert sorted((r.key, r.value) for r in got) == sorted(records)
    assert Counter(r.partition for r in got) == Counter(m.partition for m in metadata)
    for r in got:
        assert r.partition in key_partition[r.key]
    # Per key, records come back in the order they were produced.
    by_key: dict[str, list[str]] = defaultdict(list)
    for r in got:
        by_key[r.key].append(r.value)
    for values in by_key.values():
        assert values == sorted(values)

    # The group's committed offsets cover everything: a second read finds nothing new.
    assert _consume(kafka_broker.bootstrap, topic, group, expected=0) == []


def test_records_survive_broker_restart(restartable_kafka_broker: Any, kafka_topic: Any) -> None:
    broker = restartable_kafka_broker
    topic = kafka_topic(partitions=3)
    before = _keyed_records("before", 300, keys=20)
    after = _keyed_records("after", 300, keys=20)
    group = f"tfpulse-test-{uuid.uuid4().hex[:8]}"

    producer = _producer(broker.bootstrap)
    try:
        assert len(_produce(producer, topic, before)) == 300
        first = _consume(broker.bootstrap, topic, group, expected=300)
        assert sorted((r.key, r.value) for r in first) == sorted(before)

        port, old_pid = broker.port, broker.pid
        broker.restart()
        assert broker.port == port
        assert broker.pid != old_pid

        # The same producer reconnects to the restarted broker.
        assert len(_produce(producer, topic, after)) == 300
    finally:
        producer.close(timeout=10)

    # The group's offsets survived the restart: it reads exactly the new records.
    second = _consume(broker.bootstrap, topic, group, expected=300)
    assert len(second) == 300
    assert sorted((r.key, r.value) for r in second) == sorted(after)

    # A new group reads everything, exactly once.
    everything = _consume(broker.bootstrap, topic, f"{group}-all", expected=600)
    assert len(everything) == 600
    assert sorted((r.key, r.value) for r in everything) == sorted(before + after)
