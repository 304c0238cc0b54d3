"""`tfpulse run` under faults, on the real broker and the real PostgreSQL.

- a poll stuck inside kafka-python (a codec it lacks) is surfaced: /readyz 503,
  tfpulse_poll_errors_total, SIGTERM still exits, and the configured bound exits with 5;
- SIGTERM with the broker gone exits before the 30 s kill deadline, nothing lost;
- records that cannot be dead-lettered whole go as bounded, redacted envelopes;
- PostgreSQL stopped for 4 minutes: /readyz 503 while it is down, nothing lost.

Exit-time contracts are checked as a deadline (the worker must have exited when the
deadline passes), never as a measured duration.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests import postgres_server
from tests import worker_harness as h
from tests.conftest_kafka import kafka_admin_client
from tests.test_kafka_codecs import kcat_produce

if "tests.conftest_kafka" not in sys.modules:
    pytest_plugins = ["tests.conftest_kafka", "tests.conftest_postgres"]

pytestmark = pytest.mark.kafka

KILL_DEADLINE_S = 30  # what an orchestrator gives a pod between SIGTERM and SIGKILL
T0 = 1793527200.0  # 2026-11-01T10:00:00Z


def _group() -> str:
    return f"tfpulse-faults-{uuid.uuid4().hex[:10]}"


def _wait_ready(w: h.Worker, want: int, contains: str = "", timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status, body = w.http("/readyz")
        if status == want and contains in body:
            return body
        w.check_alive()
        assert time.monotonic() < deadline, f"/readyz stayed {status} {body!r}\n{w.log_tail()}"
        time.sleep(0.2)


def _hide_codecs(tmp_path: Path) -> str:
    """A PYTHONPATH entry that makes `import lz4` fail, as on a machine without it."""
    shim = tmp_path / "no-lz4"
    (shim / "lz4").mkdir(parents=True)
    (shim / "lz4" / "__init__.py").write_text("raise ImportError('lz4 hidden by the test')\n")
    return str(shim)


def test_stuck_poll_is_surfaced_and_bounded(kafka_broker: Any, kafka_topic: Any,
                                            tmp_path: Path) -> None:
    import os

    topic = kafka_topic(partitions=1)
    kcat_produce(kafka_broker.bootstrap, topic, 0, "lz4",
                 h.error_job("acme/lz4", "1", "plan", T0), tmp_path)
    pythonpath = os.pathsep.join([os.environ.get("PYTHONPATH", ""), _hide_codecs(tmp_path)])
    store = f"sqlite:///{tmp_path / 'store.db'}"
    w = h.Worker(kafka_broker.bootstrap, topic, _group(), store, tmp_path, "stuck",
                 env={"PYTHONPATH": pythonpath,
                      "TFPULSE_KAFKA_POLL_FAILURE_EXIT_SECONDS": "600"})
    w2 = h.Worker(kafka_broker.bootstrap, topic, _group(), store, tmp_path, "bounded",
                  env={"PYTHONPATH": pythonpath,
                       "TFPULSE_KAFKA_POLL_FAILURE_EXIT_SECONDS": "5"})
    try:
        w.start()
        body = _wait_ready(w, 503, "kafka poll failing")
        assert "UnsupportedCodecError" in body or "stuck" in body
        assert h.metric(w.http("/metrics")[1], "tfpulse_poll_errors_total",
                        'error="UnsupportedCodecError"') >= 1
        # kafka-python then spins inside poll, which the watchdog reports as stuck ...
        h.metrics_when(w, "tfpulse_poll_errors_total", 'error="stuck"', 1, timeout=60)
        assert h.metric(w.http("/metrics")[1], "tfpulse_poll_errors_total",
                        'error="stuck"') == 1
        # ... and SIGTERM must still end the process, non-zero: it could not finish.
        w.signal(signal.SIGTERM)
        assert w.wait(KILL_DEADLINE_S) == 5
        assert h.positions(store, topic).get(0, 0) == 0  # nothing stored past the record
        # With a short bound the worker exits by itself, for its orchestrator to restart.
        w2.start()
        assert w2.wait(120) == 5
        assert any("kept failing" in str(d.get("msg")) for d in w2.log_lines())
    finally:
        w.cleanup()
        w2.cleanup()


def test_sigterm_with_broker_down(restartable_kafka_broker: Any, kafka_topic: Any,
                                  tmp_path: Path) -> None:
    broker = restartable_kafka_broker
    topic = kafka_topic(partitions=2)
    lines, truth = h.sample_subset(3_000)
    half = len(lines) // 2
    h.produce(broker.bootstrap, topic, lines[:half])
    store = f"sqlite:///{tmp_path / 'store.db'}"
    w = h.Worker(broker.bootstrap, topic, _group(), store, tmp_path)
    try:
        w.start()
        h.wait_caught_up(store, topic, h.end_offsets(broker.bootstrap, topic), [w], 120)
        broker.stop()
        try:
            w.signal(signal.SIGTERM)
            code = w.wait(KILL_DEADLINE_S)  # fails the test if still running at the deadline
            assert code == 0, w.log_tail()
        finally:
            broker.start()
        h.produce(broker.bootstrap, topic, lines[half:])
        w.start()
        h.wait_caught_up(store, topic, h.end_offsets(broker.bootstrap, topic), [w], 120)
        h.assert_truth(store, truth)
        assert w.terminate(KILL_DEADLINE_S) == 0
    finally:
        w.cleanup()


def test_records_that_cannot_go_whole_become_envelopes(kafka_broker: Any, kafka_topic: Any,
                                                       tmp_path: Path) -> None:
    topic = kafka_topic(partitions=1)
    admin = kafka_admin_client(kafka_broker.bootstrap)
    try:  # a dead-letter topic with the broker's usual 1 MiB message size
        from kafka.admin import NewTopic

        admin.create_topics([NewTopic(f"{topic}.dlq", 1, 1,
                                      topic_configs={"max.message.bytes": "1048576"})])
    finally:
        admin.close()
    secret = b"AKIAIOSFODNN7EXAMPLE"
    over_request = b"aws_access_key_id=" + secret + b" " + b"x" * (17 << 20)  # > 16 MiB
    over_topic = b'{"message": "' + b"y" * (2 << 20) + b'"}'  # > the DLQ's 1 MiB
    records: list[tuple[bytes | None, bytes | None]] = [
        *h.error_job("acme/a", "1", "plan", T0),
        (None, None), (b"acme/big/1/plan", over_request), (b"acme/big/2/plan", over_topic),
        *h.error_job("acme/b", "2", "plan", T0 + 60)]
    h.produce_in_order(kafka_broker.bootstrap, topic, records, tmp_path)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    w = h.Worker(kafka_broker.bootstrap, topic, _group(), store, tmp_path,
                 env={"TFPULSE_MAX_EVENT_BYTES": str(1 << 20)})
    try:
        w.start()
        h.wait_caught_up(store, topic, {0: len(records)}, [w], 120)
        h.assert_truth(store, {"aws/expired-token": (2, "2026-11-01T10:00:00Z",
                                                     "2026-11-01T10:01:00Z")})
        status, text = h.metrics_when(w, "tfpulse_events_total", 'result="dead_lettered"', 3)
        assert h.metric(text, "tfpulse_events_total", 'result="dead_lettered"') == 3
        assert h.metric(text, "tfpulse_dead_letter_envelopes_total") == 3
        assert w.terminate(KILL_DEADLINE_S) == 0
    finally:
        w.cleanup()
    dlq = h.read_all(kafka_broker.bootstrap, f"{topic}.dlq", 3)
    assert len(dlq) == 3
    by_offset = {}
    for r in dlq:
        headers = dict(r.headers)
        assert headers["tfpulse-envelope"] == b"1" and headers["tfpulse-reason"]
        env = json.loads(r.value)
        assert len(r.value) < 2000 and env["topic"] == topic and env["reason"]
        assert headers["tfpulse-source"].decode() == f"{topic}/0/{env['offset']}"
        by_offset[env["offset"]] = env
    first_bad = len(h.error_job("acme/a", "1", "plan", T0))
    assert sorted(by_offset) == [first_bad, first_bad + 1, first_bad + 2]
    null, big, wide = (by_offset[first_bad + i] for i in range(3))
    assert null["key_size"] is None and null["value_size"] is None
    assert "no key and no value" in null["envelope_because"]
    assert big["value_size"] == len(over_request) and "max_request_size" in big["envelope_because"]
    assert secret.decode() not in json.dumps(big) and "REDACTED" in big["value_prefix"]
    assert wide["size"] == len(over_topic) + len(b"acme/big/2/plan")
    assert "refused by the broker" in wide["envelope_because"]


@pytest.mark.postgres
def test_store_down_four_minutes(kafka_broker: Any, kafka_topic: Any, tmp_path: Path) -> None:
    if not postgres_server.available():
        pytest.fail("no PostgreSQL installed: run `make deps`")
    pg_dir = Path(tempfile.mkdtemp(prefix="tfpulse-pg-outage-", dir="/tmp"))
    server = postgres_server.PostgresServer(pg_dir)
    url = server.start()
    server.port = int(url.rsplit(":", 1)[1].split("/")[0])  # restart on the same port
    topic = kafka_topic(partitions=3)
    lines, truth = h.sample_subset(3_000)
    half = len(lines) // 2
    h.produce(kafka_broker.bootstrap, topic, lines[:half])
    w = h.Worker(kafka_broker.bootstrap, topic, _group(), url, tmp_path)
    try:
        w.start()
        h.wait_caught_up(url, topic, h.end_offsets(kafka_broker.bootstrap, topic), [w], 120)
        _wait_ready(w, 200)
        server.stop()  # keeps pg_dir: we own it
        h.produce(kafka_broker.bootstrap, topic, lines[half:])  # batches that must wait
        _wait_ready(w, 503, "store")
        time.sleep(240)  # the outage itself, not a measurement
        w.check_alive()
        status, body = w.http("/readyz")
        assert status == 503 and "store" in body, body
        assert h.metric(w.http("/metrics")[1], "tfpulse_store_retries_total") > 0
        server.start()
        h.wait_caught_up(url, topic, h.end_offsets(kafka_broker.bootstrap, topic), [w], 120)
        h.assert_truth(url, truth)
        _wait_ready(w, 200)
        assert w.terminate(KILL_DEADLINE_S) == 0
    finally:
        w.cleanup()
        server.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)
