"""`tfpulse kb lint` and `tfpulse kb test`: prove the knowledge base, entry by entry.

lint: the schema (via load_kb), every pattern compiles in RE2 and in Hyperscan, and a
pattern that can match a newline says `multiline: true`.
test: every example, run through the whole pipeline as a job's log, is classified as its
entry with the fields it lists; no counter-example is matched by its entry; an example
claimed by another entry is reported as stolen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import re2

from worker import DATA_DIR
from worker.core import matcher
from worker.core.classify import Classifier
from worker.core.pipeline import Pipeline
from worker.knowledge.loader import Entry, KbError, KnowledgeBase, load_kb
from worker.model import Event, Match

ORDINARY_LINES = DATA_DIR / "ordinary-lines.txt"

try:  # Python's own parser of regex syntax: RE2 syntax is (nearly) a subset of it
    import re._parser as sre_parse
    from re import _constants as sre_c  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as sre_c
    import sre_parse


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def lint(root: Path) -> tuple[KnowledgeBase | None, CheckReport]:
    report = CheckReport()
    try:
        kb = load_kb(root)
    except KbError as exc:
        report.problems.extend(exc.problems)
        return None, report
    ordinary = [line for line in ORDINARY_LINES.read_text().splitlines()
                if line and not line.startswith("#")]
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


def run_text(pipeline: Pipeline, text: str) -> list[Match]:
    """Run one job's raw log text through the pipeline; every Match produced."""
    pipeline.keep_matches = True
    pipeline.matches = []
    for n, line in enumerate(text.split("\n"), start=1):
        pipeline.process(Event(message=line, timestamp=0.0, line_number=n))
    pipeline.close()
    pipeline.take()
    return pipeline.matches


def test(kb: KnowledgeBase, classifier: Classifier | None = None) -> CheckReport:
    classifier = classifier or Classifier(kb)
    report = CheckReport()
    for entry in kb.entries.values():
        for i, example in enumerate(entry.examples):
            report.checked += 1
            problem = _check_example(kb, classifier, entry, example.text, example.fields)
            if problem:
                report.problems.append(f"{entry.path}:{example.line}: examples[{i}]: {problem}")
        for i, counter in enumerate(entry.counter_examples):
            report.checked += 1
            hits = [e.id for e in classifier.candidates(_normalized(counter.text))]
            matches = run_text(Pipeline(kb, classifier), counter.text)
            hit = entry.id in hits or any(entry.id == m.kb_id or entry.id in m.also_matched
                                          for m in matches)
            if hit:
                report.problems.append(f"{entry.path}:{counter.line}: counter_examples[{i}]: "
                                       f"matched by the entry's own patterns")
    return report


def _check_example(kb: KnowledgeBase, classifier: Classifier, entry: Entry, text: str,
                   fields: dict[str, str] | object) -> str | None:
    matches = run_text(Pipeline(kb, classifier), text)
    mine = [m for m in matches if m.kb_id == entry.id]
    if not mine:
        if not matches:
            return "no Terraform error block was detected in the text"
        claimed = sorted({m.kb_id or "(unclassified)" for m in matches})
        also = any(entry.id in m.also_matched for m in matches)
        how = "outranked by" if also else "classified as"
        return f"{how} {', '.join(claimed)}" + ("" if also else
                                                 " (the entry's patterns do not match)")
    want = dict(fields) if isinstance(fields, dict) else {}
    for m in mine:
        if all(m.fields.get(k) == v for k, v in want.items()):
            return None
    got = {k: v for k, v in mine[0].fields.items()}
    return f"fields differ: expected {want}, extracted {got}"


_FRAME = re.compile(r"^\s*[╷│╵]\s?", re.M)


def _normalized(text: str) -> str:
    return "\n".join(line.strip() for line in _FRAME.sub("", text).split("\n"))
