"""Decode one raw record (a Kafka value or a JSONL line) into an Event.

The per-record path: the batch decoder (decode/batch.py) sends here every record it does
not take itself, so both give each record the same Event or the same dead-letter reason.
Order of the checks: size, nesting (before any parser), then msgspec's checked struct
(decode/wire.py), then orjson and decode_object, which names the reason of any refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from worker.decode.contract import (
    DEFAULT_OPTIONS,
    MAX_DEPTH,
    MAX_TIME,
    PROVIDERS,
    UNKNOWN,
    DecodeError,
    DecodeOptions,
    checked_int,
    checked_text,
    describe,
    field_values,
    parse_time,
    split_record_key,
    too_deep,
)
from worker.decode.wire import DECODE_ERRORS, DECODER, wire_event
from worker.model import Event

BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark: some Windows shippers write one


def decode_record(value: bytes | None, key: bytes | None, record_time: float,
                  opts: DecodeOptions = DEFAULT_OPTIONS) -> Event:
    """A Kafka record (or a JSONL line) as an Event; raises DecodeError."""
    return decode_checked(value, key, record_time, opts, opts.latest_time())


def decode_checked(value: bytes | None, key: bytes | None, record_time: float,
                   opts: DecodeOptions, latest: float) -> Event:
    """decode_record with the latest allowed event time given (read once per batch)."""
    if value is None:
        raise DecodeError("empty", "empty record (null value)")
    if len(value) > opts.max_event_bytes:
        raise DecodeError("size", f"event too large: {len(value):,} bytes > max_event_bytes "
                          f"{opts.max_event_bytes:,}")
    if value[:3] == BOM:
        value = value[3:]
    first = value.lstrip()[:1]
    if first in (b"{", b"[") and too_deep(value):
        raise DecodeError("depth", f"JSON nested deeper than {MAX_DEPTH} levels")
    if first == b"[" and _is_json(value):
        raise DecodeError("shape", "the JSON value is not an object (an event is a JSON "
                          "object)")
    if first != b"{":
        return _plain_line(value, key, record_time, opts, latest)
    if opts.canonical:
        try:
            event = wire_event(DECODER.decode(value), record_time, latest, opts.teams)
        except DECODE_ERRORS:
            event = None
        if event is not None:
            return event
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("json", f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise DecodeError("shape", "the JSON value is not an object")
    return decode_object(obj, record_time, opts, latest)


def _is_json(value: bytes) -> bool:
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError:
        return False
    return True


def _plain_line(value: bytes, key: bytes | None, record_time: float,
                opts: DecodeOptions, latest: float) -> Event:
    try:
        text = value.decode("utf-8")
        job = key.decode("utf-8") if key else UNKNOWN
    except UnicodeDecodeError as exc:
        what = "the record key" if text_decoded(value) else "the value"
        raise DecodeError("encoding", f"invalid UTF-8 in {what} at byte {exc.start}") from None
    repo, run_id, job_name = split_record_key(job)
    for name, part in (("repo", repo), ("run_id", run_id), ("job", job_name)):
        checked_text(part, f"{name} (from the record key)")
    stamp = parse_time(None, record_time, latest)
    return Event(message=text, timestamp=stamp, repo=repo, run_id=run_id, job=job_name,
                 team=opts.teams.get(repo, ""))


def text_decoded(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_object(obj: Mapping[str, Any], record_time: float,
                  opts: DecodeOptions = DEFAULT_OPTIONS, latest: float = MAX_TIME) -> Event:
    """A parsed JSON object as an Event; raises DecodeError."""
    found = field_values(obj, opts)
    kind = "job_end" if obj.get("type") == "job_end" else "log"
    message = found.get("message")
    if type(message) is not str:
        if kind == "log" and message is None:
            names = ", ".join(opts.aliases["message"][1:])
            raise DecodeError("missing", f"missing field 'message' (or {names})")
        if message is not None:
            raise DecodeError("type", f"field 'message' must be a string, not "
                              f"{describe(message)}")
        message = ""
    repo = checked_text(found.get("repo"), "repo") or UNKNOWN
    provider = checked_text(found.get("provider"), "provider") or "other"
    status = obj.get("status")
    return Event(
        message,
        parse_time(found.get("timestamp"), record_time, latest),
        repo,
        checked_text(found.get("run_id"), "run_id") or UNKNOWN,
        _int(found.get("run_attempt"), "run_attempt", 1),
        checked_text(found.get("job"), "job") or UNKNOWN,
        provider if provider in PROVIDERS else "other",
        checked_text(found.get("pipeline"), "pipeline") or "",
        checked_text(found.get("team"), "team") or opts.teams.get(repo, ""),
        _int(found.get("line_number"), "line_number", None),
        kind,
        status if isinstance(status, str) else None,
    )


def _int(value: Any, name: str, default: int | None) -> Any:
    return default if value is None else checked_int(value, name)
