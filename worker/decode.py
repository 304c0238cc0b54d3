"""Decode one raw record (Kafka value or JSONL line) into an Event, per the event contract.

Log shippers name fields differently (Vector's `message`, Fluent Bit's `log`, Logstash's
`@timestamp`), so field names go through an alias table; anything that cannot be made
into a valid Event raises DecodeError with a reason fit for a dead-letter header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from worker.model import Event

ALIASES: dict[str, tuple[str, ...]] = {
    "message": ("message", "log", "line", "msg"),
    "timestamp": ("timestamp", "ts", "@timestamp", "time"),
    "provider": ("provider", "ci"),
    "repo": ("repo", "repository", "project"),
    "pipeline": ("pipeline", "workflow"),
    "job": ("job", "job_name"),
    "run_id": ("run_id", "pipeline_id", "build_id"),
    "run_attempt": ("run_attempt", "attempt", "retry"),
    "team": ("team", "owner"),
    "line_number": ("line_number",),
}
PROVIDERS = frozenset({"github_actions", "gitlab", "jenkins", "atlantis", "buildkite",
                       "circleci", "other"})


class DecodeError(ValueError):
    """The record is not a valid event; str(error) is the reason."""


@dataclass(frozen=True)
class DecodeOptions:
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(ALIASES))
    teams: Mapping[str, str] = field(default_factory=dict)  # repo -> team
    max_event_bytes: int = 1_048_576


def decode_record(value: bytes | None, key: bytes | None, record_time: float,
                  opts: DecodeOptions = DecodeOptions()) -> Event:
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
        job = key.decode("utf-8") if key else "unknown"
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 at byte {exc.start}") from None
    repo, run_id, job_name = _split_key(job)
    return Event(message=text, timestamp=record_time, repo=repo, run_id=run_id, job=job_name,
                 team=opts.teams.get(repo, ""))


def _split_key(key: str) -> tuple[str, str, str]:
    """A record key `repo/run_id/job` (repo may contain one slash: owner/name)."""
    parts = key.split("/")
    if len(parts) >= 4:
        return "/".join(parts[:-2]), parts[-2], parts[-1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return key, "unknown", key


def decode_object(obj: Mapping[str, Any], record_time: float,
                  opts: DecodeOptions = DecodeOptions()) -> Event:
    """A parsed JSON object as an Event; raises DecodeError."""
    get = _getter(obj, opts.aliases)
    kind = "job_end" if obj.get("type") == "job_end" else "log"
    message = get("message")
    if kind == "log":
        if message is None:
            raise DecodeError("missing field 'message' (or log, line, msg)")
        if not isinstance(message, str):
            raise DecodeError(f"field 'message' must be a string, not {type(message).__name__}")
    repo = _text(get("repo"), "repo") or "unknown"
    provider = _text(get("provider"), "provider") or "other"
    if provider not in PROVIDERS:
        provider = "other"
    status = obj.get("status")
    return Event(
        message=message if isinstance(message, str) else "",
        timestamp=parse_time(get("timestamp"), record_time),
        repo=repo,
        run_id=_text(get("run_id"), "run_id") or "unknown",
        run_attempt=_int(get("run_attempt"), "run_attempt", 1),
        job=_text(get("job"), "job") or "unknown",
        provider=provider,
        pipeline=_text(get("pipeline"), "pipeline") or "",
        team=_text(get("team"), "team") or opts.teams.get(repo, ""),
        line_number=_int(get("line_number"), "line_number", None),
        kind=kind,
        status=status if isinstance(status, str) else None,
    )


def _getter(obj: Mapping[str, Any], aliases: Mapping[str, tuple[str, ...]]) -> Any:
    def get(name: str) -> Any:
        for alias in aliases.get(name, (name,)):
            if alias in obj:
                return obj[alias]
        return None
    return get


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
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


def parse_time(value: Any, default: float) -> float:
    """RFC 3339 text or epoch seconds / milliseconds → epoch seconds."""
    if value is None:
        return default
    if isinstance(value, bool):
        raise DecodeError("field 'timestamp' must be RFC 3339 or epoch seconds/ms, not bool")
    if isinstance(value, int | float):
        return value / 1000.0 if value > 100_000_000_000 else float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise DecodeError(f"field 'timestamp' is not RFC 3339: {value!r:.60}") from None
        if parsed.tzinfo is None:
            raise DecodeError(f"field 'timestamp' has no time zone: {value!r:.60}")
        return parsed.timestamp()
    raise DecodeError(f"field 'timestamp' must be RFC 3339 or epoch seconds/ms, not "
                      f"{type(value).__name__}")
