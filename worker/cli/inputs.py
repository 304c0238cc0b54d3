"""Checks on input files shared by `classify` and `replay`: text or not, and why a file
could not be read, worded with the file's name (never a library's message alone)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from worker.sources.files import open_input

NOT_TEXT = "is not a text log or JSONL file (binary data); tfpulse reads CI logs and events"
# Errors reading a file that are about its content, not the file system.
CONTENT_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def looks_binary(sample: bytes) -> bool:
    """True for data that is no log: a NUL byte, or mostly bytes that are not UTF-8 text
    (a log may hold a few stray bytes; random or compiled data holds many)."""
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") + sum(1 for c in text if c < " " and c not in "\t\n\r\x1b\f\b")
    return bad > max(8, len(text) // 20)


def reason(exc: BaseException) -> str:
    """Why a file could not be read, in words."""
    if isinstance(exc, gzip.BadGzipFile | zlib.error):
        return "is not a valid gzip file (corrupt or not gzip)"
    if isinstance(exc, EOFError):
        return "is a truncated gzip file (it ends before its last block)"
    if isinstance(exc, OSError):
        return f"cannot be read: {exc.strerror or exc}"
    return f"cannot be read: {exc}"


def unreadable(path: str) -> str | None:
    """Why `path` cannot be replayed (missing, binary, not gzip), or None."""
    if path == "-":
        return None
    if not Path(path).is_file():
        return f"{path}: no such file"
    try:
        inp = open_input(path)
        binary = looks_binary(inp.reader.peek(65536)[:65536])
        inp.close()
    except (OSError, *CONTENT_ERRORS) as exc:
        return f"{path} {reason(exc)}"
    return f"{path} {NOT_TEXT}" if binary else None
