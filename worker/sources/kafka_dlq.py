"""The Kafka dead-letter topic: every record that cannot be counted goes to `<topic>.dlq`
with its reason.

`DeadLetterProducer.send` is the one way a record leaves for the dead-letter topic,
whatever the cause (it does not decode, it failed in the pipeline, the store refused
it). A record goes whole, with its key, value and headers, plus `tfpulse-reason` and
`tfpulse-source` headers. A record that cannot go whole goes as an envelope: a small JSON
value with where it came from (topic, partition, offset), its sizes, the reason and a
redacted prefix of its key and value, with the header `tfpulse-envelope: 1`. That is the
case for a record with neither key nor value (the producer refuses it), one larger than
the producer's max_request_size or the dead-letter topic's message size, or one whose
headers the producer cannot send. Either way its offset moves on.

Sending is retried as DEAD_LETTER_RETRY allows (the one retry loop, worker/retry.py)
while the broker's errors are retriable; until every letter is acknowledged `send` does
not return, so the caller stores no position past an unsent dead letter. A retry may
dead-letter a record twice; it never loses one.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError

from worker.core.redact import redact
from worker.retry import RetryPolicy, retry

log = logging.getLogger("tfpulse.consumer")

# A broker failover takes seconds; the records stay unread until the flush succeeds.
DEAD_LETTER_RETRY = RetryPolicy(first_delay=0.5, max_delay=10.0, give_up_after=180.0)
FLUSH_TIMEOUT = 30.0
PREFIX_CHARS = 200  # of key and value, in an envelope, after redaction
_REDACT_WINDOW = 4096  # bytes redacted before the cut, so a secret is not split first
REASON_BYTES = 1000


@dataclass(frozen=True)
class DeadLetter:
    """A record to dead-letter, and why."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str
    headers: tuple[tuple[str, Any], ...] = ()
    envelope_because: str = ""  # set once it must go as an envelope

    @classmethod
    def of(cls, record: Any, reason: str) -> DeadLetter:
        """From a kafka-python ConsumerRecord."""
        return cls(record.topic, record.partition, record.offset, record.key, record.value,
                   reason, tuple(record.headers or ()))

    @classmethod
    def of_item(cls, topic: str, partition: int, value: bytes, reason: str) -> DeadLetter:
        """Not one record: e.g. an occurrence the store quarantined (built from several
        records), given as a JSON letter; offset -1, no key."""
        return cls(topic, partition, -1, None, value, reason)

    def as_envelope(self, because: str) -> DeadLetter:
        return replace(self, envelope_because=because)


def _prefix(data: bytes | None) -> str | None:
    if data is None:
        return None
    return redact(data[:_REDACT_WINDOW].decode("utf-8", "replace"))[:PREFIX_CHARS]


def envelope_value(d: DeadLetter) -> bytes:
    """The bounded JSON that stands for a record that cannot be dead-lettered whole."""
    return json.dumps({
        "tfpulse_envelope": 1, "topic": d.topic, "partition": d.partition,
        "offset": d.offset, "key_size": None if d.key is None else len(d.key),
        "value_size": None if d.value is None else len(d.value),
        "size": len(d.key or b"") + len(d.value or b""), "reason": _reason(d.reason),
        "envelope_because": d.envelope_because, "key_prefix": _prefix(d.key),
        "value_prefix": _prefix(d.value)}, ensure_ascii=True).encode()


def _reason(reason: str) -> str:
    return redact(reason).encode()[:REASON_BYTES].decode("utf-8", "ignore")


def _ours(d: DeadLetter) -> list[tuple[str, bytes]]:
    headers = [("tfpulse-reason", _reason(d.reason).encode()),
               ("tfpulse-source", f"{d.topic}/{d.partition}/{d.offset}".encode())]
    return headers + ([("tfpulse-envelope", b"1")] if d.envelope_because else [])


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))


class DeadLetterProducer:
    """Sends dead letters through a KafkaProducer; see the module docstring."""

    def __init__(self, producer: Any, topic: str,
                 on_envelope: Callable[[DeadLetter], None] | None = None,
                 policy: RetryPolicy = DEAD_LETTER_RETRY):
        self._producer, self.topic, self.policy = producer, topic, policy
        self._on_envelope = on_envelope

    def send(self, letters: Sequence[DeadLetter]) -> None:
        """Dead-letter every letter (whole or as an envelope); return once all are acked."""
        pending = list(letters)

        def attempt() -> None:
            nonlocal pending
            pending = self._round(pending)
            if pending:
                raise KafkaTimeoutError(f"{len(pending)} dead letter(s) not acknowledged")

        if pending:
            retry(attempt, "dead-letter produce", self.policy, _transient)

    def _round(self, letters: list[DeadLetter]) -> list[DeadLetter]:
        """Send once, wait for the acks; return the letters to send again."""
        sent: list[tuple[DeadLetter, Any]] = []
        again: list[DeadLetter] = []
        for d in letters:
            try:
                sent.append(self._send_one(d))
            except KafkaError as exc:  # no metadata yet (broker away): next round
                if not _transient(exc):
                    raise
                again.append(d)
        with contextlib.suppress(KafkaTimeoutError):  # the futures say which are still out
            self._producer.flush(timeout=FLUSH_TIMEOUT)
        for d, future in sent:
            if not future.is_done:
                again.append(d)
            elif future.failed():
                error = future.exception
                if _transient(error):
                    again.append(d)
                elif not d.envelope_because:  # refused whole (too large for the topic)
                    again.append(self._envelope(d, f"refused by the broker: {error}"))
                else:
                    raise error
        return again

    def _send_one(self, d: DeadLetter) -> tuple[DeadLetter, Any]:
        if not d.envelope_because and d.key is None and d.value is None:
            d = self._envelope(d, "no key and no value")
        if not d.envelope_because:
            try:
                future = self._producer.send(self.topic, key=d.key, value=d.value,
                                             headers=list(d.headers) + _ours(d))
                return d, future
            except MessageSizeTooLargeError:
                d = self._envelope(d, "larger than the producer's max_request_size")
            except (TypeError, ValueError) as exc:  # e.g. a header with a null value
                d = self._envelope(d, f"cannot be produced whole: {type(exc).__name__}")
        key = f"{d.topic}/{d.partition}/{d.offset}".encode()
        return d, self._producer.send(self.topic, key=key, value=envelope_value(d),
                                      headers=_ours(d))

    def _envelope(self, d: DeadLetter, because: str) -> DeadLetter:
        log.warning("dead letter sent as an envelope", extra={
            "partition": d.partition, "offset": d.offset, "because": because[:200]})
        if self._on_envelope is not None:
            self._on_envelope(d)
        return d.as_envelope(because)
