"""The fast paths find exactly what the per-line and per-record paths find, on noisy input.

- raw logs: `process_text` in chunks (the `classify` path: inert lines taken in by an open
  block in runs, flagged TF_LOG lines not fed) against one `process` per line;
- events: `decode_lines` + `process_batch` (shipper shapes on msgspec's fast path, rows
  without a full Event) against `decode_record` + `process` per record;

on a small realistic corpus (benchmarks/realistic/generate.py: TF_LOG=DEBUG noise, plan
diffs, real failures, five shipper shapes) and on real TF_LOG=DEBUG runs with real failure
texts spliced in. Compared: every classified block (entry, job, first line, lines, fields),
the occurrences with their keys and fields, the dead ends, the positions and counts.

The supersets prefilter.py relies on are checked against the patterns they cover, which
other helpers own (blocks.STRONG_START / OTHER_OUTPUT, normalize._CI_PREFIXES): a line the
scan calls inert must normalize to a text that neither ends a block nor is blank.
"""

from __future__ import annotations

import json
import random
import re
import re._parser as sre_parse
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.core import matcher, prefilter
from worker.core.blocks import (
    LOG_LINE,
    OTHER_OUTPUT,
    STRONG_START,
    WEAK_START,
    BlockAssembler,
    _weak_start,
)
from worker.core.normalize import (
    _ANSI,
    _CI_PREFIXES,
    _CONTROL,
    _MANGLED_SGR,
    normalize_line,
    strip_ansi,
    strip_ci_prefix,
)
from worker.core.pipeline import Pipeline
from worker.decode.batch import decode_lines
from worker.decode.contract import DecodeError, DecodeOptions
from worker.decode.record import decode_record
from worker.model import Event, JobKey

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks" / "realistic"))
import generate as realistic  # noqa: E402

DATA = ROOT / "tests" / "data"
JOB = JobKey("local", "ci.log", 1, "ci.log")


@pytest.fixture(scope="module")
def corpus() -> realistic.Rendered:
    return realistic.render(24_000, seed=realistic.DEFAULT_SEED + 13)


def debug_mix(seed: int = 11) -> list[str]:
    """Real TF_LOG=DEBUG/TRACE successful runs, cut at random, each ending half the time in
    a real failure text (fit.jsonl) or a near miss."""
    rnd = random.Random(seed)
    logs = [p.read_text(encoding="utf-8", errors="replace").split("\n")
            for p in sorted((DATA / "success").glob("*.log"))]
    fits = [json.loads(line)["text"] for line in (DATA / "realworld" / "fit.jsonl")
            .read_text().splitlines()]
    lines: list[str] = []
    while len(lines) < 30_000:
        log = rnd.choice(logs)
        start = rnd.randrange(len(log))
        lines += log[start:start + rnd.randrange(50, 1500)]
        if rnd.random() < 0.5:
            lines += [""] + rnd.choice(fits).split("\n")
    return lines


# -- the outcome of a run --------------------------------------------------------------


def outcome(p: Pipeline) -> tuple:
    p.close()
    batch = p.take()
    matches = sorted((m.kb_id or "", m.block.job, m.block.line, m.block.lines,
                      sorted(m.fields.items())) for m in p.matches)
    occurrences = sorted((o.key, sorted(o.fields.items()), o.text, o.template_id)
                         for o in batch.occurrences)
    dead_ends = sorted((d.job, d.kb_id, d.signal) for d in batch.dead_ends)
    return (matches, occurrences, dead_ends, batch.positions, batch.events_ok,
            batch.events_invalid)


def pipeline(kb, classifier) -> Pipeline:
    p = Pipeline(kb, classifier, repo_entries=[(r, e.id) for e in kb
                                               for r in ("local", *(f"acme/{n}" for n in realistic.REPOS))])
    p.keep_matches = True
    return p


