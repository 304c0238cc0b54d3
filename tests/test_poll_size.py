"""PollSize: each Kafka poll asks for about kafka_max_poll_bytes of record values."""

from __future__ import annotations

from worker.config import Config
from worker.sources.kafka import PollSize, fetch_settings


def test_first_poll_assumes_one_kib_records() -> None:
    assert PollSize(max_records=20000, max_bytes=4 * 1024 * 1024).next() == 4096


def test_count_follows_the_record_size() -> None:
    size = PollSize(max_records=20000, max_bytes=4 * 1024 * 1024)
    for _ in range(20):  # records of 25 lines (~5.6 kB each)
        size.saw(700, 700 * 5600)
    assert 740 <= size.next() <= 750  # 4 MiB / 5.6 kB
    for _ in range(20):  # then one line per record (~230 B)
        size.saw(size.next(), size.next() * 230)
    assert 18200 <= size.next() <= 18300
    for _ in range(20):  # short lines (100 B): capped by max_records
        size.saw(size.next(), size.next() * 100)
    assert size.next() == 20000


def test_a_huge_record_still_polls_one() -> None:
    size = PollSize(max_records=20000, max_bytes=4 * 1024 * 1024)
    size.saw(1, 64 * 1024 * 1024)
    assert size.next() == 1


def test_an_empty_poll_changes_nothing() -> None:
    size = PollSize(max_records=20000, max_bytes=4 * 1024 * 1024)
    size.saw(0, 0)
    assert size.mean == 1024.0


def test_configured_from_the_keys() -> None:
    cfg = Config(kafka_max_poll_records=7, kafka_max_poll_bytes=70,
                 kafka_fetch_max_bytes=9, kafka_max_partition_fetch_bytes=3)
    assert PollSize.configured(cfg) == PollSize(7, 70)
    assert fetch_settings(cfg) == {"max_poll_records": 7, "fetch_max_bytes": 9,
                                   "max_partition_fetch_bytes": 3}
