"""`tfpulse kb lint`: the schema (via load_kb), every pattern compiles in RE2 and in
Hyperscan, a pattern that can match a newline says `multiline: true`, no dead-end
signal matches an ordinary CI line, and every family named has exactly one fallback.
"""

from __future__ import annotations

from pathlib import Path

import re2

from worker import DATA_DIR
from worker.core import matcher
from worker.kbtools.report import CheckReport
from worker.knowledge.entry import KbError, KnowledgeBase
from worker.knowledge.loader import load_kb

ORDINARY_LINES = DATA_DIR / "ordinary-lines.txt"

try:  # Python's own parser of regex syntax: RE2 syntax is (nearly) a subset of it
    import re._parser as sre_parse
    from re import _constants as sre_c  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as sre_c
    import sre_parse


def lint(root: Path) -> tuple[KnowledgeBase | None, CheckReport]:
    report = CheckReport()
    try:
        kb = load_kb(root)
    except KbError as exc:
        report.problems.extend(exc.problems)
        return None, report
    ordinary = [line for line in ORDINARY_LINES.read_text().splitlines()
                if line and not line.startswith("#")]
    report.problems.extend(_fallback_problems(kb))
    for entry in kb.entries.values():
        for i, signal in enumerate(entry.dead_end_signals):
            hits = [line for line in ordinary if re2.search(signal.regex, line)]
            if hits:
                report.problems.append(
                    f"{entry.path}: dead_end_signals[{i}].regex: matches an ordinary CI line "
                    f"({hits[0]!r}), so every run would count as a dead end; make it specific "
                    "to the dead end (a flag, a command) or remove it")
        for i, pattern in enumerate(entry.patterns):
            report.checked += 1
            where = f"{entry.path}: patterns[{i}].regex"
            err = matcher.hyperscan_compile_error(pattern.regex)
            if err:
                report.problems.append(f"{where}: does not compile in Hyperscan ({err})")
            if not pattern.multiline and can_match_newline(pattern.regex):
                report.problems.append(
                    f"{where}: can match across a newline (\\s, [^…], \\n or (?s)); use ' ' "
                    "or [^\\n], or declare `multiline: true`")
    return kb, report


def _fallback_problems(kb: KnowledgeBase) -> list[str]:
    """A family named by an entry needs one generic fallback entry (`fallback: true`)."""
    named = {e.family for e in kb if e.family}
    fallbacks: dict[str, list[str]] = {}
    for e in kb:
        if e.fallback and e.family:
            fallbacks.setdefault(e.family, []).append(str(e.path))
    problems = [f"{kb.root}: family {f!r}: no fallback entry; add one with `fallback: true` "
                "and a low priority that catches what no specific entry does"
                for f in sorted(named - set(fallbacks))]
    problems += [f"{paths[1]}:1: fallback: family {f!r} already has a fallback ({paths[0]})"
                 for f, paths in sorted(fallbacks.items()) if len(paths) > 1]
    return problems


def can_match_newline(regex: str) -> bool:
    """True when some part of the pattern can consume a '\\n' (or we cannot tell)."""
    try:
        parsed = sre_parse.parse(regex)
    except Exception:
        return True
    dotall = bool(parsed.state.flags & sre_c.SRE_FLAG_DOTALL)
    return _walk(parsed, dotall)


_NL = ord("\n")
_NL_CATEGORIES = {"CATEGORY_SPACE", "CATEGORY_NOT_DIGIT", "CATEGORY_NOT_WORD",
                  "CATEGORY_LINEBREAK", "CATEGORY_UNI_SPACE", "CATEGORY_UNI_NOT_DIGIT",
                  "CATEGORY_UNI_NOT_WORD", "CATEGORY_UNI_LINEBREAK"}


def _walk(items: object, dotall: bool) -> bool:
    for op, arg in items:  # type: ignore[attr-defined]
        name = str(op)
        if name == "LITERAL" and arg == _NL:
            return True
        if name == "NOT_LITERAL" and arg != _NL:
            return True
        if name == "ANY" and dotall:
            return True
        if name == "IN" and _set_has_newline(arg):
            return True
        if name == "SUBPATTERN":
            _group, add, _del, sub = arg
            if _walk(sub, dotall or bool(add & sre_c.SRE_FLAG_DOTALL)):
                return True
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if _walk(arg[2], dotall):
                return True
        elif name == "BRANCH":
            if any(_walk(branch, dotall) for branch in arg[1]):
                return True
        elif name == "ATOMIC_GROUP" and _walk(arg, dotall):
            return True
    return False


def _set_has_newline(items: list[tuple[object, object]]) -> bool:
    negate = False
    hit = False
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            hit = hit or arg == _NL
        elif name == "RANGE":
            bounds: tuple[int, int] = arg  # type: ignore[assignment]
            hit = hit or bounds[0] <= _NL <= bounds[1]
        elif name == "CATEGORY":
            hit = hit or str(arg) in _NL_CATEGORIES
    return hit != negate
