"""The batch decoder's per-chunk checks against the per-line checks they replace.

decode_lines answers "is any line too deep, too long, blank, or holding an escaped NUL"
once per chunk (on the chunk's brackets and newlines, by a few rfind jumps, by one
literal scan); each answer must equal the per-line one, and a chunk that trips one must
still decode exactly as decode_record decodes each line.
"""

from __future__ import annotations

import random

import orjson
import pytest

from tests.test_decode_batch import BASE, expected, rows
from worker.decode.batch import (
    _DEEP,
    _HAS_NUL,
    _NOT_OPENING,
    _NUL,
    _lines_within,
    decode_lines,
    decode_values,
)
from worker.decode.contract import MAX_DEPTH, DecodeOptions


def _random_chunk(rng: random.Random) -> bytes:
    alphabet = b'{[]}ab"\\u0\n'
    return bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 400)))


@pytest.mark.parametrize("seed", range(4))
def test_chunk_checks_equal_the_per_line_checks(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(1500):
        data = _random_chunk(rng)
        if rng.random() < 0.3:  # long runs of brackets around the depth limit
            data += b"\n" + b"{" * rng.randrange(MAX_DEPTH - 2, MAX_DEPTH + 3)
        lines = data.split(b"\n")
        limit = rng.randrange(1, 60)
        assert _lines_within(data, limit) == (max(map(len, lines)) <= limit), (data, limit)
        openings = data.translate(None, _NOT_OPENING)
        per_line = max(line.count(b"{") + line.count(b"[") for line in lines)
        assert (_DEEP(openings) is None) == (per_line <= MAX_DEPTH), data
        assert openings.count(b"\n") == data.count(b"\n")
        assert _HAS_NUL(data) == (_NUL in data), data


def _nested(depth: int) -> bytes:
    return (b'{"message": "nested", "meta": ' + b'{"a": ' * (depth - 1) + b"1"
            + b"}" * (depth - 1) + b"}")


def _tricky_lines() -> list[bytes]:
    """Shipper-shaped lines the fast path takes, and ones each check must send elsewhere."""
    ok = [orjson.dumps({**BASE, "line_number": n, "run_id": n % 3 if n % 2 else str(n % 3),
                        "job": 40 + n % 2, "kubernetes": {"pod": {"labels": [n]}}})
          for n in range(40)]
    limit_line = orjson.dumps({**BASE, "message": "x" * 400})
    return ok + [
        _nested(MAX_DEPTH), _nested(MAX_DEPTH + 1),  # at the depth limit, one past it
        limit_line, limit_line[:-2] + b'x"}',  # one byte more than the first one
        orjson.dumps({**BASE, "job": "pl\x00an"}),  # an escaped NUL in a text field
        orjson.dumps({**BASE, "message": "NUL \x00 in the message only"}),
        b"   ",
    ]


@pytest.mark.parametrize("seed", range(5))
def test_chunks_that_trip_a_check_decode_like_decode_record(seed: int) -> None:
    lines = _tricky_lines()
    rng = random.Random(seed)
    rng.shuffle(lines)
    opts = DecodeOptions(max_event_bytes=len(_tricky_lines()[-5]))  # limit_line fits
    for cut in (len(lines), rng.randrange(1, len(lines))):
        part = lines[:cut]
        want = {k: e for k, line in enumerate(part) if (e := expected(line, opts)) is not None}
        assert rows(decode_lines(b"\n".join(part), 0, 0.0, opts)) == want
        # Kafka values: a blank one is a plain-text event there, so those are left out
        values = [line for line in part if line.strip()]
        want = {k: e for k, line in enumerate(values) if (e := expected(line, opts)) is not None}
        got = rows(decode_values(values, [None] * len(values), [0.0] * len(values), opts))
        assert got == want


def test_integer_ids_become_text_per_row() -> None:
    """Rows of one job given once as numbers and once as text hold the same text ids."""
    lines = [orjson.dumps({**BASE, "run_id": 7, "job": 40}),
             orjson.dumps({**BASE, "run_id": "7", "job": "40"}),
             orjson.dumps({**BASE, "run_id": 8, "job": "plan", "repo": 12})]
    batch = decode_lines(b"\n".join(lines), 0, 0.0, DecodeOptions())
    assert not batch.special
    assert batch.jobs == [("acme/infra", "7", 2, "40"), ("acme/infra", "7", 2, "40"),
                          ("12", "8", 2, "plan")]
