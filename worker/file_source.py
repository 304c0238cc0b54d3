"""Read events from files: JSONL events (optionally gzip) or raw CI logs.

A raw log is one job's log: every line becomes an event of a job named after the file.
JSONL is recognised by its first non-empty line being a JSON object.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from worker.decode import DecodeError, DecodeOptions, decode_record
from worker.model import Event

DEFAULT_OPTIONS = DecodeOptions()


@dataclass(frozen=True, slots=True)
class Record:
    """One line of input: its event, or why it could not be decoded."""

    position: tuple[str, int]  # ("file:<path>", 0-based line index)
    event: Event | None
    error: str | None = None
    raw: bytes = b""


def open_binary(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    fh: IO[bytes] = open(path, "rb")  # noqa: SIM115 - the caller closes it
    if fh.peek(2)[:2] == b"\x1f\x8b" if hasattr(fh, "peek") else path.endswith(".gz"):
        return gzip.GzipFile(fileobj=fh)  # type: ignore[return-value]
    return fh


def file_size(path: str) -> int | None:
    try:
        return os.path.getsize(path) if path != "-" else None
    except OSError:
        return None


def read_records(path: str, opts: DecodeOptions | None = None, start: int = 0,
                 fh: IO[bytes] | None = None) -> Iterator[Record]:
    """Every line of the file from line index `start` on, decoded."""
    source = f"file:{Path(path).resolve() if path != '-' else '-'}"
    stream = fh or open_binary(path)
    reader: Any = stream if hasattr(stream, "peek") else io.BufferedReader(stream, 1 << 20)
    first = reader.peek(65536)[:65536].lstrip()
    jsonl = first.startswith(b"{") and _looks_like_event(first.split(b"\n", 1)[0])
    job = Path(path).name if path != "-" else "stdin"
    for index, line in enumerate(reader):
        if index < start:
            continue
        pos = (source, index)
        line = line.rstrip(b"\n")
        if jsonl:
            if not line.strip():
                continue
            try:
                yield Record(pos, decode_record(line, None, 0.0, opts or DEFAULT_OPTIONS))
            except DecodeError as exc:
                yield Record(pos, None, str(exc), line)
        else:
            text = line.decode("utf-8", errors="replace")
            yield Record(pos, Event(message=text, timestamp=0.0, repo="local", run_id=job,
                                    job=job, line_number=index + 1))


def _looks_like_event(line: bytes) -> bool:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(obj, dict) and any(k in obj for k in (
        "message", "log", "line", "msg", "type"))
