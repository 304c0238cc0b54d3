"""Which lines the block assembler must read one by one, found in bulk. Pure, no I/O.

At TF_LOG=DEBUG a job's log is mostly provider and core log lines, and some of them (an
`[ERROR]` log line, a trace dump naming `error_budget`, a destroy plan's `- denied_requests`)
open an uncertain block that then stays open over hundreds of lines until some other
output closes it. Feeding each of those lines costs a normalize and three regexes; most
of them change nothing but the block's text. Two cheap checks find them in bulk:

- a TF_LOG line (`<ISO time> [DEBUG] …`, or Go's `2019/11/14 14:51:24 [DEBUG] …`, with at
  most one more ISO time in front: GitHub's) normalizes to a text that starts with its
  level or its date, so it can neither end an unframed block nor (at TRACE, DEBUG, INFO
  and WARN: blocks.LOG_LINE) start one; at those levels an unframed block does not even
  keep its text, nor the line less its first time stamp (LOG_LINE matches both);
- a line that holds none of the BLOCKING texts (a superset of what could make it end a
  block, be blank, carry a frame or a CI prefix, or be changed by strip_ansi) normalizes
  to its own stripped text (less a leading time stamp) and ends no unframed block, or it
  is such a TF_LOG line at TRACE..WARN (Go's time first, or two after GitHub's).

Lines of both kinds are "inert": while the job's block is open and unframed they are
appended to it (BlockAssembler.absorb) without being fed. tests/test_fastpath_exact.py
checks the supersets against blocks.py's and normalize.py's patterns, whose owners may
change them, and the outcome against the per-line path.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
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
# A TF_LOG line's time stamps; the rest of its line has no carriage return (a redraw
# would keep only its last part).
_LOG_TIMES = rb"(?:(?:" + _ISO + rb" ){1,2}|(?:" + _ISO + rb" )?" + _GO_TIME + rb" )"
TF_LOG = _LOG_TIMES + rb"%s[^\r\n]*"
# The start of a TF_LOG line at any level, the group set at ERROR: what _log_kind reads.
_LOG_START = re.compile(_LOG_TIMES + rb"\[(?:TRACE|DEBUG|INFO|WARN|(ERROR))\]")
_TEXT_START = re.compile(_LOG_START.pattern.decode("ascii"))  # the same, for str
# Kinds of an inert TF_LOG line (RowFlags.kind's 1 is any other inert line): at ERROR, and
# at TRACE..WARN (blocks.LOG_LINE after normalize: no unframed block keeps its text).
LOUD, QUIET = 2, 3

# Anywhere in a line: control characters (\r, ESC: strip_ansi splices what is around
# them), colour codes whose ESC was lost, and the parts of STRONG_START and OTHER_OUTPUT
# that follow a word of any characters.
_ANYWHERE = rb"[\x00-\x08\x0b-\x1f\x7f]|\[[0-9]{1,3}[;m]|: Error: |\((?:local|remote)-exec\): " \
    rb"|\xe2\x94\x82 Error: " \
    rb"|\.(?:tf|hcl|tfvars)(?:\.json)?:[0-9]+,[0-9]" \
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
    rb"|\* |error: |fatal: |panic: |!"
    rb"|Success! |Created and switched |\xe2\x95\xb7|\xe2\x94\x82|\xe2\x95\xb5|\xc3\xa2\xe2\x80\x9d"
    rb"|\xc3\xa2\xe2\x80\xa2|\?\?\?"
)
# At the start (after blanks, or after GitHub's time and blanks): a blank line, a
# non-ASCII character (Unicode blanks and digits), or the first characters of any
# normalize._CI_PREFIXES alternative.
_WRAP = (rb"\[(?:[0-9]|[\x80-\xff]|Pipeline\]|terragrunt\])|section_|##\[|::|(?:ERRO|WARN|INFO|DEBU|TRAC)\[|[\x80-\xff]"
         rb"|(?:STDOUT|STDERR|ERROR|WARN|INFO|DEBUG)[\s\x80-\xff]")


# Lines that start with a digit but not with one of a few time stamps, for BLOCKING:
# Hyperscan has no lookahead, so they are written out as the ways a line can depart from
# the stamps, read off a small deterministic automaton of them (byte sets to the next
# state; None: the stamp is complete, what follows does not matter), one character after
# the other (`1(?:[^2]|2(?:[^3]|3…)))`: Hyperscan scans that nesting fast).
_DIGIT = frozenset(b"0123456789")


@dataclass
class _State:
    edges: list[tuple[frozenset[int], _State | None]]
    loop: frozenset[int] = frozenset()  # bytes that stay in this state


def _chain(spell: str, then: _State | None) -> _State:
    """The states that read spell ('d': any digit, every other character itself)."""
    for ch in reversed(spell):
        then = _State([(_DIGIT if ch == "d" else frozenset(ch.encode()), then)])
    assert then is not None
    return then


def _seconds(then: _State | None, zone: bool) -> _State:
    """After a time's seconds: [.digits], with zone [Z | +hh[:]mm], then a space."""
    space = _State([(frozenset(b" "), then)])
    ends = [(frozenset(b" "), then)]
    if zone:
        hours = _State([(frozenset(b":"), _chain("dd", space)), (_DIGIT, _chain("d", space))])
        ends += [(frozenset(b"Z"), space), (frozenset(b"+-"), _chain("dd", hours))]
    return _State([(frozenset(b"."), _State([(_DIGIT, _State(ends, loop=_DIGIT))])), *ends])


