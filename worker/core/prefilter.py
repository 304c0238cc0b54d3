"""Which lines the block assembler must read one by one, found in bulk. Pure, no I/O.

At TF_LOG=DEBUG a job's log is mostly provider and core log lines, and some of them (an
`[ERROR]` log line, a trace dump naming `error_budget`, a destroy plan's `- denied_requests`)
open an uncertain block that then stays open over hundreds of lines until some other
output closes it. Feeding each of those lines costs a normalize and three regexes; most
of them change nothing but the block's text. Two cheap checks find them in bulk:

- a TF_LOG line (`<ISO time> [DEBUG] …`, or Go's `2019/11/14 14:51:24 [DEBUG] …`, with at
  most one more ISO time in front: GitHub's) normalizes to a text that starts with its
  level or its date, so it can neither end an unframed block nor (at TRACE, DEBUG, INFO
  and WARN: blocks.LOG_LINE) start one;
- a line that holds none of the BLOCKING texts (a superset of what could make it end a
  block, be blank, carry a frame or a CI prefix, or be changed by strip_ansi) normalizes
  to its own stripped text (less a leading GitHub time) and ends no unframed block.

Lines of both kinds are "inert": while the job's block is open and unframed they are
appended to it (BlockAssembler.absorb) without being fed. tests/test_fastpath_exact.py
checks the supersets against blocks.py's and normalize.py's patterns, whose owners may
change them, and the outcome against the per-line path.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import re2

try:  # optional: the `fast` extra (as in matcher.py)
    import hyperscan
except ImportError:  # pragma: no cover - depends on the environment
    hyperscan = None  # type: ignore[assignment]

from worker.core import matcher
from worker.core.normalize import normalize_line

# GitHub's time stamp as normalize strips it (its first _CI_PREFIXES alternative), with
# the one space after it; ASCII digits only, so it never covers more than Python's \d.
_ISO = rb"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
_GO_TIME = rb"[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
_LEVEL = rb"\[(?:TRACE|DEBUG|INFO|WARN)\]"
_LEVELS = rb"\[(?:TRACE|DEBUG|INFO|WARN|ERROR)\]"
# A TF_LOG line with no carriage return (a redraw would keep only its last part).
TF_LOG = rb"(?:(?:" + _ISO + rb" ){1,2}|(?:" + _ISO + rb" )?" + _GO_TIME + rb" )%s[^\r\n]*"
TF_LOG_LINE = re.compile(TF_LOG % _LEVEL)  # bytes: for one line at a time
_ANY_LOG_LINE = re.compile(TF_LOG % _LEVELS)
_LOG_TEXT = re.compile((TF_LOG % _LEVEL).decode("ascii"))
_ANY_LOG_TEXT = re.compile((TF_LOG % _LEVELS).decode("ascii"))  # the same, for str

# Anywhere in a line: control characters (\r, ESC: strip_ansi splices what is around
# them), colour codes whose ESC was lost, and the parts of STRONG_START and OTHER_OUTPUT
# that follow a word of any characters.
_ANYWHERE = rb"[\x00-\x08\x0b-\x1f\x7f]|\[[0-9]{1,3}[;m]|: Error: |\((?:local|remote)-exec\): " \
    rb"|\xe2\x94\x82 Error: " \
    rb"|: (?:Creating|Modifying" \
    rb"|Destroying|Reading|Refreshing|Still |Creation complete|Modifications complete" \
    rb"|Destruction complete)"
# At the start of the text (after blanks, or after GitHub's time and blanks, the only
# prefixes a line without a _WRAP start can lose): a superset of the starts of
# blocks.STRONG_START and OTHER_OUTPUT, and frame characters (mangled ones too).
_STARTS = (
    rb"Error|Failed to|Could not|Argument or block|[0-9]+ errors?(?:\(s\))? occurred|Backend"
    rb"|error running|[$+>] |Initializing |Terraform |OpenTofu |Plan: |Apply complete"
    rb"|No changes\.|Acquiring state lock|Releasing state lock|Refreshing state\.\.\."
    rb"|\* |error: |fatal: |panic: "
    rb"|Success! |Created and switched |\xe2\x95\xb7|\xe2\x94\x82|\xe2\x95\xb5|\xc3\xa2\xe2\x80\x9d"
    rb"|\xc3\xa2\xe2\x80\xa2|\?\?\?"
)
# At the start (after blanks, or after GitHub's time and blanks): a blank line, a
# non-ASCII character (Unicode blanks and digits), or the first characters of any
# normalize._CI_PREFIXES alternative.
_WRAP = (rb"\[(?:[0-9]|[\x80-\xff]|Pipeline\]|terragrunt\])|section_|##\[|::|(?:ERRO|WARN|INFO|DEBU|TRAC)\[|[\x80-\xff]"
         rb"|(?:STDOUT|STDERR|ERROR|WARN|INFO|DEBUG)[\s\x80-\xff]")


def _not_iso() -> bytes:
    """A line that starts with a digit but not with _ISO and a space, written out as the
    ways it can depart from it (Hyperscan has no lookahead)."""
    digit, other = b"[0-9]", {b"[0-9]": b"[^0-9]", b"-": b"[^-]", b"T": b"[^T]", b":": b"[^:]"}
    fixed = [digit] * 4 + [b"-"] + [digit] * 2 + [b"-"] + [digit] * 2 + [b"T"] + (
        [digit] * 2 + [b":"] + [digit] * 2 + [b":"] + [digit] * 2)
    ways = [b"".join(fixed[:k]) + other[fixed[k]] for k in range(1, len(fixed))]
    frac, tz = rb"(?:\.[0-9]+)?", rb"[+-][0-9]{2}"
    tail = [rb"[^.Z+\- ]", rb"\.[^0-9]", rb"\.[0-9]+[^0-9Z+\- ]", frac + rb"Z[^ ]",
            frac + rb"[+-](?:[^0-9]|[0-9][^0-9])", frac + tz + rb"(?:[^0-9:]|:[^0-9])",
            frac + tz + rb":?[0-9][^0-9]", frac + tz + rb":?[0-9]{2}[^ ]"]
    ways += [b"".join(fixed) + t for t in tail]
    return b"(?:" + b"|".join(ways) + b")"


# A line that may not be inert: its newline ends a match of one of these.
BLOCKING = (
    rb"(?:" + _ANYWHERE + rb")[^\n]*\n",
    rb"^(?:" + _ISO + rb" )?[ \t]*\n",
    rb"^(?:" + _ISO + rb" )?[ \t]*(?:" + _STARTS + b"|" + _WRAP + rb")[^\n]*\n",
    rb"^(?:" + _ISO + rb" [ \t]*|[ \t]+)[0-9][^\n]*\n",
    rb"^" + _not_iso(),  # the last: it ends where the line departs (maybe its newline)
)


@dataclass
class LineFlags:
    """The lines of data[start:end] that hold BLOCKING texts, by the offset of their
    newline (sorted). Of those, TF_LOG lines are inert all the same: found on use (run_end)
    and kept in `logs`."""

    data: bytes
    start: int
    end: int
    blocking: list[int] = field(default_factory=list)
    logs: set[int] = field(default_factory=set)

    def run_end(self, pos: int) -> int:
        """Where the inert lines from pos (a line start) end: the start of the first line
        that must be fed, or end."""
        blocking, data = self.blocking, self.data
        i = bisect_left(blocking, pos)
        while i < len(blocking):
            nl = blocking[i]
            start = max(data.rfind(b"\n", pos, nl) + 1, pos)
            if _ANY_LOG_LINE.fullmatch(data, start, nl) is None:
                return start
            self.logs.add(nl)
            del blocking[i]
        return self.end


class LineScanner:
    """One scan of a chunk for the lines that hold BLOCKING texts (exact, not prefiltered)."""

    def __init__(self) -> None:
        self._db: Any = None
        self._re2: Any = None
        if hyperscan is not None:
            self._db = matcher.database(list(BLOCKING), hyperscan.HS_FLAG_MULTILINE)
        else:  # pragma: no cover - depends on the environment
            self._re2 = [re2.compile(b"(?m)" + e) for e in BLOCKING]

    def flags(self, data: bytes, start: int, end: int) -> LineFlags:
        """Flags of the lines in data[start:end]; end is just past a newline, or len(data)
        (a last line without one ends there)."""
        window = data[start:end]
        if not window.endswith(b"\n"):
            window += b"\n"
        hits: set[int] = set()
        departs: set[int] = set()
        last = len(BLOCKING) - 1
        if self._db is not None:
            self._db.scan(window, match_event_handler=lambda i, s, e, f, c: (
                departs if i == last else hits).add(e))
        else:  # pragma: no cover
            for i, regex in enumerate(self._re2):
                (departs if i == last else hits).update(m.end() for m in regex.finditer(window))
        hits.update(window.find(b"\n", e - 1) + 1 for e in departs)
        return LineFlags(data, start, end, sorted(start + e - 1 for e in hits))


class RowFlags:
    """LineFlags for the rows of a decoded batch (one line each), found in windows of
    rows as they are asked for (most batches hold no open block for long)."""

    def __init__(self, scanner: LineScanner, messages: list[str]):
        self._scanner, self._messages = scanner, messages
        self._start = self._end = 0
        self._size = _ROWS[0]
        self._blocking: set[int] = set()

    def kind(self, i: int) -> int:
        """Row i: 0 must be fed, 1 inert, 2 inert TF_LOG line (normalized the long way)."""
        if not self._start <= i < self._end:
            self._window(i)
        if i not in self._blocking:
            return 1
        return 2 if _ANY_LOG_TEXT.fullmatch(self._messages[i]) else 0

    def _window(self, i: int) -> None:
        self._size = min(self._size * 4, _ROWS[1]) if i == self._end else _ROWS[0]
        rows = self._messages[i:i + self._size]
        self._start, self._end = i, i + len(rows)
        joined = "\n".join(rows)
        if joined.count("\n") != len(rows) - 1:  # a message of several lines: feed all
            self._blocking = set(range(i, self._end))
            return
        data = joined.encode("utf-8", "surrogatepass") + b"\n"
        row, pos, blocking = i, 0, set()
        for nl in self._scanner.flags(data, 0, len(data)).blocking:
            row += data.count(b"\n", pos, nl)
            blocking.add(row)
            pos = nl
        self._blocking = blocking


def is_log_line(line: bytes) -> bool:
    """A TF_LOG line at TRACE..WARN: never a block start (blocks.LOG_LINE after normalize)."""
    return TF_LOG_LINE.fullmatch(line) is not None


def is_log_text(message: str) -> bool:
    """is_log_line for a decoded message."""
    return _LOG_TEXT.fullmatch(message) is not None


def inert_texts(data: bytes, pos: int, end: int, logs: set[int]) -> Iterator[str]:
    """normalize_line(line)[0] of each inert line in data[pos:end], lazily, in slices of
    a few kilobytes: the stripped line less GitHub's time (the only prefix a line without
    BLOCKING texts may start with: every other start is a _WRAP), TF_LOG lines flagged
    all the same (logs) the long way."""
    while pos < end:
        cut = data.find(b"\n", pos + _SLICE, end)
        cut = end if cut < 0 else cut + 1
        lines = data[pos:cut].decode("utf-8", "replace").split("\n")
        if cut == end and data[end - 1] == 10:
            lines.pop()  # the empty string after the last newline
        if logs and any(pos <= nl < cut for nl in logs):
            at = pos
            for raw in lines:
                at = data.find(b"\n", at, cut) + 1 or cut + 1
                yield inert_text(raw, at - 1 in logs)
        else:
            yield from map(_fast_text, lines)
        pos = cut


def _fast_text(raw: str) -> str:
    return raw[raw.index(" ") + 1:].strip() if raw[:1] in _DIGITS else raw.strip()


def inert_text(raw: str, log: bool) -> str:
    """normalize_line(raw)[0] of one inert line (log: a TF_LOG line)."""
    if log:
        return normalize_line(raw)[0]
    if raw[:1] in _DIGITS:
        return raw[raw.index(" ") + 1:].strip()
    return raw.strip()


_DIGITS = frozenset("0123456789")
_SLICE = 8192
_ROWS = (256, 16384)  # rows flagged at once, at first and at most (see RowFlags)
