"""Decode one raw record (Kafka value or JSONL line) into an Event, per the event contract.

Log shippers name fields differently (Vector's `message`, Fluent Bit's `log`, Logstash's
`@timestamp`), so field names go through an alias table; anything that cannot be made
into a valid Event raises DecodeError with a reason fit for a dead-letter header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from types import MappingProxyType
from typing import Annotated, Any

import msgspec
import orjson

from worker.model import Event

ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType({
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
})
PROVIDERS = frozenset({"github_actions", "gitlab", "jenkins", "atlantis", "buildkite",
                       "circleci", "other"})


class DecodeError(ValueError):
    """The record is not a valid event; str(error) is the reason."""


@dataclass(frozen=True)
class DecodeOptions:
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: ALIASES)
    teams: Mapping[str, str] = field(default_factory=dict)  # repo -> team
    max_event_bytes: int = 1_048_576

    @cached_property
    def alias_items(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return tuple((name, tuple(keys)) for name, keys in self.aliases.items())


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
    """A parsed JSON object as an Event; raises DecodeError.

    The hot path of the worker: plain dict lookups, the first alias present wins in
    the order of the alias table.
    """
    if opts.aliases is ALIASES and "message" in obj and "timestamp" in obj \
            and "repo" in obj and "run_id" in obj and "job" in obj and "type" not in obj:
        return _decode_canonical(obj, record_time, opts)
    if opts.aliases is ALIASES:
        found = _default_fields(obj)
    else:
        found = {name: _first(obj, keys) for name, keys in opts.alias_items}
    kind = "job_end" if obj.get("type") == "job_end" else "log"
    message = found.get("message")
    if type(message) is not str:
        if kind == "log" and message is None:
            raise DecodeError("missing field 'message' (or log, line, msg)")
        if message is not None:
            raise DecodeError(f"field 'message' must be a string, not {type(message).__name__}")
        message = ""
    repo = _text(found.get("repo"), "repo") or "unknown"
    provider = _text(found.get("provider"), "provider") or "other"
    status = obj.get("status")
    return Event(
        message,
        parse_time(found.get("timestamp"), record_time),
        repo,
        _text(found.get("run_id"), "run_id") or "unknown",
        _int(found.get("run_attempt"), "run_attempt", 1),
        _text(found.get("job"), "job") or "unknown",
        provider if provider in PROVIDERS else "other",
        _text(found.get("pipeline"), "pipeline") or "",
        _text(found.get("team"), "team") or opts.teams.get(repo, ""),
        _int(found.get("line_number"), "line_number", None),
        kind,
        status if isinstance(status, str) else None,
    )


def _decode_canonical(obj: Mapping[str, Any], record_time: float, opts: DecodeOptions
                      ) -> Event:
    """The common case, written out: every required name canonical, no job_end."""
    g = obj.get
    message, repo, run_id, job = g("message"), g("repo"), g("run_id"), g("job")
    if type(message) is not str:
        raise DecodeError(f"field 'message' must be a string, not {type(message).__name__}")
    if type(repo) is not str:
        repo = _text(repo, "repo") or "unknown"
    if type(run_id) is not str:
        run_id = _text(run_id, "run_id") or "unknown"
    if type(job) is not str:
        job = _text(job, "job") or "unknown"
    provider = g("provider") if "provider" in obj else g("ci")
    if type(provider) is not str or provider not in PROVIDERS:
        _text(provider, "provider")  # raises on a wrongly typed value
        provider = "other"
    attempt = g("run_attempt")
    if attempt is None:
        attempt = g("attempt") if "attempt" in obj else g("retry")
    team = g("team") if "team" in obj else g("owner")
    pipeline = g("pipeline") if "pipeline" in obj else g("workflow")
    line = g("line_number")
    return Event(
        message, parse_time(g("timestamp"), record_time), repo, run_id,
        attempt if type(attempt) is int else _int(attempt, "run_attempt", 1), job, provider,
        pipeline if type(pipeline) is str else _text(pipeline, "pipeline") or "",
        team if type(team) is str and team else _text(team, "team") or opts.teams.get(repo, ""),
        line if line is None or type(line) is int else _int(line, "line_number", None))


def _default_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The default alias table, unrolled: this runs once per event, so it avoids loops."""
    g = obj.get
    return {
        "message": g("message") if "message" in obj else g("log") if "log" in obj
        else g("line") if "line" in obj else g("msg"),
        "timestamp": g("timestamp") if "timestamp" in obj else g("ts") if "ts" in obj
        else g("@timestamp") if "@timestamp" in obj else g("time"),
        "provider": g("provider") if "provider" in obj else g("ci"),
        "repo": g("repo") if "repo" in obj else g("repository") if "repository" in obj
        else g("project"),
        "pipeline": g("pipeline") if "pipeline" in obj else g("workflow"),
        "job": g("job") if "job" in obj else g("job_name"),
        "run_id": g("run_id") if "run_id" in obj else g("pipeline_id") if "pipeline_id" in obj
        else g("build_id"),
        "run_attempt": g("run_attempt") if "run_attempt" in obj else g("attempt")
        if "attempt" in obj else g("retry"),
        "team": g("team") if "team" in obj else g("owner"),
        "line_number": g("line_number"),
    }


def _first(obj: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value is not None:
            return value
    return None


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


# Timestamps: msgspec's RFC 3339 parser (C; lower-case t/z, sub-microsecond digits rounded),
# then Python's for the other ISO 8601 forms it refuses ("2026-11-29T10:00Z"). The batch
# decoder (decode_batch) parses with the same type, so both paths agree to the microsecond.
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]
_TIME = msgspec.json.Decoder(AwareTime)


def parse_time(value: Any, default: float) -> float:
    """RFC 3339 text or epoch seconds / milliseconds → epoch seconds."""
    if type(value) is str:
        try:
            return _TIME.decode(orjson.dumps(value)).timestamp()
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise DecodeError(f"field 'timestamp' is not RFC 3339: {value!r:.60}") from None
        if parsed.tzinfo is None:
            raise DecodeError(f"field 'timestamp' has no time zone: {value!r:.60}")
        return parsed.timestamp()
    return epoch_time(value, default)


def epoch_time(value: Any, default: float) -> float:
    """A non-text timestamp: None (the default), epoch seconds or milliseconds."""
    if value is None:
        return default
    if isinstance(value, bool):
        raise DecodeError("field 'timestamp' must be RFC 3339 or epoch seconds/ms, not bool")
    if isinstance(value, int | float):
        return value / 1000.0 if value > 100_000_000_000 else float(value)
    raise DecodeError(f"field 'timestamp' must be RFC 3339 or epoch seconds/ms, not "
                      f"{type(value).__name__}")
