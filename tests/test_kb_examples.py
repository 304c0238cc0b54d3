"""Every example and counter-example of the bundled KB, one pytest case each.

The same checks as `tfpulse kb test` (worker/kbtools/test.py), so a failing case names its
entry and example and can be run on its own, e.g.
`pytest tests/test_kb_examples.py -k 'aws/foo:examples[0]'`.
"""

from __future__ import annotations

import pytest

from worker.core.classify import Classifier
from worker.kbtools.test import check_counter_example, check_example
from worker.knowledge.entry import KnowledgeBase
from worker.knowledge.loader import default_kb_dir, load_kb

_KB = load_kb(default_kb_dir())
CASES = [(kind, e.id, i) for e in _KB for kind in ("examples", "counter_examples")
         for i in range(len(getattr(e, kind)))]
CHECKS = {"examples": check_example, "counter_examples": check_counter_example}


@pytest.mark.parametrize("kind,kb_id,i", CASES, ids=[f"{k}:{kind}[{i}]" for kind, k, i in CASES])
def test_example_is_classified_as_its_entry_and_counter_example_is_not(
        kind: str, kb_id: str, i: int, kb: KnowledgeBase, classifier: Classifier) -> None:
    entry = kb.entries[kb_id]
    case = getattr(entry, kind)[i]
    problem = CHECKS[kind](kb, classifier, entry, case)
    assert problem is None, f"{entry.path}:{case.line}: {kind}[{i}]: {problem}"


def test_every_case_is_collected(kb: KnowledgeBase) -> None:
    """The cases above cover the KB the fixtures load (both are the bundled KB)."""
    assert len(CASES) == sum(len(e.examples) + len(e.counter_examples) for e in kb)
