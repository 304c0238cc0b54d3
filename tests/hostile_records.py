"""Hostile records as plain data: every one must be refused with a reason, none may raise.

Shared by the replay suite (tests/test_hostile_replay.py: each record as a JSONL line of a
file, between two valid errors) and the broker suite (each record produced into the real
Kafka broker). `HOSTILE` are records the decoder must refuse, each with the category of
its reason (the text before the first ": " of the DecodeError message, see
worker/decode/contract.py); `TOLERATED` look hostile but are valid events and must count.

A record is (name, key, value, headers, category). key and value are the Kafka record's
bytes (None: a null key or value). In a file only the value exists, one line of it, so
`in_file` says whether a record can be sent through `tfpulse replay` at all.
"""

from __future__ import annotations

import gzip
from typing import NamedTuple

MIB = 1 << 20
# What the limits are (worker/decode/contract.py) is not repeated here: every value below
# is far past any sane bound (nesting of 200+, labels of 2,000+ characters, years 1969 or
# 2200+), so the cases stay right if a bound moves a little.


class Hostile(NamedTuple):
    name: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    category: str = ""  # the reason's category; "" for TOLERATED (a valid event)

    @property
    def in_file(self) -> bool:
        """Can this record be one line of a JSONL file (replay)? The key is Kafka's only."""
        return self.value is not None and b"\n" not in self.value and not self.key_matters

    @property
    def key_matters(self) -> bool:
        return self.name.startswith("key_")


def _obj(body: bytes) -> bytes:
    """A record with a valid message and one more field: `{"message": "x", <body>}`."""
    return b'{"message": "Error: hostile", "repo": "acme/infra", "job": "plan", ' + body + b"}"


def _nested(depth: int, open_: bytes = b"[", close: bytes = b"]") -> bytes:
    return open_ * depth + close * depth


