"""Read events from files: JSONL events (optionally gzip) or raw CI logs.

A raw log is one job's log: every line becomes an event of a job named after the file.
JSONL is recognised by its first non-empty line, read whole (up to max_event_bytes), being
a JSON object with a message field (or a `type`); a UTF-8 byte order mark is skipped.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from worker.core.logtime import first_line_time
from worker.decode.batch import DecodedBatch, decode_lines
from worker.decode.contract import DEFAULT_OPTIONS, DecodeError, DecodeOptions, is_event_object
from worker.decode.record import BOM, decode_record
from worker.model import Event, JobKey, Partition

FIRST_LINE_BYTES = DEFAULT_OPTIONS.max_event_bytes + 1  # a longer line is no event


@dataclass(frozen=True, slots=True)
class Record:
    """One line of input: its event, or why it could not be decoded."""

    position: tuple[Partition, int]  # (the file's partition, 0-based line index)
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


@dataclass
class Input:
    """An opened input file: JSONL events, or one job's raw log."""

    path: str
    partition: Partition  # where its positions are stored: ("file:<absolute path>", 0)
    jsonl: bool
    reader: Any
    job: JobKey  # the job a raw log belongs to
    timestamp: float  # event time of a raw log's lines: their first timestamp, else the mtime

    def close(self) -> None:
        if self.path != "-":
            self.reader.close()


def open_input(path: str) -> Input:
    stream = open_binary(path)
    head = _first_line(stream)
    reader = io.BufferedReader(_Rewound(head, stream), 1 << 20)
    first = head.lstrip()
    first = first[3:] if first.startswith(BOM) else first
    jsonl = first.startswith(b"{") and _looks_like_event(first)
    name = Path(path).name if path != "-" else "stdin"
    source = f"file:{Path(path).resolve() if path != '-' else '-'}"
    when = first_line_time(first) if not jsonl else None
    if when is None:
        when = os.path.getmtime(path) if path != "-" else time.time()
    return Input(path, Partition(source), jsonl, reader, JobKey("local", name, 1, name), when)


def _first_line(stream: IO[bytes]) -> bytes:
    """The bytes up to the end of the first non-blank line (at most FIRST_LINE_BYTES):
    the format is told by that whole line, however long, not by a fixed-size peek."""
    head = b""
    while len(head) < FIRST_LINE_BYTES:
        line = stream.readline(FIRST_LINE_BYTES - len(head))
        head += line
        if not line or line.strip():
            break
    return head


class _Rewound(io.RawIOBase):
    """A stream whose first bytes were read already (to tell its format): those again,
    then the rest. A pipe is read as data comes (read1), never held back to fill."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n], self._head = self._head[:n], self._head[n:]
            return n
        read = getattr(self._rest, "read1", self._rest.read)
        data = read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()


def read_records(inp: Input, opts: DecodeOptions | None = None, start: int = 0
                 ) -> Iterator[Record]:
    """Every JSONL line from line index `start` on, decoded."""
    opts = opts or DEFAULT_OPTIONS
    for index, line in enumerate(inp.reader):
        if index < start:
            continue
        line = line.rstrip(b"\n")
        if not line.strip():
            continue
        try:
            yield Record((inp.partition, index), decode_record(line, None, 0.0, opts))
        except DecodeError as exc:
            yield Record((inp.partition, index), None, str(exc), line)


def read_batches(inp: Input, opts: DecodeOptions | None = None, start: int = 0
                 ) -> Iterator[DecodedBatch]:
    """Every JSONL line from line index `start` on, decoded a chunk at a time (the fast
    path of `tfpulse replay`; read_records is the same one record at a time)."""
    opts = opts or DEFAULT_OPTIONS
    # Chunks under max_event_bytes spare the decoder a per-line size check; 64 KiB (about
    # 300 events) stay in the CPU cache from read to scan, and ran fastest (benchmarks/).
    size = max(4096, min(1 << 16, opts.max_event_bytes // 2))
    number = start
    for data in _whole_lines(inp, start, size):
        batch = decode_lines(data, number, 0.0, opts)
        number = batch.next_position  # data's lines, as the decoder counted them
        yield batch


def read_chunks(inp: Input, start: int = 0, size: int = 1 << 22, numbering: int = 1
                ) -> Iterator[tuple[int, bytes]]:
    """A file as (number of its first line, whole lines of about `size` bytes).

    Lines are numbered from `numbering` (1 for raw logs; 0 for JSONL, whose positions are
    line indexes); `start` lines are skipped first (a resumed replay)."""
    number = numbering + start
    for data in _whole_lines(inp, start, size):
        yield number, data
        number += data.count(b"\n")


def _whole_lines(inp: Input, start: int, size: int) -> Iterator[bytes]:
    """A file as whole lines of about `size` bytes, from line index `start` on."""
    reader = inp.reader
    for _ in range(start):  # resume: skip the lines already counted
        if not reader.readline():
            return
    # A pipe (stdin) gives what is there (read1), so a live stream is not held back to
    # fill a chunk; a file gives whole chunks (read1 would stop at the 8 KiB buffer).
    read = reader.read1 if inp.path == "-" and hasattr(reader, "read1") else reader.read
    while True:
        data = read(size)
        if not data:
            return
        if not data.endswith(b"\n"):
            data += reader.readline()
        yield data


def _looks_like_event(line: bytes) -> bool:
    try:
        return is_event_object(orjson.loads(line))
    except orjson.JSONDecodeError:
        return False
