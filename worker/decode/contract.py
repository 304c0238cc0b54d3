"""The event contract (docs/design.md): field names and aliases, the record key, times.

Log shippers name fields differently (Vector's `message`, Fluent Bit's `log`, Logstash's
`@timestamp`), so every decoder, the file sniffer and `tfpulse produce` read field names
through the one alias table here; the first alias present in a record wins, in the
table's order. A record that cannot be made into a valid Event raises DecodeError with a
reason fit for a dead-letter header.
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
# Names outside the alias table that give a record meaning: `{"type": "job_end", …}`.
CONTROL_FIELDS = ("type", "status")
UNKNOWN = "unknown"  # repo, run_id or job of a record that does not say


class DecodeError(ValueError):
    """The record is not a valid event; str(error) is the reason."""


@dataclass(frozen=True)
class DecodeOptions:
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: ALIASES)
    teams: Mapping[str, str] = field(default_factory=dict)  # repo -> team
    max_event_bytes: int = 1_048_576

    @classmethod
    def configured(cls, extra_aliases: Mapping[str, list[str]], teams: Mapping[str, str],
                   max_event_bytes: int) -> DecodeOptions:
        """Options from the worker's configuration: configured aliases replace the
        default names of their field; without any, the default table (and its fast paths)."""
        aliases: Mapping[str, tuple[str, ...]] = ALIASES
        if extra_aliases:
            aliases = {**ALIASES, **{k: tuple(v) for k, v in extra_aliases.items()}}
        return cls(aliases, teams, max_event_bytes)

    @property
    def canonical(self) -> bool:
        """The default alias table: the batch decoder's fast path applies."""
        return self.aliases is ALIASES

    @cached_property
    def alias_items(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return tuple((name, tuple(keys)) for name, keys in self.aliases.items())


DEFAULT_OPTIONS = DecodeOptions()


def field_values(obj: Mapping[str, Any], opts: DecodeOptions = DEFAULT_OPTIONS
                 ) -> dict[str, Any]:
    """Each contract field's value in a JSON object: the first alias present wins."""
    found: dict[str, Any] = {}
    for name, keys in opts.alias_items:
        for key in keys:
            if key in obj:
                found[name] = obj[key]
                break
    return found


def is_event_object(obj: Any) -> bool:
    """Does a parsed JSON value look like an event (for sniffing a file's format)?"""
    return isinstance(obj, dict) and any(
        k in obj for k in (*ALIASES["message"], CONTROL_FIELDS[0]))


# -- the record key: `repo/run_id/job`, so one job's lines stay in order on one partition --


def record_key(repo: Any, run_id: Any, job: Any) -> bytes:
    return f"{repo or UNKNOWN}/{run_id or UNKNOWN}/{job or UNKNOWN}".encode()


def record_key_of(obj: Mapping[str, Any]) -> bytes:
    """The key a producer gives an event object (fields read through the alias table)."""
    found = field_values(obj)
    return record_key(found.get("repo"), found.get("run_id"), found.get("job"))


def split_record_key(key: str) -> tuple[str, str, str]:
    """(repo, run_id, job) of a record key; repo may contain one slash (owner/name)."""
    parts = key.split("/")
    if len(parts) >= 4:
        return "/".join(parts[:-2]), parts[-2], parts[-1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return key, UNKNOWN, key


# -- event time ------------------------------------------------------------------------

# Timestamps: msgspec's RFC 3339 parser (C; lower-case t/z, sub-microsecond digits rounded),
# then Python's for the other ISO 8601 forms it refuses ("2026-11-29T10:00Z"). The batch
# decoder parses with the same type, so both paths agree to the microsecond.
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
