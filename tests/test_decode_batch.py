"""The batch decoder (msgspec, columns) must decide every record as decode_record does.

Each case is a JSONL line; decode_lines over a chunk of them must give, line by line,
the same Event or the same error reason as decode_record on that line alone. The cases
are the hostile ones: aliases, escaped keys, nulls, empty strings, numbers for text,
bools, arrays, invalid JSON and UTF-8, naive and lower-case timestamps, oversize lines.
"""

from __future__ import annotations

import random

import orjson
import pytest

from worker.decode.batch import DecodedBatch, decode_lines, decode_values
from worker.decode.contract import DecodeError, DecodeOptions
from worker.decode.record import decode_record
from worker.model import Event

BASE = {"message": "Error: AccessDenied", "timestamp": "2026-11-03T10:00:00.1234567Z",
        "provider": "gitlab", "repo": "acme/infra", "run_id": "77", "run_attempt": 2,
        "job": "plan", "pipeline": "deploy", "team": "platform", "line_number": 5}


def variants() -> list[bytes]:
    out: list[bytes] = [orjson.dumps(BASE), orjson.dumps({"message": "only a message"})]
    for key, values in {
        "message": [None, 5, "", "two\nlines", "╷ │ Error: x", ["a"]],
        "timestamp": [None, 1793527200, 1793527200123, 1.5e9, True, "2026-11-03t10:00:00z",
                      "2026-11-03T10:00Z", "2026-11-03T10:00:00", "yesterday", "",
                      "2026-11-03T10:00:00.123456789+02:00", {"s": 1}],
        "provider": [None, "jenkins", "made-up", 7, ["x"]],
        "repo": [None, "", 42, False, ["r"]],
        "run_id": [None, "", 12345678901, 1.5, "0"],
        "run_attempt": [None, 0, -1, "3", "x", True, 2.0],
        "job": [None, "", 9, {"j": 1}],
        "pipeline": [None, 3, ""],
        "team": [None, "", 4],
        "line_number": [None, "12", -3, 1.0, False],
    }.items():
        for value in values:
            out.append(orjson.dumps({**BASE, key: value}))
        out.append(orjson.dumps({k: v for k, v in BASE.items() if k != key}))
    for alias, canonical in [("log", "message"), ("ts", "timestamp"), ("@timestamp", "timestamp"),
                             ("ci", "provider"), ("repository", "repo"), ("build_id", "run_id"),
                             ("retry", "run_attempt"), ("job_name", "job"), ("owner", "team"),
                             ("workflow", "pipeline")]:
        rest = {k: v for k, v in BASE.items() if k != canonical}
        out.append(orjson.dumps({**rest, alias: BASE[canonical]}))
        out.append(orjson.dumps({**BASE, alias: BASE[canonical]}))  # both present
    out += [
        b'{"\\u006cog": "escaped alias", "repo": "a/b"}',
        b'{"m\\u0065ssage": "escaped canonical key"}',
        b'{"message": "x", "\\u0063i": "gitlab"}',
        b'{"type": "job_end", "status": "failed", "repo": "acme/infra", "run_id": "77", '
        b'"job": "plan"}',
        b'{"message": "x", "type": "log"}',
        b'{"message": "a", "message": "b"}',
        b'{"message": "\\ud800"}',
        b'{"message": "caf\xc3\xa9 \xff"}',
        b'{"message": "x", "extra": {"nested": [1, 2, {"deep": null}]}}',
        b'{"message": "x"',
        b"[1, 2]",
        b"plain text line, not JSON",
        b"  ",
        b"",
        b'{"message": "x"}\r',
        b"null",
        b'"just a string"',
        b'{"message": "' + b"A" * 2000 + b'"}',
    ]
    return out


def expected(line: bytes, opts: DecodeOptions, time: float = 0.0) -> Event | str | None:
    if not line.strip():
        return None  # blank: neither an event nor invalid
    try:
        return decode_record(line, None, time, opts)
    except DecodeError as exc:
        return str(exc)


def rows(batch: DecodedBatch) -> dict[int, Event | str]:
    got: dict[int, Event | str] = {pos: reason for pos, reason, _ in batch.errors}
    for i, pos in enumerate(batch.positions):
        assert pos not in got, f"line {pos} both decoded and refused"
        got[pos] = batch.event(i)
        assert (batch.jobs[i], batch.messages[i], batch.time(i)) == (
            (got[pos].repo, got[pos].run_id, got[pos].run_attempt, got[pos].job),  # type: ignore[union-attr]
            got[pos].message, got[pos].timestamp)  # type: ignore[union-attr]
    return got


@pytest.mark.parametrize("seed", range(6))
def test_chunk_decodes_like_decode_record(seed: int) -> None:
    opts = DecodeOptions(max_event_bytes=1500, teams={"acme/infra": "from-map"})
    lines = variants()
    random.Random(seed).shuffle(lines)
    want = {k: e for k, line in enumerate(lines) if (e := expected(line, opts)) is not None}
    batch = decode_lines(b"\n".join(lines) + b"\n", 0, 0.0, opts)
    assert rows(batch) == want
    assert batch.next_position == len(lines)


def test_each_line_alone_decodes_like_decode_record() -> None:
    opts = DecodeOptions()
    for line in variants():
        want = expected(line, opts, 99.0)
        got = rows(decode_lines(line, 7, 99.0, opts))
        assert got == ({} if want is None else {7: want}), line


def test_clean_chunk_takes_the_fast_path() -> None:
    """Canonical events are decoded without decode_record (no special rows)."""
    lines = [orjson.dumps({**BASE, "line_number": n, "run_id": n % 3}) for n in range(500)]
    batch = decode_lines(b"\n".join(lines), 0, 0.0, DecodeOptions())
    assert len(batch) == 500 and not batch.special and not batch.errors
    assert batch.jobs[4] == ("acme/infra", "1", 2, "plan")  # a number as text, as decode_record
    assert batch.numbered
    assert batch.latest() == pytest.approx(1793700000.123457)


def test_custom_aliases_use_decode_record() -> None:
    opts = DecodeOptions(aliases={"message": ("text",), "timestamp": ("when",)})
    line = orjson.dumps({"text": "hello", "when": 1793700000})
    batch = decode_lines(line, 0, 0.0, opts)
    assert batch.event(0).message == "hello" and batch.time(0) == 1793700000.0
    assert batch.special  # the fast decoder only knows the default names


def test_kafka_values_with_none_newlines_and_record_times() -> None:
    values: list[bytes | None] = [orjson.dumps({"message": "a"}), None,
                                  b'{"message":\n"pretty"}', b"plain", orjson.dumps(BASE)]
    keys = [None, None, None, b"acme/infra/9/apply", None]
    times = [10.0, 11.0, 12.0, 13.0, 14.0]
    batch = decode_values(values, keys, times, DecodeOptions())
    got = rows(batch)
    assert got[1] == "empty: empty record (null value)"
    for k in (0, 2, 3, 4):
        assert got[k] == decode_record(values[k], keys[k], times[k])
    assert got[0].timestamp == 10.0  # type: ignore[union-attr]  # no timestamp: the record's
    assert got[3].job == "apply"  # type: ignore[union-attr]  # plain text: job from the key
    joined = decode_values(values[:1] + values[3:], [None, b"k", None], [1.0, 2.0, 3.0],
                           DecodeOptions())
    assert len(joined) == 3 and joined.time(0) == 1.0
