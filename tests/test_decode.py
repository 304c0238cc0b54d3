import orjson
import pytest

from worker.decode.contract import DecodeError, DecodeOptions, parse_time
from worker.decode.record import decode_record


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


FULL = {"message": "m", "timestamp": "2024-03-15T10:00:00Z", "repo": "r", "run_id": "1",
        "job": "j"}


@pytest.mark.parametrize("field,value,reason", [
    ("message", 5, "must be a string"),
    ("repo", {"a": 1}, "'repo' must be a string"),
    ("run_id", [1], "'run_id' must be a string"),
    ("job", True, "'job' must be a string"),
    ("timestamp", "yesterday", "not RFC 3339"),
    ("run_attempt", "two", "must be an integer"),
    ("line_number", 1.5, "must be an integer"),
    ("provider", ["gitlab"], "'provider' must be a string"),
    ("team", {"x": 1}, "'team' must be a string"),
])
def test_the_fast_path_validates_like_the_general_one(field: str, value, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode_record(orjson.dumps({**FULL, field: value}), None, 0.0)


def test_fast_and_general_paths_agree() -> None:
    event = {**FULL, "provider": "buildkite", "run_attempt": 2, "team": "t", "line_number": 7,
             "pipeline": "ci"}
    fast = decode_record(orjson.dumps(event), None, 0.0)
    general = decode_record(orjson.dumps({**event, "repository": event.pop("repo")}), None, 0.0)
    assert fast == general
    odd = decode_record(orjson.dumps({**FULL, "provider": "teamcity"}), None, 0.0)
    assert odd.provider == "other"
