"""Every compression codec that real producers use, produced by kcat (librdkafka) into the
real broker and counted exactly by the real worker.

One topic, one partition per codec: kcat sends the jobs of partition i compressed with
codec i, so each stored position reaching its end offset proves that codec's batches
were read, and `tfpulse stats` equal to the sample generator's truth proves they were
counted exactly.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests import worker_harness as h
from worker.cli.produce import job_key

if "tests.conftest_kafka" not in sys.modules:
    pytest_plugins = ["tests.conftest_kafka"]

pytestmark = pytest.mark.kafka

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")


def kcat_produce(bootstrap: str, topic: str, partition: int, codec: str,
                 records: list[tuple[bytes, bytes]], tmp_path: Path) -> None:
    """Send key<TAB>value lines with kcat, compressed with codec, to one partition."""
    path = tmp_path / f"{codec}.txt"
    path.write_bytes(b"".join(k + b"\t" + v + b"\n" for k, v in records))
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-p", str(partition),
                    "-z", codec, "-K", "\t", "-X", "linger.ms=50", "-l", str(path)],
                   check=True, timeout=120, stdin=subprocess.DEVNULL)


def test_each_codec_counted_exactly(kafka_broker: Any, kafka_topic: Any,
                                    tmp_path: Path) -> None:
    lines, truth = h.sample_subset(3_000)
    assert sum(n for n, _, _ in truth.values()) >= 5, "the subset must hold failures"
    topic = kafka_topic(partitions=len(CODECS))
    per_partition: list[list[tuple[bytes, bytes]]] = [[] for _ in CODECS]
    for line in lines:  # a job's events stay together, in order, on one partition
        key = job_key(line)
        assert key is not None and b"\t" not in key
        per_partition[zlib.crc32(key) % len(CODECS)].append((key, line))
    assert all(per_partition), "every codec's partition gets some jobs"
    for partition, codec in enumerate(CODECS):
        kcat_produce(kafka_broker.bootstrap, topic, partition, codec,
                     per_partition[partition], tmp_path)
    ends = h.end_offsets(kafka_broker.bootstrap, topic)
    assert ends == {p: len(recs) for p, recs in enumerate(per_partition)}
    store = f"sqlite:///{tmp_path / 'store.db'}"
    w = h.Worker(kafka_broker.bootstrap, topic, f"tfpulse-codecs-{uuid.uuid4().hex[:8]}",
                 store, tmp_path)
    try:
        w.start()
        h.wait_caught_up(store, topic, ends, [w], 180)
        h.assert_truth(store, truth)
        assert h.positions(store, topic) == ends
        status, text = h.metrics_when(w, "tfpulse_events_total", 'result="ok"', len(lines))
        assert status == 200
        assert h.metric(text, "tfpulse_events_total", 'result="ok"') == len(lines)
        assert h.metric(text, "tfpulse_events_total", 'result="dead_lettered"') == 0
        assert w.terminate(30) == 0
    finally:
        w.cleanup()