class Taken(Counter):
    """How often the fast paths took lines without feeding them (the test is not vacuous)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        super().__init__()
        for name in ("note", "absorb"):
            real = getattr(BlockAssembler, name)

            def spy(*args, _real=real, _name=name, **kw):
                self[_name] += 1
                return _real(*args, **kw)
            monkeypatch.setattr(BlockAssembler, name, spy)


# -- raw logs ----------------------------------------------------------------------------


def per_line(kb, classifier, lines: list[str]) -> tuple:
    p = pipeline(kb, classifier)
    for n, line in enumerate(lines, start=1):
        p.process(Event(line, 5.0, JOB.repo, JOB.run_id, job=JOB.job, line_number=n),
                  ("f", n - 1))
    return outcome(p)


def chunked(kb, classifier, lines: list[str], size: int) -> tuple:
    p = pipeline(kb, classifier)
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    number, pos = 1, 0
    while pos < len(data):  # whole lines, as sources.files.read_chunks cuts them
        end = data.find(b"\n", min(pos + size, len(data) - 1)) + 1 or len(data)
        p.process_text(JOB, data[pos:end], number, 5.0, "f")
        number += data.count(b"\n", pos, end)
        pos = end
    return outcome(p)


@pytest.mark.parametrize("source", ["realistic", "debug-mix"])
def test_raw_fast_path_equals_per_line_path(kb, classifier, corpus, source: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    lines = corpus.raw if source == "realistic" else debug_mix()
    expected = per_line(kb, classifier, lines)
    assert expected[0] and expected[1], "the corpus finds nothing: no test"
    taken = Taken(monkeypatch)
    for size in (1 << 12, 1 << 22):
        assert chunked(kb, classifier, lines, size) == expected, f"chunks of {size}"
    assert taken["absorb"] > 100 and taken["note"] > taken["absorb"]


# -- events in each shipper shape --------------------------------------------------------


def per_record(kb, classifier, lines: list[bytes]) -> tuple:
    p = pipeline(kb, classifier)
    for n, line in enumerate(lines):
        try:
            p.process(decode_record(line, None, 0.0), ("f", n))
        except DecodeError:
            p.invalid(("f", n))
    return outcome(p)


def batched(kb, classifier, lines: list[bytes], size: int) -> tuple:
    p = pipeline(kb, classifier)
    for start in range(0, len(lines), size):
        batch = decode_lines(b"\n".join(lines[start:start + size]), start, 0.0, DecodeOptions())
        assert all(e.kind == "job_end" for e in batch.special.values()), (
            "a shipper shape off the fast path")
        assert not p.process_batch(batch, "f")
    return outcome(p)


@pytest.mark.parametrize("shape", realistic.SHAPES)
def test_batch_fast_path_equals_per_record_path(kb, classifier, corpus, shape: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    lines = corpus.events[shape] + [orjson.dumps({"type": "job_end", "repo": "acme/x"})]
    expected = per_record(kb, classifier, lines)
    assert expected[0] and expected[1]
    taken = Taken(monkeypatch)
    for size in (97, 2000):
        assert batched(kb, classifier, lines, size) == expected, f"batches of {size}"
    assert taken["absorb"] > 100


# -- the supersets behind "inert" ----------------------------------------------------------


SCANNER = prefilter.LineScanner()


def inert(line: str) -> tuple[bool, list[str]]:
    """(is the line inert, the texts the raw fast path gives an open block of it) as
    LineScanner says."""
    data = line.encode("utf-8", "surrogatepass") + b"\n"
    flags = SCANNER.flags(data, 0, len(data))
    end = flags.run_end(0)
    return end == len(data), list(flags.texts(0, end)) if end == len(data) else []


def same_for_a_block(got: str, text: str) -> bool:
    """Whether an open unframed block does the same with the text got as with text: they
    are equal, or both logs it drops (blocks.LOG_LINE)."""
    return got == text or bool(LOG_LINE.match(got) and LOG_LINE.match(text))


def check_inert(line: str) -> None:
    is_inert, texts = inert(line)
    kind = prefilter.RowFlags(SCANNER, [line]).kind(0)  # the batch path's word on it
    assert bool(kind) == is_inert, f"the raw and batch paths differ: {line!r}"
    if not is_inert:
        return
    text, frame = normalize_line(line)
    assert frame is None and text, f"inert but blank or framed: {line!r}"
    assert not STRONG_START.match(text) and not OTHER_OUTPUT.match(text), (
        f"inert but it may end a block: {line!r} -> {text!r}")
    assert len(texts) == 1 and same_for_a_block(texts[0], text), f"inert text differs: {line!r}"
    if kind == prefilter.QUIET:
        assert LOG_LINE.match(text), f"quiet but kept: {line!r}"
    else:
        got = prefilter.inert_text(line, kind == prefilter.LOUD)
        assert same_for_a_block(got, text), f"inert text (batch path) differs: {line!r}"


def _spell(items: object, depth: int = 0) -> list[str]:
    """Strings a regex spells, one stand-in per class, repeats at their minimum and one
    more (assertions spell nothing); enough to try every alternative."""
    parts: list[list[str]] = []
    for op, arg in items:  # type: ignore[attr-defined]
        name = str(op)
        if name == "LITERAL":
            parts.append([chr(arg)])
        elif name == "IN":
            parts.append([_member(arg)])
        elif name == "BRANCH":
            parts.append([s for branch in arg[1] for s in _spell(branch, depth)])
        elif name == "SUBPATTERN":
            parts.append(_spell(arg[3], depth))
        elif name == "MAX_REPEAT":
            lo, hi, sub = arg
            once = _spell(sub, depth)[:3]
            parts.append(["".join(once[0] for _ in range(n)) for n in
                          range(lo, min(hi, lo + 1) + 1)])
        elif name in ("AT", "ASSERT_NOT"):
            continue
        else:
            raise AssertionError(f"regex node {name}: extend _spell")
    out = [""]
    for choices in parts:
        out = [a + b for a in out for b in choices][:400]
    return out


def _member(items: list) -> str:
    op, arg = items[0]
    if str(op) == "NEGATE":
        return "x"
    if str(op) == "LITERAL":
        return chr(arg)
    if str(op) == "RANGE":
        return chr(arg[0])
    return {"CATEGORY_WORD": "a", "CATEGORY_DIGIT": "7", "CATEGORY_SPACE": " ",
            "CATEGORY_NOT_SPACE": "x"}[str(arg)]


STARTS = [s for regex in (STRONG_START, OTHER_OUTPUT)
          for s in _spell(sre_parse.parse(regex.pattern, regex.flags))]
# One line of each CI prefix normalize strips (its _CI_PREFIXES alternatives, in order).
PREFIXES = ["2026-12-01T10:25:17.1234567Z ", "[2026-12-01T10:25:17.123Z] ", "[10:25:17] ",
            "section_start:1700000000:step_script[collapsed=true]", "[Pipeline] ",
            "##[group]", "::error file=main.tf::", "ERRO[0012] ", "[terragrunt] ",
            "STDOUT [mod] terraform: ", "2019/11/14 14:51:24 Terraform apply | ",
            "null_resource.seed (local-exec): "]
CONTEXTS = ["", "  ", "\t", "2026-12-01T10:25:17.1234567Z ", "2026-12-01T10:25:17Z   ",
            "\x1b[0m", "\u00a0", "│ ", *PREFIXES]


def test_every_ci_prefix_has_a_line_here() -> None:
    parsed = sre_parse.parse(_CI_PREFIXES.pattern, _CI_PREFIXES.flags)
    (_, alternatives), = [arg for op, arg in parsed if str(op) == "BRANCH"]
    assert len(alternatives) == 12, ("normalize._CI_PREFIXES changed: add a line of the new "
                                     "prefix to PREFIXES and check prefilter._WRAP covers it")
    for prefix in PREFIXES:
        assert _CI_PREFIXES.match(prefix + "x"), prefix


def _strip_ci_prefix_by_definition(line: str) -> str:
    """normalize.strip_ci_prefix as it reads: _CI_PREFIXES off the start, up to 4 times."""
    for _ in range(4):
        stripped = _CI_PREFIXES.sub("", line, count=1)
        if stripped == line:
            break
        line = stripped
    return line


_PREFIX_TOKENS = st.sampled_from([*PREFIXES, "x", " ", "Error: x", "٣", "߀", "²", "7", "[", "#",
                                  "s", "S", "E", "::", "DEBU[0001] ", "-exec): ", "a.b (remote",
                                  "ٰ2026-12-01T10:25:17Z ", "١٢:٣٤:٥٦ ", "\x1b[0m", "[0m", "[1;31m"])


@settings(derandomize=True, database=None, max_examples=2000, deadline=None)
@given(st.lists(_PREFIX_TOKENS, max_size=6))
def test_normalize_skips_no_prefix_and_no_colour_code(tokens: list[str]) -> None:
    """strip_ci_prefix's first-character shortcut and strip_ansi's literal search before
    _MANGLED_SGR change nothing (Unicode digits included: \\d is not [0-9])."""
    line = "".join(tokens)
    assert strip_ci_prefix(line) == _strip_ci_prefix_by_definition(line), line
    assert strip_ansi(line) == _CONTROL.sub("", _MANGLED_SGR.sub("", _ANSI.sub("", line))), line


@pytest.mark.parametrize("context", CONTEXTS, ids=range(len(CONTEXTS)))
def test_no_line_that_may_end_a_block_is_inert(context: str) -> None:
    assert len(STARTS) > 40
    for start in STARTS:
        for line in (context + start, context + start + " x", context + "  " + start):
            check_inert(line)
        assert not inert(context + start)[0] or normalize_line(context + start)[0] == ""


def test_tf_log_lines() -> None:
    for line in ("2026-12-01T10:25:17.280Z [DEBUG] provider: error=<nil>",
                 "2026-12-01T10:25:17.1234567Z 2026-12-01T10:25:17.280Z [TRACE] Error: x",
                 "2019/11/14 14:51:24 [WARN] Failed to x", "2026-12-01T10:25:17Z [INFO]  + x"):
        assert prefilter.is_log_line(line.encode())
        assert inert(line)[0], line
        check_inert(line)
    for line in ("2026-12-01T10:25:17.280Z [ERROR] x", "2026-12-01T10:25:17.280Z [DEBUG] x\rError",
                 "[DEBUG] x", "2026-12-01T10:25:17.280Z\t[DEBUG] x"):
        assert not prefilter.is_log_line(line.encode()), line


_TOKENS = st.sampled_from([*PREFIXES, *STARTS[:60], " ", "\t", "  ", "x", "word", "7", ": ",
                           "[0m", "\x1b[31m", "\r", "╷", "│", "╵", "â”‚", "???", "\u00a0",
                           "2026-12-01T10:25:17.280Z ", "[DEBUG] ", "[ERROR] ", "-> ", "é",
                           "2019/11/14 14:51:24 ", "12 ", "\x00", "Error", "+ "])


@settings(derandomize=True, database=None, max_examples=1500, deadline=None)
@given(st.lists(_TOKENS, max_size=6))
def test_random_lines_the_scan_calls_inert_normalize_as_it_says(tokens: list[str]) -> None:
    check_inert("".join(tokens))


# -- the cheaper checks the fast paths make instead of a feed ------------------------------

_STAMPS = ["2026-12-01T10:25:17.280Z ", "2026-12-01T10:25:17.1234567Z ", "2026-12-01T10:25:17Z ",
           "2026-12-01T10:25:17.280+0000 ", "2026-12-01T10:25:17-05:00 ", "2019/11/14 14:51:24 ",
           "2019/11/14 14:51:24.123 ", "2026-12-01T10:25:17 "]
_BODY = st.sampled_from(["", " ", "  ", "x", "Error: x", "╷", "│ Error", "\x1b[31m", "[0m", "\x00",
                         "\t", "é", "\u00a0", "Failed to x", "+ y", "$ ls", "Terraform v1.5.0",
                         "provider: error=<nil>", "2026-12-01T10:25:17Z ", "\r", "[ERROR] "])


@settings(derandomize=True, database=None, max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_STAMPS), min_size=1, max_size=3),
       st.sampled_from(["[TRACE]", "[DEBUG]", "[INFO]", "[WARN]", "[ERROR]", "[debug]", "[WARN"]),
       st.lists(_BODY, max_size=5))
def test_a_quiet_tf_log_line_changes_no_block_but_its_count(stamps: list[str], level: str,
                                                            body: list[str]) -> None:
    """What lets the fast paths count a TF_LOG line at TRACE..WARN (is_log_line) without
    feeding it: with no block open it opens none; an open unframed block keeps none of its
    text (blocks.absorb of nothing for it, prefilter.QUIET)."""
    line = "".join(stamps) + level + "".join(body)
    assert prefilter.is_log_text(line) == prefilter.is_log_line(line.encode()), line
    if not prefilter.is_log_line(line.encode()):
        assert not re.fullmatch(prefilter.TF_LOG.decode() % r"\[(?:TRACE|DEBUG|INFO|WARN)\]",
                                line), line
        return
    idle = BlockAssembler()
    idle.feed(JOB, line, 1.0)
    assert not idle.has_open(JOB), f"a TF_LOG line opened a block: {line!r}"
    for before in ([], [""]):
        fed, absorbed = BlockAssembler(), BlockAssembler()
        for a in (fed, absorbed):
            for raw in ["Error: x", *before]:
                a.feed(JOB, raw, 1.0)
        fed.feed(JOB, line, 1.0)
        absorbed.note(JOB, 1, 1.0)
        absorbed.absorb(JOB, ())
        assert fed._jobs[JOB] == absorbed._jobs[JOB], line


_LEVEL = rb"\[(?:TRACE|DEBUG|INFO|WARN)\]"
_AFTER_ISO = re.compile(prefilter._ISO + b" (?=[0-9])")
_QUIET_STAMPS = re.compile(b"(?:" + prefilter._ISO + b"|" + prefilter._GO_TIME + b") " + _LEVEL)
_ISO_FIRST = re.compile(prefilter._ISO + b" ")
_GO_FIRST = re.compile(prefilter._GO_TIME + b" " + _LEVEL)


def _departs_by_definition(line: bytes) -> tuple[bool, bool]:
    """What BLOCKING's two departure patterns are to find, as their comments say: (a text
    after GitHub's time that starts with a digit but not with the stamps of a TF_LOG line
    at TRACE..WARN, a line that starts with a digit but neither with GitHub's time nor
    with Go's of such a TF_LOG line)."""
    after = _AFTER_ISO.match(line)
    return (after is not None and not _QUIET_STAMPS.match(line, after.end()),
            line[:1].isdigit() and not _ISO_FIRST.match(line) and not _GO_FIRST.match(line))


