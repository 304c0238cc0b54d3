"""Decode one raw record (a Kafka value or a JSONL line) into an Event.

The per-record path: the batch decoder (decode/batch.py) sends here every record it does
not take itself, so both give each record the same Event or the same dead-letter reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from worker.decode.contract import (
    DEFAULT_OPTIONS,
    PROVIDERS,
    UNKNOWN,
    DecodeError,
    DecodeOptions,
    field_values,
    parse_time,
    split_record_key,
)
from worker.model import Event


def decode_record(value: bytes | None, key: bytes | None, record_time: float,
                  opts: DecodeOptions = DEFAULT_OPTIONS) -> Event:
    """A Kafka record (or a JSONL line) as an Event; raises DecodeError."""
    if value is None:
        raise DecodeError("empty record (null value)")
    if len(value) > opts.max_event_bytes:
        raise DecodeError(f"event too large: {len(value)} bytes > max_event_bytes "
                          f"{opts.max_event_bytes}")
    first = value.lstrip()[:1]
    if first == b"[" and _is_json(value):
        raise DecodeError("the JSON value is not an object (an event is a JSON object)")
    if first != b"{":
        return _plain_line(value, key, record_time, opts)
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise DecodeError("the JSON value is not an object")
    return decode_object(obj, record_time, opts)


def _is_json(value: bytes) -> bool:
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError:
        return False
    return True


def _plain_line(value: bytes, key: bytes | None, record_time: float,
                opts: DecodeOptions) -> Event:
    try:
        text = value.decode("utf-8")
        job = key.decode("utf-8") if key else UNKNOWN
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 at byte {exc.start}") from None
    repo, run_id, job_name = split_record_key(job)
    return Event(message=text, timestamp=record_time, repo=repo, run_id=run_id, job=job_name,
                 team=opts.teams.get(repo, ""))


def decode_object(obj: Mapping[str, Any], record_time: float,
                  opts: DecodeOptions = DEFAULT_OPTIONS) -> Event:
    """A parsed JSON object as an Event; raises DecodeError."""
    found = field_values(obj, opts)
    kind = "job_end" if obj.get("type") == "job_end" else "log"
    message = found.get("message")
    if type(message) is not str:
        if kind == "log" and message is None:
            names = ", ".join(opts.aliases["message"][1:])
            raise DecodeError(f"missing field 'message' (or {names})")
        if message is not None:
            raise DecodeError(f"field 'message' must be a string, not {type(message).__name__}")
        message = ""
    repo = _text(found.get("repo"), "repo") or UNKNOWN
    provider = _text(found.get("provider"), "provider") or "other"
    status = obj.get("status")
    return Event(
        message,
        parse_time(found.get("timestamp"), record_time),
        repo,
        _text(found.get("run_id"), "run_id") or UNKNOWN,
        _int(found.get("run_attempt"), "run_attempt", 1),
        _text(found.get("job"), "job") or UNKNOWN,
        provider if provider in PROVIDERS else "other",
        _text(found.get("pipeline"), "pipeline") or "",
        _text(found.get("team"), "team") or opts.teams.get(repo, ""),
        _int(found.get("line_number"), "line_number", None),
        kind,
        status if isinstance(status, str) else None,
    )


def _text(value: Any, name: str) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise DecodeError(f"field {name!r} must be a string, not {type(value).__name__}")


def _int(value: Any, name: str, default: int | None) -> Any:
    if value is None:
        return default
    if isinstance(value, bool):
        raise DecodeError(f"field {name!r} must be an integer, not bool")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise DecodeError(f"field {name!r} must be an integer, got {value!r:.40}")
