"""The invariant stated in worker/core/blocks.py: every line that STRONG_START or WEAK_START
can accept contains a match of TRIGGER (the pipeline skips, unread, every message without
one). Only that direction is tested: TRIGGER may match lines that start no block.

The lines tried: every alternative of STRONG_START and WEAK_START, read from the regexes'
own source (so a new alternative is tried as soon as it is added), as is and with its case
varied, wrapped in random text (non-ASCII and Terraform's frame characters included); and
every line of every example and counter-example of the bundled KB.
"""

from __future__ import annotations

import itertools
import re
import re._parser as sre_parse
import string

import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.core.blocks import STRONG_START, TRIGGER, WEAK_START, _starts
from worker.core.normalize import normalize_line
from worker.knowledge.loader import default_kb_dir, load_kb

# Stand-ins for a character class: its bounds and middle for a range, a few for \w.
_WORD = "aZ_09éß字"
_CONTEXT = (string.ascii_letters + string.digits + string.punctuation + " \t"
            + "╷│╵┃─ éßüİıſK字日本語😀\u00a0\u200b\u2028")


def _members(items: list[tuple[object, object]]) -> list[str]:
    out: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "RANGE":
            lo, hi = arg
            out += [chr(lo), chr((lo + hi) // 2), chr(hi)]
        elif name == "CATEGORY" and str(arg) == "CATEGORY_WORD":
            out += _WORD
        else:
            raise AssertionError(f"character class item {name} {arg}: extend _members")
    return list(dict.fromkeys(out))


def _expand(items: object) -> list[str]:
    """Every string the (sub)pattern spells, one stand-in per class member, repeats at their
    minimum and one more; zero-width assertions (^, \\b, (?!…)) spell nothing."""
    parts: list[list[str]] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            parts.append([chr(arg)])
        elif name == "IN":
            parts.append(_members(arg))
        elif name == "BRANCH":
            parts.append([s for branch in arg[1] for s in _expand(branch)])
        elif name == "SUBPATTERN":
            parts.append(_expand(arg[3]))
        elif name == "MAX_REPEAT":
            lo, hi, sub = arg
            once = _expand(sub)
            parts.append(["".join(p) for n in range(lo, min(hi, lo + 1) + 1)
                          for p in itertools.product(once, repeat=n)])
        elif name in ("AT", "ASSERT_NOT"):
            continue
        else:
            raise AssertionError(f"regex node {name}: extend _expand")
    return _combine(parts)


# Past this many strings a (sub)pattern's product is sampled (HCL's `file.tf:1,1-7: X` spells
# millions): every stand-in of every part still appears, each in a few combinations.
_MAX_PRODUCT = 20_000


def _combine(parts: list[list[str]]) -> list[str]:
    size = 1
    for part in parts:
        size *= len(part)
    if size <= _MAX_PRODUCT:
        return ["".join(p) for p in itertools.product(*parts)]
    rows = 4 * max(len(part) for part in parts)
    return list(dict.fromkeys(
        "".join(part[(i * (2 * j + 1) + j) % len(part)] for j, part in enumerate(parts))
        for i in range(rows)))


def _alternatives(pattern: re.Pattern[str]) -> list[str]:
    return _expand(sre_parse.parse(pattern.pattern, pattern.flags))


CORES = list(dict.fromkeys(_alternatives(STRONG_START) + _alternatives(WEAK_START)))
KB = load_kb(default_kb_dir())
KB_LINES = sorted({line for entry in KB for ex in (*entry.examples, *entry.counter_examples)
                   for raw in ex.text.split("\n") for line in (raw, normalize_line(raw)[0])})


def _triggered(line: str) -> bool:
    return re2.search(TRIGGER, line) is not None


def test_the_alternatives_are_read_from_the_regexes() -> None:
    assert {"Error", "Failed to a", "Could not download", "Argument or block definition "
            "required", "unauthorised", "unauthorized", "limitexceeded", "limit exceeded",
            "timed out", "conflict"} <= set(CORES)
    assert any(core.endswith(": Error: ") for core in CORES)
    assert all(_starts(core) for core in CORES), "an expansion the regexes do not accept"


@pytest.mark.parametrize("case", [str, str.upper, str.lower, str.title, str.swapcase],
                         ids=["as-is", "upper", "lower", "title", "swapcase"])
@pytest.mark.parametrize("frame", ["", "│ ", "╷", "  "], ids=["bare", "bar", "top", "indent"])
def test_every_alternative_contains_a_trigger(case, frame: str) -> None:
    missed = [line for line in (frame + case(core) for core in CORES)
              if _starts(line) and not _triggered(line)]
    assert not missed, f"accepted as a block start but no TRIGGER match: {missed}"


@settings(derandomize=True, database=None, max_examples=400, deadline=None)
@given(core=st.sampled_from(CORES), data=st.data(),
       prefix=st.text(_CONTEXT, max_size=12), suffix=st.text(_CONTEXT, max_size=12))
def test_varied_alternatives_in_random_text_contain_a_trigger(
        core: str, data: st.DataObject, prefix: str, suffix: str) -> None:
    flips = data.draw(st.lists(st.booleans(), min_size=len(core), max_size=len(core)))
    line = prefix + "".join(c.swapcase() if f else c for c, f in zip(core, flips,
                                                                       strict=True)) + suffix
    if _starts(line):
        assert _triggered(line), f"accepted as a block start but no TRIGGER match: {line!r}"


def test_every_kb_example_line_that_starts_a_block_contains_a_trigger() -> None:
    accepted = [line for line in KB_LINES if _starts(line)]
    assert accepted
    missed = [line for line in accepted if not _triggered(line)]
    assert not missed, f"accepted as a block start but no TRIGGER match: {missed}"


def test_dotted_and_dotless_i() -> None:
    """Found by this file: Python's re.IGNORECASE let WEAK_START's 'i' match U+0130 'İ' and
    U+0131 'ı', RE2's (?i) in TRIGGER does not; WEAK_START is ASCII-only case-blind now."""
    for line in ("faıled", "İnvalid value"):
        assert not _starts(line) or _triggered(line), line
