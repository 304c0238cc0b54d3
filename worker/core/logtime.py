"""Event time from the timestamps CI systems put at the start of log lines.

A raw log replayed from a file has no event envelope; its lines often carry their own
time: GitHub Actions (`2024-01-02T03:04:05.1234567Z `), GitLab (`2024-01-02T03:04:05.123456Z
00O `), the Jenkins timestamper (`[2024-01-02T03:04:05.123Z] `), or any ISO time at line
start. The file's modification time is only a fallback: a copied or downloaded log has
the time of the copy.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

LINE_TIME = re.compile(
    rb"^\[?(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    rb"(Z|[+-]\d{2}:?\d{2})?\]?(?:\s|$)", re.M)


def first_line_time(data: bytes) -> float | None:
    """The epoch seconds of the first line-start timestamp in `data`, or None."""
    for m in LINE_TIME.finditer(data):
        value = _epoch(m)
        if value is not None:
            return value
    return None


def _epoch(m: re.Match[bytes]) -> float | None:
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micros = int((m.group(7) or b"0")[:6].ljust(6, b"0"))
    try:
        when = datetime(year, month, day, hour, minute, second, micros, tzinfo=_zone(m.group(8)))
    except ValueError:  # 2024-13-45: not a time
        return None
    return when.timestamp()


def _zone(text: bytes | None) -> timezone:
    """Z, +02:00 or -0500; no zone is read as UTC (what CI runners print)."""
    if not text or text == b"Z":
        return UTC
    sign = -1 if text[:1] == b"-" else 1
    digits = text[1:].replace(b":", b"")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))
