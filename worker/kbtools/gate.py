"""The precision gate of `tfpulse kb draft`: a draft is written only when

1. it is a valid entry (schema, RE2 and Hyperscan, no newline-crossing unless multiline);
2. its patterns match nothing in the success corpus (real successful runs: searched line
   by line as patterns see them, and run through the pipeline as `kb test` does);
3. its patterns match no example of another entry (nor of another draft);
4. `kb test` stays green with the drafts added: the draft's own examples are classified
   as the draft and its counter-examples are not (no other entry's result can change:
   a shadow entry never takes a live match, and 3 keeps it off shadow entries' examples).

elastic-recheck's "a fingerprint that hits successful runs is too broad", made mechanical.
Pure: the success corpus comes in as (name, bytes) pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import re2

from worker.core import matcher
from worker.core.classify import Classifier
from worker.core.normalize import normalize_line
from worker.kbtools.draft import Draft, search_text
from worker.kbtools.importer import to_yaml
from worker.kbtools.lint import can_match_newline
from worker.kbtools.test import check_counter_example, check_example, success_matches
from worker.knowledge.entry import Entry, KnowledgeBase
from worker.knowledge.loader import load_entry


@dataclass
class GateResult:
    passed: list[Draft] = field(default_factory=list)
    refused: list[tuple[Draft, list[str]]] = field(default_factory=list)


def gate(drafts: Sequence[Draft], kb: KnowledgeBase,
         success: Sequence[tuple[str, bytes]]) -> GateResult:
    """Which drafts pass, and why each refused one does not (every reason found)."""
    entries: dict[str, Entry] = {}
    reasons: dict[str, list[str]] = {d.kb_id: [] for d in drafts}
    for d in drafts:
        entry, problems = as_entry(d, kb)
        reasons[d.kb_id] += problems
        if entry is not None:
            entries[d.kb_id] = entry
    lines = [(name, n, text) for name, data in success
             for n, text in enumerate(_normalized_lines(data), start=1)]
    for kb_id, entry in entries.items():
        others = [e for e in (*kb, *entries.values()) if e.id != kb_id]
        reasons[kb_id] += success_hits(entry, lines) + example_hits(entry, others)
    survivors = {k: e for k, e in entries.items() if not reasons[k]}
    if survivors:
        for kb_id, problem in kb_test_problems(kb, survivors, success):
            reasons[kb_id].append(problem)
    result = GateResult()
    for d in drafts:
        if reasons[d.kb_id]:
            result.refused.append((d, reasons[d.kb_id]))
        else:
            result.passed.append(d)
    return result


def as_entry(draft: Draft, kb: KnowledgeBase) -> tuple[Entry | None, list[str]]:
    """The draft loaded as an entry of kb (as if its file were kb/<id>.yaml), or why not."""
    path = kb.root / f"{draft.kb_id}.yaml"
    entry, problems = load_entry(path, kb.root, to_yaml(draft.data))
    if entry is None:
        return None, [f"not a valid entry: {p.split(': ', 1)[-1]}" for p in problems]
    for i, pattern in enumerate(entry.patterns):
        err = matcher.hyperscan_compile_error(pattern.regex)
        if err:
            problems.append(f"patterns[{i}] does not compile in Hyperscan ({err})")
        if not pattern.multiline and can_match_newline(pattern.regex):
            problems.append(f"patterns[{i}] can match across a newline")
    return entry, problems


def _normalized_lines(data: bytes) -> list[str]:
    return [normalize_line(raw)[0] for raw in data.decode("utf-8", "replace").split("\n")]


def success_hits(entry: Entry, lines: Sequence[tuple[str, int, str]]) -> list[str]:
    """The success-corpus lines a pattern matches (a multi-line pattern: from that line on)."""
    found = []
    for pattern in entry.patterns:
        regex = re2.compile(pattern.regex)
        for i, (name, n, text) in enumerate(lines):
            window = text if not pattern.multiline else "\n".join(
                t for nm, _, t in lines[i:i + 20] if nm == name)
            if regex.search(window):
                found.append(f"matches the success corpus: {name}:{n}: {text[:120]}")
                break
    return found


def example_hits(entry: Entry, others: Sequence[Entry]) -> list[str]:
    """Other entries' examples that the draft's patterns match."""
    regexes = [re2.compile(p.regex) for p in entry.patterns]
    return [f"matches an example of {other.id} ({other.path}:{example.line})"
            for other in others for example in other.examples
            if any(r.search(search_text(example.text)) for r in regexes)]


def kb_test_problems(kb: KnowledgeBase, drafts: dict[str, Entry],
                     success: Sequence[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """`kb test` with the drafts added: (draft id, problem). Only the drafts' own cases
    run: no other entry's result can change, since a shadow entry never takes a live
    entry's match and step 3 refused any draft matching another (shadow) entry's example."""
    merged = KnowledgeBase({**kb.entries, **drafts}, kb.root, kb.version, kb.masks,
                           kb.tag_rules)
    classifier = Classifier(merged)
    found: list[tuple[str, str]] = []
    for name, data in success:
        found += [(k, f"kb test: the success corpus fails: {name}:{m.block.line}: "
                      f"{m.block.lines[0][:120]}")
                  for m in success_matches(merged, classifier, data)
                  for k in drafts if k == m.kb_id or k in m.also_matched]
    for kb_id, entry in drafts.items():
        for key, cases, check in (("examples", entry.examples, check_example),
                                  ("counter_examples", entry.counter_examples,
                                   check_counter_example)):
            for i, case in enumerate(cases):
                problem = check(merged, classifier, entry, case)
                if problem:
                    found.append((kb_id, f"kb test: {key}[{i}]: {problem}"))
    return found
