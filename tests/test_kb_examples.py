"""Every example and counter-example of the bundled KB, one pytest case each.

The same checks as `tfpulse kb test` (worker/kbtools/test.py), so a failing case names its
entry and example and can be run on its own, e.g.
`pytest tests/test_kb_examples.py -k 'aws/foo:examples[0]'`.
"""

from __future__ import annotations

import pytest

from worker.core.classify import Classifier
from worker.kbtools.test import check_counter_example, check_example
from worker.knowledge.loader import KnowledgeBase, default_kb_dir, load_kb

_KB = load_kb(default_kb_dir())
EXAMPLES = [(e.id, i) for e in _KB for i in range(len(e.examples))]
COUNTERS = [(e.id, i) for e in _KB for i in range(len(e.counter_examples))]


@pytest.mark.parametrize("kb_id,i", EXAMPLES, ids=[f"{k}:examples[{i}]" for k, i in EXAMPLES])
def test_example_is_classified_as_its_entry(kb_id: str, i: int, kb: KnowledgeBase,
                                            classifier: Classifier) -> None:
    entry = kb.entries[kb_id]
    example = entry.examples[i]
    problem = check_example(kb, classifier, entry, example)
    assert problem is None, f"{entry.path}:{example.line}: examples[{i}]: {problem}"


@pytest.mark.parametrize("kb_id,i", COUNTERS,
                         ids=[f"{k}:counter_examples[{i}]" for k, i in COUNTERS])
def test_counter_example_is_not_matched_by_its_entry(kb_id: str, i: int, kb: KnowledgeBase,
                                                     classifier: Classifier) -> None:
    entry = kb.entries[kb_id]
    counter = entry.counter_examples[i]
    problem = check_counter_example(kb, classifier, entry, counter)
    assert problem is None, f"{entry.path}:{counter.line}: counter_examples[{i}]: {problem}"


def test_every_case_is_collected(kb: KnowledgeBase) -> None:
    """The cases above cover the KB the fixtures load (both are the bundled KB)."""
    assert len(EXAMPLES) == sum(len(e.examples) for e in kb)
    assert len(COUNTERS) == sum(len(e.counter_examples) for e in kb)