def _stamps(iso: _State | None, go: _State | None) -> _State:
    """After a line's first digit: the rest of GitHub's time (_ISO) and a space, then iso;
    or of Go's log time (_GO_TIME) and a space, then go."""
    return _chain("ddd", _State([
        (frozenset(b"-"), _chain("dd-ddTdd:dd:dd", _seconds(iso, zone=True))),
        (frozenset(b"/"), _chain("dd/dd dd:dd:dd", _seconds(go, zone=False)))]))


_QUIET_LEVEL = _chain("[", _State([(frozenset(word[:1].encode()), _chain(word[1:] + "]", None))
                                   for word in ("TRACE", "DEBUG", "INFO", "WARN")]))


def _departures(state: _State) -> bytes:
    """A regex of the ways a text departs from what the automaton from state reads."""
    taken = set(state.loop)
    for chars, _ in state.edges:
        taken |= chars
    ways = [_class(set(range(256)) - taken)] if len(taken) < 256 else []
    ways += [_class(chars) + _departures(nxt) for chars, nxt in state.edges if nxt is not None]
    body = ways[0] if len(ways) == 1 else b"(?:" + b"|".join(ways) + b")"
    return _class(state.loop) + b"*" + body if state.loop else body


def _class(chars: set[int] | frozenset[int]) -> bytes:
    ranges: list[list[int]] = []
    for c in sorted(chars):
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return b"[" + b"".join(b"\\x%02x" % lo + (b"-\\x%02x" % hi if hi > lo else b"")
                           for lo, hi in ranges) + b"]"


# A line that may not be inert: its newline ends a match of one of these, or (from
# _DEPARTS on) the line departs from what they allow where one ends (maybe its newline).
BLOCKING = (
    rb"(?:" + _ANYWHERE + rb")[^\n]*\n",
    rb"^(?:" + _ISO + rb" )?[ \t]*\n",
    rb"^(?:" + _ISO + rb" )?[ \t]*(?:" + _STARTS + b"|" + _WRAP + rb")[^\n]*\n",
    rb"^(?:" + _ISO + rb" [ \t]+|[ \t]+)[0-9][^\n]*\n",
    # a text after GitHub's time that starts with a digit, but not with the stamps of a
    # TF_LOG line at TRACE..WARN
    rb"^" + _ISO + rb" [0-9]" + _departures(_stamps(_QUIET_LEVEL, _QUIET_LEVEL)),
    # a line that starts with a digit, but not with GitHub's time, nor with Go's of a
    # TF_LOG line at TRACE..WARN
    rb"^[0-9]" + _departures(_stamps(None, _QUIET_LEVEL)),
)
_DEPARTS = 4


