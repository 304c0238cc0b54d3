"""The canonical event shape as msgspec checks it in C, for both decoders.

decode_record tries it first and the batch decoder decodes whole chunks with it; a record
it refuses (an alias, a `type`, a value of the wrong type or out of the contract's limits)
takes the general path (orjson and decode_object), which names the reason. Every limit
msgspec can check is declared on the struct, from contract.py; what it cannot (a NUL in
a text field, the event time's bounds) `wire_event` checks after.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import msgspec

from worker.decode.contract import (
    ALIASES,
    CONTROL_FIELDS,
    INT64_MAX,
    INT_RANGES,
    MAX_FIELD_CHARS,
    MAX_TIME,
    MIN_TIME,
    PROVIDERS,
    AwareTime,
    epoch_time,
)
from worker.model import Event


def _bounded(name: str) -> Any:
    low, high = INT_RANGES[name]
    return Annotated[int, msgspec.Meta(ge=low, le=high)]


# A non-empty string; an empty one, null or another type takes the general path.
_Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_FIELD_CHARS)]
_OptText = Annotated[str, msgspec.Meta(max_length=MAX_FIELD_CHARS)] | None
_Epoch = (Annotated[int, msgspec.Meta(ge=0, le=int(MAX_TIME * 1000))]
          | Annotated[float, msgspec.Meta(ge=0.0, le=MAX_TIME * 1000)])
_RunId = _bounded("run_id")
# A text field given as a JSON integer (an id: `"job": 4821`), taken as its decimal text.
_Id = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
_Attempt = _bounded("run_attempt")
_LineNumber = _bounded("line_number")


class Wire(msgspec.Struct, gc=False):  # only scalars: no cycles for the GC to look for
    """The canonical event shape, as msgspec checks it (unknown fields are skipped)."""

    message: str
    timestamp: AwareTime | _Epoch | None = None
    provider: _OptText = None
    repo: _Text | _Id = "unknown"
    run_id: _Text | _RunId = "unknown"  # type: ignore[valid-type]
    run_attempt: _Attempt = 1  # type: ignore[valid-type]
    job: _Text | _Id = "unknown"
    pipeline: _OptText | _Id = None
    team: _OptText | _Id = None
    line_number: _LineNumber | None = None  # type: ignore[valid-type]


# Every other name the event contract gives meaning to (an alias such as `log`, `@timestamp`
# or `ci`, and `type`/`status` of job_end) is declared with a type no value can have: a
# record that uses one fails here, in C, and takes the general path. msgspec matches keys
# after unescaping them, so `"\u006cog"` is caught too.
_NEVER = Annotated[int, msgspec.Meta(ge=1, le=0)]
_OTHER_NAMES = sorted({n for names in ALIASES.values() for n in names} - set(ALIASES)
                      | set(CONTROL_FIELDS))
_Checked = msgspec.defstruct(
    "_Checked", [(f"other_{i}", _NEVER, msgspec.field(default=None, name=name))
                 for i, name in enumerate(_OTHER_NAMES)], bases=(Wire,), gc=False)
DECODER: Any = msgspec.json.Decoder(_Checked)  # decodes Wire (sub)instances
# RecursionError: msgspec nests on the C stack; too_deep() keeps such records away, and
# this is the guard should one get past it.
DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError,
                 RecursionError)


# Log shippers name fields their own way (Fluent Bit's `log`, Filebeat's `@timestamp`,
# Promtail's `ts` and `line`), each stream always the same way: its shape. A shape's struct
# takes the first alias of each field that a record of the stream holds (as field_values
# does), refuses the aliases before it (a record holding one would take that one), and
# skips the ones after it unread, as any other field (nested metadata included).
Shape = tuple[int | None, ...]  # per ALIASES field: the index of the alias used, or None
_FIELDS = tuple(ALIASES.items())
_DECODERS: dict[Shape, Any] = {}
_WIRE_FIELDS = {f.name: f for f in msgspec.structs.fields(Wire)}
MAX_SHAPES = 64  # decoders kept: streams of a few shapes; a hostile one gets no more


def shape_of(obj: Mapping[str, Any]) -> Shape | None:
    """The shape of one parsed record; None for a control record (job_end)."""
    if any(name in obj for name in CONTROL_FIELDS):
        return None
    return tuple(next((k for k, key in enumerate(keys) if key in obj), None)
                 for _, keys in _FIELDS)


def shape_decoder(shape: Shape) -> Any:
    """A msgspec decoder of records of this shape into Wire (sub)instances, cached; None
    once MAX_SHAPES are (a stream of ever new shapes takes the general path)."""
    decoder = _DECODERS.get(shape)
    if decoder is None:
        if len(_DECODERS) >= MAX_SHAPES:
            return None
        fields: list[tuple[str, Any, Any]] = []
        for (name, keys), used in zip(_FIELDS, shape, strict=True):
            info = _WIRE_FIELDS[name]
            # used: required, so a record without that alias is refused (it may hold a
            # later one, which would count); absent: the default, and any alias refused
            if used is None:
                fields.append((name, _NEVER, msgspec.field(default=info.default, name=keys[0])))
            else:
                fields.append((name, info.type, msgspec.field(name=keys[used])))
            fields += [(f"never_{name}_{k}", _NEVER, msgspec.field(default=None, name=key))
                       for k, key in enumerate(keys) if k < (used or 0) or used is None and k > 0]
        fields += [(f"never_{n}", _NEVER, msgspec.field(default=None, name=n))
                   for n in CONTROL_FIELDS]
        struct = msgspec.defstruct("_Shape", fields, bases=(Wire,), gc=False, kw_only=True)
        decoder = _DECODERS[shape] = msgspec.json.Decoder(struct)
    return decoder


def text(value: str | int | None) -> str | None:
    """A text field as the Event holds it (an integer id as its decimal text)."""
    return str(value) if type(value) is int else value  # type: ignore[return-value]


def wire_time(w: Wire, default: float) -> float:
    """The event time of a checked struct (the epoch unit rule of contract.epoch_time)."""
    stamp = w.timestamp
    return stamp.timestamp() if type(stamp) is datetime else epoch_time(stamp, default)


def has_nul(w: Wire) -> bool:
    """A NUL in a text field (the message may hold one: normalize drops it)."""
    return any(type(v) is str and "\x00" in v
               for v in (w.provider, w.repo, w.run_id, w.job, w.pipeline, w.team))


def wire_event(w: Wire, default: float, latest: float, teams: Mapping[str, str]
               ) -> Event | None:
    """The Event of a checked struct; None when a check msgspec cannot make fails (the
    general path then names the reason)."""
    stamp = wire_time(w, default)
    if not MIN_TIME <= stamp <= latest or has_nul(w):
        return None
    repo = text(w.repo) or ""
    provider = w.provider if w.provider in PROVIDERS else "other"
    return Event(w.message, stamp, repo, text(w.run_id) or "", w.run_attempt,
                 text(w.job) or "", provider, text(w.pipeline) or "",
                 text(w.team) or teams.get(repo, ""), w.line_number)