def _deep_object(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


KEY = b"acme/infra/77/plan"
_BIG = b"A" * (MIB + 16)
_GZIP = gzip.compress(b'{"message": "Error: compressed"}', mtime=0)

HOSTILE: list[Hostile] = [
    # -- no value, too large ---------------------------------------------------------
    Hostile("null_key_null_value", None, None, (), "empty"),
    Hostile("null_value_with_key", KEY, None, (), "empty"),
    Hostile("null_value_with_headers", KEY, None, (("trace", b"\xff\x00"),), "empty"),
    Hostile("too_large_json", KEY, b'{"message": "' + _BIG + b'"}', (), "size"),
    Hostile("too_large_plain", KEY, _BIG, (), "size"),
    Hostile("too_large_whitespace", KEY, b" " * (MIB + 16), (), "size"),
    Hostile("too_large_field", KEY, _obj(b'"extra": "' + _BIG + b'"'), (), "size"),
    # -- bytes that are not UTF-8 text ------------------------------------------------
    Hostile("invalid_utf8_plain", KEY, b"\xff\xfe plain", (), "encoding"),
    Hostile("latin1_plain", KEY, "Error: café failed".encode("latin-1"), (), "encoding"),
    Hostile("utf16_with_bom", KEY, '{"message": "x"}'.encode("utf-16"), (), "encoding"),
    Hostile("utf32_with_bom", KEY, '{"message": "x"}'.encode("utf-32"), (), "encoding"),
    Hostile("gzip_payload", KEY, _GZIP, (), "encoding"),
    Hostile("zstd_magic", KEY, b"\x28\xb5\x2f\xfd\x20\x05\x29\x00\x00hello", (), "encoding"),
    Hostile("avro_wire_format", KEY, b"\x00\x00\x00\x01\xf4\x02\x1aError: avro", (), "encoding"),
    Hostile("binary_junk", KEY, bytes(range(0x80, 0x100)), (), "encoding"),
    Hostile("cesu_surrogate_plain", KEY, b"Error: \xed\xa0\x80 surrogate", (), "encoding"),
    Hostile("overlong_utf8_plain", KEY, b"Error: \xc0\xaf overlong", (), "encoding"),
    Hostile("truncated_utf8_plain", KEY, b"Error: \xe2\x82", (), "encoding"),
    # -- not JSON, though it starts like it --------------------------------------------
    Hostile("truncated_json", KEY, b'{"message": "x"', (), "json"),
    Hostile("trailing_garbage", KEY, b'{"message": "x"} and more', (), "json"),
    Hostile("two_objects", KEY, b'{"message": "a"}{"message": "b"}', (), "json"),
    Hostile("single_quotes", KEY, b"{'message': 'x'}", (), "json"),
    Hostile("trailing_comma", KEY, b'{"message": "x",}', (), "json"),
    Hostile("nan_literal", KEY, _obj(b'"timestamp": NaN'), (), "json"),
    Hostile("infinity_literal", KEY, _obj(b'"timestamp": Infinity'), (), "json"),
    Hostile("number_overflows_double", KEY, _obj(b'"timestamp": 1e400'), (), "json"),
    Hostile("int_of_5000_digits", KEY, _obj(b'"run_attempt": ' + b"7" * 5000), (), "json"),
    Hostile("lone_surrogate_escape", KEY, b'{"message": "\\ud800"}', (), "json"),
    Hostile("lone_low_surrogate_escape", KEY, b'{"message": "x\\udc00y"}', (), "json"),
    Hostile("invalid_utf8_in_string", KEY, b'{"message": "caf\xff"}', (), "json"),
    Hostile("raw_nul_in_string", KEY, b'{"message": "a\x00b"}', (), "json"),
    Hostile("raw_control_in_string", KEY, b'{"message": "a\x01b"}', (), "json"),
    Hostile("bad_escape", KEY, b'{"message": "\\x41"}', (), "json"),
    Hostile("bom_then_broken_json", KEY, b"\xef\xbb\xbf{\"message\": ", (), "json"),
    # -- JSON, but not an event object ---------------------------------------------------
    Hostile("top_level_array", KEY, b"[1, 2]", (), "shape"),
    Hostile("array_of_events", KEY, b'[{"message": "Error: x"}]', (), "shape"),
    Hostile("empty_array", KEY, b"[]", (), "shape"),
    Hostile("empty_object", KEY, b"{}", (), "missing"),
    Hostile("message_null", KEY, b'{"message": null, "repo": "acme/infra"}', (), "missing"),
    Hostile("only_unknown_fields", KEY, b'{"text": "Error: x", "level": "error"}', (), "missing"),
    # -- nesting ---------------------------------------------------------------------------
    Hostile("nested_array_100k_in_field", KEY, _obj(b'"extra": ' + _nested(100_000)), (),
            "depth"),
    Hostile("nested_object_100k_in_field", KEY, _obj(b'"extra": ' + _deep_object(100_000)),
            (), "depth"),
    Hostile("nested_array_100k_whole", KEY, _nested(100_000), (), "depth"),
    Hostile("nested_object_100k_whole", KEY, _deep_object(100_000), (), "depth"),
    Hostile("nested_1000_in_field", KEY, _obj(b'"extra": ' + _nested(1000)), (), "depth"),
    Hostile("nested_200_in_field", KEY, _obj(b'"extra": ' + _nested(200)), (), "depth"),
    Hostile("nested_unclosed_100k", KEY, _obj(b'"extra": ' + b"[" * 100_000)[:-1], (), "depth"),
    Hostile("nested_in_message", KEY, b'{"message": ' + _nested(5000) + b"}", (), "depth"),
    # -- wrong types ---------------------------------------------------------------------
    Hostile("message_int", KEY, b'{"message": 5}', (), "type"),
    Hostile("message_array", KEY, b'{"message": ["Error: x"]}', (), "type"),
    Hostile("message_object", KEY, b'{"message": {"text": "Error: x"}}', (), "type"),
    Hostile("message_bool", KEY, b'{"message": true}', (), "type"),
    Hostile("repo_bool", KEY, b'{"message": "x", "repository": false}', (), "type"),
    Hostile("repo_array", KEY, b'{"message": "x", "repo": ["a", "b"]}', (), "type"),
    Hostile("repo_object", KEY, b'{"message": "x", "repo": {"name": "a"}}', (), "type"),
    Hostile("repo_float", KEY, b'{"message": "x", "repo": 1.5}', (), "type"),
    Hostile("job_float", KEY, b'{"message": "x", "job": 2.5}', (), "type"),
    Hostile("job_object", KEY, b'{"message": "x", "job": {"name": "plan"}}', (), "type"),
    Hostile("team_array", KEY, _obj(b'"team": ["platform"]'), (), "type"),
    Hostile("pipeline_object", KEY, _obj(b'"pipeline": {"name": "deploy"}'), (), "type"),
    Hostile("provider_array", KEY, _obj(b'"provider": ["gitlab"]'), (), "type"),
    Hostile("run_id_float", KEY, _obj(b'"run_id": 1.5'), (), "type"),
    Hostile("run_id_bool", KEY, _obj(b'"run_id": true'), (), "type"),
    Hostile("run_id_array", KEY, _obj(b'"run_id": [77]'), (), "type"),
    Hostile("run_attempt_bool", KEY, _obj(b'"run_attempt": true'), (), "type"),
    Hostile("run_attempt_float", KEY, _obj(b'"run_attempt": 1.5'), (), "type"),
    Hostile("run_attempt_text", KEY, _obj(b'"run_attempt": "two"'), (), "type"),
    Hostile("run_attempt_empty_text", KEY, _obj(b'"run_attempt": ""'), (), "type"),
    Hostile("run_attempt_superscript_digit", KEY, _obj('"run_attempt": "²"'.encode()), (),
            "type"),
    Hostile("run_attempt_arabic_digits", KEY, _obj('"run_attempt": "١٢"'.encode()), (), "type"),
    Hostile("run_attempt_negative_text", KEY, _obj(b'"run_attempt": "-1"'), (), "type"),
    Hostile("run_attempt_object", KEY, _obj(b'"attempt": {"n": 1}'), (), "type"),
    Hostile("line_number_float", KEY, _obj(b'"line_number": 1.5'), (), "type"),
    Hostile("line_number_text", KEY, _obj(b'"line_number": "12a"'), (), "type"),
    Hostile("timestamp_bool", KEY, _obj(b'"timestamp": true'), (), "type"),
    Hostile("timestamp_object", KEY, _obj(b'"timestamp": {"s": 1}'), (), "type"),
    Hostile("timestamp_array", KEY, _obj(b'"ts": [1793527200]'), (), "type"),
    Hostile("job_end_repo_array", KEY, b'{"type": "job_end", "repo": ["a"]}', (), "type"),
    # -- integers out of the store's range ----------------------------------------------
    Hostile("run_attempt_2e31", KEY, _obj(b'"run_attempt": 2147483648'), (), "range"),
    Hostile("run_attempt_2e63", KEY, _obj(b'"run_attempt": 9223372036854775808'), (), "range"),
    Hostile("run_attempt_1e30", KEY, _obj(b'"run_attempt": 1000000000000000000000000000000'),
            (), "range"),
    Hostile("run_attempt_negative", KEY, _obj(b'"run_attempt": -1'), (), "range"),
    Hostile("run_attempt_text_2e31", KEY, _obj(b'"run_attempt": "2147483648"'), (), "range"),
    Hostile("run_attempt_text_5000_digits", KEY, _obj(b'"run_attempt": "' + b"9" * 5000 + b'"'),
            (), "range"),
    Hostile("run_attempt_text_1mb_digits", KEY, _obj(b'"retry": "' + b"1" * 1_000_000 + b'"'),
            (), "range"),
    Hostile("line_number_2e63", KEY, _obj(b'"line_number": 9223372036854775808'), (), "range"),
    Hostile("line_number_negative", KEY, _obj(b'"line_number": -3'), (), "range"),
    Hostile("line_number_text_5000_digits", KEY,
            _obj(b'"line_number": "' + b"5" * 5000 + b'"'), (), "range"),
    Hostile("run_id_int_2e64", KEY, _obj(b'"run_id": 18446744073709551616'), (), "range"),
    Hostile("run_id_negative_int", KEY, _obj(b'"build_id": -5'), (), "range"),
    # -- times ---------------------------------------------------------------------------
    Hostile("timestamp_words", KEY, _obj(b'"timestamp": "yesterday"'), (), "time"),
    Hostile("timestamp_empty", KEY, _obj(b'"timestamp": ""'), (), "time"),
    Hostile("timestamp_naive", KEY, _obj(b'"timestamp": "2026-11-03T10:00:00"'), (), "time"),
    Hostile("timestamp_year_1", KEY, _obj(b'"timestamp": "0001-01-01T00:00:00Z"'), (), "time"),
    Hostile("timestamp_year_9999", KEY, _obj(b'"timestamp": "9999-12-31T23:59:59Z"'), (),
            "time"),
    Hostile("timestamp_year_2201", KEY, _obj(b'"@timestamp": "2201-01-01T00:00:00Z"'), (),
            "time"),
    Hostile("timestamp_1969", KEY, _obj(b'"timestamp": "1969-12-31T23:59:59Z"'), (), "time"),
    Hostile("timestamp_next_century", KEY, _obj(b'"timestamp": "2150-06-01T00:00:00Z"'), (),
            "time"),
    Hostile("epoch_negative", KEY, _obj(b'"timestamp": -1'), (), "time"),
    Hostile("epoch_3e12_seconds", KEY, _obj(b'"timestamp": 3090000000000'), (), "time"),
    Hostile("epoch_microseconds", KEY, _obj(b'"timestamp": 1793527200000000'), (), "time"),
    Hostile("epoch_2e63", KEY, _obj(b'"ts": 9223372036854775807'), (), "time"),
    Hostile("epoch_1e300", KEY, _obj(b'"timestamp": 1e300'), (), "time"),
    Hostile("timestamp_1mb_text", KEY, _obj(b'"timestamp": "' + b"2" * 1_000_000 + b'"'), (),
            "time"),
    Hostile("timestamp_offset_hours_99", KEY, _obj(b'"timestamp": "2026-11-03T10:00:00+99:00"'),
            (), "time"),
    # -- text the store refuses or that must not become a label -------------------------
    Hostile("nul_in_repo", KEY, b'{"message": "Error: x", "repo": "acme\\u0000infra"}', (),
            "control"),
    Hostile("nul_in_job", KEY, b'{"message": "Error: x", "job": "plan\\u0000"}', (), "control"),
    Hostile("nul_in_run_id", KEY, b'{"message": "Error: x", "run_id": "\\u00007"}', (), "control"),
    Hostile("nul_in_team", KEY, _obj(b'"team": "plat\\u0000form"'), (), "control"),
    Hostile("nul_in_pipeline", KEY, _obj(b'"workflow": "\\u0000"'), (), "control"),
    Hostile("repo_100k_chars", KEY, b'{"message": "x", "repo": "' + b"r" * 100_000 + b'"}', (),
            "length"),
    Hostile("job_2000_chars", KEY, b'{"message": "x", "job": "' + b"j" * 2000 + b'"}', (),
            "length"),
    Hostile("run_id_100k_chars", KEY, _obj(b'"run_id": "' + b"7" * 100_000 + b'"'), (), "length"),
    Hostile("team_100k_chars", KEY, _obj(b'"team": "' + b"t" * 100_000 + b'"'), (), "length"),
    Hostile("pipeline_100k_chars", KEY, _obj(b'"pipeline": "' + b"p" * 100_000 + b'"'), (),
            "length"),
    Hostile("provider_100k_chars", KEY, _obj(b'"provider": "' + b"g" * 100_000 + b'"'), (),
            "length"),
    Hostile("repo_100k_multibyte", KEY, ('{"message": "x", "repo": "' + "é" * 100_000 + '"}'
                                         ).encode(), (), "length"),
    # -- plain-text records whose key is the job ------------------------------------------
    Hostile("key_invalid_utf8", b"acme/\xff\xfe/plan", b"Error: plain line", (), "encoding"),
    Hostile("key_with_nul", b"acme/infra\x00/77/plan", b"Error: plain line", (), "control"),
    Hostile("key_100k_chars", b"k" * 100_000, b"Error: plain line", (), "length"),
    Hostile("key_invalid_utf8_value_invalid", b"\xc3", b"\xc3", (), "encoding"),
]

# Hostile-looking but valid: each decodes to an event (counted ok, never dead-lettered).
TOLERATED: list[Hostile] = [
    Hostile("empty_value", KEY, b""),
    Hostile("bom_then_valid_json", KEY, b'\xef\xbb\xbf{"message": "ok with a BOM"}'),
    Hostile("nul_escape_in_message", KEY, b'{"message": "Error: a\\u0000b"}'),
    Hostile("nul_bytes_in_plain_line", KEY, b"Error: a\x00b"),
    Hostile("control_chars_in_message", KEY, b'{"message": "\\u0007\\u001b[31mError: x"}'),
    Hostile("json_null_as_plain_line", KEY, b"null"),
    Hostile("json_string_as_plain_line", KEY, b'"just a string"'),
    Hostile("message_900k", KEY, b'{"message": "' + b"x" * 900_000 + b'"}'),
    Hostile("nested_10_in_field", KEY, _obj(b'"kubernetes": ' + _deep_object(10))),
    Hostile("duplicate_keys", KEY, b'{"message": "a", "message": "b"}'),
    Hostile("numeric_repo_and_run_id", KEY, _obj(b'"run_id": 12345678901')),
    Hostile("unknown_provider", KEY, _obj(b'"provider": "teamcity"')),
    Hostile("emoji_and_rtl", KEY, '{"message": "Error: 💥 \u202e", "job": "测试"}'.encode()),
    Hostile("key_only_slashes", b"///", b"Error: plain line"),
    Hostile("null_key_plain_line", None, b"Error: plain line"),
    Hostile("epoch_milliseconds", KEY, _obj(b'"timestamp": 1793527200123')),
    Hostile("epoch_zero", KEY, _obj(b'"timestamp": 0')),
    Hostile("run_attempt_zero", KEY, _obj(b'"run_attempt": 0')),
    Hostile("many_keys", KEY, b'{"message": "x", ' + b", ".join(
        b'"k%d": %d' % (i, i) for i in range(20_000)) + b"}"),
]
