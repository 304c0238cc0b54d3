"""`tfpulse run` against a real Kafka broker (and a real PostgreSQL for several workers).

Every test produces whole jobs of the sample stream to a fresh 6-partition topic, runs the
worker as a subprocess until the positions in the store reach the end offset of every
partition, and compares `tfpulse stats --format json` with the ground truth that the
sample generator injected for exactly those jobs (tests/worker_harness.py).
"""

from __future__ import annotations

import json
import random
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests import worker_harness as h

if "tests.conftest_kafka" not in sys.modules:
    pytest_plugins = ["tests.conftest_kafka", "tests.conftest_postgres"]

pytestmark = pytest.mark.kafka

N_EVENTS = 30_000  # jobs starting in the first 30k events of the sample stream
CATCH_UP_S = 240  # every wait is bounded


@pytest.fixture(scope="module")
def sample() -> tuple[list[bytes], h.Truth]:
    lines, truth = h.sample_subset(N_EVENTS)
    assert sum(n for n, _, _ in truth.values()) > 50, "the subset must hold failures"
    return lines, truth


@pytest.fixture
def workers(tmp_path: Path) -> Any:
    """Start workers through this; whatever is still running at the end is killed."""
    started: list[h.Worker] = []

    def make(bootstrap: str, topic: str, group: str, store: str, name: str = "worker",
             env: dict[str, str] | None = None) -> h.Worker:
        w = h.Worker(bootstrap, topic, group, store, tmp_path, name=name, env=env)
        started.append(w)
        return w

    yield make
    for w in started:
        w.cleanup()


def _group() -> str:
    return f"tfpulse-test-{uuid.uuid4().hex[:10]}"


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def _progress(store: str, topic: str, ends: dict[int, int]) -> float:
    pos = h.positions(store, topic)
    return sum(min(pos.get(p, 0), e) for p, e in ends.items()) / max(1, sum(ends.values()))


def _wait_progress(store: str, topic: str, ends: dict[int, int], fraction: float,
                   workers: list[h.Worker], timeout: float = CATCH_UP_S) -> float:
    deadline = time.monotonic() + timeout
    while True:
        done = _progress(store, topic, ends)
        if done >= fraction:
            return done
        for w in workers:
            w.check_alive()
        assert time.monotonic() < deadline, f"progress {done:.2f} < {fraction} after {timeout}s"
        time.sleep(0.05)


def _metrics_when(w: h.Worker, label: str, want: float, timeout: float = 10
                  ) -> tuple[int, str]:
    return h.metrics_when(w, "tfpulse_events_total", label, want, timeout)


def test_ground_truth(kafka_broker: Any, kafka_topic: Any, workers: Any, tmp_path: Path,
                      sample: tuple[list[bytes], h.Truth]) -> None:
    lines, truth = sample
    topic = kafka_topic(partitions=6)
    assert h.produce(kafka_broker.bootstrap, topic, lines) == len(lines)
    ends = h.end_offsets(kafka_broker.bootstrap, topic)
    assert sum(ends.values()) == len(lines)
    store = _sqlite(tmp_path)
    w = workers(kafka_broker.bootstrap, topic, _group(), store).start()
    h.wait_caught_up(store, topic, ends, [w], CATCH_UP_S)
    h.assert_truth(store, truth)
    assert w.terminate(30) == 0
    h.assert_truth(store, truth)  # the last batch written on SIGTERM changes nothing


def test_sigkill_at_random_moments(kafka_broker: Any, kafka_topic: Any, workers: Any,
                                   tmp_path: Path, sample: tuple[list[bytes], h.Truth]) -> None:
    lines, truth = sample
    topic = kafka_topic(partitions=6)
    h.produce(kafka_broker.bootstrap, topic, lines)
    ends = h.end_offsets(kafka_broker.bootstrap, topic)
    store = _sqlite(tmp_path)
    # Small polls: many store transactions, so the kills land between and inside them.
    w = workers(kafka_broker.bootstrap, topic, _group(), store,
                env={"TFPULSE_KAFKA_MAX_POLL_RECORDS": "300"}).start()
    rng = random.Random(20261122)
    kill_at = sorted(rng.uniform(0.05, 0.9) for _ in range(5))
    for fraction in kill_at:
        _wait_progress(store, topic, ends, fraction, [w])
        time.sleep(rng.uniform(0.0, 0.4))
        w.kill()
        w.start()
    h.wait_caught_up(store, topic, ends, [w], CATCH_UP_S)
    h.assert_truth(store, truth)
    # The store may be caught up before the last restart has even reached Python (the
    # killed worker wrote the rest): a SIGTERM then can only kill the interpreter.
    w.port()  # started: its SIGTERM handler is installed
    assert w.terminate(30) == 0
    assert w.starts == 6


