"""The event contract (docs/design.md): field names and aliases, limits, the record key, times.

Log shippers name fields differently (Vector's `message`, Fluent Bit's `log`, Logstash's
`@timestamp`), so every decoder, the file sniffer and `tfpulse produce` read field names
through the one alias table here; the first alias present in a record wins, in the
table's order. A record that cannot be made into a valid Event raises DecodeError with a
reason fit for a dead-letter header: `<category>: <what>`, naming the field and the
length and kind of a bad value, never the value itself (it may hold a token).

The limits (section "Limits" below) are checked here, once, for both decoders: a value
the store, the metrics or Python itself would choke on later is refused now.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
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


# The categories of a DecodeError: what kind of hostile record it was.
CATEGORIES = MappingProxyType({
    "empty": "no value (a null Kafka record value)",
    "size": "larger than max_event_bytes",
    "encoding": "not UTF-8 (a plain-text value or its key)",
    "json": "starts like JSON ({) but is not valid JSON",
    "shape": "valid JSON, but not an object",
    "missing": "no message field",
    "type": "a field of the wrong JSON type",
    "range": "an integer outside the store's range",
    "time": "a timestamp that does not parse or lies outside the allowed years",
    "depth": "JSON nested deeper than MAX_DEPTH",
    "control": "a NUL character in a field that is stored as text",
    "length": "a field longer than MAX_FIELD_CHARS",
})


class DecodeError(ValueError):
    """The record is not a valid event; str(error) is the reason, `<category>: <what>`."""

    def __init__(self, category: str, what: str):
        assert category in CATEGORIES, category
        super().__init__(f"{category}: {what}")
        self.category = category


def describe(value: Any) -> str:
    """A value as a reason may show it: its kind and length, never its content."""
    if isinstance(value, str | bytes):
        return f"{'text' if isinstance(value, str) else 'bytes'} of {len(value):,} characters"
    if isinstance(value, list | dict):
        return f"{'an array' if isinstance(value, list) else 'an object'} of {len(value):,} items"
    return "null" if value is None else type(value).__name__


# -- limits ----------------------------------------------------------------------------

# Integers as the store's columns hold them (store/schema.py: run_attempt is a PostgreSQL
# `integer`; positions `bigint`): one range per integer field, checked by both decoders.
# run_id may be given as a JSON number (stored as text), as an id it fits a bigint.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
INT_RANGES: Mapping[str, tuple[int, int]] = MappingProxyType({
    "run_attempt": (0, INT32_MAX),
    "line_number": (0, INT64_MAX),
    "run_id": (0, INT64_MAX),
})
MAX_DIGITS = len(str(INT64_MAX))  # a longer digit string is out of range: no int() on it
# Text fields become store keys and metric labels: none is longer than this, none holds
# a NUL (PostgreSQL text refuses it). The message is bounded by max_event_bytes only.
MAX_FIELD_CHARS = 1024
TEXT_FIELDS = ("provider", "repo", "pipeline", "job", "run_id", "team")
# JSON nesting (an event is flat; shippers nest metadata a few levels): deeper values are
# refused before any parser sees them (msgspec raises RecursionError near 1,000).
MAX_DEPTH = 64
# Event times: 1970-01-01 to 2200-01-01 UTC, and at most a day past the adapter's clock.
MIN_TIME = 0.0
MAX_TIME = 7_258_118_400.0  # 2200-01-01T00:00:00Z
MAX_FUTURE = 86_400.0
MAX_TIME_CHARS = 64  # an RFC 3339 text is about 35 characters: longer is not parsed


@dataclass(frozen=True)
class DecodeOptions:
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: ALIASES)
    teams: Mapping[str, str] = field(default_factory=dict)  # repo -> team
    max_event_bytes: int = 1_048_576
    # The adapter's clock (time.time) for the "at most a day ahead" rule; None: no such
    # rule (pure tests, `kb test`). The decoders read it once per call.
    clock: Callable[[], float] | None = None

    @classmethod
    def configured(cls, extra_aliases: Mapping[str, list[str]], teams: Mapping[str, str],
                   max_event_bytes: int, clock: Callable[[], float] | None = None
                   ) -> DecodeOptions:
        """Options from the worker's configuration: configured aliases replace the
        default names of their field; without any, the default table (and its fast paths).
        clock: the wall clock of the adapter (default time.time)."""
        aliases: Mapping[str, tuple[str, ...]] = ALIASES
        if extra_aliases:
            aliases = {**ALIASES, **{k: tuple(v) for k, v in extra_aliases.items()}}
        return cls(aliases, teams, max_event_bytes, clock or time.time)

    def latest_time(self) -> float:
        """The latest event time a record may carry now."""
        if self.clock is None:
            return MAX_TIME
        return min(MAX_TIME, self.clock() + MAX_FUTURE)

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


# -- field values: text, integers, nesting ---------------------------------------------


def checked_text(value: Any, name: str) -> str | None:
    """A text field (an integer is taken as its decimal text); None if absent."""
    if value is None:
        return None
    if type(value) is not str:
        if type(value) is int or type(value) is float and value.is_integer() and (
                abs(value) > INT64_MAX):  # an integer past 64 bits, as orjson gives it
            return str(checked_int(value, name))
        raise DecodeError("type", f"field {name!r} must be a string, not {describe(value)}")
    if len(value) > MAX_FIELD_CHARS:
        raise DecodeError("length", f"field {name!r} is {describe(value)}, more than "
                          f"{MAX_FIELD_CHARS}")
    if "\x00" in value:
        raise DecodeError("control", f"field {name!r} ({describe(value)}) holds a NUL character")
    return value


def checked_int(value: Any, name: str) -> int:
    """An integer field, a JSON number or a text of ASCII digits, in INT_RANGES[name]."""
    low, high = INT_RANGES.get(name, (0, INT64_MAX))
    if isinstance(value, str) and value.isascii() and value.isdigit():
        if len(value) > MAX_DIGITS:  # never int() an unbounded digit string
            raise DecodeError("range", f"field {name!r} is out of range {low}..{high}: "
                              f"a number of {len(value):,} digits")
        value = int(value)
    if isinstance(value, float) and value.is_integer() and abs(value) > INT64_MAX:
        value = INT64_MAX + 1  # a JSON integer past 64 bits, which orjson gives as a float
    if type(value) is not int:
        raise DecodeError("type", f"field {name!r} must be an integer, not {describe(value)}")
    if not low <= value <= high:
        raise DecodeError("range", f"field {name!r} is out of range {low}..{high}")
    return value


# A JSON string (its brackets are text), unterminated too; the bytes that are not brackets.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?')
_NOT_BRACKET = bytes(set(range(256)) - set(b"[]{}"))
_PAIR = re.compile(rb"\[\]|\{\}")


def too_deep(data: bytes) -> bool:
    """Does this JSON text nest deeper than MAX_DEPTH? Fewer opening brackets than the
    bound settle it at once. Else, with the strings taken out, each pass of a regex
    substitution (in C) removes the innermost bracket pairs, one level of a well-formed value; what no
    pass removes (unmatched brackets, or levels past the bound) is counted on top, so a
    megabyte of shallow brackets costs milliseconds, not a Python loop over each; passes
    stop when they remove little (deep nesting), and the count stops past the bound."""
    if data.count(b"{") + data.count(b"[") <= MAX_DEPTH:
        return False
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKET)
    levels = 0
    while brackets:
        inner = _PAIR.sub(b"", brackets)  # one scan: `{[]}` loses one level, not two
        if len(brackets) - len(inner) <= len(brackets) >> 6:  # little left to gain: deep
            break  # (the loop below stops as soon as the bound is passed)
        brackets, levels = inner, levels + 1
        if levels > MAX_DEPTH:
            return True
    for c in brackets:
        if c == 0x7B or c == 0x5B:  # { [
            levels += 1
            if levels > MAX_DEPTH:
                return True
        else:
            levels -= 1
    return False


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


def parse_time(value: Any, default: float, latest: float = MAX_TIME) -> float:
    """RFC 3339 text or epoch seconds / milliseconds → epoch seconds, checked against
    [MIN_TIME, latest]; default (the record's own time) when the field is absent."""
    if type(value) is str:
        if len(value) > MAX_TIME_CHARS:
            raise DecodeError("time", f"field 'timestamp' is not RFC 3339: {describe(value)}")
        try:
            return checked_time(_TIME.decode(orjson.dumps(value)).timestamp(), latest)
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass
        try:
            parsed = datetime.fromisoformat(value)
            stamp = parsed.timestamp()
        except (ValueError, OverflowError):
            raise DecodeError("time", "field 'timestamp' is not RFC 3339: "
                              f"{describe(value)}") from None
        if parsed.tzinfo is None:
            raise DecodeError("time", "field 'timestamp' has no time zone")
        return checked_time(stamp, latest)
    return checked_time(epoch_time(value, default), latest,
                        "the record's own timestamp" if value is None else "field 'timestamp'")


def epoch_time(value: Any, default: float) -> float:
    """A non-text timestamp: None (the default), epoch seconds or milliseconds.

    The unit rule, the only one: a number up to MAX_TIME (2200-01-01 in seconds) is
    seconds, a larger one up to MAX_TIME * 1000 is milliseconds, anything larger is
    refused. So 3.09e12 is read as milliseconds (year 2067), and refused by the "at most
    a day ahead" rule; a number between 7.26e9 and 1e11 is milliseconds (1970 to 1973)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError("type", "field 'timestamp' must be RFC 3339 or epoch seconds/ms, "
                          f"not {describe(value)}")
    if value <= MAX_TIME:
        return float(value)
    if value <= MAX_TIME * 1000:
        return value / 1000.0
    raise DecodeError("time", "field 'timestamp' is past year 2200 in seconds and in "
                      "milliseconds")


def checked_time(stamp: float, latest: float = MAX_TIME,
                 what: str = "field 'timestamp'") -> float:
    """An event time within [MIN_TIME, latest] (NaN is refused too)."""
    if MIN_TIME <= stamp <= latest:
        return stamp
    when = "before 1970" if not stamp >= MIN_TIME else (
        "past year 2200" if stamp > MAX_TIME else "more than a day ahead of the clock")
    raise DecodeError("time", f"{what} is {when}")
