"""Pytest fixtures for tests that need a real Kafka broker.

Load them from ``tests/conftest.py`` with either::

    pytest_plugins = ["tests.conftest_kafka"]
    # or
    from tests.conftest_kafka import *  # noqa: F401,F403

Fixtures:

``kafka_broker`` (session)
    With ``KAFKA_BOOTSTRAP_SERVERS`` set: an ``ExternalKafkaBroker`` for that address
    (``supports_restart`` is False; ``stop()``/``restart()`` raise ``RestartUnsupported``).
    Otherwise: starts ``scripts/kafka-broker`` (official Kafka jars, Java 17, one KRaft
    node) in a temporary dir on a free loopback port, and stops it at the end of the
    session. ``kafka_broker.bootstrap`` is the "host:port" to give clients.

``restartable_kafka_broker`` (function)
    The same broker, for tests that stop/restart it; skips them, with the reason, when
    the broker is external.

``kafka_topic`` (function)
    A factory: ``name = kafka_topic(partitions=6)`` creates a uniquely named topic with
    that many partitions (replication factor 1), waits until every partition has a
    leader, and deletes the topics it made after the test (best effort).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

try:
    from .kafka_broker import ExternalKafkaBroker, KafkaBroker, RestartUnsupported
except ImportError:  # imported as a top-level module (tests/ itself on sys.path)
    from kafka_broker import (  # type: ignore[no-redef]
        ExternalKafkaBroker,
        KafkaBroker,
        RestartUnsupported,
    )

__all__ = [
    "ExternalKafkaBroker",
    "KafkaBroker",
    "RestartUnsupported",
    "kafka_admin_client",
    "kafka_broker",
    "kafka_topic",
    "restartable_kafka_broker",
]

TOPIC_READY_TIMEOUT_S = 30


def kafka_admin_client(bootstrap: str, **overrides: Any):
    """A KafkaAdminClient with short timeouts (works with kafka-python 2.x and 3.x)."""
    from kafka import KafkaAdminClient

    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": "tfpulse-tests-admin",
        "request_timeout_ms": 15000,
        "bootstrap_timeout_ms": 15000,  # kafka-python 3.x only; dropped below otherwise
        "api_version_auto_timeout_ms": 15000,  # kafka-python 2.x
    }
    config.update(overrides)
    known = getattr(KafkaAdminClient, "DEFAULT_CONFIG", None)
    if known:
        config = {k: v for k, v in config.items() if k in known}
    return KafkaAdminClient(**config)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Real Kafka broker for the session: KAFKA_BOOTSTRAP_SERVERS, or a local one started here."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if external:
        yield ExternalKafkaBroker(external)
        return

    broker = KafkaBroker(tmp_path_factory.mktemp("kafka-broker"))

    def _stop_quietly() -> None:
        with contextlib.suppress(Exception):
            broker.stop()

    # Backstop for an interrupted session; the normal path stops it below.
    atexit.register(_stop_quietly)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        atexit.unregister(_stop_quietly)


@pytest.fixture
def restartable_kafka_broker(kafka_broker: Any) -> Any:
    """`kafka_broker`, for tests that stop/restart it; skips them if the broker is external."""
    if not getattr(kafka_broker, "supports_restart", False):
        pytest.skip(
            getattr(kafka_broker, "restart_unsupported_reason", "broker cannot be restarted")
        )
    return kafka_broker


def _wait_topic_ready(admin: Any, name: str, partitions: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            described = admin.describe_topics([name])
            last = described
            parts = described[0].get("partitions", []) if described else []
            if (
                described
                and described[0].get("error_code", 0) == 0
                and len(parts) == partitions
                and all(p.get("leader_id", p.get("leader", -1)) >= 0 for p in parts)
            ):
                return
        time.sleep(0.2)
    raise TimeoutError(f"topic {name} not ready after {timeout_s}s: {last!r}")


@pytest.fixture
def kafka_topic(kafka_broker: Any) -> Iterator[Callable[..., str]]:
    """Factory: kafka_topic(partitions=N) -> name of a new, unique, ready topic."""
    created: list[str] = []

    def make(
        partitions: int = 1,
        *,
        prefix: str = "test",
        replication_factor: int = 1,
        config: dict[str, str] | None = None,
    ) -> str:
        from kafka.admin import NewTopic

        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        admin = kafka_admin_client(kafka_broker.bootstrap)
        try:
            admin.create_topics(
                [
                    NewTopic(
                        name=name,
                        num_partitions=partitions,
                        replication_factor=replication_factor,
                        topic_configs=config or {},
                    )
                ],
                timeout_ms=TOPIC_READY_TIMEOUT_S * 1000,
            )
            created.append(name)
            _wait_topic_ready(admin, name, partitions, TOPIC_READY_TIMEOUT_S)
        finally:
            admin.close()
        return name

    yield make

    if created:
        # Best effort: the test may have left the broker stopped.
        with contextlib.suppress(Exception):
            admin = kafka_admin_client(
                kafka_broker.bootstrap,
                request_timeout_ms=5000,
                bootstrap_timeout_ms=5000,
                api_version_auto_timeout_ms=5000,
            )
            try:
                admin.delete_topics(created, timeout_ms=5000)
            finally:
                admin.close()