@pytest.mark.postgres
def test_group_rebalance_on_postgres(kafka_broker: Any, kafka_topic: Any, workers: Any,
                                     pg_store_url: str,
                                     sample: tuple[list[bytes], h.Truth]) -> None:
    lines, truth = sample
    topic = kafka_topic(partitions=6)
    h.produce(kafka_broker.bootstrap, topic, lines)
    ends = h.end_offsets(kafka_broker.bootstrap, topic)
    group, env = _group(), {"TFPULSE_KAFKA_MAX_POLL_RECORDS": "300"}
    a = workers(kafka_broker.bootstrap, topic, group, pg_store_url, "a", env).start()
    b = workers(kafka_broker.bootstrap, topic, group, pg_store_url, "b", env).start()
    _wait_progress(pg_store_url, topic, ends, 0.25, [a, b])
    c = workers(kafka_broker.bootstrap, topic, group, pg_store_url, "c", env).start()
    _wait_progress(pg_store_url, topic, ends, 0.5, [a, b, c])
    assert a.terminate(30) == 0  # leaves the group mid-stream
    h.wait_caught_up(pg_store_url, topic, ends, [b, c], CATCH_UP_S)
    h.assert_truth(pg_store_url, truth)
    assert b.terminate(30) == 0
    assert c.terminate(30) == 0
    logs = [doc.get("msg") for w in (b, c) for doc in w.log_lines()]
    assert "partitions revoked" in logs  # the group did rebalance while they ran


def test_broker_restart_mid_stream(restartable_kafka_broker: Any, kafka_topic: Any,
                                   workers: Any, tmp_path: Path,
                                   sample: tuple[list[bytes], h.Truth]) -> None:
    broker = restartable_kafka_broker
    lines, truth = sample
    topic = kafka_topic(partitions=6)
    half = len(lines) // 2
    h.produce(broker.bootstrap, topic, lines[:half])
    first = h.end_offsets(broker.bootstrap, topic)
    store = _sqlite(tmp_path)
    w = workers(broker.bootstrap, topic, _group(), store,
                env={"TFPULSE_KAFKA_MAX_POLL_RECORDS": "300"}).start()
    _wait_progress(store, topic, first, 0.3, [w])
    broker.restart()  # same port and data: the worker must wait, then carry on
    w.check_alive()
    h.produce(broker.bootstrap, topic, lines[half:])
    ends = h.end_offsets(broker.bootstrap, topic)
    assert sum(ends.values()) == len(lines)
    h.wait_caught_up(store, topic, ends, [w], CATCH_UP_S)
    h.assert_truth(store, truth)
    assert w.terminate(30) == 0


def _malformed(rng: random.Random) -> list[tuple[bytes | None, bytes | None]]:
    """1,000 records that must all be dead-lettered: (key, value)."""
    bad: list[tuple[bytes | None, bytes | None]] = []
    bad.append((b"acme/huge/1", b'{"message": "' + b"x" * (10 * 1024 * 1024) + b'"}'))
    kinds = [
        lambda i: (b"bad/json/%d" % i, b'{"message": "cut here, ' + str(i).encode()),
        lambda i: (b"bad/json/%d" % i, b'{"message": "x", "repo": }'),
        lambda i: (b"bad/utf8/%d" % i, b"plain line \xff\xfe\xc3\x28 %d" % i),
        lambda i: (b"bad/utf8/%d" % i, b'{"message": "\xff\xfe bad %d"}' % i),
        lambda i: (None, json.dumps({"timestamp": "2026-10-01T00:00:00Z",
                                     "repo": "acme/x", "job": f"j{i}"}).encode()),
        lambda i: (None, json.dumps({"message": i, "repo": "acme/x"}).encode()),
        lambda i: (None, json.dumps({"message": ["a", i]}).encode()),
        lambda i: (None, json.dumps({"message": "x", "repo": {"name": i}}).encode()),
        lambda i: (None, json.dumps({"message": "x", "job": [i]}).encode()),
        lambda i: (None, json.dumps([{"message": "an array", "i": i}]).encode()),
        lambda i: (b"bad/null/%d" % i, None),
    ]
    while len(bad) < 1000:
        bad.append(kinds[len(bad) % len(kinds)](len(bad)))
    rng.shuffle(bad)
    return bad


