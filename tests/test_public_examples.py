"""Acceptance: every real public error text is detected and tagged as labelled.

Permission and lock errors must land in an entry carrying the `permission` / `state-lock`
tag; texts that are neither (traps included: a GCP API-not-enabled 403, an IAM
EntityAlreadyExists) must carry neither tag.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worker.core.pipeline import Pipeline
from worker.kbtools.test import run_text

DATA = Path(__file__).parent / "data" / "terraform-errors-public.jsonl"
CASES = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_public_example(case: dict, kb, classifier) -> None:
    matches = run_text(Pipeline(kb, classifier), case["text"])
    assert matches, f"{case['id']} ({case['source']}): no failure detected"
    tags = {t for m in matches for t in m.tags}
    classified = [m for m in matches if m.kb_id]
    if case["permission_error"]:
        assert "permission" in tags, f"{case['id']}: expected a permission entry, got " \
            f"{[m.kb_id for m in matches]}"
    else:
        assert "permission" not in tags, f"{case['id']}: wrongly tagged permission by " \
            f"{[m.kb_id for m in classified]}"
    if case["lock_error"]:
        assert "state-lock" in tags, f"{case['id']}: expected a state-lock entry, got " \
            f"{[m.kb_id for m in matches]}"
    else:
        assert "state-lock" not in tags, f"{case['id']}: wrongly tagged state-lock by " \
            f"{[m.kb_id for m in classified]}"


def test_every_public_example_is_classified(kb, classifier) -> None:
    """Beyond detection: each text maps to a KB entry, not only to 'unclassified'."""
    unknown = [c["id"] for c in CASES
               if not any(m.kb_id for m in run_text(Pipeline(kb, classifier), c["text"]))]
    assert unknown == []
