import orjson
import pytest

from worker.decode import DecodeError, DecodeOptions, decode_record, parse_time


def test_aliases_and_defaults() -> None:
    value = orjson.dumps({"log": "hello", "@timestamp": "2024-03-15T10:00:00.1234567Z",
                          "repository": "acme/infra", "workflow": "ci", "job_name": "plan",
                          "build_id": 42, "attempt": "2", "ci": "gitlab"})
    ev = decode_record(value, None, 0.0, DecodeOptions(teams={"acme/infra": "platform"}))
    assert (ev.message, ev.repo, ev.pipeline, ev.job, ev.run_id, ev.run_attempt) == \
        ("hello", "acme/infra", "ci", "plan", "42", 2)
    assert ev.provider == "gitlab" and ev.team == "platform"
    assert ev.timestamp == pytest.approx(1710496800.1234567)


def test_epoch_seconds_and_milliseconds() -> None:
    assert parse_time(1710496800, 0.0) == 1710496800.0
    assert parse_time(1710496800123, 0.0) == pytest.approx(1710496800.123)


def test_plain_text_value_uses_the_key_as_job() -> None:
    ev = decode_record(b"Error: boom", b"acme/infra/77/apply", 5.0)
    assert (ev.repo, ev.run_id, ev.job, ev.timestamp) == ("acme/infra", "77", "apply", 5.0)


def test_job_end_event() -> None:
    ev = decode_record(b'{"type":"job_end","status":"failure","repo":"r","run_id":"1","job":"j"}',
                       None, 0.0)
    assert ev.kind == "job_end" and ev.status == "failure"


@pytest.mark.parametrize("value,reason", [
    (b'{"message": 5}', "must be a string"),
    (b'{"msg_missing": "x"}', "missing field 'message'"),
    (b'{"message": "x", "timestamp": "yesterday"}', "not RFC 3339"),
    (b'{"message": "x", "run_attempt": "two"}', "must be an integer"),
    (b'{"message": "x", "repo": {"a": 1}}', "must be a string"),
    (b'{"message": "x"', "invalid JSON"),
    (b'["message"]', "not an object"),
    (b'{"message": "\xff\xfe"}', "invalid JSON"),
    (b"\xff\xfe plain", "invalid UTF-8"),
    (None, "empty record"),
])
def test_invalid_records_say_why(value: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode_record(value, None, 0.0)


def test_oversized_event_is_refused() -> None:
    with pytest.raises(DecodeError, match="too large"):
        decode_record(b'{"message": "' + b"x" * 2_000_000 + b'"}', None, 0.0)
