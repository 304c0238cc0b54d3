"""`tfpulse kb test`: every example, run through the whole pipeline as a job's log, is
classified as its entry with the fields it lists; no counter-example is matched by its
entry; an example claimed by another entry is reported as stolen; and no failure at all is
detected in the success corpus (tests/data/success/*.log, real successful Terraform runs).

check_example and check_counter_example check one case each (tests/test_kb_examples.py
runs them one pytest case at a time); test() runs them all.
"""

from __future__ import annotations

import re
from pathlib import Path

from worker.core.classify import Classifier
from worker.core.pipeline import Pipeline
from worker.kbtools.report import CheckReport
from worker.knowledge.entry import Entry, Example, KnowledgeBase
from worker.model import Event, JobKey, Match

_SUCCESS_JOB = JobKey("success-corpus", "0", 1, "run")


def run_text(pipeline: Pipeline, text: str) -> list[Match]:
    """Run one job's raw log text through the pipeline; every Match produced."""
    pipeline.keep_matches = True
    pipeline.matches = []
    for n, line in enumerate(text.split("\n"), start=1):
        pipeline.process(Event(message=line, timestamp=0.0, line_number=n))
    pipeline.close()
    pipeline.take()
    return pipeline.matches


def success_dir(kb: KnowledgeBase) -> Path:
    """Where the success corpus lives: tests/data/success beside the KB's folder."""
    return kb.root.parent / "tests" / "data" / "success"


def test_success(kb: KnowledgeBase, folder: Path, classifier: Classifier | None = None
                 ) -> CheckReport:
    """Run each *.log of folder as one raw job log (the fast raw-log path, as `classify`);
    every failure detected is a problem naming file and line. `checked` counts files; a
    missing folder is 0 files."""
    classifier = classifier or Classifier(kb)
    report = CheckReport()
    for path in sorted(folder.glob("*.log")) if folder.is_dir() else []:
        report.checked += 1
        for m in success_matches(kb, classifier, path.read_bytes()):
            report.problems.append(f"{path}:{m.block.line}: a failure was detected in a "
                                   f"successful run ({m.kb_id or 'unclassified'}): "
                                   f"{m.block.lines[0][:120]}")
    return report


def success_matches(kb: KnowledgeBase, classifier: Classifier, data: bytes) -> list[Match]:
    """Every failure detected in one successful run's raw log (there should be none)."""
    pipeline = Pipeline(kb, classifier)
    pipeline.keep_matches = True
    pipeline.process_text(_SUCCESS_JOB, data if data.endswith(b"\n") else data + b"\n", 1, 0.0)
    pipeline.close()
    pipeline.take()
    return pipeline.matches


def test(kb: KnowledgeBase, classifier: Classifier | None = None) -> CheckReport:
    classifier = classifier or Classifier(kb)
    report = CheckReport()
    for entry in kb.entries.values():
        for i, example in enumerate(entry.examples):
            report.checked += 1
            problem = check_example(kb, classifier, entry, example)
            if problem:
                report.problems.append(f"{entry.path}:{example.line}: examples[{i}]: {problem}")
        for i, counter in enumerate(entry.counter_examples):
            report.checked += 1
            problem = check_counter_example(kb, classifier, entry, counter)
            if problem:
                report.problems.append(f"{entry.path}:{counter.line}: counter_examples[{i}]: "
                                       f"{problem}")
    return report


def check_example(kb: KnowledgeBase, classifier: Classifier, entry: Entry,
                  example: Example) -> str | None:
    """None when the example is classified as entry with its fields; else the problem.

    A fallback's example also passes when the fallback's patterns match it and a specific
    entry wins: fallbacks exist to catch what no specific entry does, and the KB grows.
    """
    matches = run_text(Pipeline(kb, classifier), example.text)
    mine = [m for m in matches if m.kb_id == entry.id]
    if not mine:
        if not matches:
            return "no Terraform error block was detected in the text"
        claimed = sorted({m.kb_id or "(unclassified)" for m in matches})
        also = any(entry.id in m.also_matched for m in matches)
        if also and entry.fallback and not any(_is_fallback(kb, m.kb_id) for m in matches):
            return None  # a fallback catches its family; a specific entry winning is the point
        if also and entry.shadow and not any(_is_shadow(kb, m.kb_id) for m in matches):
            return (f"taken by the live entry {', '.join(claimed)}: a shadow entry only "
                    "classifies what no live entry matches (narrow its patterns, or drop it)")
        how = "outranked by" if also else "classified as"
        return f"{how} {', '.join(claimed)}" + ("" if also else
                                                 " (the entry's patterns do not match)")
    fields = example.fields
    want = dict(fields) if isinstance(fields, dict) else {}
    for m in mine:
        if all(m.fields.get(k) == v for k, v in want.items()):
            return None
    got = {k: v for k, v in mine[0].fields.items()}
    return f"fields differ: expected {want}, extracted {got}"


def _is_fallback(kb: KnowledgeBase, kb_id: str | None) -> bool:
    entry = kb.get(kb_id)
    return entry is None or entry.fallback


def _is_shadow(kb: KnowledgeBase, kb_id: str | None) -> bool:
    entry = kb.get(kb_id)
    return entry is not None and entry.shadow


def check_counter_example(kb: KnowledgeBase, classifier: Classifier, entry: Entry,
                          counter: Example) -> str | None:
    """None when the entry's own patterns do not match the counter-example; else the problem."""
    hits = [e.id for e in classifier.candidates(_normalized(counter.text))]
    matches = run_text(Pipeline(kb, classifier), counter.text)
    hit = entry.id in hits or any(entry.id == m.kb_id or entry.id in m.also_matched
                                  for m in matches)
    return "matched by the entry's own patterns" if hit else None


_FRAME = re.compile(r"^\s*[╷│╵]\s?", re.M)


def _normalized(text: str) -> str:
    return "\n".join(line.strip() for line in _FRAME.sub("", text).split("\n"))