@dataclass
class LineFlags:
    """The lines of data[start:end] that hold BLOCKING texts, by the offset of their
    newline (sorted). Of those, TF_LOG lines are inert all the same: found on use (run_end)
    and kept in `logs` (newline offset -> QUIET or LOUD)."""

    data: bytes
    start: int
    end: int
    blocking: list[int] = field(default_factory=list)
    logs: dict[int, int] = field(default_factory=dict)

    def run_end(self, pos: int) -> int:
        """Where the inert lines from pos (a line start) end: the start of the first line
        that must be fed, or end."""
        blocking, data, logs = self.blocking, self.data, self.logs
        i = bisect_left(blocking, pos)
        while i < len(blocking):
            nl = blocking[i]
            if nl not in logs:
                start = max(data.rfind(b"\n", pos, nl) + 1, pos)
                kind = _log_kind(data, start, nl)
                if not kind:
                    return start
                logs[nl] = kind
            i += 1
        return self.end

    def texts(self, pos: int, end: int) -> Iterator[str]:
        """The texts an unframed block gets of a run of inert lines data[pos:end] (pos: a
        run_end start, end: its run_end), lazily: normalize_line(line)[0], or a text that
        blocks.LOG_LINE matches as it does that one (a TF_LOG line at TRACE..WARN: the
        block drops either). Each line's own stripped text less its first time stamp (the
        only prefix a line without BLOCKING texts may start with: every other start is a
        _WRAP; for a TF_LOG line at TRACE..WARN, a text LOG_LINE matches), but those of
        TF_LOG lines at ERROR, which are normalized the long way."""
        data, blocking, logs = self.data, self.blocking, self.logs
        last = end - 1 if data[end - 1] == 10 else end  # a last line may lack its newline
        for nl in blocking[bisect_left(blocking, pos):bisect_right(blocking, last)]:
            if logs[nl] != LOUD:
                continue
            start = max(data.rfind(b"\n", pos, nl) + 1, pos)
            if start > pos:
                yield from _fast_texts(data, pos, start)
            yield normalize_line(data[start:nl].decode("utf-8", "replace"))[0]
            pos = nl + 1
        if pos < end:
            yield from _fast_texts(data, pos, end)


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
        if self._db is not None:
            self._db.scan(window, match_event_handler=lambda i, s, e, f, c: (
                departs if i >= _DEPARTS else hits).add(e))
        else:  # pragma: no cover
            for i, regex in enumerate(self._re2):
                (departs if i >= _DEPARTS else hits).update(
                    m.end() for m in regex.finditer(window))
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
        """Row i: 0 must be fed, 1 inert, else an inert TF_LOG line: LOUD (normalized the
        long way) or QUIET (no text: an unframed block drops it)."""
        if not self._start <= i < self._end:
            self._window(i)
        if i not in self._blocking:
            return 1
        return _text_kind(self._messages[i])

    def _window(self, i: int) -> None:
        self._size = min(self._size * 2, _ROWS[1]) if i == self._end else _ROWS[0]
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
    return _log_kind(line, 0, len(line)) == QUIET


def quiet_run(data: bytes, ends: list[int], k: int, pos: int) -> tuple[int, int]:
    """Where the lines from pos (the start of the line of hit k; ends: the end offsets of
    a scan's hits, ascending) end that are TF_LOG lines at TRACE..WARN wherever a hit is
    (is_log_line), and the first hit past them: while no block is open, none of them can
    start one (pos itself when the first hit's line is no such line)."""
    end, size = pos, len(data)
    while k < len(ends):
        start = max(data.rfind(b"\n", end, ends[k]) + 1, end)
        nl = data.find(b"\n", start)
        nl = size if nl < 0 else nl
        if _log_kind(data, start, nl) != QUIET:
            break
        end = min(nl + 1, size)
        k = bisect_right(ends, end, k)
    return end, k


def is_log_text(message: str) -> bool:
    """is_log_line for a decoded message."""
    return _text_kind(message) == QUIET


def _log_kind(data: bytes, start: int, end: int) -> int:
    """Whether data[start:end] (one line) is a TF_LOG line: QUIET, LOUD, or 0. The same as
    a fullmatch of TF_LOG, cheaper: its time stamps hold no carriage return."""
    match = _LOG_START.match(data, start, end)
    if match is None or data.find(b"\r", match.end(), end) >= 0:
        return 0
    return LOUD if match.group(1) else QUIET


def _text_kind(message: str) -> int:
    """_log_kind for a decoded message (a message of several lines is none)."""
    match = _TEXT_START.match(message)
    if match is None or "\r" in message or "\n" in message:
        return 0
    return LOUD if match.group(1) else QUIET


def _fast_texts(data: bytes, pos: int, end: int) -> Iterator[str]:
    """inert_text of each line without BLOCKING texts in data[pos:end] (whole lines; the
    last may lack its newline at the end of data), in slices of a few kilobytes."""
    while pos < end:
        cut = data.find(b"\n", pos + _SLICE, end)
        cut = end if cut < 0 else cut + 1
        lines = data[pos:cut].decode("utf-8", "replace").split("\n")
        if cut == end and data[end - 1] == 10:
            lines.pop()  # the empty string after the last newline
        yield from [raw[raw.index(" ") + 1:].strip() if raw[:1] in _DIGITS else raw.strip()
                    for raw in lines]  # _fast_text, inline
        pos = cut


def _fast_text(raw: str) -> str:
    return raw[raw.index(" ") + 1:].strip() if raw[:1] in _DIGITS else raw.strip()


def inert_text(raw: str, log: bool) -> str:
    """normalize_line(raw)[0] of one inert line (log: a TF_LOG line)."""
    if log:
        return normalize_line(raw)[0]
    return _fast_text(raw)


_DIGITS = frozenset("0123456789")
_SLICE = 8192
# Rows flagged at once, at first and at most (doubling while asked for the rows that
# follow): as pipeline._WINDOW, what a window holds past the rows asked for is scanned for
# nothing (on the realistic corpus's promtail shape 12 MB, not 32 MB with 256 to 16384).
_ROWS = (16, 64)