def test_the_departure_patterns_are_what_they_say() -> None:
    """Every cut of the time stamps (each form, with a level or none), followed by every
    one or two of the characters that continue or depart from one, alone and after
    GitHub's time."""
    stamps = ["2026-12-01T10:25:17", "2026-12-01T10:25:17.280", "2026-12-01T10:25:17.280Z",
              "2026-12-01T10:25:17+05:00", "2026-12-01T10:25:17-0500", "2026-12-01T10:25:17Z",
              "2026-12-01T10:25:17.1234567+0000", "2019/11/14 14:51:24",
              "2019/11/14 14:51:24.123"]
    stamps += [f"{s} [{level}]" for s in stamps for level in ("TRACE", "DEBUG", "INFO",
                                                               "WARN", "ERROR")]
    chars = "07-T:./Z+ x[]DW\t"
    tails = ["", *chars, *(a + b for a in chars for b in chars)]
    after, alone = (re.compile(p) for p in prefilter.BLOCKING[prefilter._DEPARTS:])
    tried = 0
    for stamp in stamps:
        for cut in range(1, len(stamp) + 1):
            for tail in tails:
                line = (stamp[:cut] + tail).encode()
                for prefix in (b"", b"2026-12-01T10:25:17.1234567Z "):
                    got = (after.match(prefix + line + b"\n") is not None,
                           alone.match(prefix + line + b"\n") is not None)
                    assert got == _departs_by_definition(prefix + line), prefix + line
                    tried += 1
    assert tried > 50_000


