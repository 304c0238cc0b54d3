"""Recall and precision of the pipeline on labelled real error texts (benchmarks/
eval_examples.py prints them, tests/test_realworld.py enforces the targets on `holdout`).

A text is run through the whole pipeline as one job's log. It is detected when at least
one failure is found in it; classified when a failure is classified into an entry (any
entry, or a specific one: not a family's fallback); predicted `permission` (or
`state-lock`) when any failure found carries that tag. A record with `failure: false` is
an alarming-looking text that is not a failure: every failure found in it is a false
positive, and its tag labels are false.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.core.classify import Classifier
from worker.core.pipeline import Pipeline
from worker.kbtools.test import run_text
from worker.knowledge.entry import KnowledgeBase

TAG_LABELS = (("permission", "permission_error"), ("state-lock", "lock_error"))


@dataclass
class TagScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Score:
    """The figures of one labelled split."""

    failures: int = 0
    detected: int = 0
    classified: int = 0  # into any entry, a fallback included
    specific: int = 0  # into an entry that is not a family's fallback
    non_failures: int = 0
    false_positives: int = 0  # non-failure texts in which a failure was detected
    tags: dict[str, TagScore] = field(
        default_factory=lambda: {tag: TagScore() for tag, _ in TAG_LABELS})

    def rate(self, count: int) -> float:
        return count / self.failures if self.failures else 1.0


def read_cases(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def evaluate(kb: KnowledgeBase, cases: Iterable[dict[str, Any]],
             classifier: Classifier | None = None) -> Score:
    # One pipeline for all texts: run_text closes every block and takes the batch, so no
    # state carries from one text to the next, and the prefilter is compiled once.
    pipeline = Pipeline(kb, classifier or Classifier(kb))
    score = Score()
    for case in cases:
        matches = list(run_text(pipeline, case["text"]))
        failure = case.get("failure", True) is not False
        if failure:
            score.failures += 1
            score.detected += bool(matches)
            entries = [kb.get(m.kb_id) for m in matches]
            score.classified += any(e is not None for e in entries)
            score.specific += any(e is not None and not e.fallback for e in entries)
        else:
            score.non_failures += 1
            score.false_positives += bool(matches)
        found = {t for m in matches for t in m.tags}
        for tag, label in TAG_LABELS:
            truth, pred = failure and bool(case.get(label)), tag in found
            s = score.tags[tag]
            s.tp += truth and pred
            s.fp += pred and not truth
            s.fn += truth and not pred
    return score