def test_malformed_events_dead_lettered(kafka_broker: Any, kafka_topic: Any, workers: Any,
                                        tmp_path: Path,
                                        sample: tuple[list[bytes], h.Truth]) -> None:
    lines, truth = sample
    topic = kafka_topic(partitions=6)
    rng = random.Random(7)
    bad = _malformed(rng)
    extra = [(rng.randrange(len(lines)), key, value) for key, value in bad]
    sent = h.produce(kafka_broker.bootstrap, topic, lines, extra)
    assert sent == len(lines) + 1000
    ends = h.end_offsets(kafka_broker.bootstrap, topic)
    assert sum(ends.values()) == sent
    store = _sqlite(tmp_path)
    w = workers(kafka_broker.bootstrap, topic, _group(), store).start()
    h.wait_caught_up(store, topic, ends, [w], CATCH_UP_S)
    h.assert_truth(store, truth)
    status, text = _metrics_when(w, 'result="invalid"', 1000)
    assert status == 200
    assert h.metric(text, "tfpulse_events_total", 'result="dead_lettered"') == 1000
    assert h.metric(text, "tfpulse_events_total", 'result="invalid"') == 1000
    assert w.terminate(30) == 0
    dlq = h.read_all(kafka_broker.bootstrap, f"{topic}.dlq", 1000, timeout=90)
    assert len(dlq) == 1000
    reasons = [dict(r.headers).get("tfpulse-reason", b"").decode() for r in dlq]
    assert all(reasons), "every dead letter carries a tfpulse-reason header"
    assert sorted(len(r.value or b"") for r in dlq) == sorted(len(v or b"") for _, v in bad)
    assert any(r.startswith("size: event too large") for r in reasons)
    assert any("UTF-8" in r for r in reasons)
    assert any(r.startswith("json: invalid JSON") for r in reasons)
    assert any(r.startswith("missing: missing field 'message'") for r in reasons)


def test_sigterm_and_endpoints(kafka_broker: Any, kafka_topic: Any, workers: Any,
                               tmp_path: Path) -> None:
    lines, truth = h.sample_subset(3_000)
    topic = kafka_topic(partitions=6)
    h.produce(kafka_broker.bootstrap, topic, lines)
    ends = h.end_offsets(kafka_broker.bootstrap, topic)
    store = _sqlite(tmp_path)
    w = workers(kafka_broker.bootstrap, topic, _group(), store).start()
    assert w.http("/healthz")[0] == 200
    deadline = time.monotonic() + 60
    while (ready := w.http("/readyz"))[0] != 200:
        assert ready[0] == 503, ready
        assert time.monotonic() < deadline, f"never ready: {ready}"
        time.sleep(0.1)
    assert "6 partition(s)" in ready[1]
    h.wait_caught_up(store, topic, ends, [w], CATCH_UP_S)
    status, text = _metrics_when(w, 'result="ok"', len(lines))
    assert status == 200
    assert h.metric(text, "tfpulse_events_total", 'result="ok"') == len(lines)
    assert "tfpulse_failure_occurrences" in text
    h.assert_truth(store, truth)
    assert w.http("/healthz")[0] == 200
    w.signal(signal.SIGTERM)
    assert w.wait(30) == 0  # the contract is a deadline (an orchestrator's 30 s), not a speed
    assert any(d.get("msg") == "stopped cleanly" for d in w.log_lines())