WEAKS = _spell(sre_parse.parse(WEAK_START.pattern, WEAK_START.flags))
_AROUND = st.text("abcXYZ09 _.:-*\"()[]╷│éİıſKkSsIi\u00a0", max_size=6)


@settings(derandomize=True, database=None, max_examples=1500, deadline=None)
@given(st.sampled_from(WEAKS), st.data(), _AROUND, _AROUND)
def test_weak_start_by_hyperscan_is_weak_start(core: str, data: st.DataObject, before: str,
                                               after: str) -> None:
    """blocks._weak_start (matcher.caseless_search) against WEAK_START.search, with cases
    flipped and letters swapped for those Unicode folds into ASCII ones (K, ſ, İ, ı)."""
    folds = {"k": "K", "s": "ſ", "i": "ı", "I": "İ"}
    picks = data.draw(st.lists(st.integers(0, 2), min_size=len(core), max_size=len(core)))
    varied = "".join(c if p == 0 else c.swapcase() if p == 1 else folds.get(c, c)
                     for c, p in zip(core, picks, strict=True))
    for line in (varied, before + varied + after, before + after):
        assert _weak_start(line) == (WEAK_START.search(line) is not None), line


def test_weak_start_by_hyperscan_on_the_corpus(corpus: realistic.Rendered) -> None:
    texts = {normalize_line(line)[0] for line in corpus.raw}
    assert sum(WEAK_START.search(t) is not None for t in texts) > 100
    assert [t for t in texts if _weak_start(t) != (WEAK_START.search(t) is not None)] == []


