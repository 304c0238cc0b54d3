"""The dead-letter producer's rules with a stand-in KafkaProducer (the broker-level
behaviour is in tests/test_kafka_faults.py and tests/test_hostile_kafka.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError, TopicAuthorizationFailedError

from worker.retry import RetryPolicy
from worker.sources.kafka_dlq import DeadLetter, DeadLetterProducer, envelope_value

FAST = RetryPolicy(first_delay=0.001, max_delay=0.001, give_up_after=0.005)


class Future:
    def __init__(self, error: BaseException | None = None, done: bool = True):
        self.exception, self.is_done = error, done

    def failed(self) -> bool:
        return self.exception is not None


class FakeProducer:
    """send() as kafka-python's: refuses null/null and records over max_request_size;
    `broker` decides each future's outcome by the value sent."""

    def __init__(self, max_request_size: int = 1000, broker: Any = None):
        self.max, self.broker = max_request_size, broker or (lambda value, n: None)
        self.sent: list[tuple[bytes | None, bytes | None, list[Any]]] = []

    def send(self, topic: str, key: Any = None, value: Any = None, headers: Any = None) -> Future:
        if key is None and value is None:
            raise ValueError("Need at least one: key or value")
        if not all(isinstance(v, bytes) for _, v in headers):
            raise TypeError("All headers items must be (str, bytes) tuples")
        if len(key or b"") + len(value or b"") > self.max:
            raise MessageSizeTooLargeError("too large")
        self.sent.append((key, value, headers))
        return Future(self.broker(value, len(self.sent)))

    def flush(self, timeout: float | None = None) -> None:
        return None


def letter(key: bytes | None, value: bytes | None, **kw: Any) -> DeadLetter:
    return DeadLetter("ci", 3, 42, key, value, kw.pop("reason", "invalid JSON: x"), **kw)


def test_whole_when_it_fits_with_reason_and_source() -> None:
    p = FakeProducer()
    DeadLetterProducer(p, "ci.dlq", policy=FAST).send(
        [letter(b"k", b"v", headers=(("trace", b"1"),))])
    [(key, value, headers)] = p.sent
    assert (key, value) == (b"k", b"v")
    assert dict(headers) == {"trace": b"1", "tfpulse-reason": b"invalid JSON: x",
                             "tfpulse-source": b"ci/3/42"}


@pytest.mark.parametrize(("d", "because"), [
    (letter(None, None), "no key and no value"),
    (letter(b"k", b"x" * 5000), "max_request_size"),
    (letter(b"k", b"v", headers=(("h", None),)), "cannot be produced whole"),
])
def test_envelope_when_it_cannot_go_whole(d: DeadLetter, because: str) -> None:
    p, envelopes = FakeProducer(), []
    DeadLetterProducer(p, "ci.dlq", on_envelope=envelopes.append, policy=FAST).send([d])
    [(key, value, headers)] = p.sent
    env = json.loads(value or b"")
    assert key == b"ci/3/42" and dict(headers)["tfpulse-envelope"] == b"1"
    assert because in env["envelope_because"] and env["offset"] == 42
    assert env["size"] == len(d.key or b"") + len(d.value or b"") and len(envelopes) == 1


def test_envelope_is_bounded_and_redacted() -> None:
    value = b"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY " + b"z" * 10**6
    env = json.loads(envelope_value(letter(b"k", value).as_envelope("test")))
    assert "wJalrXUtnFEMI" not in json.dumps(env) and len(env["value_prefix"]) <= 200
    assert env["value_size"] == len(value)


def test_refused_by_the_broker_goes_again_as_envelope() -> None:
    p = FakeProducer(broker=lambda value, n: MessageSizeTooLargeError() if n == 1 else None)
    DeadLetterProducer(p, "ci.dlq", policy=FAST).send([letter(b"k", b"v" * 100)])
    assert len(p.sent) == 2 and json.loads(p.sent[1][1] or b"")["reason"] == "invalid JSON: x"


def test_transient_errors_are_retried_then_raised() -> None:
    flaky = FakeProducer(broker=lambda value, n: KafkaTimeoutError() if n < 3 else None)
    DeadLetterProducer(flaky, "ci.dlq", policy=FAST).send(
        [letter(b"k", b"v")])
    assert len(flaky.sent) == 3
    down = FakeProducer(broker=lambda value, n: KafkaTimeoutError())
    with pytest.raises(KafkaTimeoutError):
        DeadLetterProducer(down, "ci.dlq", policy=FAST).send([letter(b"k", b"v")])
    denied = FakeProducer(broker=lambda value, n: TopicAuthorizationFailedError())
    with pytest.raises(TopicAuthorizationFailedError):  # not transient, even as envelope
        DeadLetterProducer(denied, "ci.dlq", policy=FAST).send([letter(b"k", b"v")])
