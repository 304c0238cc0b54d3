"""Every hostile record (tests/hostile_records.py) is refused with its reason's category,
by both decoders alike; the hostile-looking valid ones decode; no reason quotes a value."""

from __future__ import annotations

import orjson
import pytest

from tests.hostile_records import HOSTILE, TOLERATED, Hostile
from worker.decode.batch import DecodedBatch, decode_lines, decode_values
from worker.decode.contract import CATEGORIES, DecodeError, DecodeOptions
from worker.decode.record import decode_record

NOW = 1_796_000_000.0  # 2026-12-01: the adapter's clock in these tests
OPTS = DecodeOptions(clock=lambda: NOW)
VALID = b'{"message": "Error: valid", "repo": "acme/ok", "job": "plan"}'


def test_the_suite_is_large_and_its_categories_are_the_decoders() -> None:
    assert len(HOSTILE) >= 60
    assert {h.category for h in HOSTILE} == set(CATEGORIES)
    names = [h.name for h in HOSTILE + TOLERATED]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("record", HOSTILE, ids=lambda h: h.name)
def test_each_hostile_record_is_refused_with_its_category(record: Hostile) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_record(record.value, record.key, NOW, OPTS)
    assert caught.value.category == record.category, str(caught.value)
    reason = str(caught.value)
    assert reason.startswith(record.category + ": ") and len(reason) < 300


@pytest.mark.parametrize("record", TOLERATED, ids=lambda h: h.name)
def test_each_hostile_looking_valid_record_decodes(record: Hostile) -> None:
    decode_record(record.value, record.key, NOW, OPTS)


def _rows(batch: DecodedBatch) -> dict[int, object]:
    got: dict[int, object] = {batch.positions[i]: batch.event(i) for i in range(len(batch))}
    got.update({pos: reason for pos, reason, _raw in batch.errors})
    return got


def _expected(record: Hostile) -> object:
    try:
        return decode_record(record.value, record.key, NOW, OPTS)
    except DecodeError as exc:
        return str(exc)


def test_kafka_values_decode_as_decode_record_does() -> None:
    records = [r for pair in zip(HOSTILE, TOLERATED * 7, strict=False) for r in pair]
    batch = decode_values([r.value for r in records], [r.key for r in records],
                          [NOW] * len(records), OPTS)
    got = _rows(batch)
    assert [got[k] for k in range(len(records))] == [_expected(r) for r in records]


def test_file_lines_decode_as_decode_record_does() -> None:
    lines = [VALID]
    for record in HOSTILE + TOLERATED:
        if record.in_file:
            lines += [record.value, VALID]  # type: ignore[list-item]
    batch = decode_lines(b"\n".join(lines) + b"\n", 0, NOW, OPTS)
    got = _rows(batch)
    for k, line in enumerate(lines):
        if line.strip():
            assert got[k] == _expected(Hostile("line", None, line)), k


def test_a_clean_chunk_with_one_bad_time_refuses_that_line_only() -> None:
    good = orjson.dumps({"message": "x", "timestamp": "2026-11-30T10:00:00Z"})
    ahead = orjson.dumps({"message": "x", "timestamp": "2026-12-05T10:00:00Z"})
    batch = decode_lines(b"\n".join([good, ahead, good]), 0, 0.0, OPTS)
    assert batch.positions == [0, 2]
    assert batch.errors[0][:2] == (1, "time: field 'timestamp' is more than a day ahead of "
                                      "the clock")
    assert len(decode_lines(ahead, 0, 0.0, DecodeOptions())) == 1  # no clock: up to 2200


TOKEN = "ghp_" + "Z9" * 18


@pytest.mark.parametrize("field,value", [
    ("run_attempt", TOKEN), ("line_number", TOKEN), ("timestamp", TOKEN),
    ("repo", TOKEN + "\x00"), ("job", TOKEN * 40), ("team", [TOKEN]), ("run_id", {"t": TOKEN}),
    ("timestamp", TOKEN * 40), ("message", [TOKEN]), ("provider", TOKEN * 40),
])
def test_reasons_carry_no_value(field: str, value: object) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_record(orjson.dumps({"message": "x", field: value}), None, NOW, OPTS)
    assert "ghp_" not in str(caught.value) and "Z9Z9" not in str(caught.value)


def test_a_plain_line_keeps_its_nul_and_a_key_may_not() -> None:
    event = decode_record(b"Error: a\x00b", b"acme/infra/1/plan", NOW, OPTS)
    assert event.message == "Error: a\x00b" and event.job == "plan"
    with pytest.raises(DecodeError, match="^control: "):
        decode_record(b"Error", b"acme/in\x00fra/1/plan", NOW, OPTS)


@pytest.mark.parametrize("value,expected", [
    (0, 0.0), (1_793_527_200, 1_793_527_200.0), (1_793_527_200_123, 1_793_527_200.123),
    (7_258_118_400, 7_258_118_400.0),  # 2200-01-01 in seconds: the last second
    (7_258_118_401, 7_258_118.401),  # past 2200 as seconds: milliseconds (1970)
])
def test_the_epoch_unit_rule(value: int, expected: float) -> None:
    event = decode_record(orjson.dumps({"message": "x", "ts": value}), None, 0.0)
    assert event.timestamp == pytest.approx(expected)