@pytest.mark.parametrize("pattern", ["a.b", "[^x]y", "a(?=b)", "(?<!a)b", "ab$", "é", r"\W"])
def test_caseless_search_refuses_what_it_cannot_run_as_re_does(pattern: str) -> None:
    with pytest.raises(ValueError):
        matcher.caseless_search(re.compile(pattern, re.IGNORECASE | re.ASCII))
    with pytest.raises(ValueError):
        matcher.caseless_search(re.compile("ab", re.IGNORECASE))  # Unicode folding


# -- shipper shapes mixed in one chunk ----------------------------------------------------

_VALUES = {"message": st.sampled_from(["Error: x", "ok", "", None, 3]),
           "timestamp": st.sampled_from(["2026-12-01T10:25:17.123456789Z", 1793700000.5,
                                         1793700000123, None, "yesterday"]),
           "line_number": st.sampled_from([1, 7, "8", None, -1])}
_ANY = st.sampled_from(["acme/x", "r2", "r3", "plan", 42, 7, "acme/x", "r2", "", None, 2**63,
                        -3, 1.5, {"nested": [1]}])


@st.composite
def _record(draw: st.DrawFn) -> bytes:
    """A record holding some aliases of each field (in any order), nested metadata, and
    now and then a control field."""
    from worker.decode.contract import ALIASES
    obj: dict = {}
    for name, keys in ALIASES.items():
        for key in draw(st.lists(st.sampled_from(keys), max_size=2, unique=True)):
            obj[key] = draw(_VALUES.get(name, _ANY))
    if draw(st.booleans()):
        obj["kubernetes"] = {"pod_name": "p", "labels": {"job": "ci"}}
    if draw(st.integers(0, 9)) == 0:
        obj["type"] = draw(st.sampled_from(["job_end", "log"]))
    items = list(obj.items())
    return orjson.dumps(dict(draw(st.permutations(items))) if items else {})


