"""Dead letters: what a source does with a record it cannot count, in one format.

Two kinds: a record that did not decode (its reason from decode/contract.py), and an
item the store quarantined for a data error (store.Quarantined: an occurrence or dead end
built from several records). `tfpulse replay` writes them as JSON lines to a file; the
Kafka worker sends refused records as they are to `<topic>.dlq` and can send the same JSON
letters for quarantined items and for records it cannot forward whole.

A letter carries the record's bytes whole when they fit `max_bytes`; a larger one (or a
record without a value) becomes a bounded envelope: source, position, size, reason and a
redacted prefix of at most PREFIX_CHARS characters.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from worker.core.redact import redact
from worker.model import DeadEndAttempt, JobOutcome
from worker.store.store import Quarantined

PREFIX_CHARS = 512


def record_letter(source: str, position: int, reason: str, raw: bytes | None,
                  max_bytes: int) -> dict[str, Any]:
    """A refused record: `line`/offset position, reason, and the record or its prefix."""
    letter: dict[str, Any] = {"kind": "record", "source": source, "position": position,
                              "reason": _clean(reason, 1000),
                              "size": 0 if raw is None else len(raw)}
    if raw is None:
        return letter
    if len(raw) > max_bytes:
        head = raw[:PREFIX_CHARS * 4].decode("utf-8", "replace")[:PREFIX_CHARS]
        letter["prefix"] = redact(head)
        return letter
    try:
        letter["value"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        letter["value_base64"] = base64.b64encode(raw).decode("ascii")
    return letter


def quarantine_letter(source: str, q: Quarantined) -> dict[str, Any]:
    """An item the store refused: its job, entry, event time and (redacted) text."""
    item = q.item
    job = item.job
    kind = ("dead_end" if isinstance(item, DeadEndAttempt)
            else "job_outcome" if isinstance(item, JobOutcome) else "occurrence")
    letter: dict[str, Any] = {
        "kind": kind,
        "source": source, "reason": _clean(q.reason, 1000),
        "job": {"repo": _bounded(job.repo), "run_id": _bounded(job.run_id),
                "run_attempt": _json_int(job.run_attempt), "job": _bounded(job.job)},
        "kb_id": getattr(item, "kb_id", None), "timestamp": item.timestamp,
    }
    if isinstance(item, JobOutcome):
        letter["status"] = _bounded(item.status)
    elif not isinstance(item, DeadEndAttempt):
        letter["text"] = _bounded(item.text, PREFIX_CHARS * 8)
    return letter


def letter_bytes(letter: dict[str, Any]) -> bytes:
    """A letter as one JSON line (every text in it is valid UTF-8: see _clean)."""
    return orjson.dumps(letter) + b"\n"


def _json_int(value: int) -> int | str:
    """An integer as JSON can carry it (orjson stops at 64 bits): as text past that."""
    return value if -(2**63) <= value < 2**64 else f"an integer of {value.bit_length()} bits"


def _clean(text: str, limit: int) -> str:
    """At most limit characters of valid UTF-8 (a lone surrogate becomes '?')."""
    return text[:limit].encode("utf-8", "replace").decode("utf-8")


def _bounded(text: str, limit: int = PREFIX_CHARS) -> str:
    return redact(_clean(text, limit))


@dataclass
class DeadLetterFile:
    """Letters appended to a JSON-lines file, created on the first letter."""

    path: str
    count: int = 0
    _fh: IO[bytes] | None = field(default=None, repr=False)

    def write(self, letter: dict[str, Any]) -> None:
        if self._fh is None:
            self._fh = open(self.path, "ab")  # noqa: SIM115 - closed by close()
        self._fh.write(letter_bytes(letter))
        self.count += 1

    def flush(self) -> None:
        """Make the letters durable before the positions past them are stored."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