def test_a_later_record_without_the_first_ones_alias_takes_its_own() -> None:
    """The first record names the repo `repository`; the next one only `project` (a later
    alias): it must not get the default repo from the first one's shape."""
    records = [orjson.dumps(r) for r in (
        {"log": "a", "repository": "r1", "job": 1}, {"log": "b", "project": "r2", "job": 2},
        {"log": "c"}, {"log": "d", "repository": "r3", "project": "p", "job": 3})]
    batch = decode_lines(b"\n".join(records), 0, 5.0, DecodeOptions())
    assert [batch.event(i).repo for i in range(len(batch))] == ["r1", "r2", "unknown", "r3"]
    assert [batch.event(i) for i in range(len(batch))] == [
        decode_record(r, None, 5.0) for r in records]


@settings(derandomize=True, database=None, max_examples=300, deadline=None)
@given(st.lists(_record(), min_size=1, max_size=12))
def test_mixed_shapes_decode_as_record_by_record(records: list[bytes]) -> None:
    opts = DecodeOptions()
    batch = decode_lines(b"\n".join(records), 0, 5.0, opts)
    got = [batch.event(i) for i in range(len(batch))]
    expected, errors = [], []
    for n, line in enumerate(records):
        try:
            expected.append(decode_record(line, None, 5.0, opts))
        except DecodeError as exc:
            errors.append((n, str(exc)))
    assert got == expected
    assert [(n, reason) for n, reason, _ in batch.errors] == errors
